-- One page of reader $1's shelf as it stood at the end of day $2, from their reading log:
-- status $3 (NULL: every shelved book), after position $4, newest first when $5, at most $6.
-- A book's status is its last step's: the one mapping of steps to shelves.
WITH last_step AS (
    SELECT DISTINCT ON (book_id) book_id, kind, on_date, position
    FROM reading_timeline
    WHERE reader_id = $1 AND on_date <= $2 AND kind <> 'progress'
    ORDER BY book_id, on_date DESC, position DESC, event_index DESC
), shelved AS (
    SELECT l.book_id, l.on_date, l.position,
           CASE l.kind WHEN 'want_to_read' THEN 'want_to_read' WHEN 'started' THEN 'currently_reading'
                       WHEN 'resumed' THEN 'currently_reading' WHEN 'paused' THEN 'paused'
                       WHEN 'finished' THEN 'read' WHEN 'abandoned' THEN 'did_not_finish' END AS status
    FROM last_step l
)
SELECT s.book_id AS "book_id!", s.status AS "status: ShelfStatus", s.on_date AS since,
       (SELECT max(on_date) FROM reading_timeline t WHERE t.reader_id = $1 AND t.book_id = s.book_id
           AND t.kind = 'started' AND t.on_date <= $2) AS started_on,
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
