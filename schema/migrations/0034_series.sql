-- Series (a trilogy, a saga) and the books in them, kept by the catalog projection. A series
-- a reader's import added is unverified until a librarian edits it; in a verified series, a
-- book an import added shows once a librarian has verified the book.
CREATE TABLE series (
    series_id uuid PRIMARY KEY,
    name text NOT NULL,
    description text NOT NULL,
    verified boolean NOT NULL,
    added_at timestamptz NOT NULL,
    -- The stream position that added it.
    position bigint NOT NULL
);
-- The worker matches a file's series by name, as it matches authors.
CREATE INDEX series_by_name ON series (search_text(name));

CREATE TABLE series_books (
    series_id uuid NOT NULL,
    book_id uuid NOT NULL,
    -- The book's number in the series in hundredths (#2.5 is 250); NULL: unnumbered.
    number integer,
    PRIMARY KEY (series_id, book_id)
);
-- The order a series lists its books in: by number, unnumbered ones last (as 1,000,000).
CREATE INDEX series_books_in_order ON series_books (series_id, (coalesce(number, 1000000)), book_id);
CREATE INDEX series_books_by_book ON series_books (book_id);
