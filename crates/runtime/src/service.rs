//! The start of every command service: its health endpoint, then Postgres when it keeps a
//! table of its own, then NATS and the event store, then its commands answered until shutdown.

use readstream_contracts::{command::Routes, Service};
use readstream_eventstore::EventStore;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    bus,
    config::StartError,
    health::{Health, HealthConfig},
    DatabaseConfig, NatsConfig,
};

/// A command service started: connected, healthy, not yet answering.
pub struct CommandService {
    pub client: async_nats::Client,
    pub store: EventStore,
    namespace: String,
    shutdown: CancellationToken,
}

impl CommandService {
    /// Serves the health endpoint and connects to NATS, trying again until `shutdown`.
    pub async fn start(
        nats: &NatsConfig,
        health: &HealthConfig,
        shutdown: &CancellationToken,
    ) -> Result<Self, StartError> {
        let probe = Health::new(false);
        probe.serve(health, shutdown.clone()).await?;
        Self::connect(nats, probe, shutdown).await
    }

    /// As [`CommandService::start`], for a service with tables of its own: connects to
    /// Postgres and migrates first, and the health endpoint watches both.
    pub async fn start_with_database(
        nats: &NatsConfig,
        database: &DatabaseConfig,
        health: &HealthConfig,
        shutdown: &CancellationToken,
    ) -> Result<(Self, PgPool), StartError> {
        let probe = Health::new(true);
        probe.serve(health, shutdown.clone()).await?;
        let pool = crate::db::connect_and_migrate(database, shutdown).await?;
        probe.connected_to_postgres(&pool);
        Ok((Self::connect(nats, probe, shutdown).await?, pool))
    }

    async fn connect(nats: &NatsConfig, probe: Health, shutdown: &CancellationToken) -> Result<Self, StartError> {
        let (client, store) = nats.event_store(shutdown).await?;
        probe.connected_to_nats(&client);
        Ok(CommandService { client, store, namespace: nats.namespace.clone(), shutdown: shutdown.clone() })
    }

    /// Answers service `S`'s commands with `handler` until shutdown ([`bus::answer_commands`]).
    pub async fn answer<S: Service, H: Routes<S>>(self, handler: H) -> Result<(), StartError> {
        bus::answer_commands::<S, H>(handler, self.client, &self.namespace, self.shutdown).await
    }
}
