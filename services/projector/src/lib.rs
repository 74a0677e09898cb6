//! The projector: folds the event stream into the Postgres read models the gateway reads.
//! Each projection follows the stream on its own, exactly once (see `readstream-projection`).

pub mod catalog;
pub mod feed;
pub mod ratings;
pub mod readers;
pub mod reviews;
pub mod shelves;

use readstream_contracts::ReadModel;
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
    /// The most followers an account may have for its activities to be written into each
    /// follower's feed; above it they are merged into feeds when read.
    #[arg(long, env = "FEED_FANOUT_LIMIT", default_value_t = 10_000)]
    pub feed_fanout_limit: u64,
}

/// Evaluates `$then` with the projection that keeps `$model`, made from `$config`: the one
/// place each projection is built, so a new read model is a compile error here until it is.
macro_rules! with_projection {
    ($model:expr, $config:expr, |$projection:ident| $then:expr) => {{
        let config: &Config = $config;
        let namespace = config.nats.namespace.clone();
        match $model {
            ReadModel::Catalog => {
                let $projection = catalog::Catalog;
                $then
            }
            ReadModel::Readers => {
                let $projection = readers::Readers;
                $then
            }
            ReadModel::Ratings => {
                let $projection = ratings::Ratings { namespace };
                $then
            }
            ReadModel::Shelves => {
                let $projection = shelves::Shelves { namespace };
                $then
            }
            ReadModel::Reviews => {
                let $projection = reviews::Reviews { namespace };
                $then
            }
            ReadModel::Feed => {
                let $projection = feed::Feed { namespace, fanout_limit: config.feed_fanout_limit };
                $then
            }
        }
    }};
}

/// The name it answers readiness probes under.
pub const PROCESS: &str = "projector";

pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    reset(&config).await?;
    let pool = readstream_runtime::db::connect_and_migrate(&config.database).await?;
    let (client, store) = config.nats.event_store().await?;
    let runner = Runners { pool: &pool, store: &store, client: &client };
    let runs = ReadModel::ALL.map(|model| {
        with_projection!(model, &config, |projection| tokio::spawn(runner.of(projection).run(shutdown.clone())))
    });
    readstream_runtime::ready::answer_probes(&client, &config.nats.namespace, PROCESS, shutdown.clone()).await?;
    for run in runs {
        if let Err(err) = run.await {
            tracing::error!(error = %err, "a projection task panicked");
        }
    }
    // Send the last live updates if NATS is still there; a flush waits for a reconnect
    // forever, so one that does not come does not hold the shutdown.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), client.flush()).await;
    Ok(())
}

/// Empties the projections named in `config.rebuild` and rewinds them to position 0, so the
/// next run rebuilds them from the whole stream. Stop every projector first.
pub async fn reset(config: &Config) -> Result<(), StartError> {
    if config.rebuild.is_empty() {
        return Ok(());
    }
    let mut models = Vec::with_capacity(config.rebuild.len());
    for name in &config.rebuild {
        let model = ReadModel::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = ReadModel::ALL.iter().map(|model| model.name()).collect();
            StartError::Config(format!("no projection named {name}; known: {}", known.join(", ")))
        })?;
        models.push(model);
    }
    let pool = readstream_runtime::db::connect_and_migrate(&config.database).await?;
    let (client, store) = config.nats.event_store().await?;
    let runner = Runners { pool: &pool, store: &store, client: &client };
    for model in models {
        with_projection!(model, config, |projection| runner.of(projection).reset().await?);
    }
    Ok(())
}

struct Runners<'a> {
    pool: &'a sqlx::PgPool,
    store: &'a readstream_eventstore::EventStore,
    client: &'a async_nats::Client,
}

impl Runners<'_> {
    fn of<P: Projection>(&self, projection: P) -> Runner<P> {
        Runner::new(projection, self.pool.clone(), self.store.clone(), self.client.clone())
    }
}
