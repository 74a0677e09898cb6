-- Whether a block stands between $1 and $2 (either way), and whether $1 follows $2.
SELECT EXISTS (SELECT 1 FROM blocks WHERE blocker_id = $1 AND blocked_id = $2
               UNION ALL SELECT 1 FROM blocks WHERE blocker_id = $2 AND blocked_id = $1) AS "blocked!",
       EXISTS (SELECT 1 FROM follows WHERE follower_id = $1 AND followee_id = $2) AS "follows!"
