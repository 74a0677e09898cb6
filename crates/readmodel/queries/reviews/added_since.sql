-- Book $1's live reviews recorded after stream position $2, oldest first, at most $3, none
-- across a block with reader $4 (either way).
SELECT review_id, reader_id, book_id, body, contains_spoilers, written_on, published_at, edited_at, quarter_stars,
       likes_count, comments_count, position
FROM reviews
WHERE book_id = $1 AND position > $2 AND NOT withdrawn
  AND NOT EXISTS (SELECT 1 FROM blocks WHERE blocker_id = $4 AND blocked_id = reviews.reader_id)
  AND NOT EXISTS (SELECT 1 FROM blocks WHERE blocker_id = reviews.reader_id AND blocked_id = $4)
ORDER BY position LIMIT $3
