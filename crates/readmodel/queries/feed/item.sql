-- One activity, unless it is reading ($3) of a reader whose reading is theirs alone ($4).
SELECT a.position, a.event_index, a.actor_id, a.kind AS "kind: ActivityKind", a.book_id, a.review_id, a.quarter_stars,
       a.followee_id, a.occurred_at, a.books
FROM activities a WHERE a.position = $1 AND a.event_index = $2
  AND NOT (a.kind = ANY($3::text[])
           AND EXISTS (SELECT 1 FROM readers r WHERE r.reader_id = a.actor_id AND r.reading_visibility = $4))
