-- Import jobs take turns and give up: a job that fails without saving progress is tried again
-- after a growing delay (held_until), and after `attempts` reach the gateway's bound it is
-- FAILED with the last error. Jobs are claimed by their last turn (updated_at), not by age, so
-- one reader's large import does not hold back everyone else's.
ALTER TABLE import_jobs ADD COLUMN attempts integer NOT NULL DEFAULT 0;
DROP INDEX import_jobs_waiting;
CREATE INDEX import_jobs_waiting ON import_jobs (updated_at) WHERE status IN ('QUEUED', 'RUNNING');
-- A deleted reader's jobs are found by reader.
CREATE INDEX import_jobs_reader ON import_jobs (reader_id);
-- A DONE job's final position: every row it imported is readable there.
ALTER TABLE import_jobs ADD COLUMN final_position bigint;
