-- Readers' lists, kept by the `lists` projection: each list, its books ranked by votes, and
-- who voted for what.

INSERT INTO projection_checkpoints (name) VALUES ('lists');

CREATE TABLE lists (
    list_id     uuid PRIMARY KEY,
    -- NULL once the owner deleted their account: the list stays, without its title and
    -- description (their own words), with its books and votes.
    owner_id    uuid,
    title       text NOT NULL,
    description text NOT NULL,
    hidden      boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL,
    -- The stream position that created it: the order of the newest lists.
    position    bigint NOT NULL,
    books       integer NOT NULL DEFAULT 0,
    votes       integer NOT NULL DEFAULT 0
);
CREATE INDEX lists_newest ON lists (position DESC) WHERE NOT hidden;
CREATE INDEX lists_by_owner ON lists (owner_id, position DESC);

CREATE TABLE list_books (
    list_id  uuid NOT NULL,
    book_id  uuid NOT NULL,
    votes    integer NOT NULL DEFAULT 0,
    added_by uuid,
    position bigint NOT NULL,
    PRIMARY KEY (list_id, book_id)
);
CREATE INDEX list_books_ranked ON list_books (list_id, votes DESC, position, book_id);
CREATE INDEX list_books_by_book ON list_books (book_id, votes DESC, list_id);

CREATE TABLE list_votes (
    list_id   uuid NOT NULL,
    book_id   uuid NOT NULL,
    reader_id uuid NOT NULL,
    PRIMARY KEY (list_id, book_id, reader_id)
);
CREATE INDEX list_votes_by_reader ON list_votes (reader_id);
