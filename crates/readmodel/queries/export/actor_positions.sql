-- The stream positions of the messages reader $1 acted in, oldest first.
SELECT position FROM actor_messages WHERE actor_id = $1 ORDER BY position
