-- One page of the readers $1 follows, most recent first, before follow position $2, at most $3
-- (one statement per direction: see followers.sql).
SELECT followee_id AS "reader_id", position FROM follows WHERE follower_id = $1 AND position < $2
ORDER BY position DESC LIMIT $3
