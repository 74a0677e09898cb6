-- The book book $1 was merged into, if it was merged.
SELECT merged_into FROM books WHERE book_id = $1
