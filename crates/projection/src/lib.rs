//! The projection runner: folds the event stream into Postgres read models, exactly once.
//!
//! Each projection reads the namespace's stream with an ordered consumer starting after its
//! checkpoint. Whatever has arrived is applied as one batch in one transaction together with
//! the new checkpoint; anything at or below the checkpoint is skipped, so a redelivered or
//! replayed batch changes nothing. After the commit, the projection's live updates and its new
//! position are published on core NATS.
//!
//! A rebuild ([`Runner::rebuild`]) replays the whole stream into fresh copies of the
//! projection's tables (schema `rebuild_<name>`, with a checkpoint of its own) while the
//! projection's tables keep serving reads and its runner keeps following the stream; once the
//! copy has caught up with that runner, one transaction swaps the copies in.

use std::{collections::HashSet, future::Future, sync::atomic::Ordering, time::Duration};

use async_nats::jetstream::consumer::{pull::OrderedConfig, DeliverPolicy};
use bytes::Bytes;
use futures::StreamExt;
use prost::Message;
use readstream_contracts::{proto::live::v1 as live, subject, Envelope, Event, ReadModel, SocialEvent};
use readstream_eventstore::{trace_context, EventStore, OpenError, StoreError, Stored};
use sqlx::{postgres::PgPoolOptions, Connection, Executor as _, PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The most messages a projection applies in one transaction, unless it says fewer
/// ([`Projection::max_batch`]). Each batch costs its round trips, its commit and its
/// announcement whatever its size, and a projection that folds a batch into one row per key
/// writes a key once however often the batch touches it: a replay of a million ratings runs
/// about 5% faster in batches of 10,000 than of 2,000 (docs/architecture.md, "Projections").
pub const MAX_BATCH: usize = 10_000;

/// How often a runner looks whether its NATS connection was made again. A restarted server
/// has lost the runner's consumer (it lives in memory), so the runner follows the stream again
/// from its checkpoint rather than wait for the consumer to miss two heartbeats.
const CONNECTION_CHECK: Duration = Duration::from_millis(200);

/// How long the stream's last position may stand past the last one a runner's consumer
/// delivered before the runner follows the stream again on a consumer of its own. A consumer
/// lives on one cluster node (in its memory); when that node dies, nothing tells the client
/// but two missed heartbeats (about 10 s), while an idle runner learns the stream's position
/// every [`STALL_CHECK`].
const STALLED_FOR: Duration = Duration::from_secs(1);

/// How often a runner that has been waiting for messages asks the stream its last position.
const STALL_CHECK: Duration = Duration::from_millis(250);

/// How long a runner waits for the stream's last position before it asks again.
const STALL_CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a rebuild waits for a connection of its own pool.
const REBUILD_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest wait before a runner that failed follows the stream again.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(2);

/// A runner that followed the stream this long before it failed starts its waits over.
const RETRY_RESET: Duration = Duration::from_secs(10);

/// The waits between a failed runner's attempts: 100 ms doubling to `MAX_RETRY_DELAY`, jittered.
fn retry_delays() -> impl Iterator<Item = Duration> {
    use backon::BackoffBuilder as _;
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(MAX_RETRY_DELAY)
        .with_jitter()
        .without_max_times()
        .build()
}

/// A message to publish on core NATS once the batch that produced it has committed.
#[derive(Debug, Clone)]
pub struct LiveUpdate {
    pub subject: String,
    pub payload: Bytes,
}

/// One read model (or a few that change together).
pub trait Projection: Send + Sync + 'static {
    /// The read model it keeps: its row in `projection_checkpoints`.
    fn read_model(&self) -> ReadModel;

    /// The tables it alone writes, emptied when it is rebuilt from position 0.
    fn tables(&self) -> &'static [&'static str];

    /// The most messages it applies in one transaction: fewer than [`MAX_BATCH`] when one
    /// message may write many rows.
    fn max_batch(&self) -> usize {
        MAX_BATCH
    }

    /// Applies a batch of new messages, in stream order, inside the runner's transaction.
    fn apply(
        &self,
        tx: &mut PgConnection,
        batch: &[Stored],
    ) -> impl Future<Output = Result<Vec<LiveUpdate>, sqlx::Error>> + Send;

    /// Forgets a reader who deleted their account: every row about them goes, while anonymous
    /// counts keep what they counted. Runs in the runner's transaction, after `apply` of the
    /// batch holding their `ReaderDeleted` (nothing of theirs comes after it in the stream).
    fn forget_reader(
        &self,
        tx: &mut PgConnection,
        reader_id: Uuid,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

/// One stream message as the runner receives it.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub position: u64,
    /// Its aggregate's subject: a dead letter holds back every later message on it.
    pub subject: String,
    /// Its events as plain events, or why they cannot be read (corrupt bytes, or an event this
    /// version does not know).
    pub envelope: Result<Envelope, String>,
    /// The trace context of the append that stored it, if it was traced.
    pub trace: Option<async_nats::HeaderMap>,
}

