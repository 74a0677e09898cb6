//! The projector: folds the event stream into the Postgres read models the gateway reads.
//! Each projection follows the stream on its own, exactly once (see `readstream-projection`).

pub mod catalog;
pub mod ratings;
pub mod readers;

use readstream_projection::Runner;
use readstream_runtime::{config::StartError, DatabaseConfig, NatsConfig};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "readstream-projector",
    about = "Projects the event stream into Postgres read models"
)]
pub struct Config {
    #[command(flatten)]
    pub nats: NatsConfig,
    #[command(flatten)]
    pub database: DatabaseConfig,
}

/// The names of every projection, as in `projection_checkpoints`.
pub const PROJECTIONS: [&str; 3] = ["catalog", "readers", "ratings"];

pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    let pool = readstream_runtime::db::connect_and_migrate(&config.database).await?;
    let (client, store) = config.nats.event_store().await?;
    let namespace = config.nats.namespace.clone();
    let runs = [
        tokio::spawn(
            Runner::new(
                catalog::Catalog,
                pool.clone(),
                store.clone(),
                client.clone(),
            )
            .run(shutdown.clone()),
        ),
        tokio::spawn(
            Runner::new(
                readers::Readers,
                pool.clone(),
                store.clone(),
                client.clone(),
            )
            .run(shutdown.clone()),
        ),
        tokio::spawn(
            Runner::new(
                ratings::Ratings { namespace },
                pool.clone(),
                store,
                client.clone(),
            )
            .run(shutdown.clone()),
        ),
    ];
    for run in runs {
        if let Err(err) = run.await {
            tracing::error!(error = %err, "a projection task panicked");
        }
    }
    let _ = client.flush().await;
    Ok(())
}
