-- Reading: each reader's shelves and reading log, projected by the `shelves` projection.

INSERT INTO projection_checkpoints (name) VALUES ('shelves');

-- A reader's copy of a book: its built-in shelf and the current read-through.
CREATE TABLE shelf_entries (
    reader_id        uuid NOT NULL,
    book_id          uuid NOT NULL,
    -- want_to_read, currently_reading, paused, read, did_not_finish; NULL when off the
    -- built-in shelves (a book can still be on custom shelves).
    status           text CHECK (status IN ('want_to_read', 'currently_reading', 'paused', 'read', 'did_not_finish')),
    -- The day the status was set, in the reader's life.
    status_on        date,
    -- The stream position of that change: the order of a shelf, newest first.
    status_position  bigint NOT NULL,
    started_on       date,
    finished_on      date,
    progress_page    integer,
    progress_percent integer,
    read_count       integer NOT NULL DEFAULT 0 CHECK (read_count >= 0),
    read_through     integer NOT NULL DEFAULT 0,
    position         bigint NOT NULL,
    PRIMARY KEY (reader_id, book_id)
);
CREATE INDEX shelf_entries_by_shelf ON shelf_entries (reader_id, status, status_position);

-- A reader's own named shelves.
CREATE TABLE custom_shelf_entries (
    reader_id uuid NOT NULL,
    shelf_key text NOT NULL,
    book_id   uuid NOT NULL,
    shelf     text NOT NULL,
    position  bigint NOT NULL,
    PRIMARY KEY (reader_id, shelf_key, book_id)
);

-- Every reading step as it happened: the timeline, past shelves (`asOf`) and yearly stats
-- come straight from here.
CREATE TABLE reading_timeline (
    position     bigint NOT NULL,
    event_index  integer NOT NULL,
    reader_id    uuid NOT NULL,
    book_id      uuid NOT NULL,
    -- want_to_read, started, resumed, progress, paused, finished, abandoned, removed
    kind         text NOT NULL,
    on_date      date NOT NULL,
    page         integer,
    percent      integer,
    note         text NOT NULL DEFAULT '',
    read_through integer NOT NULL,
    recorded_at  timestamptz NOT NULL,
    PRIMARY KEY (position, event_index)
);
CREATE INDEX reading_timeline_by_reader ON reading_timeline (reader_id, on_date, position);
CREATE INDEX reading_timeline_finished ON reading_timeline (reader_id, on_date) WHERE kind = 'finished';

-- How many readers have a book on each built-in shelf.
CREATE TABLE book_shelf_counts (
    book_id           uuid PRIMARY KEY,
    want_to_read      bigint NOT NULL DEFAULT 0 CHECK (want_to_read >= 0),
    currently_reading bigint NOT NULL DEFAULT 0 CHECK (currently_reading >= 0),
    paused            bigint NOT NULL DEFAULT 0 CHECK (paused >= 0),
    read              bigint NOT NULL DEFAULT 0 CHECK (read >= 0),
    did_not_finish    bigint NOT NULL DEFAULT 0 CHECK (did_not_finish >= 0),
    position          bigint NOT NULL DEFAULT 0
);
