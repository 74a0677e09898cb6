-- A failed import's end is recorded as an event (`LibraryImportFailed`, which notifies the
-- reader) after the job is marked FAILED: the worker sends it until accepted, and marks it
-- told here, so a NATS outage at the moment of failure loses nothing. Jobs that failed before
-- there were notifications are not told now.
ALTER TABLE import_jobs ADD COLUMN failure_told boolean NOT NULL DEFAULT false;
UPDATE import_jobs SET failure_told = true WHERE status = 'FAILED';
CREATE INDEX import_jobs_failures_to_tell ON import_jobs (job_id) WHERE status = 'FAILED' AND NOT failure_told;
