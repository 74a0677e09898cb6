-- One page of the readers $1 follows who shelved, rated or reviewed book $2, most recently
-- followed first, before the follow position $3; a shelf only of a reader who shares their
-- reading ($5: the visibility that hides it).
SELECT f.followee_id AS "reader_id!", f.position AS "position!", s.status AS "status?: ShelfStatus",
       r.quarter_stars AS "quarter_stars?", rv.review_id AS "review_id?"
FROM follows f
LEFT JOIN shelf_entries s ON s.reader_id = f.followee_id AND s.book_id = $2
     AND NOT EXISTS (SELECT 1 FROM readers p WHERE p.reader_id = f.followee_id AND p.reading_visibility = $5)
LEFT JOIN ratings r ON r.reader_id = f.followee_id AND r.book_id = $2
LEFT JOIN reviews rv ON rv.reader_id = f.followee_id AND rv.book_id = $2 AND NOT rv.withdrawn
WHERE f.follower_id = $1 AND (s.status IS NOT NULL OR r.quarter_stars IS NOT NULL OR rv.review_id IS NOT NULL)
  AND f.position < $3
ORDER BY f.position DESC
LIMIT $4
