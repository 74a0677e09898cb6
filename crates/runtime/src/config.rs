//! Configuration shared by the services, read from the environment (12-factor) with defaults.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use backon::{ExponentialBuilder, Retryable as _};
use tokio_util::sync::CancellationToken;

/// Where NATS is and which namespace of subjects and streams this deployment uses.
#[derive(Debug, Clone, clap::Args)]
pub struct NatsConfig {
    /// NATS server URL; a cluster's seeds separated by commas.
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// Prefix of every subject and stream: tests and tenants share one server without meeting.
    #[arg(long, env = "READSTREAM_NAMESPACE", default_value = "rs")]
    pub namespace: String,
    /// JetStream replicas of the event stream: 1 on one machine, 3 in a cluster.
    #[arg(long, env = "READSTREAM_STREAM_REPLICAS", default_value_t = 1)]
    pub stream_replicas: usize,
}

impl NatsConfig {
    pub fn new(nats_url: impl Into<String>, namespace: impl Into<String>) -> Self {
        Self { nats_url: nats_url.into(), namespace: namespace.into(), stream_replicas: 1 }
    }

    /// Connects to the servers `nats_url` lists (comma-separated: every seed of a cluster),
    /// counting each time the connection comes back after it was lost.
    pub async fn connect(&self) -> Result<async_nats::Client, async_nats::ConnectError> {
        let connected_before = Arc::new(AtomicBool::new(false));
        async_nats::ConnectOptions::new()
            .name("readstream")
            .request_timeout(Some(Duration::from_secs(10)))
            .event_callback(move |event| {
                let connected_before = connected_before.clone();
                async move {
                    if matches!(event, async_nats::Event::Connected) && connected_before.swap(true, Ordering::Relaxed) {
                        metrics::counter!(crate::metrics::NATS_RECONNECTS).increment(1);
                    }
                }
            })
            .connect(self.nats_url.split(',').map(str::trim).filter(|url| !url.is_empty()).collect::<Vec<_>>())
            .await
    }

    /// Connects, trying again with backoff while NATS is out of reach, until `shutdown`.
    pub async fn connect_with_backoff(&self, shutdown: &CancellationToken) -> Result<async_nats::Client, StartError> {
        with_backoff("NATS", shutdown, || async { Ok(self.connect().await?) }).await
    }

    /// Connects and opens the namespace's event store (creating its stream if needed), trying
    /// again with backoff while NATS (or its JetStream) is out of reach, until `shutdown`.
    pub async fn event_store(
        &self,
        shutdown: &CancellationToken,
    ) -> Result<(async_nats::Client, readstream_eventstore::EventStore), StartError> {
        with_backoff("NATS", shutdown, || async {
            let client = self.connect().await?;
            let settings = readstream_eventstore::StreamSettings { replicas: self.stream_replicas };
            let store = readstream_eventstore::EventStore::connect(client.clone(), &self.namespace, settings).await?;
            Ok((client, store))
        })
        .await
    }
}

/// Where Postgres is.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseConfig {
    /// Postgres URL of the read models (and the social service's credentials).
    #[arg(long, env = "DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/readstream")]
    pub database_url: String,
    /// Largest number of connections this process keeps open.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,
    /// Plan each prepared statement once, for any parameters (`plan_cache_mode =
    /// force_generic_plan`), rather than again at every execution: set by the gateway, whose
    /// reads are a few shapes asked again and again (see `db::connect_options`).
    #[arg(skip)]
    pub generic_plans: bool,
    /// Commit without waiting for the write-ahead log to reach the disk (`synchronous_commit =
    /// off`): set by the projector, whose tables the stream can always rebuild (see
    /// `db::connect_options`).
    #[arg(skip)]
    pub asynchronous_commit: bool,
}

impl DatabaseConfig {
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            database_max_connections: 10,
            generic_plans: false,
            asynchronous_commit: false,
        }
    }
}

/// Runs `attempt` until it succeeds, waiting 100 ms, then twice as long each time up to 5 s,
/// after a failure to reach a server (`StartError::is_unreachable`); any other failure, or one
/// after `shutdown`, ends it. Each wait is logged, so a process that cannot start says why.
pub async fn with_backoff<T, F, Fut>(server: &str, shutdown: &CancellationToken, attempt: F) -> Result<T, StartError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StartError>>,
{
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times();
    attempt
        .retry(backoff)
        .when(|err: &StartError| err.is_unreachable() && !shutdown.is_cancelled())
        .notify(|err, wait| tracing::warn!(server, error = %err, ?wait, "cannot reach the server yet; trying again"))
        .await
}

/// Why a service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot connect to NATS: {0}")]
    Nats(#[from] async_nats::ConnectError),
    #[error(transparent)]
    EventStore(#[from] readstream_eventstore::StoreError),
    #[error("cannot connect to Postgres: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot subscribe: {0}")]
    Subscribe(#[from] async_nats::SubscribeError),
    #[error("the subscription to {0} ended: the NATS connection closed for good")]
    SubscriptionEnded(String),
    #[error("cannot open the key-value bucket {bucket}: {source}")]
    Bucket { bucket: String, source: async_nats::jetstream::context::CreateKeyValueError },
    #[error("configuration: {0}")]
    Config(String),
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
}

impl StartError {
    /// Whether the failure is a server out of reach (not started yet, restarting), which
    /// trying again may cure, rather than a refusal that will not change.
    pub fn is_unreachable(&self) -> bool {
        use readstream_eventstore::StoreError;
        match self {
            StartError::Nats(_) => true,
            StartError::EventStore(StoreError::Setup { .. } | StoreError::Open { .. }) => true,
            StartError::EventStore(StoreError::KeyringSetup { source, .. }) | StartError::Bucket { source, .. } => {
                jetstream_not_answering(source)
            }
            StartError::Database(err) => crate::db::is_unreachable(err),
            _ => false,
        }
    }
}

/// Whether creating a bucket failed because JetStream did not answer (starting, or a cluster
/// electing its leaders) rather than because it refused the bucket.
fn jetstream_not_answering(err: &async_nats::jetstream::context::CreateKeyValueError) -> bool {
    use async_nats::jetstream::context::CreateKeyValueErrorKind;
    match err.kind() {
        CreateKeyValueErrorKind::TimedOut => true,
        CreateKeyValueErrorKind::JetStream => {
            let message = err.to_string();
            message.contains("timed out") || message.contains("no responders") || message.contains("unavailable")
        }
        _ => false,
    }
}
