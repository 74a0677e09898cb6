-- One page of review $1's comments, oldest first, after position $2 (always a bound: positions
-- start at 1, so a plan made once for any cursor still seeks to it), at most $3, none across a
-- block with reader $4 (either way).
SELECT comment_id, commenter_id, body, commented_at, position FROM review_comments c
WHERE review_id = $1 AND NOT deleted AND position > $2
  AND NOT EXISTS (SELECT 1 FROM blocks WHERE blocker_id = $4 AND blocked_id = c.commenter_id)
  AND NOT EXISTS (SELECT 1 FROM blocks WHERE blocker_id = c.commenter_id AND blocked_id = $4)
ORDER BY position LIMIT $3
