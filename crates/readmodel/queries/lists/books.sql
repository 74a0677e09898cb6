-- A page of a list's books, the most voted first (then the first added), after
-- ($2 votes, $3 position, $4 book).
SELECT lb.book_id, lb.votes, lb.position
FROM list_books lb
JOIN books b ON b.book_id = lb.book_id AND b.merged_into IS NULL
WHERE lb.list_id = $1 AND (-lb.votes, lb.position, lb.book_id) > (-$2::int, $3::bigint, $4::uuid)
ORDER BY lb.votes DESC, lb.position, lb.book_id
LIMIT $5
