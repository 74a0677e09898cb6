-- A page of the books a word lists (said by at least 3 readers), the best rated first.
SELECT bt.book_id, bt.average AS "key!"
FROM book_tags bt
WHERE bt.kind = $1 AND bt.tag = $2 AND bt.readers >= 3
  AND (bt.average, bt.book_id) < ($3, $4)
ORDER BY bt.average DESC, bt.book_id DESC
LIMIT $5
