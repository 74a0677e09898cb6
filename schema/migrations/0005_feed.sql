-- Activity feeds, projected by the `feed` projection.

INSERT INTO projection_checkpoints (name) VALUES ('feed');

-- What readers did that their followers see: one row per activity.
CREATE TABLE activities (
    position     bigint NOT NULL,
    event_index  integer NOT NULL,
    actor_id     uuid NOT NULL,
    -- started_reading, finished_reading, did_not_finish, want_to_read, rated, reviewed,
    -- liked_review, followed
    kind         text NOT NULL,
    book_id      uuid,
    review_id    uuid,
    stars        smallint,
    followee_id  uuid,
    occurred_at  timestamptz NOT NULL,
    -- Dated well before it was recorded (an import): kept, but never in anyone's feed.
    backdated    boolean NOT NULL,
    -- Written into each follower's feed; otherwise (an account above the fan-out limit)
    -- merged into its followers' feeds when they read them.
    fanned_out   boolean NOT NULL,
    PRIMARY KEY (position, event_index)
);
CREATE INDEX activities_merged_on_read ON activities (actor_id, position DESC) WHERE NOT fanned_out AND NOT backdated;

-- Each reader's feed, fanned out on write.
CREATE TABLE feed_items (
    reader_id   uuid NOT NULL,
    position    bigint NOT NULL,
    event_index integer NOT NULL,
    actor_id    uuid NOT NULL,
    kind        text NOT NULL,
    PRIMARY KEY (reader_id, position, event_index)
);
CREATE INDEX feed_items_by_actor ON feed_items (reader_id, actor_id);

-- The feed projection's own copy of the follow graph, so fan-out follows the stream's order
-- exactly and a rebuild depends on no other projection.
CREATE TABLE feed_follows (
    follower_id uuid NOT NULL,
    followee_id uuid NOT NULL,
    PRIMARY KEY (followee_id, follower_id)
);
CREATE INDEX feed_follows_by_follower ON feed_follows (follower_id);

CREATE TABLE feed_follower_counts (
    reader_id uuid PRIMARY KEY,
    followers bigint NOT NULL DEFAULT 0 CHECK (followers >= 0),
    -- Above the fan-out limit: its activities are merged into feeds when read, and a live
    -- feed listens for them on `<ns>.live.activity.<reader_id>`.
    merged_on_read boolean NOT NULL DEFAULT false
);
