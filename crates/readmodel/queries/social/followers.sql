-- One page of the readers following $1, most recent first, before follow position $2, at most
-- $3. One statement per direction, the cursor always a bound: planned once for any parameters,
-- both directions in one statement (`$2 AND … OR NOT $2 AND …`) or an optional cursor could
-- only filter, reading and sorting all of a popular reader's follows for each page.
SELECT follower_id AS "reader_id", position FROM follows WHERE followee_id = $1 AND position < $2
ORDER BY position DESC LIMIT $3
