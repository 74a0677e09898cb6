-- How many books page.sql lists in all.
SELECT count(*) AS "n!" FROM shelf_entries e
WHERE reader_id = $1
  AND (status = $2 OR ($2 IS NULL AND (status IS NOT NULL OR EXISTS (
       SELECT 1 FROM custom_shelf_entries c WHERE c.reader_id = e.reader_id AND c.book_id = e.book_id))))
  AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM custom_shelf_entries c
       WHERE c.reader_id = e.reader_id AND c.book_id = e.book_id AND c.shelf_key = $3))
