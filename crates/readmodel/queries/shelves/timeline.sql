-- One page of reader $1's reading log, oldest first: of book $2 if given, from day $3 to day $4
-- if given, after ($5, $6, $7), at most $8.
SELECT book_id, kind AS "kind: ReadingStep", on_date, page, percent, note, read_through, position, event_index
FROM reading_timeline
WHERE reader_id = $1 AND ($2::uuid IS NULL OR book_id = $2)
  AND ($3::date IS NULL OR on_date >= $3) AND ($4::date IS NULL OR on_date <= $4)
  AND ($5::date IS NULL OR (on_date, position, event_index) > ($5, $6, $7))
ORDER BY on_date, position, event_index
LIMIT $8
