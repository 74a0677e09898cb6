-- Reader $1's copy of book $2, if the book is on any of their shelves.
SELECT book_id, status AS "status: ShelfStatus", status_on AS since, started_on, finished_on, progress_page,
       progress_percent, read_count::bigint AS read_count, status_position AS cursor_position, edition_isbn
FROM shelf_entries e
WHERE reader_id = $1 AND book_id = $2
  AND (status IS NOT NULL OR EXISTS (SELECT 1 FROM custom_shelf_entries c
                                      WHERE c.reader_id = e.reader_id AND c.book_id = e.book_id))
