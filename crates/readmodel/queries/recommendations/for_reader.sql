-- For reader $1: the books most like their 40 newest taste books, without any book they rated
-- or shelved, each with the taste book that counted most for it. Merged books left out.
-- A candidate is one of the 25 strongest pairs of a taste book, weighted by asymmetric cosine
-- as `also_enjoyed` weighs it: co-readers over the taste book's readers^0.7 (per taste book)
-- and the candidate's readers^0.3 (per candidate, once its weights are summed). At most 1,000
-- pair rows a query, read from the covering index.
WITH taste AS (
    SELECT t.book_id, power(a.readers::float8, 0.7) AS norm
    FROM (SELECT book_id FROM rec_known WHERE reader_id = $1 AND taste ORDER BY taste_position DESC LIMIT 40) t
    JOIN book_taste_counts a ON a.book_id = t.book_id
),
candidates AS (
    SELECT p.book_b, t.book_id AS because, p.co / t.norm AS weight
    FROM taste t
    CROSS JOIN LATERAL (
        SELECT book_b, co FROM book_pairs WHERE book_a = t.book_id ORDER BY co DESC, book_b LIMIT 25
    ) p
),
summed AS (
    SELECT book_b, sum(weight) AS weight, (array_agg(because ORDER BY weight DESC, because))[1] AS because
    FROM candidates
    WHERE book_b NOT IN (SELECT book_id FROM rec_known WHERE reader_id = $1)
    GROUP BY book_b
)
SELECT s.book_b AS "book_id!", s.weight / power(b.readers::float8, 0.3) AS "score!", s.because AS "because!"
FROM summed s
JOIN book_taste_counts b ON b.book_id = s.book_b
JOIN books bk ON bk.book_id = s.book_b AND bk.merged_into IS NULL
ORDER BY 2 DESC, 1
LIMIT $2
