-- Every book of reader $1's library (shelved, on a custom shelf, rated or reviewed), in the
-- catalog's order, with what a Goodreads export writes of it.
WITH mine AS (
    SELECT book_id FROM shelf_entries WHERE reader_id = $1 AND status IS NOT NULL
    UNION SELECT book_id FROM custom_shelf_entries WHERE reader_id = $1
    UNION SELECT book_id FROM ratings WHERE reader_id = $1
    UNION SELECT book_id FROM reviews WHERE reader_id = $1 AND NOT withdrawn
)
SELECT b.book_id, b.title, b.subtitle, b.pages, b.format, b.first_published,
       (SELECT array_agg(a.name ORDER BY ba.ordinal) FROM book_authors ba JOIN authors a USING (author_id)
        WHERE ba.book_id = b.book_id) AS "authors?: Vec<String>",
       coalesce(s.edition_isbn, e.isbn) AS "isbn?", e.publisher AS "publisher?", e.format AS "edition_format?",
       e.pages AS "edition_pages?", e.published_on AS "published_on?",
       r.quarter_stars AS "quarter_stars?", r.rated_at AS "rated_at?",
       st.quarter_stars_sum AS "quarter_stars_sum?", st.ratings_count AS "ratings_count?",
       s.status AS "status?: ShelfStatus", s.finished_on AS "finished_on?", s.read_count AS "read_count?",
       (SELECT min(t.on_date) FROM reading_timeline t WHERE t.reader_id = $1 AND t.book_id = b.book_id)
           AS "first_day?",
       rv.body AS "review?", rv.contains_spoilers AS "spoilers?", rv.written_on AS "written_on?",
       (SELECT array_agg(c.shelf ORDER BY c.position) FROM custom_shelf_entries c
        WHERE c.reader_id = $1 AND c.book_id = b.book_id) AS "shelves?: Vec<String>"
FROM mine JOIN books b USING (book_id)
LEFT JOIN shelf_entries s ON s.reader_id = $1 AND s.book_id = b.book_id
LEFT JOIN LATERAL (SELECT * FROM editions e
                   WHERE e.book_id = b.book_id AND (s.edition_isbn IS NULL OR e.isbn = s.edition_isbn)
                   ORDER BY e.position LIMIT 1) e ON true
LEFT JOIN ratings r ON r.reader_id = $1 AND r.book_id = b.book_id
LEFT JOIN book_ratings st ON st.book_id = b.book_id
LEFT JOIN reviews rv ON rv.reader_id = $1 AND rv.book_id = b.book_id AND NOT rv.withdrawn
ORDER BY b.position
