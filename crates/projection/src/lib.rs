//! The projection runner: folds the event stream into Postgres read models, exactly once.
//!
//! Each projection reads the namespace's stream with an ordered consumer starting after its
//! checkpoint. Whatever has arrived is applied as one batch in one transaction together with
//! the new checkpoint; anything at or below the checkpoint is skipped, so a redelivered or
//! replayed batch changes nothing. After the commit, the projection's live updates and its new
//! position are published on core NATS.

use std::{future::Future, time::Duration};

use async_nats::jetstream::consumer::{pull::OrderedConfig, DeliverPolicy};
use bytes::Bytes;
use futures::StreamExt;
use prost::Message;
use readstream_contracts::{proto::live::v1 as live, subject, Envelope, Event, ReadModel, SocialEvent};
use readstream_eventstore::{EventStore, OpenError, StoreError, Stored};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The most messages applied in one transaction.
pub const MAX_BATCH: usize = 2_000;

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
}

pub struct Runner<P> {
    projection: P,
    pool: PgPool,
    store: EventStore,
    client: async_nats::Client,
}

impl<P: Projection> Runner<P> {
    pub fn new(projection: P, pool: PgPool, store: EventStore, client: async_nats::Client) -> Self {
        Self { projection, pool, store, client }
    }

    pub async fn checkpoint(&self) -> Result<u64, ProjectionError> {
        let position = sqlx::query_scalar!(
            "SELECT position FROM projection_checkpoints WHERE name = $1",
            self.projection.read_model().name()
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(ProjectionError::NoCheckpoint(self.projection.read_model().name()))?;
        Ok(position as u64)
    }

    /// Empties the projection's tables and rewinds its checkpoint to 0 in one transaction, so
    /// the next run rebuilds it from the whole stream. Stop every runner of it first.
    pub async fn reset(&self) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // The names are the projection's own constants, never input.
        sqlx::query(&format!("TRUNCATE {}", self.projection.tables().join(", "))).execute(&mut *tx).await?;
        let reset = sqlx::query!(
            "UPDATE projection_checkpoints SET position = 0 WHERE name = $1",
            self.projection.read_model().name()
        )
        .execute(&mut *tx)
        .await?;
        if reset.rows_affected() != 1 {
            return Err(sqlx::Error::RowNotFound);
        }
        tx.commit().await?;
        tracing::info!(projection = self.projection.read_model().name(), "reset: rebuilding from position 0");
        Ok(())
    }

    /// Applies one batch and its checkpoint in one transaction, skipping what is already
    /// applied; publishes its live updates after the commit. Returns the new checkpoint.
    pub async fn apply_batch(&self, batch: &[Stored]) -> Result<u64, ProjectionError> {
        let name = self.projection.read_model().name();
        let mut tx = self.pool.begin().await?;
        let checkpoint =
            sqlx::query_scalar!("SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE", name)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(ProjectionError::NoCheckpoint(name))? as u64;
        let fresh = match batch.iter().position(|s| s.position > checkpoint) {
            Some(first) => &batch[first..],
            None => return Ok(checkpoint),
        };
        let updates = self.projection.apply(&mut tx, fresh).await?;
        for reader_id in deleted_readers(fresh) {
            self.projection.forget_reader(&mut tx, reader_id).await?;
            // The social service destroyed the key already, unless it stopped right after
            // recording the deletion: destroying it again is harmless.
            self.store.keys().destroy(reader_id).await?;
        }
        let last = fresh.last().map_or(checkpoint, |s| s.position);
        sqlx::query!("UPDATE projection_checkpoints SET position = $2 WHERE name = $1", name, last as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.announce(updates, last).await;
        Ok(last)
    }

    /// Live updates are best effort: a subscriber that misses one reads the model again.
    async fn announce(&self, updates: Vec<LiveUpdate>, position: u64) {
        let namespace = self.store.namespace();
        let name = self.projection.read_model().name();
        let notice = live::ProjectionPosition { projection: name.to_owned(), position };
        let updates = updates.into_iter().chain([LiveUpdate {
            subject: subject::projection_position(namespace, self.projection.read_model()),
            payload: Bytes::from(notice.encode_to_vec()),
        }]);
        for update in updates {
            if let Err(err) = self.client.publish(update.subject, update.payload).await {
                tracing::warn!(projection = name, error = %err, "could not publish a live update");
            }
        }
    }

    /// Follows the stream until `shutdown`, finishing the batch in hand. Failures are logged
    /// and the runner resumes from its checkpoint, so nothing is lost or applied twice.
    pub async fn run(self, shutdown: CancellationToken) {
        let name = self.projection.read_model().name();
        while !shutdown.is_cancelled() {
            match self.follow(&shutdown).await {
                Ok(()) => break,
                Err(err) => {
                    tracing::error!(projection = name, error = %err, "projection failed; resuming from its checkpoint");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
        tracing::info!(projection = name, "projection stopped");
    }

    async fn follow(&self, shutdown: &CancellationToken) -> Result<(), ProjectionError> {
        let stream_error = |err: &dyn std::fmt::Display| ProjectionError::Stream(err.to_string());
        let start_sequence = self.checkpoint().await? + 1;
        let stream = self.store.jetstream().get_stream(self.store.stream_name()).await.map_err(|e| stream_error(&e))?;
        let consumer = stream
            .create_consumer(OrderedConfig {
                filter_subject: readstream_contracts::subject::every_event(self.store.namespace()),
                deliver_policy: DeliverPolicy::ByStartSequence { start_sequence },
                ..Default::default()
            })
            .await
            .map_err(|e| stream_error(&e))?;
        let mut messages = consumer.messages().await.map_err(|e| stream_error(&e))?.ready_chunks(MAX_BATCH);
        tracing::info!(projection = self.projection.read_model().name(), from = start_sequence, "following the stream");
        loop {
            let chunk = tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                chunk = messages.next() => chunk.ok_or_else(|| ProjectionError::Stream("consumer ended".into()))?,
            };
            let mut batch = Vec::with_capacity(chunk.len());
            for message in chunk {
                let message = message.map_err(|e| stream_error(&e))?;
                let position = message.info().map_err(|e| stream_error(&e))?.stream_sequence;
                batch.push(self.open(position, &message.subject, &message.payload).await?);
            }
            self.apply_batch(&batch).await?;
        }
    }

    /// The message as plain events. One that is not a valid envelope is logged and applied as
    /// no events, so one bad message cannot stop every read model; keys that cannot be fetched
    /// now stop the batch, to be tried again.
    async fn open(&self, position: u64, subject: &str, payload: &[u8]) -> Result<Stored, ProjectionError> {
        let envelope = match self.store.open(payload).await {
            Ok(envelope) => envelope,
            Err(OpenError::Keys(err)) => return Err(err.into()),
            Err(OpenError::Wire(err)) => {
                tracing::error!(position, subject, error = %err, "skipping a message that is not a valid envelope");
                no_events()
            }
        };
        Ok(Stored { position, envelope })
    }
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

fn no_events() -> Envelope {
    Envelope {
        meta: readstream_contracts::Metadata {
            occurred_at: chrono::DateTime::UNIX_EPOCH,
            actor: None,
            command_id: Uuid::nil(),
            correlation_id: Uuid::nil(),
        },
        events: Vec::new(),
    }
}
