-- Whether a block stands between $1 and $2, either way.
SELECT EXISTS (SELECT 1 FROM blocks WHERE blocker_id = $1 AND blocked_id = $2
               UNION ALL SELECT 1 FROM blocks WHERE blocker_id = $2 AND blocked_id = $1) AS "blocked!"
