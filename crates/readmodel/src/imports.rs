//! Library imports: each job (`import_jobs`) and its upload (`import_chunks`). The gateway
//! stores an upload and queues its job ([`create`]); the worker, woken on [`WAKE_CHANNEL`],
//! runs it and keeps its progress here, which the gateway reads ([`load`]).

use sqlx::PgPool;
use tokio::io::AsyncReadExt as _;
use uuid::Uuid;

use crate::text_kind;

/// How much of an upload one row of `import_chunks` holds.
pub const CHUNK_BYTES: usize = 1 << 20;
/// Imports of one reader queued or running at once.
pub const MAX_OPEN_IMPORTS: i64 = 2;
/// The Postgres channel a queued job is announced on (`NOTIFY`), which wakes the workers.
pub const WAKE_CHANNEL: &str = "readstream_import_queued";

/// Which service's export a file is (`import_jobs.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportFormat {
    Goodreads,
    StoryGraph,
}

text_kind!(ImportFormat { Goodreads => "GOODREADS", StoryGraph => "STORYGRAPH" });

/// Where a job stands (`import_jobs.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportStatus {
    Queued,
    Running,
    /// Every row went through and the read models show all of it.
    Done,
    /// Given up on (`failure` says why).
    Failed,
}

text_kind!(ImportStatus { Queued => "QUEUED", Running => "RUNNING", Done => "DONE", Failed => "FAILED" });

/// A job as stored.
#[derive(Debug, Clone)]
pub struct Job {
    pub job_id: Uuid,
    pub reader_id: Uuid,
    pub format: ImportFormat,
    pub status: ImportStatus,
    pub failure: Option<String>,
    /// The stream's last position when the job was queued: what the job appends comes after.
    pub stream_position: i64,
    pub rows_total: i32,
    pub rows_imported: i32,
    pub rows_skipped: i32,
    pub rows_failed: i32,
    pub next_row: i32,
    /// Tries since the job last saved progress.
    pub attempts: i32,
    /// Once DONE: the stream position the read models had reached when it ended.
    pub final_position: Option<i64>,
}

impl Job {
    pub fn rows_done(&self) -> u64 {
        (self.rows_imported + self.rows_skipped + self.rows_failed) as u64
    }
}

pub async fn load(pool: &PgPool, job_id: Uuid) -> Result<Option<Job>, sqlx::Error> {
    sqlx::query_file_as!(Job, "queries/imports/load.sql", job_id).fetch_optional(pool).await
}

/// Why an upload was not queued.
#[derive(Debug, thiserror::Error)]
pub enum NotQueued {
    #[error("{MAX_OPEN_IMPORTS} of your imports are still running: wait for one to end (importProgress)")]
    TooManyOpen,
    #[error("the upload could not be read: {0}")]
    Unreadable(std::io::Error),
    #[error("the file is empty")]
    Empty,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Stores the upload, read from `file` a chunk at a time, queues its job and wakes the workers;
/// `stream_position` is the stream's last position now.
pub async fn create(
    pool: &PgPool,
    reader_id: Uuid,
    format: ImportFormat,
    stream_position: i64,
    file: std::fs::File,
) -> Result<Job, NotQueued> {
    let job_id = Uuid::now_v7();
    let mut file = tokio::fs::File::from_std(file);
    let mut tx = pool.begin().await?;
    // One reader's uploads waiting at once are bounded, so no one fills the database with them.
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))", reader_id.to_string())
        .execute(&mut *tx)
        .await?;
    let open = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM import_jobs WHERE reader_id = $1 AND status = ANY($2::text[])"#,
        reader_id,
        &[ImportStatus::Queued, ImportStatus::Running] as _
    )
    .fetch_one(&mut *tx)
    .await?;
    if open >= MAX_OPEN_IMPORTS {
        return Err(NotQueued::TooManyOpen);
    }
    sqlx::query!(
        "INSERT INTO import_jobs (job_id, reader_id, format, stream_position) VALUES ($1, $2, $3, $4)",
        job_id,
        reader_id,
        format as _,
        stream_position
    )
    .execute(&mut *tx)
    .await?;
    let mut seq = 0;
    loop {
        let mut chunk = Vec::with_capacity(CHUNK_BYTES);
        let read = (&mut file).take(CHUNK_BYTES as u64).read_to_end(&mut chunk).await.map_err(NotQueued::Unreadable)?;
        if read == 0 {
            break;
        }
        sqlx::query!("INSERT INTO import_chunks (job_id, seq, data) VALUES ($1, $2, $3)", job_id, seq, chunk)
            .execute(&mut *tx)
            .await?;
        seq += 1;
    }
    if seq == 0 {
        return Err(NotQueued::Empty);
    }
    // Sent when the transaction commits: a worker woken by it finds the job.
    sqlx::query!("SELECT pg_notify($1, '')", WAKE_CHANNEL).execute(&mut *tx).await?;
    tx.commit().await?;
    load(pool, job_id).await?.ok_or(NotQueued::Database(sqlx::Error::RowNotFound))
}

/// Forgets a deleted reader's imports: the jobs, their uploads (reviews and private notes in
/// them) and their rows' errors. A job running elsewhere finds it gone at its next save.
pub async fn forget_reader(pool: &PgPool, reader_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM import_jobs WHERE reader_id = $1", reader_id).execute(pool).await?;
    Ok(())
}

/// A row of the file that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Counted from 1 after the header line.
    pub row: i32,
    pub reason: String,
}

/// `job_id`'s rows that were not imported, in the file's order, at most `limit`.
pub async fn errors(db: impl sqlx::PgExecutor<'_>, job_id: Uuid, limit: i64) -> Result<Vec<RowError>, sqlx::Error> {
    sqlx::query_file_as!(RowError, "queries/imports/errors.sql", job_id, limit).fetch_all(db).await
}
