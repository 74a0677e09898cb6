-- How many of reader $1's notification items are newer than their marks: blocks and mutes
-- applied as the list applies them.
SELECT count(*) AS "n!"
FROM notification_items i
LEFT JOIN notification_group_marks gm ON gm.reader_id = i.reader_id AND gm.kind = i.kind AND gm.about = i.about
WHERE i.reader_id = $1
  AND i.position > coalesce((SELECT read_through FROM notification_marks WHERE reader_id = $1), 0)
  AND i.position > coalesce(gm.read_through, 0)
  AND NOT EXISTS (SELECT 1 FROM notification_mutes mu WHERE mu.reader_id = $1 AND mu.kind = i.kind)
  AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = $1 AND b.blocked_id = i.actor_id)
  AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = i.actor_id AND b.blocked_id = $1)
