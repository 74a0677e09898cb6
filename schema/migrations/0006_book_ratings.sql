-- One name for a book's rating figures everywhere: the table, the Rust row, the GraphQL type
-- (`BookRatings`) and the live update (`BookRatingsChanged`).
ALTER TABLE book_stats RENAME TO book_ratings;
ALTER INDEX book_stats_pkey RENAME TO book_ratings_pkey;