impl Delivered {
    pub fn new(subject: impl Into<String>, stored: Stored) -> Self {
        Self { position: stored.position, subject: subject.into(), envelope: Ok(stored.envelope), trace: None }
    }
}

/// The first key of every projection's advisory lock (the second: its name, hashed).
const LOCK_CLASS: i32 = 0x7273;

/// Why a message waits in `dead_letters` though nothing is wrong with it.
const HELD_BACK: &str = "held back: an earlier message on its subject is a dead letter";

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("projection {0} has no checkpoint row (missing migration?)")]
    NoCheckpoint(&'static str),
    #[error("reading the stream: {0}")]
    Stream(String),
    #[error(transparent)]
    Keys(#[from] StoreError),
    #[error(
        "projection {projection} has applied the stream up to position {checkpoint}, but stream {stream} ends at \
         {last}: the stream lost messages (recreated, or restored from an older copy), and new ones would be \
         skipped. Rebuild the projection from the stream as it is: REBUILD_PROJECTIONS={projection}"
    )]
    AheadOfStream { projection: &'static str, checkpoint: u64, stream: String, last: u64 },
    #[error(
        "the checkpoint of projection {projection} moved from {expected} to {found} under this runner (a rebuild?)"
    )]
    CheckpointMoved { projection: &'static str, expected: u64, found: u64 },
    #[error("the connection to NATS was made again (a server restart?); its consumer may be gone")]
    Reconnected,
    #[error("the stream reached position {last} but the consumer has delivered nothing past {delivered} (its cluster node gone?)")]
    ConsumerStalled { delivered: u64, last: u64 },
}

impl ProjectionError {
    /// Whether applying the same message again would fail the same way: the fault is in the
    /// message (or in the projection's code), not in reaching the database, NATS or the keys.
    fn lies_in_the_message(&self) -> bool {
        let ProjectionError::Database(err) = self else {
            return false;
        };
        match err {
            // Connection (08), transaction rollback such as a deadlock (40), resources (53),
            // operator intervention such as a shutdown (57) and system errors (58) pass.
            sqlx::Error::Database(db) => !db
                .code()
                .is_some_and(|code| ["08", "40", "53", "57", "58"].iter().any(|class| code.starts_with(class))),
            sqlx::Error::RowNotFound
            | sqlx::Error::TypeNotFound { .. }
            | sqlx::Error::ColumnIndexOutOfBounds { .. }
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Encode(_)
            | sqlx::Error::Decode(_) => true,
            _ => false,
        }
    }
}

pub struct Runner<P> {
    projection: P,
    pool: PgPool,
    store: EventStore,
    client: async_nats::Client,
    /// Its row in `projection_checkpoints`, its dead letters' `projection` and its advisory
    /// lock: the projection's name, or `<name>:rebuild` for a rebuild's.
    key: String,
    /// A rebuild's runner writes into fresh tables nobody reads yet, and announces nothing.
    rebuilding: bool,
}

/// Whether each attempt to follow the stream takes the projection's lock (and lets go of it
/// when it fails), or the caller holds it throughout.
#[derive(Clone, Copy)]
enum Lock {
    TakeEachTime,
    Held,
}

/// How a runner's following the stream ended.
enum Followed {
    /// `shutdown` was cancelled.
    Stopped,
    /// A rebuild caught up, and its tables were swapped in at this position.
    SwappedIn(u64),
}

impl<P: Projection> Runner<P> {
    pub fn new(projection: P, pool: PgPool, store: EventStore, client: async_nats::Client) -> Self {
        let key = projection.read_model().name().to_owned();
        Self { projection, pool, store, client, key, rebuilding: false }
    }

