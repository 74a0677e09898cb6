-- Whether $1 follows $2 now, as the feed's own graph has it.
SELECT EXISTS (SELECT 1 FROM feed_follows WHERE follower_id = $1 AND followee_id = $2) AS "follows!"
