//! Library imports. The gateway stores the upload in Postgres (`import_jobs`, `import_chunks`:
//! the read-model crate's `imports`) and queues the job; then whichever worker holds the job
//! reads it row by row and sends
//! each row's commands as the reader, marked with the job (their events keep the file's dates
//! and reach no feed one by one). Progress (`next_row` and the counts) is saved after every
//! batch in one statement that also checks the job is still this process's, and a job is held
//! only for `HOLD` past its last save, so a crash resumes at the last saved row on any process.
//! Every command's id comes from the row's content, so a batch done again, or the same file
//! imported again, appends nothing twice.

pub mod formats;

use std::{collections::HashMap, io::Read, sync::Arc, time::Duration};

use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _};
use prost::Message as _;
use readstream_contracts::{
    proto::commands::v1 as pb, proto::live::v1 as live, social, Code, Identified, Isbn, Recorded, SeriesPosition,
    Survey,
};
use sha2::{Digest, Sha256};
use sqlx::{postgres::PgListener, PgPool};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use readstream_readmodel::imports::{load, ImportFormat, ImportStatus, Job, WAKE_CHANNEL};
use readstream_runtime::bus;

use self::formats::{Format, LibraryRow, Rows, Status};
use crate::{Refusal, Worker};

/// How long a job stays with the process running it after its last save.
const HOLD: Duration = Duration::from_secs(30);
/// Rows between two saves of a job's progress.
const BATCH: usize = 500;
/// Rows of one batch imported at once (each row's own commands go one after another): each
/// command waits for its service and NATS, so throughput comes from having many in flight.
const ROWS_AT_ONCE: usize = 128;
/// How often an idle worker looks for a job another process left.
const IDLE: Duration = Duration::from_secs(1);
/// The longest wait between two tries of a job.
const RETRY_MAX: Duration = Duration::from_secs(10 * 60);

/// How jobs take turns and give up.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportConfig {
    /// Tries of an import that end without saving progress before it is FAILED with the last
    /// error. Between them it waits IMPORT_RETRY_FIRST_MS, doubling up to 10 minutes: at the
    /// defaults about 40 minutes in all, so an outage does not fail everyone's imports.
    #[arg(long, env = "IMPORT_MAX_ATTEMPTS", default_value_t = 10)]
    pub max_attempts: i32,
    #[arg(long, env = "IMPORT_RETRY_FIRST_MS", default_value_t = 5_000)]
    pub retry_first_ms: u64,
    /// How long one import runs, in milliseconds, before another reader's waiting import has
    /// a turn.
    #[arg(long, env = "IMPORT_TURN_MS", default_value_t = 10_000)]
    pub turn_ms: u64,
}

impl Default for ImportConfig {
    fn default() -> Self {
        Self { max_attempts: 10, retry_first_ms: 5_000, turn_ms: 10_000 }
    }
}

/// Wakes the jobs' loop whenever a job is queued (`NOTIFY` on [`WAKE_CHANNEL`], sent when the
/// upload's transaction commits), listening again after a lost connection.
pub fn wake_on_notify(pool: PgPool, shutdown: CancellationToken) -> Arc<Notify> {
    let wake = Arc::new(Notify::new());
    let woken = wake.clone();
    tokio::spawn(async move {
        loop {
            match PgListener::connect_with(&pool).await {
                Ok(mut listener) => match listener.listen(WAKE_CHANNEL).await {
                    Ok(()) => loop {
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            notice = listener.try_recv() => match notice {
                                Ok(Some(_)) => woken.notify_one(),
                                // The connection was lost: jobs queued meanwhile are found by
                                // the `IDLE` look.
                                Ok(None) => woken.notify_one(),
                                Err(err) => {
                                    tracing::warn!(error = %err, "lost the wake-ups of queued imports");
                                    break;
                                }
                            },
                        }
                    },
                    Err(err) => tracing::warn!(error = %err, "could not listen for queued imports"),
                },
                Err(err) => tracing::warn!(error = %err, "could not listen for queued imports"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(IDLE) => {}
            }
        }
    });
    wake
}

