-- One keyset page of reader $1's notification groups, newest first, before the group position
-- $2, at most $3. Each group counts, names and dates only the items the reader may see: none
-- from a reader they blocked or who blocked them (applied when read, as reviews are), and a
-- group left with none is left out; so are the kinds they muted. Unread: it holds an item
-- newer than both their mark on everything and their mark on the group.
SELECT g.kind, g.about, g.latest_position AS sort_position,
       v.latest_position AS "latest_position!", v.latest_at AS "latest_at!", v.items AS "items!",
       coalesce(v.actors, '{}') AS "actors!", v.review_id, v.book_id, coalesce(v.detail, '') AS "detail!",
       (v.latest_position > GREATEST(coalesce(m.read_through, 0), coalesce(gm.read_through, 0))) AS "unread!"
FROM notification_groups g
CROSS JOIN LATERAL (
    SELECT count(*) AS items, max(i.position) AS latest_position, max(i.occurred_at) AS latest_at,
           (array_agg(i.actor_id ORDER BY i.position DESC) FILTER (WHERE i.actor_id IS NOT NULL))[1:3] AS actors,
           (array_agg(i.review_id ORDER BY i.position DESC))[1] AS review_id,
           (array_agg(i.book_id ORDER BY i.position DESC))[1] AS book_id,
           (array_agg(i.detail ORDER BY i.position DESC))[1] AS detail
    FROM notification_items i
    WHERE i.reader_id = g.reader_id AND i.kind = g.kind AND i.about = g.about
      AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = g.reader_id AND b.blocked_id = i.actor_id)
      AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = i.actor_id AND b.blocked_id = g.reader_id)
) v
LEFT JOIN notification_marks m ON m.reader_id = g.reader_id
LEFT JOIN notification_group_marks gm ON gm.reader_id = g.reader_id AND gm.kind = g.kind AND gm.about = g.about
WHERE g.reader_id = $1 AND g.latest_position < $2 AND v.items > 0
  AND NOT EXISTS (SELECT 1 FROM notification_mutes mu WHERE mu.reader_id = g.reader_id AND mu.kind = g.kind)
ORDER BY g.latest_position DESC
LIMIT $3
