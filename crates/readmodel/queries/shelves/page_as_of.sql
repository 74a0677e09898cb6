-- One page of reader $1's shelf as it stood at the end of day $2, from their reading log:
-- status $3 (NULL: every shelved book), after position $4, newest first when $5, at most $6.
-- A book's status is its last step's: $7 are the steps that move a book and $8 where each
-- leaves it (NULL: off every shelf), as `ReadingStep::shelving` says; $9 is the step that starts
-- a read-through. `finished` is written out: it is the predicate of the partial index
-- (`reading_timeline_finished`) these lookups use, which a generic plan matches only against
-- the same literal.
WITH shelved AS (
    SELECT DISTINCT ON (t.book_id) t.book_id, t.on_date, t.position, m.status
    FROM reading_timeline t JOIN unnest($7::text[], $8::text[]) AS m(step, status) ON m.step = t.kind
    WHERE t.reader_id = $1 AND t.on_date <= $2
    ORDER BY t.book_id, t.on_date DESC, t.position DESC, t.event_index DESC
)
SELECT s.book_id AS "book_id!", s.status AS "status: ShelfStatus", s.on_date AS since,
       (SELECT max(on_date) FROM reading_timeline t WHERE t.reader_id = $1 AND t.book_id = s.book_id
           AND t.kind = $9 AND t.on_date <= $2) AS started_on,
       (SELECT max(on_date) FROM reading_timeline t WHERE t.reader_id = $1 AND t.book_id = s.book_id
           AND t.kind = 'finished' AND t.on_date <= $2) AS finished_on,
       NULL::int AS progress_page, NULL::int AS progress_percent,
       (SELECT count(*) FROM reading_timeline t WHERE t.reader_id = $1 AND t.book_id = s.book_id
           AND t.kind = 'finished' AND t.on_date <= $2) AS read_count,
       s.position AS cursor_position, NULL::text AS edition_isbn
FROM shelved s
WHERE s.status IS NOT NULL AND ($3::text IS NULL OR s.status = $3)
  AND ($4::bigint IS NULL OR ($5 AND s.position < $4) OR (NOT $5 AND s.position > $4))
ORDER BY CASE WHEN $5 THEN -s.position ELSE s.position END, s.book_id
LIMIT $6
