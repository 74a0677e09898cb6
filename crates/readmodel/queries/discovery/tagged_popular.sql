-- A page of the books a word lists (said by at least 3 readers), the most readers first.
SELECT bt.book_id, bt.readers::bigint AS "key!"
FROM book_tags bt
WHERE bt.kind = $1 AND bt.tag = $2 AND bt.readers >= 3
  AND (bt.readers::bigint, bt.book_id) < ($3, $4)
ORDER BY bt.readers DESC, bt.book_id DESC
LIMIT $5
