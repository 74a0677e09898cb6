-- The dead letters of every projection (or of projection $1), oldest first, at most $2.
SELECT projection, position, subject, error, failed_at, attempts FROM dead_letters
WHERE $1::text IS NULL OR projection = $1 ORDER BY position, projection LIMIT $2
