-- Who follows which author of the catalog, and each author's follower count: written by the
-- readers projection from `AuthorFollowed` and `AuthorUnfollowed`.
CREATE TABLE author_follows (
    reader_id uuid NOT NULL,
    author_id uuid NOT NULL,
    since     timestamptz NOT NULL,
    PRIMARY KEY (reader_id, author_id)
);
CREATE INDEX author_follows_by_author ON author_follows (author_id);

CREATE TABLE author_follower_counts (
    author_id uuid PRIMARY KEY,
    followers bigint NOT NULL DEFAULT 0 CHECK (followers >= 0)
);
