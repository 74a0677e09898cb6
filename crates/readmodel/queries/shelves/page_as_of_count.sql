-- How many books page_as_of.sql lists in all ($4 and $5: its $7 and $8).
SELECT count(*) AS "n!" FROM (
    SELECT DISTINCT ON (t.book_id) t.book_id, m.status
    FROM reading_timeline t JOIN unnest($4::text[], $5::text[]) AS m(step, status) ON m.step = t.kind
    WHERE t.reader_id = $1 AND t.on_date <= $2
    ORDER BY t.book_id, t.on_date DESC, t.position DESC, t.event_index DESC
) l
WHERE l.status IS NOT NULL AND ($3::text IS NULL OR l.status = $3)
