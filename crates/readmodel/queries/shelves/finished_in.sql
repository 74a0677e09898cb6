-- The days reader $1 finished a book from day $2 up to day $3, with the book's pages. The kind
-- is written out, not a parameter: it is the predicate of the partial index this read uses
-- (`reading_timeline_finished`), which a generic plan matches only against the same literal.
SELECT t.on_date, b.pages
FROM reading_timeline t JOIN books b USING (book_id)
WHERE t.reader_id = $1 AND t.kind = 'finished' AND t.on_date >= $2 AND t.on_date < $3
