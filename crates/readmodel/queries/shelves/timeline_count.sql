-- How many steps timeline.sql lists in all.
SELECT count(*) AS "n!" FROM reading_timeline
WHERE reader_id = $1 AND ($2::uuid IS NULL OR book_id = $2)
  AND ($3::date IS NULL OR on_date >= $3) AND ($4::date IS NULL OR on_date <= $4)
