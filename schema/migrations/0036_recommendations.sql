-- Recommendations, kept by the `recommendations` projection: each reader's books as their
-- taste (rated 3.5 stars or more, or shelved without a lower rating), and how many readers have
-- each two books in their taste (item-to-item co-occurrence, bounded per change).

INSERT INTO projection_checkpoints (name) VALUES ('recommendations');

-- Every book a reader rated or shelved: what "for you" leaves out, and their taste.
CREATE TABLE rec_known (
    reader_id      uuid NOT NULL,
    book_id        uuid NOT NULL,
    -- Their rating in quarter stars; NULL when they have not rated it.
    quarter_stars  smallint,
    -- On a built-in shelf they may like it from (want to read, reading, paused, read).
    shelved        boolean NOT NULL DEFAULT false,
    -- Abandoned (did not finish): known, never their taste.
    abandoned      boolean NOT NULL DEFAULT false,
    custom_shelves integer NOT NULL DEFAULT 0,
    taste          boolean NOT NULL DEFAULT false,
    -- The stream position it last became their taste: the newest pair with a new one.
    taste_position bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (reader_id, book_id)
);
CREATE INDEX rec_known_taste ON rec_known (reader_id, taste_position DESC) WHERE taste;

-- How many readers have both books in their taste (as far as each change paired them), both
-- ways round.
CREATE TABLE book_pairs (
    book_a uuid NOT NULL,
    book_b uuid NOT NULL,
    co     integer NOT NULL,
    PRIMARY KEY (book_a, book_b)
);
CREATE INDEX book_pairs_strongest ON book_pairs (book_a, co DESC, book_b);

-- How many readers have each book in their taste.
CREATE TABLE book_taste_counts (
    book_id uuid PRIMARY KEY,
    readers integer NOT NULL
);
