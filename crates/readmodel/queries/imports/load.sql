-- One import job.
SELECT job_id, reader_id, format AS "format: ImportFormat", status AS "status: ImportStatus", failure,
       stream_position, rows_total, rows_imported, rows_skipped, rows_failed, next_row, attempts, final_position
FROM import_jobs WHERE job_id = $1
