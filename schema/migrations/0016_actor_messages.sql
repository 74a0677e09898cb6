-- Which messages each reader acted in (the envelope's actor), kept by the `readers`
-- projection: `GET /export/events.ndjson` reads these positions back from the stream.
CREATE TABLE actor_messages (
    actor_id uuid NOT NULL,
    position bigint NOT NULL,
    PRIMARY KEY (actor_id, position)
);
