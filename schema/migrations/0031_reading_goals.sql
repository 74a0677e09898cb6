-- Reading goals and the time zone a reader's days are in.

-- Each reader's target of books for a year (`ReadingGoalSet`, `ReadingGoalRemoved`), kept by
-- the `shelves` projection beside the reading timeline it is measured against.
CREATE TABLE reading_goals (
    reader_id uuid NOT NULL,
    year      integer NOT NULL,
    books     integer NOT NULL CHECK (books > 0),
    set_at    timestamptz NOT NULL,
    position  bigint NOT NULL,
    PRIMARY KEY (reader_id, year)
);

-- An IANA name (`TimeZoneChanged`, kept by the `readers` projection): where "today" is for the
-- reader's goal. Every reader's days are UTC's until they say otherwise.
ALTER TABLE readers ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC';
