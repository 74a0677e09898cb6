-- Reader $1's custom shelves, alphabetically, with how many books each holds.
SELECT min(shelf) AS "name!", count(*) AS "count!" FROM custom_shelf_entries
WHERE reader_id = $1 GROUP BY shelf_key ORDER BY shelf_key
