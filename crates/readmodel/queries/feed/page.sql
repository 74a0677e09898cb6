-- One page of a reader's feed, newest first: their fanned-out items merged with the activities
-- of the accounts they follow that are merged on read, before the cursor ($3, $4); $2 the kinds
-- asked for (NULL: all). Reading activities ($6) of a reader whose reading is theirs alone ($7)
-- are left out, each item looked up by its actor, so no page costs more as readers sign up.
WITH page AS (
    (SELECT position, event_index FROM feed_items f
     WHERE reader_id = $1 AND ($2::text[] IS NULL OR kind = ANY($2))
       AND (position, event_index) < ($3, $4)
       AND NOT (kind = ANY($6::text[])
                AND EXISTS (SELECT 1 FROM readers r WHERE r.reader_id = f.actor_id AND r.reading_visibility = $7))
     ORDER BY position DESC, event_index DESC LIMIT $5)
    UNION ALL
    (SELECT a.position, a.event_index FROM activities a
     WHERE NOT a.fanned_out AND NOT a.backdated
       AND a.actor_id IN (SELECT followee_id FROM feed_follows WHERE follower_id = $1)
       AND ($2::text[] IS NULL OR a.kind = ANY($2))
       AND (a.position, a.event_index) < ($3, $4)
       AND NOT (a.kind = ANY($6::text[])
                AND EXISTS (SELECT 1 FROM readers r WHERE r.reader_id = a.actor_id AND r.reading_visibility = $7))
     ORDER BY a.position DESC, a.event_index DESC LIMIT $5)
)
SELECT a.position, a.event_index, a.actor_id, a.kind AS "kind: ActivityKind", a.book_id, a.review_id, a.quarter_stars,
       a.followee_id, a.occurred_at, a.books
FROM page p JOIN activities a ON a.position = p.position AND a.event_index = p.event_index
ORDER BY a.position DESC, a.event_index DESC
LIMIT $5
