-- A live review by its stored id.
SELECT review_id, reader_id, book_id, body, contains_spoilers, written_on, published_at, edited_at, quarter_stars,
       likes_count, comments_count, position
FROM reviews WHERE review_id = $1 AND NOT withdrawn
