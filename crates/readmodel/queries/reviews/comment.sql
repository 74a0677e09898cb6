-- Comment $1 on review $2, unless deleted or its review withdrawn.
SELECT c.commenter_id, c.body, c.commented_at FROM review_comments c
JOIN reviews r ON r.review_id = c.review_id AND NOT r.withdrawn
WHERE c.comment_id = $1 AND c.review_id = $2 AND NOT c.deleted
