-- Notifications: what others did that concerns a reader, kept by the `notifications`
-- projection; and what the reader did with them (read, muted), kept by the gateway.

INSERT INTO projection_checkpoints (name) VALUES ('notifications');

-- One row per thing that happened to a reader: a like or a comment on their review, a new
-- follower, a reader they follow reviewing a book on their shelves, a followed author's new
-- book, a role granted, their import finished. `kind` is the readmodel's NotificationKind.
-- Items of one kind about one thing (`about`: the review, the reader followed, the book, the
-- author's book, the role's reader, the job) make one group.
CREATE TABLE notification_items (
    reader_id   uuid NOT NULL,
    position    bigint NOT NULL,
    event_index integer NOT NULL,
    kind        text NOT NULL,
    about       uuid NOT NULL,
    actor_id    uuid,
    review_id   uuid,
    book_id     uuid,
    -- A role's name, an import's book count: what the kind needs to say.
    detail      text NOT NULL DEFAULT '',
    occurred_at timestamptz NOT NULL,
    PRIMARY KEY (reader_id, position, event_index)
);
CREATE INDEX notification_items_by_group ON notification_items (reader_id, kind, about, position DESC);
-- What a withdrawn review takes away, and what a deleted reader did.
CREATE INDEX notification_items_by_about ON notification_items (about);
CREATE INDEX notification_items_by_actor ON notification_items (actor_id) WHERE actor_id IS NOT NULL;

-- One row per group: where it sorts (its newest item).
CREATE TABLE notification_groups (
    reader_id       uuid NOT NULL,
    kind            text NOT NULL,
    about           uuid NOT NULL,
    latest_position bigint NOT NULL,
    latest_at       timestamptz NOT NULL,
    PRIMARY KEY (reader_id, kind, about)
);
CREATE INDEX notification_groups_newest ON notification_groups (reader_id, latest_position DESC, kind, about);

-- The projection's own copies of what it needs to know whom an event concerns, so a rebuild
-- depends on no other projection: each live review's author, who follows whom (readers and
-- authors), and who has which book on a shelf.
-- (Each copy is also indexed by reader, for a deleted account.)
CREATE TABLE notification_reviews (
    review_id uuid PRIMARY KEY,
    reader_id uuid NOT NULL,
    book_id   uuid NOT NULL
);
CREATE INDEX notification_reviews_by_reader ON notification_reviews (reader_id);
CREATE TABLE notification_follows (
    follower_id uuid NOT NULL,
    followee_id uuid NOT NULL,
    PRIMARY KEY (followee_id, follower_id)
);
CREATE INDEX notification_follows_by_follower ON notification_follows (follower_id);
CREATE TABLE notification_shelved (
    reader_id uuid NOT NULL,
    book_id   uuid NOT NULL,
    PRIMARY KEY (book_id, reader_id)
);
CREATE INDEX notification_shelved_by_reader ON notification_shelved (reader_id);

-- Owned by the gateway, not projected (a rebuild of the notifications keeps them): everything
-- up to `read_through` is read, and each group up to its own mark.
CREATE TABLE notification_marks (
    reader_id    uuid PRIMARY KEY,
    read_through bigint NOT NULL
);
CREATE TABLE notification_group_marks (
    reader_id    uuid NOT NULL,
    kind         text NOT NULL,
    about        uuid NOT NULL,
    read_through bigint NOT NULL,
    PRIMARY KEY (reader_id, kind, about)
);
-- The kinds a reader does not want to hear of: left out of their list and their unread count.
CREATE TABLE notification_mutes (
    reader_id uuid NOT NULL,
    kind      text NOT NULL,
    PRIMARY KEY (reader_id, kind)
);
