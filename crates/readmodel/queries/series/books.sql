-- A page of a series' books in its order: by number, unnumbered ones last, then by id. In a
-- verified series, a book a reader's import added shows once a librarian has verified it.
SELECT sb.book_id AS "book_id!", sb.number, coalesce(sb.number, 1000000) AS "sort_key!",
       b.title, b.subtitle, b.description, b.pages, b.format, b.first_published, b.position
FROM series s
JOIN series_books sb ON sb.series_id = s.series_id
JOIN books b ON b.book_id = sb.book_id
WHERE s.series_id = $1
  AND (coalesce(sb.number, 1000000), sb.book_id) > ($2, $3)
  AND b.merged_into IS NULL AND (b.verified OR NOT s.verified)
ORDER BY coalesce(sb.number, 1000000), sb.book_id
LIMIT $4
