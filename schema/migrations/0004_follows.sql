-- Profiles and the follow graph, projected by the `readers` projection.

ALTER TABLE readers ADD COLUMN bio text NOT NULL DEFAULT '';

CREATE TABLE follows (
    follower_id uuid NOT NULL,
    followee_id uuid NOT NULL,
    since       timestamptz NOT NULL,
    position    bigint NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);
-- Newest first both ways: who follows a reader, and whom a reader follows.
CREATE INDEX follows_by_followee ON follows (followee_id, position DESC);
CREATE INDEX follows_by_follower ON follows (follower_id, position DESC);

CREATE TABLE blocks (
    blocker_id uuid NOT NULL,
    blocked_id uuid NOT NULL,
    since      timestamptz NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);

CREATE TABLE reader_follow_counts (
    reader_id uuid PRIMARY KEY,
    followers bigint NOT NULL DEFAULT 0 CHECK (followers >= 0),
    following bigint NOT NULL DEFAULT 0 CHECK (following >= 0)
);
