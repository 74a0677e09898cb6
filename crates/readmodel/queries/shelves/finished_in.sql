-- Every book reader $1 finished from day $2 up to day $3, in the order they finished them (a
-- reread is another row), with its page count (0 when unknown), the reader's rating of it now
-- (quarter stars) and its authors. The kind is written out, not a parameter: it is the
-- predicate of the partial index this read uses (`reading_timeline_finished`), which a generic
-- plan matches only against the same literal.
SELECT t.book_id, t.on_date, t.position, b.pages, r.quarter_stars AS "quarter_stars?",
       coalesce((SELECT array_agg(ba.author_id ORDER BY ba.ordinal) FROM book_authors ba
                 WHERE ba.book_id = t.book_id), '{}') AS "author_ids!"
FROM reading_timeline t
JOIN books b USING (book_id)
LEFT JOIN ratings r ON r.reader_id = t.reader_id AND r.book_id = t.book_id
WHERE t.reader_id = $1 AND t.kind = 'finished' AND t.on_date >= $2 AND t.on_date < $3
ORDER BY t.on_date, t.position, t.event_index
