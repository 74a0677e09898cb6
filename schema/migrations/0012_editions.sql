-- The editions of the catalog's books, one per ISBN (stored as ISBN-13): what a reader holds,
-- while ratings and reviews stay on the book (the work). Written by the catalog projection.
CREATE TABLE editions (
    isbn         text PRIMARY KEY CHECK (isbn ~ '^97[89][0-9]{10}$'),
    book_id      uuid NOT NULL REFERENCES books (book_id),
    format       text NOT NULL,
    -- 0 when unknown.
    pages        integer NOT NULL,
    publisher    text NOT NULL,
    published_on date,
    -- A BCP 47 tag; empty when unknown.
    language     text NOT NULL,
    cover_url    text NOT NULL,
    added_at     timestamptz NOT NULL,
    position     bigint NOT NULL
);
CREATE INDEX editions_of_book ON editions (book_id);
