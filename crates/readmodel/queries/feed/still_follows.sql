-- Which of the pairs ($1[i], $2[i]) are a follower and a followee now, as the feed's own graph has it.
SELECT f.follower_id, f.followee_id
FROM feed_follows f
JOIN UNNEST($1::uuid[], $2::uuid[]) AS k(follower_id, followee_id)
  ON f.follower_id = k.follower_id AND f.followee_id = k.followee_id
