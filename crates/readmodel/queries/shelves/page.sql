-- One page of reader $1's shelf: status $2 (NULL: every shelved book), on custom shelf $3 (its
-- key) if given, after position $4, newest first when $5, at most $6.
SELECT book_id, status AS "status: ShelfStatus", status_on AS since, started_on, finished_on, progress_page,
       progress_percent, read_count::bigint AS read_count, status_position AS cursor_position, edition_isbn
FROM shelf_entries e
WHERE reader_id = $1
  AND (status = $2 OR ($2 IS NULL AND (status IS NOT NULL OR EXISTS (
       SELECT 1 FROM custom_shelf_entries c WHERE c.reader_id = e.reader_id AND c.book_id = e.book_id))))
  AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM custom_shelf_entries c
       WHERE c.reader_id = e.reader_id AND c.book_id = e.book_id AND c.shelf_key = $3))
  AND ($4::bigint IS NULL OR ($5 AND status_position < $4) OR (NOT $5 AND status_position > $4))
ORDER BY CASE WHEN $5 THEN -status_position ELSE status_position END, book_id
LIMIT $6
