-- The lists a book is on that viewer $2 may see (shown, or theirs; neither they nor the owner
-- blocked the other), where the book has the most votes first.
SELECT l.list_id, l.owner_id, l.title, l.description, l.hidden, l.created_at, l.position, l.books, l.votes
FROM list_books lb
JOIN lists l ON l.list_id = lb.list_id
WHERE lb.book_id = $1
  AND (NOT l.hidden OR l.owner_id = $2)
  AND NOT EXISTS (SELECT 1 FROM blocks k WHERE (k.blocker_id = $2 AND k.blocked_id = l.owner_id)
                                            OR (k.blocker_id = l.owner_id AND k.blocked_id = $2))
ORDER BY lb.votes DESC, lb.list_id
LIMIT $3
