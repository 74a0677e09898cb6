-- A page of the lists viewer $1 may see, the newest first, after position $2.
SELECT l.list_id, l.owner_id, l.title, l.description, l.hidden, l.created_at, l.position, l.books, l.votes
FROM lists l
WHERE NOT l.hidden AND l.position < $2
  AND NOT EXISTS (SELECT 1 FROM blocks k WHERE (k.blocker_id = $1 AND k.blocked_id = l.owner_id)
                                            OR (k.blocker_id = l.owner_id AND k.blocked_id = $1))
ORDER BY l.position DESC
LIMIT $3
