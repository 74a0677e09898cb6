-- The books readers who enjoyed $1 enjoyed most, by asymmetric cosine similarity (co-readers
-- over $1's readers^0.7 times the other's^0.3: near "how many of $1's readers enjoyed it",
-- damped for books everyone enjoys), among the 200 pairs the most readers share;
-- for a signed-in viewer ($2), without the books they rated or shelved. Merged books left out.
SELECT p.book_b AS "book_id!", p.co AS "readers!",
       p.co / (power(a.readers::float8, 0.9) * power(b.readers::float8, 0.1)) AS "score!"
FROM (SELECT book_b, co FROM book_pairs WHERE book_a = $1 ORDER BY co DESC, book_b LIMIT 200) p
JOIN book_taste_counts a ON a.book_id = $1
JOIN book_taste_counts b ON b.book_id = p.book_b
JOIN books bk ON bk.book_id = p.book_b AND bk.merged_into IS NULL
WHERE NOT EXISTS (SELECT 1 FROM rec_known k WHERE k.reader_id = $2 AND k.book_id = p.book_b)
ORDER BY 3 DESC, p.book_b
LIMIT $3
