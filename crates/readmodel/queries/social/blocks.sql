-- Whether reader $1 blocked reader $2.
SELECT EXISTS (SELECT 1 FROM blocks WHERE blocker_id = $1 AND blocked_id = $2) AS "blocks!"
