-- How many dead letters there are, in all.
SELECT count(*) AS "count!" FROM dead_letters
