//! The worker: the background jobs, in a process of their own so the gateway only serves.
//! Library imports (queued by the gateway, which stores the upload; woken by Postgres
//! `NOTIFY` on [`imports::WAKE_CHANNEL`], and every second for a job another process left) and
//! the moves of merged duplicates (queued by the catalog projection), and the sweep of uploaded
//! pictures nothing shows any more. Each step is the reader's
//! own command, sent on the bus as the gateway sends one; several workers share the jobs, each
//! held by one at a time and resumed by any.

pub mod images;
pub mod import;
pub mod merges;

use std::time::Duration;

use readstream_contracts::{proto::commands::v1 as pb, Code, Command, Rejection};
use readstream_eventstore::EventStore;
use readstream_runtime::{
    bus::{self, BusError, Reconnects},
    config::StartError,
    db,
    health::{Health, HealthConfig},
    positions::Positions,
    DatabaseConfig, NatsConfig,
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// The name the worker answers readiness probes under.
pub const PROCESS: &str = "worker";

#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "readstream-worker",
    about = "The background jobs: library imports, merges' moves and the sweep of unused pictures"
)]
pub struct Config {
    #[command(flatten)]
    pub nats: NatsConfig,
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub health: HealthConfig,
    /// Longest wait, in milliseconds, for a command service's answer to one step.
    #[arg(long, env = "COMMAND_TIMEOUT_MS", default_value_t = 5_000)]
    pub command_timeout_ms: u64,
    /// Longest wait, in milliseconds, for the read models to reach a position (a job ends
    /// once they show all of it; a move starts once they show the merge).
    #[arg(long, env = "READ_YOUR_WRITES_TIMEOUT_MS", default_value_t = 5_000)]
    pub read_your_writes_timeout_ms: u64,
    #[command(flatten)]
    pub imports: import::ImportConfig,
    #[command(flatten)]
    pub images: images::ImageSweepConfig,
}

/// What every job reaches.
#[derive(Clone)]
pub struct Worker {
    pub pool: PgPool,
    pub nats: async_nats::Client,
    /// When a command's request or reply may have been lost, to send it again.
    pub reconnects: Reconnects,
    pub store: EventStore,
    pub namespace: String,
    pub positions: Positions,
    pub command_timeout: Duration,
    pub imports: import::ImportConfig,
}

impl Worker {
    /// Sends a command to the service its type names: its typed reply, or why not.
    pub async fn send<C: Command>(&self, command: &C) -> Result<C::Reply, Refusal> {
        bus::send(&self.nats, &self.reconnects, &self.namespace, command, self.command_timeout)
            .await?
            .map_err(Refusal::from)
    }
}

/// Why a step did not go through: a service's refusal, or what stood in its way.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct Refusal {
    pub code: Code,
    pub message: String,
}

impl Refusal {
    /// Whether the same step may go through later as it is (nothing reached a service, the
    /// outcome is unknown, or too many at once): what a job retries instead of recording.
    pub fn is_transient(&self) -> bool {
        self.code.is_transient()
    }
}

impl From<Rejection> for Refusal {
    fn from(rejection: Rejection) -> Self {
        Refusal { code: rejection.code, message: rejection.message }
    }
}

impl From<pb::Rejected> for Refusal {
    fn from(rejected: pb::Rejected) -> Self {
        Refusal { code: Code::from(rejected.code()), message: rejected.message }
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(err: sqlx::Error) -> Self {
        db::failure(&err).into()
    }
}

impl From<BusError> for Refusal {
    fn from(err: BusError) -> Self {
        Rejection::from(err).into()
    }
}

pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    let health = Health::new(true);
    health.serve(&config.health, shutdown.clone()).await?;
    let pool = db::connect_and_migrate(&config.database, &shutdown).await?;
    health.connected_to_postgres(&pool);
    let (nats, store) = config.nats.event_store(&shutdown).await?;
    health.connected_to_nats(&nats);
    let namespace = config.nats.namespace.clone();
    let timeout = Duration::from_millis(config.read_your_writes_timeout_ms);
    let positions = Positions::start(&nats, &namespace, pool.clone(), timeout, shutdown.clone()).await?;
    let reconnects = Reconnects::follow(&nats, &namespace, shutdown.clone()).await?;
    let worker = Worker {
        pool,
        nats: nats.clone(),
        reconnects,
        store,
        namespace: namespace.clone(),
        positions,
        command_timeout: Duration::from_millis(config.command_timeout_ms),
        imports: config.imports.clone(),
    };
    readstream_runtime::ready::answer_probes(&nats, &namespace, PROCESS, shutdown.clone()).await?;
    tracing::info!(namespace, "running imports and merges");
    let wake = import::wake_on_notify(worker.pool.clone(), shutdown.clone());
    tokio::join!(
        import::work(worker.clone(), wake, shutdown.clone()),
        merges::work(worker.clone(), shutdown.clone()),
        images::sweep(worker, config.images.clone(), shutdown),
    );
    // The last announcements of progress are buffered in the client.
    let _ = tokio::time::timeout(Duration::from_secs(2), nats.flush()).await;
    Ok(())
}
