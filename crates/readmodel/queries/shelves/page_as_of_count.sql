-- How many books page_as_of.sql lists in all.
SELECT count(*) AS "n!" FROM (
    SELECT DISTINCT ON (book_id) book_id, kind
    FROM reading_timeline
    WHERE reader_id = $1 AND on_date <= $2 AND kind <> 'progress'
    ORDER BY book_id, on_date DESC, position DESC, event_index DESC
) l
WHERE l.kind <> 'removed'
  AND ($3::text IS NULL OR $3 = CASE l.kind WHEN 'want_to_read' THEN 'want_to_read'
       WHEN 'started' THEN 'currently_reading' WHEN 'resumed' THEN 'currently_reading'
       WHEN 'paused' THEN 'paused' WHEN 'finished' THEN 'read' WHEN 'abandoned' THEN 'did_not_finish' END)
