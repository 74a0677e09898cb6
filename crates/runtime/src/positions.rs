//! Read-your-writes: how far each projection has applied the stream, and a bounded wait until
//! the ones a reader needs reach a position it asks for.
//!
//! The projector announces each commit on `<ns>.live.projection.<name>`; the gateway keeps the
//! latest position of every read model. Announcements are best effort, so a waiter reads
//! `projection_checkpoints` first, and again whenever announcements are late.

use std::time::Duration;

use futures::StreamExt;
use prost::Message;
use readstream_contracts::{proto::live::v1 as live, Code, ReadModel, Rejection};
use sqlx::PgPool;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::{config::StartError, db};

/// How often a waiter re-reads the checkpoints when no announcement arrives.
const POLL: Duration = Duration::from_millis(250);

/// The position each read model has applied, indexed by `ReadModel::index`.
type Reached = [u64; ReadModel::ALL.len()];

#[derive(Clone)]
pub struct Positions {
    pool: PgPool,
    reached: watch::Sender<Reached>,
    timeout: Duration,
}

impl Positions {
    pub async fn start(
        client: &async_nats::Client,
        namespace: &str,
        pool: PgPool,
        timeout: Duration,
        shutdown: CancellationToken,
    ) -> Result<Self, StartError> {
        let mut announcements =
            client.subscribe(readstream_contracts::subject::every_projection_position(namespace)).await?;
        let positions = Self { pool, reached: watch::Sender::new(Reached::default()), timeout };
        positions.refresh().await.map_err(StartError::Database)?;
        let follower = positions.clone();
        tokio::spawn(async move {
            loop {
                let message = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    message = announcements.next() => match message { Some(m) => m, None => break },
                };
                if let Ok(notice) = live::ProjectionPosition::decode(message.payload) {
                    follower.record([(notice.projection, notice.position)]);
                }
            }
        });
        Ok(positions)
    }

    /// The latest word on each read model wins: a rebuilt one goes back to 0. Names this
    /// gateway does not know (a newer projector's) are left out.
    fn record(&self, positions: impl IntoIterator<Item = (String, u64)>) {
        let positions: Vec<(ReadModel, u64)> =
            positions.into_iter().filter_map(|(name, at)| Some((ReadModel::from_name(&name)?, at))).collect();
        self.reached.send_if_modified(|reached| {
            let mut changed = false;
            for (model, at) in positions {
                changed |= std::mem::replace(&mut reached[model.index()], at) != at;
            }
            changed
        });
    }

    async fn refresh(&self) -> Result<(), sqlx::Error> {
        let rows = sqlx::query!("SELECT name, position FROM projection_checkpoints").fetch_all(&self.pool).await?;
        self.record(rows.into_iter().map(|r| (r.name, r.position as u64)));
        Ok(())
    }

    /// The position all of `models` have reached.
    fn lowest(reached: &Reached, models: &[ReadModel]) -> u64 {
        models.iter().map(|model| reached[model.index()]).min().unwrap_or(u64::MAX)
    }

    /// Returns once every one of `models` has applied `target`, or `UNAVAILABLE` after the
    /// timeout.
    pub async fn wait_for(&self, target: u64, models: &[ReadModel]) -> Result<(), Rejection> {
        let mut changes = self.reached.subscribe();
        let deadline = tokio::time::Instant::now() + self.timeout;
        // Announcements can be late or missed (and a rebuilt projection starts over), so the
        // checkpoints themselves have the first word.
        self.refresh().await.map_err(|err| db::failure(&err))?;
        loop {
            let lowest = Self::lowest(&changes.borrow_and_update(), models);
            if lowest >= target {
                return Ok(());
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                let names: Vec<&str> = models.iter().map(|model| model.name()).collect();
                return Err(Rejection::new(
                    Code::Unavailable,
                    format!(
                        "the read models ({}) have not reached position {target} within {} ms (at {lowest}); try again",
                        names.join(", "),
                        self.timeout.as_millis(),
                    ),
                ));
            }
            let poll_at = deadline.min(now + POLL);
            if tokio::time::timeout_at(poll_at, changes.changed()).await.is_err() {
                self.refresh().await.map_err(|err| db::failure(&err))?;
            }
        }
    }
}
