-- Library imports (Goodreads, StoryGraph).

-- A feed's summary of an import: how many books it brought ("imported 312 books").
ALTER TABLE activities ADD COLUMN books integer;

-- The gateway's import jobs. The upload is stored here (in chunks) before the job starts, so
-- any gateway process resumes a job whose holder stopped: `next_row` is where it stands, and a
-- job is held only until `held_until`.
CREATE TABLE import_jobs (
    job_id        uuid PRIMARY KEY,
    reader_id     uuid NOT NULL,
    -- GOODREADS or STORYGRAPH
    format        text NOT NULL,
    -- QUEUED, RUNNING, DONE or FAILED
    status        text NOT NULL DEFAULT 'QUEUED',
    -- Why a FAILED job failed (a file that is not the format's CSV).
    failure       text,
    -- The stream's last position when the job was created: a command answered at or below it
    -- had been done before (the same file imported again).
    stream_position bigint NOT NULL,
    rows_total    integer NOT NULL DEFAULT 0,
    rows_imported integer NOT NULL DEFAULT 0,
    rows_skipped  integer NOT NULL DEFAULT 0,
    rows_failed   integer NOT NULL DEFAULT 0,
    -- Rows before this one (counted from 1, after the header) are done.
    next_row      integer NOT NULL DEFAULT 1,
    held_until    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX import_jobs_waiting ON import_jobs (created_at) WHERE status IN ('QUEUED', 'RUNNING');

CREATE TABLE import_chunks (
    job_id uuid NOT NULL REFERENCES import_jobs ON DELETE CASCADE,
    seq    integer NOT NULL,
    data   bytea NOT NULL,
    PRIMARY KEY (job_id, seq)
);

CREATE TABLE import_errors (
    job_id uuid NOT NULL REFERENCES import_jobs ON DELETE CASCADE,
    row    integer NOT NULL,
    reason text NOT NULL,
    PRIMARY KEY (job_id, row)
);
