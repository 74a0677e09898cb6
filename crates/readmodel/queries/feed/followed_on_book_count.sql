-- How many readers followed_on_book.sql lists in all.
SELECT count(*) AS "count!" FROM follows f
WHERE f.follower_id = $1 AND (
    EXISTS (SELECT 1 FROM shelf_entries s WHERE s.reader_id = f.followee_id AND s.book_id = $2 AND s.status IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM readers p WHERE p.reader_id = f.followee_id AND p.reading_visibility = $3))
    OR EXISTS (SELECT 1 FROM ratings r WHERE r.reader_id = f.followee_id AND r.book_id = $2 AND r.quarter_stars IS NOT NULL)
    OR EXISTS (SELECT 1 FROM reviews rv WHERE rv.reader_id = f.followee_id AND rv.book_id = $2 AND NOT rv.withdrawn))
