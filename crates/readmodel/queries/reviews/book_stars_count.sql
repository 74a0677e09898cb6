-- Book $1's live reviews whose reviewer gave it $2 stars.
SELECT count(*) AS "n!" FROM reviews WHERE book_id = $1 AND stars = $2 AND NOT withdrawn