    fn name(&self) -> &'static str {
        self.projection.read_model().name()
    }

    fn key(&self) -> &str {
        &self.key
    }

    pub async fn checkpoint(&self) -> Result<u64, ProjectionError> {
        let position = sqlx::query_scalar!("SELECT position FROM projection_checkpoints WHERE name = $1", self.key())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(ProjectionError::NoCheckpoint(self.name()))?;
        Ok(position as u64)
    }

    /// The checkpoint, refused when it lies beyond the stream's last message: the stream lost
    /// messages the read models hold, and new ones at those positions would be skipped.
    pub async fn checkpoint_within_stream(&self) -> Result<u64, ProjectionError> {
        let checkpoint = self.checkpoint().await?;
        let last = self.last_position().await?;
        if checkpoint > last {
            let stream = self.store.stream_name().to_owned();
            return Err(ProjectionError::AheadOfStream { projection: self.name(), checkpoint, stream, last });
        }
        Ok(checkpoint)
    }

    /// Takes the projection's advisory lock on a connection of its own, held until that
    /// connection closes: one runner (or rebuild) of a projection at a time, across processes. A
    /// second one waits, trying every second; `None` when `shutdown` came first.
    async fn lock(&self, shutdown: &CancellationToken) -> Result<Option<PgConnection>, ProjectionError> {
        let mut connection = self.pool.acquire().await?.detach();
        let mut waiting = false;
        loop {
            let taken = sqlx::query_scalar!(
                r#"SELECT pg_try_advisory_lock($1, hashtext($2)) AS "taken!""#,
                LOCK_CLASS,
                self.key()
            )
            .fetch_one(&mut connection)
            .await?;
            if taken {
                return Ok(Some(connection));
            }
            if !waiting {
                tracing::info!(
                    projection = self.name(),
                    "another runner holds this projection; waiting for it to stop"
                );
                waiting = true;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(None),
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// The checkpoint, its row locked until the transaction ends: one batch or retry at a time.
    async fn lock_checkpoint(&self, tx: &mut PgConnection) -> Result<u64, ProjectionError> {
        let position =
            sqlx::query_scalar!("SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE", self.key())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(ProjectionError::NoCheckpoint(self.name()))?;
        Ok(position as u64)
    }

    /// Applies one batch and its checkpoint in one transaction, skipping what is already
    /// applied; publishes its live updates after the commit. A message that cannot be read or
    /// applied, and every later one on its subject, goes to `dead_letters` instead, and the
    /// rest of the batch is applied. Returns the new checkpoint.
    pub async fn apply_batch(&self, batch: Vec<Delivered>) -> Result<u64, ProjectionError> {
        self.apply_after(batch, None).await
    }

    /// `apply_batch`, refused when the checkpoint is not `expected`, where this runner left it:
    /// someone else moved it (a reset without the lock), and the batch may not follow it.
    async fn apply_after(&self, batch: Vec<Delivered>, expected: Option<u64>) -> Result<u64, ProjectionError> {
        let (name, key) = (self.name(), self.key());
        let mut tx = self.pool.begin().await?;
        let checkpoint = self.lock_checkpoint(&mut tx).await?;
        if let Some(expected) = expected.filter(|expected| *expected != checkpoint) {
            return Err(ProjectionError::CheckpointMoved { projection: name, expected, found: checkpoint });
        }
        let fresh: Vec<Delivered> = batch.into_iter().filter(|message| message.position > checkpoint).collect();
        let Some(last) = fresh.last().map(|message| message.position) else {
            return Ok(checkpoint);
        };
        let mut held: HashSet<String> =
            sqlx::query_scalar!("SELECT DISTINCT subject FROM dead_letters WHERE projection = $1", key)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
        let (mut subjects, mut ready) = (Vec::with_capacity(fresh.len()), Vec::with_capacity(fresh.len()));
        // A span for each traced message, from the batch's start to its live updates: the
        // projection's hop of that message's trace.
        let mut traced = Vec::new();
        for Delivered { position, subject, envelope, trace } in fresh {
            if trace.is_some() {
                let span = tracing::info_span!("project", projection = name, position);
                traced.push(trace_context::continued(span, trace.as_ref()));
            }
            match envelope {
                Err(reason) => {
                    tracing::error!(projection = name, position, subject, reason, "a message that cannot be read");
                    self.dead_letter(&mut tx, position, &subject, &format!("cannot be read: {reason}")).await?;
                    held.insert(subject);
                }
                Ok(_) if held.contains(&subject) => self.dead_letter(&mut tx, position, &subject, HELD_BACK).await?,
                Ok(envelope) => {
                    subjects.push(subject);
                    ready.push(Stored { position, envelope });
                }
            }
        }
        let updates = match self.try_apply(&mut tx, &ready).await? {
            Ok(updates) => updates,
            // Something in the batch fails: apply its messages one by one to find which.
            Err(_) => self.isolate(&mut tx, subjects, ready, &mut held).await?,
        };
        sqlx::query!("UPDATE projection_checkpoints SET position = $2 WHERE name = $1", key, last as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.announce(updates, last, traced.last()).await;
        Ok(last)
    }

    /// Applies messages in a savepoint of `tx`. A failure that lies in the messages rolls the
    /// savepoint back and comes back as `Ok(Err(..))`; any other fails the whole transaction.
    async fn try_apply(
        &self,
        tx: &mut PgConnection,
        batch: &[Stored],
    ) -> Result<Result<Vec<LiveUpdate>, ProjectionError>, ProjectionError> {
        let mut savepoint = tx.begin().await?;
        match self.apply_and_forget(&mut savepoint, batch).await {
            Ok(updates) => {
                savepoint.commit().await?;
                Ok(Ok(updates))
            }
            Err(err) if err.lies_in_the_message() => {
                savepoint.rollback().await?;
                Ok(Err(err))
            }
            Err(err) => Err(err),
        }
    }

    async fn apply_and_forget(
        &self,
        tx: &mut PgConnection,
        batch: &[Stored],
    ) -> Result<Vec<LiveUpdate>, ProjectionError> {
        let updates = self.projection.apply(tx, batch).await?;
        for reader_id in deleted_readers(batch) {
            self.projection.forget_reader(tx, reader_id).await?;
            // The social service destroyed the key already, unless it stopped right after
            // recording the deletion: destroying it again is harmless.
            self.store.keys().destroy(reader_id).await?;
        }
        Ok(updates)
    }

    /// Applies a failing batch one message at a time: each one that fails becomes a dead
    /// letter, and holds back the later ones on its subject.
    async fn isolate(
        &self,
        tx: &mut PgConnection,
        subjects: Vec<String>,
        batch: Vec<Stored>,
        held: &mut HashSet<String>,
    ) -> Result<Vec<LiveUpdate>, ProjectionError> {
        let mut updates = Vec::new();
        for (subject, stored) in subjects.into_iter().zip(batch) {
            if held.contains(&subject) {
                self.dead_letter(tx, stored.position, &subject, HELD_BACK).await?;
                continue;
            }
            match self.try_apply(tx, std::slice::from_ref(&stored)).await? {
                Ok(applied) => updates.extend(applied),
                Err(err) => {
                    tracing::error!(projection = self.name(), position = stored.position, subject, error = %err, "dead letter");
                    self.dead_letter(tx, stored.position, &subject, &err.to_string()).await?;
                    held.insert(subject);
                }
            }
        }
        Ok(updates)
    }

    async fn dead_letter(
        &self,
        tx: &mut PgConnection,
        position: u64,
        subject: &str,
        error: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "INSERT INTO dead_letters (projection, position, subject, error) VALUES ($1, $2, $3, $4)
             ON CONFLICT (projection, position) DO UPDATE
             SET error = EXCLUDED.error, failed_at = now(), attempts = dead_letters.attempts + 1",
            self.key(),
            position as i64,
            subject,
            error
        )
        .execute(tx)
        .await?;
        Ok(())
    }

    /// Applies the projection's dead letters again, oldest first, after their cause is fixed:
    /// each one applied leaves `dead_letters`; one that fails again stays with its new error,
    /// and so does every later one on its subject. Returns how many were applied.
    pub async fn retry_dead_letters(&self) -> Result<u64, ProjectionError> {
        let name = self.key();
        let mut tx = self.pool.begin().await?;
        let checkpoint = self.lock_checkpoint(&mut tx).await?;
        let letters =
            sqlx::query!("SELECT position, subject FROM dead_letters WHERE projection = $1 ORDER BY position", name)
                .fetch_all(&mut *tx)
                .await?;
        if letters.is_empty() {
            return Ok(0);
        }
        let stream = self
            .store
            .jetstream()
            .get_stream(self.store.stream_name())
            .await
            .map_err(|err| ProjectionError::Stream(err.to_string()))?;
        let (mut held, mut applied, mut updates) = (HashSet::new(), 0, Vec::new());
        for letter in letters {
            if held.contains(&letter.subject) {
                continue;
            }
            let position = letter.position as u64;
            let outcome = match stream.get_raw_message(position).await {
                Ok(message) => {
                    match deliver(&self.store, position, &letter.subject, &message.payload).await?.envelope {
                        Ok(envelope) => self
                            .try_apply(&mut tx, &[Stored { position, envelope }])
                            .await?
                            .map_err(|err| err.to_string()),
                        Err(reason) => Err(format!("cannot be read: {reason}")),
                    }
                }
                Err(err) => Err(format!("no longer in the stream: {err}")),
            };
            match outcome {
                Ok(applied_updates) => {
                    sqlx::query!(
                        "DELETE FROM dead_letters WHERE projection = $1 AND position = $2",
                        name,
                        letter.position
                    )
                    .execute(&mut *tx)
                    .await?;
                    applied += 1;
                    updates.extend(applied_updates);
                }
                Err(error) => {
                    tracing::warn!(projection = name, position, error, "a dead letter failed again");
                    self.dead_letter(&mut tx, position, &letter.subject, &error).await?;
                    held.insert(letter.subject);
                }
            }
        }
        tx.commit().await?;
        tracing::info!(projection = name, applied, "retried dead letters");
        self.announce(updates, checkpoint, None).await;
        Ok(applied)
    }

    /// Live updates are best effort: a subscriber that misses one reads the model again. A
    /// rebuild's are nobody's: its tables are not read yet.
    /// A batch's updates carry the trace context of its last traced message: a push joins the
    /// trace of the last mutation it shows.
    async fn announce(&self, updates: Vec<LiveUpdate>, position: u64, trace: Option<&tracing::Span>) {
        if !self.rebuilding {
            self.publish(updates, position, trace).await;
        }
    }

    /// Publishes `updates`, then the projection's new position.
    async fn publish(&self, updates: Vec<LiveUpdate>, position: u64, trace: Option<&tracing::Span>) {
        let namespace = self.store.namespace();
        let name = self.name();
        let notice = live::ProjectionPosition { projection: name.to_owned(), position };
        let updates = updates.into_iter().chain([LiveUpdate {
            subject: subject::projection_position(namespace, self.projection.read_model()),
            payload: Bytes::from(notice.encode_to_vec()),
        }]);
        let headers = trace.map(|span| {
            let mut headers = async_nats::HeaderMap::new();
            trace_context::inject(span, &mut headers);
            headers
        });
        for update in updates {
            let published = match &headers {
                Some(headers) => {
                    self.client.publish_with_headers(update.subject, headers.clone(), update.payload).await
                }
                None => self.client.publish(update.subject, update.payload).await,
            };
            if let Err(err) = published {
                tracing::warn!(projection = name, error = %err, "could not publish a live update");
            }
        }
    }

    /// Follows the stream until `shutdown`, finishing the batch in hand. Failures to reach the
    /// database or NATS are logged and the runner resumes from its checkpoint (after 100 ms,
    /// doubling to 2 s while they go on), so nothing is lost or applied twice; a checkpoint
    /// beyond the stream stops it with an error.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), ProjectionError> {
        self.retrying(&shutdown, Lock::TakeEachTime).await?;
        tracing::info!(projection = self.name(), "projection stopped");
        Ok(())
    }

    /// Rebuilds the projection from position 0 into fresh copies of its tables (schema
    /// `rebuild_<name>`, checkpoint and dead letters `<name>:rebuild`), while its own tables
    /// keep serving reads and read-your-writes and its runner keeps following the stream. Once
    /// the copies have caught up with that runner, one transaction swaps them in, with their
    /// checkpoint and dead letters. One rebuild of a projection at a time: a second waits, then
    /// starts over. Returns the position the rebuilt tables were swapped in at; `None` when
    /// `shutdown` came first (the next rebuild starts over).
    pub async fn rebuild(self, shutdown: CancellationToken) -> Result<Option<u64>, ProjectionError> {
        let name = self.name();
        let fresh = format!("rebuild_{name}");
        // The projection's statements name its tables unqualified: on these connections they
        // are the fresh copies, and everything else (checkpoints, dead letters) is `public`'s.
        let options = (*self.pool.connect_options()).clone().options([("search_path", format!("{fresh},public"))]);
        let pool =
            PgPoolOptions::new().max_connections(3).acquire_timeout(REBUILD_ACQUIRE_TIMEOUT).connect_lazy_with(options);
        let rebuild = Runner { pool, key: format!("{name}:rebuild"), rebuilding: true, ..self };
        let Some(lock) = rebuild.lock(&shutdown).await? else {
            return Ok(None);
        };
        let rebuilt = async {
            rebuild.prepare_fresh_tables(&fresh).await?;
            tracing::info!(projection = name, schema = fresh, "rebuilding from position 0 into fresh tables");
            rebuild.retrying(&shutdown, Lock::Held).await
        }
        .await;
        let _ = lock.close().await;
        match rebuilt? {
            Followed::SwappedIn(position) => Ok(Some(position)),
            Followed::Stopped => Ok(None),
        }
    }

    /// Follows the stream again after each failure, until it ends: the failure is for good (a
    /// checkpoint beyond the stream), or `shutdown`.
    async fn retrying(&self, shutdown: &CancellationToken, lock: Lock) -> Result<Followed, ProjectionError> {
        let name = self.key();
        let mut delays = retry_delays();
        while !shutdown.is_cancelled() {
            let started = std::time::Instant::now();
            let attempt = match lock {
                Lock::TakeEachTime => self.follow(shutdown).await,
                Lock::Held => self.follow_holding_the_lock(shutdown).await,
            };
            match attempt {
                Ok(followed) => return Ok(followed),
                Err(err @ ProjectionError::AheadOfStream { .. }) => return Err(err),
                // At once: the consumer's own recovery would take two missed heartbeats.
                Err(err @ (ProjectionError::Reconnected | ProjectionError::ConsumerStalled { .. })) => {
                    tracing::info!(projection = name, "{err}; following the stream again from the checkpoint");
                    delays = retry_delays();
                }
                Err(err) => {
                    if started.elapsed() >= RETRY_RESET {
                        delays = retry_delays();
                    }
                    let wait = delays.next().unwrap_or(MAX_RETRY_DELAY);
                    tracing::error!(projection = name, error = %err, ?wait, "projection failed; resuming from its checkpoint");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
        Ok(Followed::Stopped)
    }

    async fn follow(&self, shutdown: &CancellationToken) -> Result<Followed, ProjectionError> {
        let Some(lock) = self.lock(shutdown).await? else {
            return Ok(Followed::Stopped);
        };
        let followed = self.follow_holding_the_lock(shutdown).await;
        let _ = lock.close().await;
        followed
    }

    /// Empties the fresh schema's copies of the projection's tables (`LIKE … INCLUDING ALL`,
    /// and the foreign keys between them, which `LIKE` leaves out) and its checkpoint, in one
    /// transaction. The names are the projection's own constants, never input.
    async fn prepare_fresh_tables(&self, fresh: &str) -> Result<(), ProjectionError> {
        let tables: Vec<String> = self.projection.tables().iter().map(|table| table.to_string()).collect();
        let mut tx = self.pool.begin().await?;
        let drop = format!("DROP SCHEMA IF EXISTS {fresh} CASCADE");
        (&mut *tx).execute(drop.as_str()).await?;
        // Read while the tables' names resolve to `public`'s alone, so each definition names
        // them unqualified, and so names the fresh copies once those exist.
        let foreign_keys = sqlx::query!(
            r#"SELECT c.relname::text AS "table!", k.conname::text AS "name!", pg_get_constraintdef(k.oid) AS "definition!"
               FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
               WHERE k.contype = 'f' AND c.relnamespace = 'public'::regnamespace AND c.relname = ANY($1)"#,
            &tables as &[String]
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut ddl = format!("CREATE SCHEMA {fresh};");
        for table in &tables {
            ddl += &format!(" CREATE TABLE {fresh}.{table} (LIKE public.{table} INCLUDING ALL);");
        }
        for key in foreign_keys {
            ddl += &format!(" ALTER TABLE {fresh}.{} ADD CONSTRAINT {} {};", key.table, key.name, key.definition);
        }
        (&mut *tx).execute(ddl.as_str()).await?;
        sqlx::query!(
            "INSERT INTO projection_checkpoints (name, position) VALUES ($1, 0)
             ON CONFLICT (name) DO UPDATE SET position = 0",
            self.key()
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!("DELETE FROM dead_letters WHERE projection = $1", self.key()).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A rebuild at `checkpoint`: once that is at or past the projection's own checkpoint, swaps
    /// the fresh tables in for the projection's, with the rebuild's checkpoint and dead letters,
    /// in one transaction. It holds the projection's checkpoint row, so the projection's runner
    /// commits its batch in hand first and then finds its checkpoint moved (and follows the
    /// stream again from there, on the new tables). Returns the position swapped in at.
    async fn swap_in_if_caught_up(&self, checkpoint: u64) -> Result<Option<u64>, ProjectionError> {
        let name = self.name();
        let live = sqlx::query_scalar!("SELECT position FROM projection_checkpoints WHERE name = $1", name)
            .fetch_one(&self.pool)
            .await? as u64;
        if checkpoint >= live {
            return self.swap_in(checkpoint, None).await;
        }
        // A checkpoint beyond the stream (NATS lost messages) is never reached: the rebuild is
        // caught up at the stream's end.
        let last = self.last_position().await?;
        if live > last && checkpoint >= last {
            return self.swap_in(checkpoint, Some(last)).await;
        }
        Ok(None)
    }

    /// The stream's last position.
    async fn last_position(&self) -> Result<u64, ProjectionError> {
        self.store.last_position().await.map_err(|err| ProjectionError::Stream(err.to_string()))
    }

    /// Swaps the rebuild in at `checkpoint`, unless the projection's runner has moved past it
    /// meanwhile; `stream_end` is the stream's last position when the projection's checkpoint
    /// lies beyond it.
    async fn swap_in(&self, checkpoint: u64, stream_end: Option<u64>) -> Result<Option<u64>, ProjectionError> {
        let name = self.name();
        let mut tx = self.pool.begin().await?;
        let live = sqlx::query_scalar!("SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE", name)
            .fetch_one(&mut *tx)
            .await? as u64;
        let needed = match stream_end {
            Some(last) if live > last => last,
            _ => live,
        };
        if checkpoint < needed {
            return Ok(None);
        }
        let (fresh, retired) = (format!("rebuild_{name}"), format!("retired_{name}"));
        let mut ddl = format!("DROP SCHEMA IF EXISTS {retired} CASCADE; CREATE SCHEMA {retired};");
        for table in self.projection.tables() {
            ddl += &format!(
                " ALTER TABLE public.{table} SET SCHEMA {retired}; ALTER TABLE {fresh}.{table} SET SCHEMA public;"
            );
        }
        ddl += &format!(" DROP SCHEMA {retired} CASCADE; DROP SCHEMA {fresh} CASCADE;");
        (&mut *tx).execute(ddl.as_str()).await?;
        sqlx::query!("DELETE FROM dead_letters WHERE projection = $1", name).execute(&mut *tx).await?;
        sqlx::query!("UPDATE dead_letters SET projection = $1 WHERE projection = $2", name, self.key())
            .execute(&mut *tx)
            .await?;
        sqlx::query!(
            "UPDATE projection_checkpoints SET position = $2, rebuild_due = false WHERE name = $1",
            name,
            checkpoint as i64
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!("DELETE FROM projection_checkpoints WHERE name = $1", self.key()).execute(&mut *tx).await?;
        tx.commit().await?;
        tracing::info!(projection = name, position = checkpoint, "rebuilt: the fresh tables are swapped in");
        // Whoever waits for the projection to reach a position up to here may read now.
        self.publish(vec![], checkpoint, None).await;
        Ok(Some(checkpoint))
    }

    async fn follow_holding_the_lock(&self, shutdown: &CancellationToken) -> Result<Followed, ProjectionError> {
        let stream_error = |err: &dyn std::fmt::Display| ProjectionError::Stream(err.to_string());
        let mut checkpoint = self.checkpoint_within_stream().await?;
        let start_sequence = checkpoint + 1;
        let config = OrderedConfig {
            filter_subject: readstream_contracts::subject::every_event(self.store.namespace()),
            deliver_policy: DeliverPolicy::ByStartSequence { start_sequence },
            ..Default::default()
        };
        // Tried again when a try goes unanswered (a cluster node died with it): a consumer
        // created twice leaves one nobody reads, which the server removes once inactive.
        let consumer = readstream_eventstore::with_tries(|| self.store.stream().create_consumer(config.clone()))
            .await
            .ok_or_else(|| ProjectionError::Stream("creating the consumer: no answer".into()))?
            .map_err(|e| stream_error(&e))?;
        let mut messages = consumer.messages().await.map_err(|e| stream_error(&e))?;
        // The consumer is read (and asks the server for more) while Postgres applies a batch,
        // each message opened on the way, up to two batches ahead: a replay's batches fill up
        // rather than hold what one pull had brought when the last batch committed.
        let max_batch = self.projection.max_batch();
        let (read_ahead, mut ahead) = tokio::sync::mpsc::channel(2 * max_batch);
        let store = self.store.clone();
        let _reader = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(async move {
            while let Some(message) = messages.next().await {
                let delivered = async {
                    let message = message.map_err(|e| stream_error(&e))?;
                    let position = message.info().map_err(|e| stream_error(&e))?.stream_sequence;
                    let mut delivered = deliver(&store, position, &message.subject, &message.payload).await?;
                    delivered.trace = trace_context::carried(message.headers.as_ref());
                    Ok::<_, ProjectionError>(delivered)
                }
                .await;
                let failed = delivered.is_err();
                if read_ahead.send(delivered).await.is_err() || failed {
                    break;
                }
            }
        }));
        tracing::info!(projection = self.name(), from = start_sequence, "following the stream");
        let statistics = self.store.jetstream().client().statistics();
        let connects = statistics.connects.load(Ordering::Relaxed);
        let mut connection_check = tokio::time::interval(CONNECTION_CHECK);
        let mut stall = Stall::new(checkpoint);
        let mut arrived = Vec::with_capacity(max_batch);
        loop {
            if self.rebuilding {
                if let Some(position) = self.swap_in_if_caught_up(checkpoint).await? {
                    return Ok(Followed::SwappedIn(position));
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(Followed::Stopped),
                _ = connection_check.tick() => {
                    if statistics.connects.load(Ordering::Relaxed) != connects {
                        return Err(ProjectionError::Reconnected);
                    }
                    if stall.check_due() {
                        let last = tokio::time::timeout(STALL_CHECK_TIMEOUT, self.store.last_position()).await;
                        stall.checked(last.ok().and_then(Result::ok))?;
                    }
                    continue;
                }
                received = ahead.recv_many(&mut arrived, max_batch) => if received == 0 {
                    return Err(ProjectionError::Stream("consumer ended".into()));
                },
            };
            if let Some(Ok(last)) = arrived.last() {
                stall.delivered(last.position);
            }
            let batch = arrived.drain(..).collect::<Result<Vec<_>, _>>()?;
            checkpoint = self.apply_after(batch, Some(checkpoint)).await?;
        }
    }
}

/// Whether a runner's consumer owes it messages and has stopped delivering them: the stream's
/// last position has stood past the last one delivered for [`STALLED_FOR`] while the runner
/// waited, or the stream, once it answers again after going unanswered (electing a leader),
/// stands past what the consumer delivered before (the signal that the consumer's cluster node
/// is gone). Checked only while no message arrives, every [`STALL_CHECK`].
struct Stall {
    delivered: u64,
    last_arrival: std::time::Instant,
    last_check: Option<std::time::Instant>,
    behind_since: Option<std::time::Instant>,
    /// Whether the stream went unanswered since the last message delivered.
    unanswered: bool,
}

impl Stall {
    fn new(checkpoint: u64) -> Self {
        Self {
            delivered: checkpoint,
            last_arrival: std::time::Instant::now(),
            last_check: None,
            behind_since: None,
            unanswered: false,
        }
    }

    fn delivered(&mut self, position: u64) {
        self.delivered = position;
        self.last_arrival = std::time::Instant::now();
        self.behind_since = None;
        self.unanswered = false;
    }

    /// Whether to ask the stream its last position now.
    fn check_due(&self) -> bool {
        self.last_arrival.elapsed() >= STALL_CHECK && self.last_check.is_none_or(|at| at.elapsed() >= STALL_CHECK)
    }

    /// Takes the stream's last position (`None`: it did not answer); the runner's consumer has
    /// stalled when the stream stood past what it delivered at checks `STALLED_FOR` apart.
    fn checked(&mut self, last: Option<u64>) -> Result<(), ProjectionError> {
        let now = std::time::Instant::now();
        self.last_check = Some(now);
        match last {
            Some(last) if last > self.delivered => {
                let since = *self.behind_since.get_or_insert(now);
                // A stream that could not answer has elected a leader: the messages it stored
                // since came to a healthy consumer at once.
                if self.unanswered || now.duration_since(since) >= STALLED_FOR {
                    return Err(ProjectionError::ConsumerStalled { delivered: self.delivered, last });
                }
            }
            Some(_) => {
                self.behind_since = None;
                self.unanswered = false;
            }
            None => self.unanswered = true,
        }
        Ok(())
    }
}

/// The message as plain events, or why it cannot be read; keys that cannot be fetched now fail
/// the batch, to be tried again.
async fn deliver(
    store: &EventStore,
    position: u64,
    subject: &str,
    payload: &[u8],
) -> Result<Delivered, ProjectionError> {
    let envelope = match store.open(payload).await {
        Ok(envelope) => Ok(envelope),
        Err(OpenError::Keys(err)) => return Err(err.into()),
        Err(OpenError::Wire(err)) => Err(err.to_string()),
    };
    Ok(Delivered { position, subject: subject.to_owned(), envelope, trace: None })
}

/// The readers whose account deletion these messages record.
fn deleted_readers(batch: &[Stored]) -> Vec<Uuid> {
    batch
        .iter()
        .flat_map(|stored| &stored.envelope.events)
        .filter_map(|recorded| match recorded.event {
            Event::Social(SocialEvent::ReaderDeleted { reader_id }) => Some(reader_id),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_stalls_when_the_stream_stands_past_it_for_a_second_or_answers_again_past_it() {
        let mut stall = Stall::new(5);
        assert!(stall.checked(Some(5)).is_ok(), "caught up");
        assert!(stall.checked(Some(7)).is_ok(), "behind for a moment: the messages are on their way");
        stall.delivered(7);
        assert!(stall.checked(Some(7)).is_ok());

        // Behind for a second with nothing delivered.
        assert!(stall.checked(Some(9)).is_ok());
        stall.behind_since = stall.behind_since.map(|since| since - STALLED_FOR);
        assert!(matches!(stall.checked(Some(9)), Err(ProjectionError::ConsumerStalled { delivered: 7, last: 9 })));

        // The stream went unanswered (an election), then answers past what was delivered.
        let mut stall = Stall::new(5);
        assert!(stall.checked(None).is_ok());
        assert!(matches!(stall.checked(Some(6)), Err(ProjectionError::ConsumerStalled { delivered: 5, last: 6 })));

        // ... or at what was delivered: nothing is owed.
        let mut stall = Stall::new(5);
        assert!(stall.checked(None).is_ok());
        assert!(stall.checked(Some(5)).is_ok());
        assert!(stall.checked(Some(6)).is_ok(), "a new message, behind for a moment");
    }
}
