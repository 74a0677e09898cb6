-- How many books the catalog lists, verified and awaiting a librarian (`books(verified:)`'s
-- totalCount): kept by the catalog projection as books are added, verified and merged, so a
-- page of the catalog does not count every book.
CREATE TABLE book_counts (
    verified boolean PRIMARY KEY,
    books bigint NOT NULL
);
INSERT INTO book_counts (verified, books)
    SELECT verified, count(*) FROM books WHERE merged_into IS NULL GROUP BY verified;
