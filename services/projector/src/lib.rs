//! The projector: folds the event stream into the Postgres read models the gateway reads.
//! Each projection follows the stream on its own, exactly once (see `readstream-projection`).

pub mod catalog;
pub mod ratings;
pub mod readers;
pub mod shelves;

use readstream_projection::{Projection, Runner};
use readstream_runtime::{config::StartError, DatabaseConfig, NatsConfig};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, clap::Parser)]
#[command(name = "readstream-projector", about = "Projects the event stream into Postgres read models")]
pub struct Config {
    #[command(flatten)]
    pub nats: NatsConfig,
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// Projections to rebuild from position 0 before following the stream (comma-separated
    /// names; stop every other projector first).
    #[arg(long, env = "REBUILD_PROJECTIONS", value_delimiter = ',')]
    pub rebuild: Vec<String>,
}

/// The names of every projection, as in `projection_checkpoints`.
pub const PROJECTIONS: [&str; 4] = ["catalog", "readers", "ratings", "shelves"];

pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    if let Some(unknown) = config.rebuild.iter().find(|name| !PROJECTIONS.contains(&name.as_str())) {
        return Err(StartError::Config(format!("no projection named {unknown}; known: {}", PROJECTIONS.join(", "))));
    }
    let pool = readstream_runtime::db::connect_and_migrate(&config.database).await?;
    let (client, store) = config.nats.event_store().await?;
    let namespace = config.nats.namespace.clone();
    let start = Start { config: &config, pool: &pool, store: &store, client: &client, shutdown: &shutdown };
    let runs = [
        start.projection(catalog::Catalog).await?,
        start.projection(readers::Readers).await?,
        start.projection(ratings::Ratings { namespace: namespace.clone() }).await?,
        start.projection(shelves::Shelves { namespace }).await?,
    ];
    for run in runs {
        if let Err(err) = run.await {
            tracing::error!(error = %err, "a projection task panicked");
        }
    }
    let _ = client.flush().await;
    Ok(())
}

struct Start<'a> {
    config: &'a Config,
    pool: &'a sqlx::PgPool,
    store: &'a readstream_eventstore::EventStore,
    client: &'a async_nats::Client,
    shutdown: &'a CancellationToken,
}

impl Start<'_> {
    /// Resets the projection first if asked to rebuild it, then follows the stream.
    async fn projection<P: Projection>(&self, projection: P) -> Result<tokio::task::JoinHandle<()>, StartError> {
        let rebuild = self.config.rebuild.iter().any(|name| name == projection.name());
        let runner = Runner::new(projection, self.pool.clone(), self.store.clone(), self.client.clone());
        if rebuild {
            runner.reset().await?;
        }
        Ok(tokio::spawn(runner.run(self.shutdown.clone())))
    }
}
