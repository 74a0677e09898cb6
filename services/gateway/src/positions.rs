//! Read-your-writes: how far the projections have applied the stream, and a bounded wait
//! until they reach a position a client asks for.
//!
//! The projector announces each commit on `<ns>.live.projection.<name>`; the gateway keeps the
//! lowest position over every projection. Announcements are best effort, so a waiter reads
//! `projection_checkpoints` first, and again whenever announcements are late.

use std::{collections::HashMap, sync::Arc, time::Duration};

use futures::StreamExt;
use prost::Message;
use readstream_contracts::{proto::live::v1 as live, Code};
use sqlx::PgPool;
use tokio::sync::{watch, Mutex};
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;

/// How often a waiter re-reads the checkpoints when no announcement arrives.
const POLL: Duration = Duration::from_millis(250);

#[derive(Clone)]
pub struct Positions {
    pool: PgPool,
    reached: Arc<Mutex<HashMap<String, u64>>>,
    lowest: watch::Sender<u64>,
    timeout: Duration,
}

impl Positions {
    pub async fn start(
        client: &async_nats::Client,
        namespace: &str,
        pool: PgPool,
        timeout: Duration,
        shutdown: CancellationToken,
    ) -> Result<Self, readstream_runtime::config::StartError> {
        let mut announcements =
            client.subscribe(readstream_contracts::subject::every_projection_position(namespace)).await?;
        let positions = Self { pool, reached: Arc::default(), lowest: watch::Sender::new(0), timeout };
        positions.refresh().await.map_err(readstream_runtime::config::StartError::Database)?;
        let follower = positions.clone();
        tokio::spawn(async move {
            loop {
                let message = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    message = announcements.next() => match message { Some(m) => m, None => break },
                };
                if let Ok(notice) = live::ProjectionPosition::decode(message.payload) {
                    follower.record([(notice.projection, notice.position)]).await;
                }
            }
        });
        Ok(positions)
    }

    /// The latest word on each projection wins: a rebuilt projection goes back to 0.
    async fn record(&self, positions: impl IntoIterator<Item = (String, u64)>) {
        let mut reached = self.reached.lock().await;
        reached.extend(positions);
        let lowest = reached.values().copied().min().unwrap_or(0);
        self.lowest.send_if_modified(|current| std::mem::replace(current, lowest) != lowest);
    }

    async fn refresh(&self) -> Result<(), sqlx::Error> {
        let rows = sqlx::query!("SELECT name, position FROM projection_checkpoints").fetch_all(&self.pool).await?;
        self.record(rows.into_iter().map(|r| (r.name, r.position as u64))).await;
        Ok(())
    }

    /// The position every projection has reached.
    pub fn current(&self) -> u64 {
        *self.lowest.borrow()
    }

    /// Returns once every projection has applied `target`, or `UNAVAILABLE` after the timeout.
    pub async fn wait_for(&self, target: u64) -> Result<(), ApiError> {
        let mut changes = self.lowest.subscribe();
        let deadline = tokio::time::Instant::now() + self.timeout;
        // Announcements can be late or missed (and a rebuilt projection starts over), so the
        // checkpoints themselves have the first word.
        self.refresh().await?;
        loop {
            if *changes.borrow_and_update() >= target {
                return Ok(());
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(ApiError::new(
                    Code::Unavailable,
                    format!(
                        "the read models have not reached position {target} within {} ms (at {}); try again",
                        self.timeout.as_millis(),
                        self.current()
                    ),
                ));
            }
            let poll_at = deadline.min(now + POLL);
            if tokio::time::timeout_at(poll_at, changes.changed()).await.is_err() {
                self.refresh().await?;
            }
        }
    }
}
