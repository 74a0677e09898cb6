-- For reader $1: the books most like their 50 newest taste books (the 50 strongest pairs of
-- each, scored as `also_enjoyed` scores them, summed), without any book they rated or shelved;
-- each with the taste book that counted most for it. Merged books left out.
WITH taste AS (
    SELECT book_id FROM rec_known WHERE reader_id = $1 AND taste ORDER BY taste_position DESC LIMIT 50
),
candidates AS (
    SELECT t.book_id AS because, p.book_b, p.co
    FROM taste t
    CROSS JOIN LATERAL (
        SELECT book_b, co FROM book_pairs WHERE book_a = t.book_id ORDER BY co DESC, book_b LIMIT 50
    ) p
),
scored AS (
    SELECT c.book_b, c.because, c.co / (power(a.readers::float8, 0.7) * power(b.readers::float8, 0.3)) AS score
    FROM candidates c
    JOIN book_taste_counts a ON a.book_id = c.because
    JOIN book_taste_counts b ON b.book_id = c.book_b
    WHERE NOT EXISTS (SELECT 1 FROM rec_known k WHERE k.reader_id = $1 AND k.book_id = c.book_b)
)
SELECT s.book_b AS "book_id!", sum(s.score)::float8 AS "score!",
       (array_agg(s.because ORDER BY s.score DESC, s.because))[1] AS "because!"
FROM scored s
JOIN books bk ON bk.book_id = s.book_b AND bk.merged_into IS NULL
GROUP BY s.book_b
ORDER BY 2 DESC, s.book_b
LIMIT $2
