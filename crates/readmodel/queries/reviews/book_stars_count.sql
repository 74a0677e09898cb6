-- Book $1's live reviews whose reviewer gave it $2 stars (quarters rounded half up).
SELECT count(*) AS "n!" FROM reviews WHERE book_id = $1 AND quarter_stars BETWEEN $2::smallint * 4 - 2 AND $2::smallint * 4 + 1 AND NOT withdrawn
