-- Read models projected from the event stream, and the social service's credentials.

-- How far each projection has applied the stream; updated in the same transaction as its
-- read models, so a crash anywhere applies nothing twice and loses nothing.
CREATE TABLE projection_checkpoints (
    name     text PRIMARY KEY,
    position bigint NOT NULL DEFAULT 0 CHECK (position >= 0)
);
INSERT INTO projection_checkpoints (name) VALUES ('catalog'), ('readers'), ('ratings');

CREATE TABLE authors (
    author_id uuid PRIMARY KEY,
    name      text NOT NULL,
    bio       text NOT NULL,
    added_at  timestamptz NOT NULL,
    position  bigint NOT NULL
);

CREATE TABLE books (
    book_id         uuid PRIMARY KEY,
    title           text NOT NULL,
    subtitle        text NOT NULL,
    description     text NOT NULL,
    pages           integer NOT NULL CHECK (pages > 0),
    format          text NOT NULL,
    first_published date,
    added_by        uuid,
    added_at        timestamptz NOT NULL,
    -- The stream position of BookAdded: the order of the book list and its keyset cursor.
    position        bigint NOT NULL UNIQUE
);

CREATE TABLE book_authors (
    book_id   uuid NOT NULL REFERENCES books (book_id),
    author_id uuid NOT NULL REFERENCES authors (author_id),
    ordinal   integer NOT NULL,
    PRIMARY KEY (book_id, author_id)
);
CREATE INDEX book_authors_by_author ON book_authors (author_id);

CREATE TABLE readers (
    reader_id    uuid PRIMARY KEY,
    handle       text NOT NULL,
    display_name text NOT NULL,
    joined_at    timestamptz NOT NULL,
    position     bigint NOT NULL
);
-- Not unique here: the social service's credentials table is what keeps handles unique.
CREATE INDEX readers_by_handle ON readers (lower(handle));

-- One row per rated book: count, sum and one count per star, so average and histogram are
-- one row read. Rows are created by the first rating.
CREATE TABLE book_stats (
    book_id       uuid PRIMARY KEY,
    ratings_count bigint NOT NULL DEFAULT 0 CHECK (ratings_count >= 0),
    ratings_sum   bigint NOT NULL DEFAULT 0 CHECK (ratings_sum >= 0),
    stars_1       bigint NOT NULL DEFAULT 0 CHECK (stars_1 >= 0),
    stars_2       bigint NOT NULL DEFAULT 0 CHECK (stars_2 >= 0),
    stars_3       bigint NOT NULL DEFAULT 0 CHECK (stars_3 >= 0),
    stars_4       bigint NOT NULL DEFAULT 0 CHECK (stars_4 >= 0),
    stars_5       bigint NOT NULL DEFAULT 0 CHECK (stars_5 >= 0),
    position      bigint NOT NULL DEFAULT 0
);

-- Each reader's current rating of each book.
CREATE TABLE ratings (
    reader_id uuid NOT NULL,
    book_id   uuid NOT NULL,
    stars     smallint NOT NULL CHECK (stars BETWEEN 1 AND 5),
    rated_at  timestamptz NOT NULL,
    PRIMARY KEY (reader_id, book_id)
);
CREATE INDEX ratings_by_book ON ratings (book_id);

-- Owned by the social service, not projected: password hashes never enter the event log.
CREATE TABLE social_credentials (
    reader_id     uuid PRIMARY KEY,
    handle_key    text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
