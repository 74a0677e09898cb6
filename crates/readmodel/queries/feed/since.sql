-- A reader's feed after stream position $2, oldest first, at most $3 items (a live feed's
-- replay); privacy as in page.sql ($4 the reading kinds, $5 the visibility that hides them).
WITH page AS (
    SELECT position, event_index FROM feed_items f WHERE reader_id = $1 AND position > $2
      AND NOT (kind = ANY($4::text[])
               AND EXISTS (SELECT 1 FROM readers r WHERE r.reader_id = f.actor_id AND r.reading_visibility = $5))
    UNION ALL
    SELECT a.position, a.event_index FROM activities a
    WHERE NOT a.fanned_out AND NOT a.backdated AND a.position > $2
      AND a.actor_id IN (SELECT followee_id FROM feed_follows WHERE follower_id = $1)
      AND NOT (a.kind = ANY($4::text[])
               AND EXISTS (SELECT 1 FROM readers r WHERE r.reader_id = a.actor_id AND r.reading_visibility = $5))
)
SELECT a.position, a.event_index, a.actor_id, a.kind AS "kind: ActivityKind", a.book_id, a.review_id, a.quarter_stars,
       a.followee_id, a.occurred_at, a.books
FROM page p JOIN activities a ON a.position = p.position AND a.event_index = p.event_index
ORDER BY a.position, a.event_index
LIMIT $3
