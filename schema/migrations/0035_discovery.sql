-- What readers say books are, kept by the `discovery` projection: genres from the names of
-- their shelves, and moods, pace and content warnings from their answers to the survey.

INSERT INTO projection_checkpoints (name) VALUES ('discovery');

-- A reader's shelves on a book whose names say a genre (`genre`, folded: `science-fiction`):
-- several shelves may say one genre, which counts once.
CREATE TABLE genre_shelves (
    reader_id uuid NOT NULL,
    book_id   uuid NOT NULL,
    -- The shelf's name in lower case, as the reading context keys it.
    shelf_key text NOT NULL,
    genre     text NOT NULL,
    PRIMARY KEY (reader_id, book_id, shelf_key)
);

-- What each reader says each book is: one row per word. `kind` is the readmodel's TagKind.
CREATE TABLE tag_votes (
    reader_id uuid NOT NULL,
    book_id   uuid NOT NULL,
    kind      text NOT NULL,
    tag       text NOT NULL,
    PRIMARY KEY (reader_id, book_id, kind, tag)
);

-- How many readers say each word of each book, with the book's rating and first publication
-- beside it so that a word's books list by popularity, rating or date from one index.
CREATE TABLE book_tags (
    book_id           uuid NOT NULL,
    kind              text NOT NULL,
    tag               text NOT NULL,
    -- Written as deltas (an INSERT … ON CONFLICT whose proposed row may be negative), so no
    -- CHECK here: a row reaching 0 is deleted in the same statement.
    readers           integer NOT NULL,
    ratings_count     integer NOT NULL DEFAULT 0,
    quarter_stars_sum bigint NOT NULL DEFAULT 0,
    first_published   date,
    average           double precision GENERATED ALWAYS AS
        (CASE WHEN ratings_count > 0 THEN quarter_stars_sum::double precision / ratings_count / 4 ELSE 0 END) STORED,
    published         date GENERATED ALWAYS AS (coalesce(first_published, DATE '0001-01-01')) STORED,
    PRIMARY KEY (book_id, kind, tag)
);
-- A word lists a book once 3 readers say it (readmodel::discovery::MIN_READERS).
CREATE INDEX book_tags_popular ON book_tags (kind, tag, readers DESC, book_id DESC) WHERE readers >= 3;
CREATE INDEX book_tags_rated ON book_tags (kind, tag, average DESC, book_id DESC) WHERE readers >= 3;
CREATE INDEX book_tags_newest ON book_tags (kind, tag, published DESC, book_id DESC) WHERE readers >= 3;

-- How many readers said any word of each kind about each book: what a word's share is of.
CREATE TABLE book_tag_respondents (
    book_id uuid NOT NULL,
    kind    text NOT NULL,
    readers integer NOT NULL,
    PRIMARY KEY (book_id, kind)
);

-- The projection's own copies of each book's publication date and rating figures, and of the
-- books merged away (their words go; the merge moves their readers' shelves).
CREATE TABLE discovery_books (
    book_id           uuid PRIMARY KEY,
    first_published   date,
    ratings_count     integer NOT NULL DEFAULT 0,
    quarter_stars_sum bigint NOT NULL DEFAULT 0,
    merged_into       uuid
);
