//! Configuration shared by the services, read from the environment (12-factor) with defaults.

use std::time::Duration;

/// Where NATS is and which namespace of subjects and streams this deployment uses.
#[derive(Debug, Clone, clap::Args)]
pub struct NatsConfig {
    /// NATS server URL.
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

    pub async fn connect(&self) -> Result<async_nats::Client, async_nats::ConnectError> {
        async_nats::ConnectOptions::new()
            .name("readstream")
            .request_timeout(Some(Duration::from_secs(10)))
            .connect(&self.nats_url)
            .await
    }

    /// Connects and opens the namespace's event store (creating its stream if needed).
    pub async fn event_store(&self) -> Result<(async_nats::Client, readstream_eventstore::EventStore), StartError> {
        let client = self.connect().await?;
        let settings = readstream_eventstore::StreamSettings { replicas: self.stream_replicas };
        let store = readstream_eventstore::EventStore::connect(client.clone(), &self.namespace, settings).await?;
        Ok((client, store))
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
}

impl DatabaseConfig {
    pub fn new(database_url: impl Into<String>) -> Self {
        Self { database_url: database_url.into(), database_max_connections: 10 }
    }
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
    #[error("cannot open the key-value bucket {bucket}: {source}")]
    Bucket { bucket: String, source: async_nats::jetstream::context::CreateKeyValueError },
    #[error("configuration: {0}")]
    Config(String),
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
}
