//! The import slice: a reader brings their library from Goodreads or StoryGraph (a GraphQL
//! multipart upload), and follows the job until it is done.

use async_graphql::{ComplexObject, Context, Enum, Object, Result, SimpleObject, Subscription, Upload, ID};
use futures::{Stream, StreamExt as _};
use readstream_contracts::{proto::live::v1 as live, social, Code};
use readstream_readmodel::imports::{self, Job, NotQueued};
use uuid::Uuid;

use super::shared::{app, viewer};
use crate::{
    commands::parse_id,
    error::ApiError,
    subscriptions::{self, Replay},
};

#[derive(Debug, Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "imports::ImportFormat")]
pub enum ImportFormat {
    /// Goodreads' library export (either of its column sets).
    Goodreads,
    /// StoryGraph's export.
    #[graphql(name = "STORYGRAPH")]
    StoryGraph,
}

#[derive(Debug, Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "imports::ImportStatus")]
pub enum ImportStatus {
    Queued,
    Running,
    Done,
    Failed,
}

/// A row of the file that was not imported, and why.
#[derive(Debug, Clone, SimpleObject)]
pub struct ImportError {
    /// Counted from 1 after the header line.
    pub row: i32,
    pub reason: String,
}

/// A library import and how far it is.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct ImportJob {
    pub id: ID,
    pub status: ImportStatus,
    pub format: ImportFormat,
    /// Why a `FAILED` job failed.
    pub failure: Option<String>,
    /// Rows in the file (0 until the job has counted them).
    pub rows_total: i32,
    /// Rows that brought something new.
    pub rows_imported: i32,
    /// Rows whose books, shelves, ratings and reviews were all there already.
    pub rows_skipped: i32,
    pub rows_failed: i32,
    /// Once `DONE`: a stream position every row it imported is readable at (send it as
    /// `Readstream-Min-Position`); null before.
    pub position: Option<u64>,
    #[graphql(skip)]
    pub job_id: Uuid,
}

#[ComplexObject]
impl ImportJob {
    /// The rows not imported, in the file's order.
    async fn errors(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many, 1 to 1000 (default 100).")] first: Option<i32>,
    ) -> Result<Vec<ImportError>> {
        let first = first.unwrap_or(100);
        if !(1..=1000).contains(&first) {
            return Err(ApiError::invalid("first", "first is 1 to 1000").into());
        }
        let errors = imports::errors(&app(ctx).pool, self.job_id, i64::from(first)).await.map_err(ApiError::from)?;
        Ok(errors.into_iter().map(|error| ImportError { row: error.row, reason: error.reason }).collect())
    }
}

impl From<Job> for ImportJob {
    fn from(job: Job) -> Self {
        ImportJob {
            id: ID(job.job_id.to_string()),
            status: job.status.into(),
            format: job.format.into(),
            failure: job.failure,
            rows_total: job.rows_total,
            rows_imported: job.rows_imported,
            rows_skipped: job.rows_skipped,
            rows_failed: job.rows_failed,
            position: job.final_position.and_then(|position| u64::try_from(position).ok()),
            job_id: job.job_id,
        }
    }
}

/// The viewer's own job; anyone else's is as good as none.
async fn own_job(ctx: &Context<'_>, id: &ID) -> Result<Option<Job>, ApiError> {
    let viewer = viewer(ctx)?;
    let job = imports::load(&app(ctx).pool, parse_id("id", id)?).await?;
    Ok(job.filter(|job| job.reader_id == viewer.reader_id))
}

#[derive(Default)]
pub struct ImportQuery;

#[Object]
impl ImportQuery {
    /// One of the viewer's imports.
    async fn import_job(&self, ctx: &Context<'_>, id: ID) -> Result<Option<ImportJob>> {
        Ok(own_job(ctx, &id).await?.map(ImportJob::from))
    }
}

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Brings the viewer's library from a Goodreads or StoryGraph export (a multipart upload,
    /// the GraphQL multipart request spec). The file is stored before this answers; the job
    /// then runs on its own (`importJob`, `importProgress`). Importing the same file again
    /// appends nothing.
    async fn import_library(&self, ctx: &Context<'_>, file: Upload, format: ImportFormat) -> Result<ImportJob> {
        let viewer = viewer(ctx)?;
        let upload = file.value(ctx).map_err(|err| ApiError::invalid("file", format!("no file: {err}")))?;
        let app = app(ctx);
        let stream_position = app.store.last_position().await.map_err(ApiError::unavailable)? as i64;
        let job = imports::create(&app.pool, viewer.reader_id, format.into(), stream_position, upload.content)
            .await
            .map_err(|refused| match refused {
                NotQueued::TooManyOpen => ApiError::limit_exceeded(refused.to_string()),
                NotQueued::Unreadable(_) | NotQueued::Empty => ApiError::invalid("file", refused.to_string()),
                NotQueued::Database(err) => ApiError::from(err),
            })?;
        Ok(job.into())
    }
}

#[derive(Default)]
pub struct ImportSubscription;

#[Subscription]
impl ImportSubscription {
    /// The job as it is now, then again after every batch of rows, until it is done or failed.
    async fn import_progress(&self, ctx: &Context<'_>, job_id: ID) -> Result<impl Stream<Item = Result<ImportJob>>> {
        subscriptions::opened(async move {
            let app = app(ctx);
            let id = parse_id("jobId", &job_id)?;
            let live = subscriptions::subscribe(ctx, [social::live_import(&app.namespace, id)]).await?;
            let Some(job) = own_job(ctx, &job_id).await? else {
                return Err(ApiError::new(Code::NotFound, "no import of yours with this id").into());
            };
            let pool = app.pool.clone();
            let updates = live.after(
                Replay::now(ImportJob::from(job)),
                None::<u64>,
                |_: &live::ImportProgressed| 0,
                move |_| {
                    let pool = pool.clone();
                    async move { imports::load(&pool, id).await.ok().flatten().map(ImportJob::from) }
                },
            );
            // Ends right after the item that says the job ended.
            let ends = |item: &Result<ImportJob>| matches!(item, Ok(job) if matches!(job.status, ImportStatus::Done | ImportStatus::Failed));
            Ok(futures::stream::unfold((updates.boxed(), false), move |(mut updates, finished)| async move {
                if finished {
                    return None;
                }
                let item = updates.next().await?;
                let finished = ends(&item);
                Some((item, (updates, finished)))
            }))
        })
        .await
    }
}
