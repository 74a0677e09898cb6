-- The reader's next book of a series: the first, in the series' order with whole numbers
-- before the novellas between them (2.5) and unnumbered ones last, that they have neither
-- read nor given up on.
SELECT sb.book_id AS "book_id!", sb.number, coalesce(sb.number, 1000000) AS "sort_key!",
       b.title, b.subtitle, b.description, b.pages, b.format, b.first_published, b.position
FROM series s
JOIN series_books sb ON sb.series_id = s.series_id
JOIN books b ON b.book_id = sb.book_id
LEFT JOIN shelf_entries e ON e.reader_id = $2 AND e.book_id = sb.book_id
WHERE s.series_id = $1
  AND b.merged_into IS NULL AND (b.verified OR NOT s.verified)
  AND (e.status IS NULL OR e.status NOT IN ('read', 'did_not_finish'))
ORDER BY sb.number IS NULL, sb.number % 100 <> 0, sb.number, sb.book_id
LIMIT 1
