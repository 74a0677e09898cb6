-- The accounts $1 follows whose activities are merged into feeds on read (too followed to fan out).
SELECT f.followee_id FROM feed_follows f JOIN feed_follower_counts c ON c.reader_id = f.followee_id
WHERE f.follower_id = $1 AND c.merged_on_read