/// Runs jobs while the worker runs: woken by a new upload, and every `IDLE` for a job whose
/// process stopped or whose retry is due.
pub async fn work(app: Worker, wake: Arc<Notify>, shutdown: CancellationToken) {
    loop {
        if let Err(err) = tell_failures(&app).await {
            tracing::warn!(error = %err, "could not tell readers of their failed imports yet; trying again later");
        }
        match claim(&app.pool).await {
            Ok(Some(job)) => {
                let (job_id, attempts) = (job.job_id, job.attempts);
                tokio::select! {
                    outcome = run(&app, job) => match outcome {
                        Ok(()) | Err(Stopped::Lost | Stopped::ReaderDeleted) => {}
                        Err(err) => {
                            tracing::warn!(%job_id, attempts, error = %err, "import stopped; it resumes from its last saved row");
                            if let Err(err) = retry_later(&app, job_id, attempts, &err.to_string()).await {
                                // Held no more once `HOLD` passes: this or another process tries again.
                                tracing::warn!(%job_id, error = %err, "could not put an import off");
                            }
                        }
                    },
                    _ = shutdown.cancelled() => return,
                }
            }
            Ok(None) => tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(IDLE) => {}
                _ = shutdown.cancelled() => return,
            },
            Err(err) => {
                tracing::warn!(error = %err, "could not look for import jobs");
                tokio::select! {
                    _ = tokio::time::sleep(IDLE) => {}
                    _ = shutdown.cancelled() => return,
                }
            }
        }
    }
}

/// The job that waited longest since its last turn, of those no live process holds and none
/// puts off: now held by this one. The waiting statuses are written out, not parameters: they
/// are the predicate of the partial index the claim reads (`import_jobs_waiting`).
async fn claim(pool: &PgPool) -> Result<Option<Job>, sqlx::Error> {
    sqlx::query_as!(
        Job,
        r#"UPDATE import_jobs SET status = $2, held_until = now() + make_interval(secs => $1), updated_at = now()
         WHERE job_id = (SELECT job_id FROM import_jobs
                         WHERE status IN ('QUEUED', 'RUNNING') AND (held_until IS NULL OR held_until < now())
                         ORDER BY updated_at LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING job_id, reader_id, format AS "format: ImportFormat", status AS "status: ImportStatus", failure,
                   stream_position, rows_total, rows_imported, rows_skipped, rows_failed, next_row, attempts,
                   final_position"#,
        HOLD.as_secs_f64(),
        ImportStatus::Running as _
    )
    .fetch_optional(pool)
    .await
}

/// A job that stopped without saving progress: put off for a growing while, or FAILED with
/// its last error once it has been tried `IMPORT_MAX_ATTEMPTS` times.
async fn retry_later(app: &Worker, job_id: Uuid, attempts: i32, error: &str) -> Result<(), sqlx::Error> {
    let (attempts, config) = (attempts.saturating_add(1), &app.imports);
    if attempts >= config.max_attempts {
        let failure = format!("stopped {attempts} times without progress; the last time: {error}");
        sqlx::query!(
            "UPDATE import_jobs SET status = $4, failure = $2, attempts = $3, held_until = NULL, updated_at = now()
             WHERE job_id = $1 AND status = $5",
            job_id,
            failure,
            attempts,
            ImportStatus::Failed as _,
            ImportStatus::Running as _
        )
        .execute(&app.pool)
        .await?;
        if let Some(job) = load(&app.pool, job_id).await? {
            announce(app, &job).await;
        }
        return Ok(());
    }
    let first = Duration::from_millis(config.retry_first_ms);
    let wait = first.saturating_mul(1 << (attempts - 1).clamp(0, 16)).min(RETRY_MAX);
    sqlx::query!(
        "UPDATE import_jobs SET attempts = $2, held_until = now() + make_interval(secs => $3) WHERE job_id = $1",
        job_id,
        attempts,
        wait.as_secs_f64()
    )
    .execute(&app.pool)
    .await?;
    Ok(())
}

/// Whether another reader's job waits for a turn.
async fn others_wait(pool: &PgPool, job: &Job) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM import_jobs
                          WHERE status IN ('QUEUED', 'RUNNING') AND reader_id <> $1
                            AND (held_until IS NULL OR held_until < now())) AS "waiting!""#,
        job.reader_id
    )
    .fetch_one(pool)
    .await
}

/// Why a job stopped before its end.
#[derive(Debug, thiserror::Error)]
enum Stopped {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("a command could not be sent: {0}")]
    Unavailable(String),
    #[error("another process holds the job now")]
    Lost,
    #[error("the reader deleted their account")]
    ReaderDeleted,
}

