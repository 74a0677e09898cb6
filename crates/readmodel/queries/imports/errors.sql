-- Job $1's rows that were not imported, and why, in the file's order, at most $2.
SELECT row, reason FROM import_errors WHERE job_id = $1 ORDER BY row LIMIT $2