/// The upload as one `Read`, fetched from Postgres a chunk at a time as the parser asks.
struct Upload {
    chunks: std::sync::mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl Read for Upload {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.recv() {
                Ok(chunk) => self.current = chunk,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// The job's rows, parsed on a blocking thread as they are needed; `Err` once if the file is
/// not the format's export.
fn rows(
    pool: &PgPool,
    job: &Job,
) -> tokio::sync::mpsc::Receiver<Result<Result<LibraryRow, formats::RowError>, String>> {
    let (chunk_sender, chunks) = std::sync::mpsc::sync_channel::<Bytes>(2);
    let (row_sender, parsed) = tokio::sync::mpsc::channel(BATCH * 2);
    let (pool, job_id) = (pool.clone(), job.job_id);
    tokio::spawn(async move {
        let mut stored =
            sqlx::query_scalar!("SELECT data FROM import_chunks WHERE job_id = $1 ORDER BY seq", job_id).fetch(&pool);
        while let Ok(Some(chunk)) = stored.try_next().await {
            let sender = chunk_sender.clone();
            let sent = tokio::task::spawn_blocking(move || sender.send(Bytes::from(chunk))).await;
            if !matches!(sent, Ok(Ok(()))) {
                return;
            }
        }
    });
    let format: Format = job.format;
    tokio::task::spawn_blocking(move || {
        let upload = Upload { chunks, current: Bytes::new() };
        match Rows::new(format, upload) {
            Ok(rows) => {
                for row in rows {
                    if row_sender.blocking_send(Ok(row)).is_err() {
                        return;
                    }
                }
            }
            Err(err) => {
                let _ = row_sender.blocking_send(Err(err.to_string()));
            }
        }
    });
    parsed
}

/// What one row did.
enum Outcome {
    /// Something of it was new.
    Imported,
    /// All of it was there already.
    Skipped,
    Failed(String),
}

/// Runs the job for one turn: to its end, or until it has run `IMPORT_TURN_MS` and another
/// reader's job waits (it is then let go, to be claimed again after the others had theirs).
async fn run(app: &Worker, mut job: Job) -> Result<(), Stopped> {
    let turn = tokio::time::Instant::now() + Duration::from_millis(app.imports.turn_ms);
    if reader_deleted(app, &job).await? {
        return Err(Stopped::ReaderDeleted);
    }
    if job.rows_total == 0 {
        let mut counted = rows(&app.pool, &job);
        let mut total = 0;
        while let Some(row) = counted.recv().await {
            match row {
                Ok(_) => total += 1,
                Err(failure) => return fail(app, &job, &failure).await,
            }
        }
        job.rows_total = total;
        sqlx::query!("UPDATE import_jobs SET rows_total = $2 WHERE job_id = $1", job.job_id, total)
            .execute(&app.pool)
            .await?;
    }
    let mut parsed = rows(&app.pool, &job);
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let row = parsed.recv().await;
        let end = row.is_none();
        match row {
            Some(Ok(row)) => {
                let number = match &row {
                    Ok(row) => row.row,
                    Err(err) => err.row,
                };
                // Saved as done by an earlier run of this job.
                if number as i32 >= job.next_row {
                    batch.push(row);
                }
            }
            Some(Err(failure)) => return fail(app, &job, &failure).await,
            None => {}
        }
        if batch.len() == BATCH || (end && !batch.is_empty()) {
            let rows = std::mem::take(&mut batch);
            save(app, &mut job, rows).await?;
            if !end && tokio::time::Instant::now() >= turn && others_wait(&app.pool, &job).await? {
                return let_go(app, &job).await;
            }
        }
        if end {
            break;
        }
    }
    finish(app, &job).await
}

/// Whether the job's reader deleted their account: then their jobs are forgotten, not run.
async fn reader_deleted(app: &Worker, job: &Job) -> Result<bool, Stopped> {
    let erased =
        app.store.keys().is_erased(job.reader_id).await.map_err(|err| Stopped::Unavailable(err.to_string()))?;
    if erased {
        readstream_readmodel::imports::forget_reader(&app.pool, job.reader_id).await?;
    }
    Ok(erased)
}

/// Ends the job's turn where it stands; it is claimed again once the jobs waiting had theirs.
async fn let_go(app: &Worker, job: &Job) -> Result<(), Stopped> {
    sqlx::query!(
        "UPDATE import_jobs SET held_until = NULL, updated_at = now() WHERE job_id = $1 AND status = $2",
        job.job_id,
        ImportStatus::Running as _
    )
    .execute(&app.pool)
    .await?;
    // Another worker may take it at once.
    sqlx::query!("SELECT pg_notify($1, '')", WAKE_CHANNEL).execute(&app.pool).await?;
    Ok(())
}

/// Imports one batch and saves where the job stands, if it is still this process's.
async fn save(app: &Worker, job: &mut Job, rows: Vec<Result<LibraryRow, formats::RowError>>) -> Result<(), Stopped> {
    if reader_deleted(app, job).await? {
        return Err(Stopped::ReaderDeleted);
    }
    let last = rows.last().map_or(job.next_row - 1, |row| match row {
        Ok(row) => row.row as i32,
        Err(err) => err.row as i32,
    });
    let job_ref = &*job;
    let known = &books_by_isbn(&app.pool, &rows).await?;
    let outcomes: Vec<(u32, Outcome)> = futures::stream::iter(rows)
        .map(|row| async move {
            match row {
                Ok(row) => Ok::<_, Stopped>((row.row, import_row(app, job_ref, known, &row).await?)),
                Err(err) => Ok((err.row, Outcome::Failed(err.reason))),
            }
        })
        .buffer_unordered(ROWS_AT_ONCE)
        .try_collect()
        .await?;
    let count = |wanted: fn(&Outcome) -> bool| outcomes.iter().filter(|(_, o)| wanted(o)).count() as i32;
    let imported = count(|o| matches!(o, Outcome::Imported));
    let skipped = count(|o| matches!(o, Outcome::Skipped));
    let (failed_rows, reasons): (Vec<i32>, Vec<String>) = outcomes
        .into_iter()
        .filter_map(|(row, outcome)| match outcome {
            Outcome::Failed(reason) => Some((row as i32, reason)),
            _ => None,
        })
        .unzip();
    let mut tx = app.pool.begin().await?;
    let saved = sqlx::query!(
        "UPDATE import_jobs SET rows_imported = rows_imported + $3, rows_skipped = rows_skipped + $4,
                rows_failed = rows_failed + $5, next_row = $6, held_until = now() + make_interval(secs => $7),
                updated_at = now(), attempts = 0
         WHERE job_id = $1 AND next_row = $2 AND status = $8",
        job.job_id,
        job.next_row,
        imported,
        skipped,
        failed_rows.len() as i32,
        last + 1,
        HOLD.as_secs_f64(),
        ImportStatus::Running as _
    )
    .execute(&mut *tx)
    .await?;
    if saved.rows_affected() == 0 {
        return Err(Stopped::Lost);
    }
    sqlx::query!(
        "INSERT INTO import_errors (job_id, row, reason) SELECT $1, * FROM UNNEST($2::int[], $3::text[])
         ON CONFLICT DO NOTHING",
        job.job_id,
        &failed_rows,
        &reasons
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    job.next_row = last + 1;
    job.rows_imported += imported;
    job.rows_skipped += skipped;
    job.rows_failed += failed_rows.len() as i32;
    announce(app, job).await;
    Ok(())
}

async fn announce(app: &Worker, job: &Job) {
    let notice = live::ImportProgressed { rows_done: job.rows_done() }.encode_to_vec();
    if let Err(err) = app.nats.publish(social::live_import(&app.namespace, job.job_id), notice.into()).await {
        tracing::debug!(error = %err, "could not announce an import's progress");
    }
}

/// The job is done: its summary goes to the reader's followers (once, whoever retries), and
/// it is DONE once the read models show all of it.
async fn finish(app: &Worker, job: &Job) -> Result<(), Stopped> {
    let books = u32::try_from(job.rows_imported).unwrap_or(0);
    let request = pb::RecordImport {
        meta: Some(meta(job, &format!("import-summary:{}", job.job_id), false)),
        job_id: job.job_id.to_string(),
        books,
        source: job.format.as_str().to_owned(),
        failure: String::new(),
    };
    app.send(&request).await.map_err(|err| Stopped::Unavailable(err.message))?;
    // DONE means readable: every command of the job was accepted, and the read models have
    // reached the stream's end since.
    let unavailable = |err: readstream_contracts::Rejection| Stopped::Unavailable(err.message);
    let position = app.store.last_position().await.map_err(|err| Stopped::Unavailable(err.to_string()))?;
    app.positions.wait_for(position, &readstream_contracts::ReadModel::ALL).await.map_err(unavailable)?;
    let final_position = i64::try_from(position).unwrap_or(i64::MAX);
    sqlx::query!(
        "UPDATE import_jobs SET status = $3, final_position = $2, held_until = NULL, updated_at = now()
         WHERE job_id = $1",
        job.job_id,
        final_position,
        ImportStatus::Done as _
    )
    .execute(&app.pool)
    .await?;
    let done = Job { status: ImportStatus::Done, final_position: Some(final_position), ..job.clone() };
    announce(app, &done).await;
    Ok(())
}

/// Tells each reader whose import failed, once: the job's end recorded as an event
/// (`LibraryImportFailed`, by the command that records a finished one). A job is marked FAILED
/// first and told after, until the command is accepted, so a failure is never lost to an
/// outage; a reader who deleted their account meanwhile is told nothing.
async fn tell_failures(app: &Worker) -> Result<(), Stopped> {
    let untold = sqlx::query_scalar!(
        "SELECT job_id FROM import_jobs WHERE status = $1 AND NOT failure_told ORDER BY job_id LIMIT 20",
        ImportStatus::Failed as _
    )
    .fetch_all(&app.pool)
    .await?;
    for job_id in untold {
        let Some(job) = load(&app.pool, job_id).await? else { continue };
        if !reader_deleted(app, &job).await? {
            let request = pb::RecordImport {
                meta: Some(meta(&job, &format!("import-failure:{job_id}"), false)),
                job_id: job_id.to_string(),
                books: 0,
                source: job.format.as_str().to_owned(),
                failure: job
                    .failure
                    .clone()
                    .filter(|failure| !failure.is_empty())
                    .unwrap_or_else(|| "failed".to_owned()),
            };
            match app.send(&request).await {
                Ok(_) => {}
                Err(err) if worth_retrying(&err) => return Err(Stopped::Unavailable(err.message)),
                Err(err) => {
                    tracing::warn!(%job_id, error = %err.message, "a failed import's end was refused; not told")
                }
            }
        }
        sqlx::query!("UPDATE import_jobs SET failure_told = true WHERE job_id = $1", job_id).execute(&app.pool).await?;
    }
    Ok(())
}

async fn fail(app: &Worker, job: &Job, failure: &str) -> Result<(), Stopped> {
    sqlx::query!(
        "UPDATE import_jobs SET status = $3, failure = $2, held_until = NULL, updated_at = now() WHERE job_id = $1",
        job.job_id,
        failure,
        ImportStatus::Failed as _
    )
    .execute(&app.pool)
    .await?;
    announce(app, job).await;
    Ok(())
}

/// The command metadata of one step of an import: the reader acts, the id is the step's
/// content (`key`, hashed to a short idempotency key), and the job marks it unless it is the
/// job's summary.
fn meta(job: &Job, key: &str, marked: bool) -> pb::CommandMeta {
    let digest = Sha256::digest(key.as_bytes());
    let key: String = digest.iter().take(16).map(|byte| format!("{byte:02x}")).collect();
    bus::on_behalf_of(job.reader_id, job.job_id, &format!("import:{key}"), marked)
}

/// One row: its book found (or added), then the reader's steps, each its own command. The
/// steps on the reader's copy go one after another, in the order they happened; the rating
/// and the review, each an aggregate of its own, go beside them.
async fn import_row(
    app: &Worker,
    job: &Job,
    known: &HashMap<String, Uuid>,
    row: &LibraryRow,
) -> Result<Outcome, Stopped> {
    let mut new = false;
    let by_isbn = row.isbns.iter().find_map(|isbn| known.get(&isbn.to_string()).map(|book_id| (*isbn, *book_id)));
    let book_id = match by_isbn {
        Some((_, book_id)) => book_id,
        None => match find_book(&app.pool, row).await? {
            Some(book_id) => book_id,
            None => match import_book(app, job, row).await? {
                Ok((book_id, added)) => {
                    new |= added;
                    book_id
                }
                Err(reason) => return Ok(Outcome::Failed(reason)),
            },
        },
    };
    let (mut on_the_copy, beside): (Vec<Step>, Vec<Step>) = steps(row).into_iter().partition(Step::is_on_the_copy);
    // The ISBN the reader had stays with their copy: the catalog's edition it matched, or the
    // file's own, which the catalog is never given.
    if row.status.is_some() {
        if let Some(isbn) = by_isbn.map(|(isbn, _)| isbn).or_else(|| row.isbns.first().copied()) {
            on_the_copy.push(Step::Isbn { isbn: isbn.to_string() });
        }
    }
    let copy = async {
        let mut new = false;
        for step in &on_the_copy {
            match import_step(app, job, book_id, step).await? {
                Ok(added) => new |= added,
                failed => return Ok(failed),
            }
        }
        Ok(Ok(new))
    };
    let beside = futures::future::try_join_all(beside.iter().map(|step| import_step(app, job, book_id, step)));
    let (copy, beside) = futures::future::try_join(copy, beside).await?;
    for outcome in std::iter::once(copy).chain(beside) {
        match outcome {
            Ok(added) => new |= added,
            Err(reason) => return Ok(Outcome::Failed(reason)),
        }
    }
    Ok(if new { Outcome::Imported } else { Outcome::Skipped })
}

/// Sends one step: whether it added anything, or why the file's row is refused.
async fn import_step(app: &Worker, job: &Job, book_id: Uuid, step: &Step) -> Result<Result<bool, String>, Stopped> {
    let key = format!("{book_id}:{}", step.key());
    match step.send(app, meta(job, &key, true), book_id).await {
        Ok(accepted) => Ok(Ok(!accepted.event_ids.is_empty() && accepted.position > job.stream_position as u64)),
        // Something of the reader's that the file would add twice (a review written since).
        Err(err) if err.code == Code::AlreadyExists => Ok(Ok(false)),
        Err(err) if worth_retrying(&err) => Err(Stopped::Unavailable(err.message)),
        Err(err) => Ok(Err(format!("{}: {}", step.column(), err.message))),
    }
}

/// Whether a refused step may go through later: the service or the stream was out of reach.
/// `INTERNAL` (a history this version cannot read, say) comes back the same every time, so it
/// fails the row, not the job.
fn worth_retrying(err: &Refusal) -> bool {
    matches!(err.code, Code::Unavailable | Code::DeadlineExceeded | Code::RateLimited)
}

/// The catalog's books the ISBNs of a batch's rows name, by ISBN: one query for the batch
/// instead of one per row (most rows of a library name a book the catalog has).
async fn books_by_isbn(
    pool: &PgPool,
    rows: &[Result<LibraryRow, formats::RowError>],
) -> Result<HashMap<String, Uuid>, sqlx::Error> {
    let isbns: Vec<String> = rows.iter().flatten().flat_map(|row| row.isbns.iter().map(Isbn::to_string)).collect();
    if isbns.is_empty() {
        return Ok(HashMap::new());
    }
    let found = sqlx::query!("SELECT isbn, book_id FROM editions WHERE isbn = ANY($1)", &isbns).fetch_all(pool).await?;
    Ok(found.into_iter().map(|edition| (edition.isbn, edition.book_id)).collect())
}

/// The catalog's book for a row: by ISBN-13, then ISBN-10 (both kept as ISBN-13), then by
/// title and first author as the catalog folds them (case and accents aside).
async fn find_book(pool: &PgPool, row: &LibraryRow) -> Result<Option<Uuid>, sqlx::Error> {
    let isbns: Vec<String> = row.isbns.iter().map(Isbn::to_string).collect();
    if !isbns.is_empty() {
        let by_isbn = sqlx::query_scalar!("SELECT book_id FROM editions WHERE isbn = ANY($1) LIMIT 1", &isbns)
            .fetch_optional(pool)
            .await?;
        if by_isbn.is_some() {
            return Ok(by_isbn);
        }
    }
    let author = row.authors.first().map(String::as_str).unwrap_or_default();
    sqlx::query_scalar!(
        "SELECT b.book_id FROM books b
         JOIN book_authors ba ON ba.book_id = b.book_id AND ba.ordinal = 0
         JOIN authors a ON a.author_id = ba.author_id
         WHERE search_text(b.title) = search_text($1) AND search_text(a.name) = search_text($2)
         ORDER BY b.position LIMIT 1",
        row.title,
        author
    )
    .fetch_optional(pool)
    .await
}

/// Adds a book the catalog lacks, with its authors matched by name where the catalog has them.
async fn import_book(app: &Worker, job: &Job, row: &LibraryRow) -> Result<Result<(Uuid, bool), String>, Stopped> {
    let mut authors = Vec::with_capacity(row.authors.len());
    for name in &row.authors {
        let known = sqlx::query_scalar!(
            "SELECT author_id FROM authors WHERE search_text(name) = search_text($1) ORDER BY position LIMIT 1",
            name
        )
        .fetch_optional(&app.pool)
        .await?;
        authors.push(match known {
            Some(author_id) => pb::ImportedAuthor { author_id: author_id.to_string(), name: String::new() },
            None => pb::ImportedAuthor { author_id: String::new(), name: name.clone() },
        });
    }
    let year = |year: Option<i32>| year.map(|year| format!("{year:04}-01-01")).unwrap_or_default();
    // The catalog's series of the name the title gives, or a new one the catalog adds.
    let (series_id, series_name, series_position) = match &row.series {
        Some(place) => match readstream_readmodel::series::named(&app.pool, &place.name).await? {
            Some(series_id) => (series_id.to_string(), String::new(), place.number),
            None => (String::new(), place.name.clone(), place.number),
        },
        None => (String::new(), String::new(), None),
    };
    let request = pb::ImportBook {
        meta: Some(meta(job, &format!("book:{}:{}", row.title, row.authors.join("|")), true)),
        title: row.title.clone(),
        subtitle: row.subtitle.clone(),
        authors,
        pages: row.pages.unwrap_or(0),
        format: row.format.clone(),
        first_published: year(row.original_year.or(row.year_published)),
        series_id,
        series_name,
        series_position: series_position.map(SeriesPosition::hundredths),
    };
    match app.send(&request).await {
        Ok(accepted) => {
            let recorded = &accepted.recorded;
            let added = !recorded.event_ids.is_empty() && recorded.position > job.stream_position as u64;
            Ok(Ok((accepted.id, added)))
        }
        Err(err) if worth_retrying(&err) => Err(Stopped::Unavailable(err.message)),
        Err(err) => Ok(Err(format!("the book could not be added: {}", err.message))),
    }
}

/// One command of a row.
enum Step {
    WantToRead { on: String },
    Start { on: String },
    Pause { on: String },
    Finish { on: String, read: u32 },
    Abandon { on: String },
    Shelf { name: String },
    Isbn { isbn: String },
    Rate { quarters: u8 },
    Review { body: String, spoiler: bool, on: String },
    Describe { survey: Survey },
}

impl Step {
    /// What makes this step this step: with the book, the key of its command id.
    fn key(&self) -> String {
        match self {
            Step::WantToRead { on } => format!("want:{on}"),
            Step::Start { on } => format!("start:{on}"),
            Step::Pause { on } => format!("pause:{on}"),
            Step::Finish { on, read } => format!("finish:{read}:{on}"),
            Step::Abandon { on } => format!("abandon:{on}"),
            Step::Shelf { name } => format!("shelf:{}", name.to_lowercase()),
            Step::Isbn { isbn } => format!("isbn:{isbn}"),
            Step::Rate { quarters } => format!("rate:{quarters}"),
            Step::Review { body, spoiler, on } => format!("review:{spoiler}:{on}:{body}"),
            Step::Describe { survey } => format!("describe:{survey:?}"),
        }
    }

    /// Whether the step is on the reader's copy of the book (shelves, reading), not on their
    /// rating or review.
    fn is_on_the_copy(&self) -> bool {
        !matches!(self, Step::Rate { .. } | Step::Review { .. } | Step::Describe { .. })
    }

    /// The file's column a refusal of this step is about.
    fn column(&self) -> &'static str {
        match self {
            Step::WantToRead { .. } | Step::Start { .. } | Step::Pause { .. } => "Date Added",
            Step::Finish { .. } | Step::Abandon { .. } => "Date Read",
            Step::Shelf { .. } => "Bookshelves",
            Step::Isbn { .. } => "ISBN13",
            Step::Rate { .. } => "My Rating",
            Step::Review { .. } => "My Review",
            Step::Describe { .. } => "Moods",
        }
    }

    async fn send(&self, app: &Worker, meta: pb::CommandMeta, book_id: Uuid) -> Result<Recorded, Refusal> {
        let (meta, book_id) = (Some(meta), book_id.to_string());
        let recorded = |reply: Identified| reply.recorded;
        match self {
            Step::WantToRead { on } => app.send(&pb::WantToRead { meta, book_id, on: on.clone() }).await.map(recorded),
            Step::Start { on } => {
                app.send(&pb::StartReading { meta, book_id, started_on: on.clone() }).await.map(recorded)
            }
            Step::Pause { on } => app.send(&pb::PauseReading { meta, book_id, on: on.clone() }).await.map(recorded),
            Step::Finish { on, read } => {
                // Each read after the first is a read-through of its own, though the copy is read.
                let finish = pb::FinishReading { meta, book_id, finished_on: on.clone(), reread: *read > 1 };
                app.send(&finish).await.map(recorded)
            }
            Step::Abandon { on } => {
                app.send(&pb::AbandonReading { meta, book_id, on: on.clone(), note: String::new() }).await.map(recorded)
            }
            Step::Shelf { name } => {
                app.send(&pb::AddToShelf { meta, book_id, shelf: name.clone() }).await.map(recorded)
            }
            Step::Isbn { isbn } => app.send(&pb::NoteIsbn { meta, book_id, isbn: isbn.clone() }).await.map(recorded),
            Step::Rate { quarters } => {
                let rate = pb::RateBook { meta, book_id, stars: 0, quarter_stars: i32::from(*quarters) };
                app.send(&rate).await.map(recorded)
            }
            Step::Review { body, spoiler, on } => {
                let review = pb::PublishReview {
                    meta,
                    book_id,
                    body: body.clone(),
                    contains_spoilers: *spoiler,
                    written_on: on.clone(),
                };
                app.send(&review).await
            }
            Step::Describe { survey } => {
                let describe = pb::DescribeBook {
                    meta,
                    book_id,
                    moods: survey.moods.iter().map(|mood| mood.as_str().to_owned()).collect(),
                    pace: survey.pace.map(|pace| pace.as_str()).unwrap_or_default().to_owned(),
                    content_warnings: survey.content_warnings.iter().map(|w| w.as_str().to_owned()).collect(),
                };
                app.send(&describe).await.map(recorded)
            }
        }
    }
}

/// A row as the reader's steps, in the order they happened.
fn steps(row: &LibraryRow) -> Vec<Step> {
    let day = |date: Option<chrono::NaiveDate>| date.map(|d| d.to_string()).unwrap_or_default();
    let added = row.date_added;
    let read = row.date_read.or(added);
    let mut steps = Vec::new();
    // Shelved before it was read: the copy's history begins the day it was added.
    let first_day = match row.status {
        Some(Status::Read | Status::DidNotFinish) => read,
        Some(Status::CurrentlyReading | Status::Paused) => row.started_on,
        Some(Status::ToRead) | None => None,
    };
    if let (Some(added), Some(first_day)) = (added, first_day) {
        if added < first_day {
            steps.push(Step::WantToRead { on: day(Some(added)) });
        }
    }
    match row.status {
        Some(Status::ToRead) => steps.push(Step::WantToRead { on: day(added) }),
        Some(Status::CurrentlyReading) => steps.push(Step::Start { on: day(row.started_on.or(added)) }),
        Some(Status::Paused) => {
            steps.push(Step::Start { on: day(row.started_on.or(added)) });
            steps.push(Step::Pause { on: day(read.max(row.started_on.or(added))) });
        }
        Some(Status::Read) => {
            // Earlier reads of a reread book, as many as the file counts, on the earlier day
            // it knows; then the last, with its start when the file has one.
            let earlier = read.min(added).or(read);
            for time in 1..row.read_count.max(1) {
                steps.push(Step::Finish { on: day(earlier), read: time });
            }
            if row.started_on.is_some() {
                steps.push(Step::Start { on: day(row.started_on) });
            }
            steps.push(Step::Finish { on: day(read), read: row.read_count.max(1) });
        }
        Some(Status::DidNotFinish) => steps.push(Step::Abandon { on: day(read) }),
        None => {}
    }
    for name in &row.shelves {
        steps.push(Step::Shelf { name: name.clone() });
    }
    if row.owned {
        steps.push(Step::Shelf { name: "owned".into() });
    }
    if let Some(quarters) = row.quarter_stars {
        steps.push(Step::Rate { quarters });
    }
    if let Some(body) = &row.review {
        steps.push(Step::Review { body: body.clone(), spoiler: row.spoiler, on: day(read) });
    }
    if !row.survey.is_empty() {
        steps.push(Step::Describe { survey: row.survey.clone() });
    }
    steps
}
