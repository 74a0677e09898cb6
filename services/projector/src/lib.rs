//! The projector: folds the event stream into the Postgres read models the gateway reads.
//! Each projection follows the stream on its own, exactly once (see `readstream-projection`).

pub mod catalog;
pub mod discovery;
pub mod feed;
pub mod lists;
pub mod notifications;
pub mod ratings;
pub mod readers;
pub mod recommendations;
pub mod reviews;
pub mod shelves;

use std::{collections::HashMap, sync::Arc};

use futures::{FutureExt as _, StreamExt};
use readstream_contracts::ReadModel;
use readstream_projection::{Projection, ProjectionError, Runner};
use readstream_runtime::{
    config::StartError,
    health::{Health, HealthConfig, Report},
    metrics::{DEAD_LETTERS, PROJECTION_LAG_POSITIONS, PROJECTION_LAG_SECONDS},
    DatabaseConfig, NatsConfig,
};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, clap::Parser)]
#[command(name = "readstream-projector", about = "Projects the event stream into Postgres read models")]
pub struct Config {
    #[command(flatten)]
    pub nats: NatsConfig,
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub health: HealthConfig,
    /// Projections to rebuild from position 0 into fresh tables, swapped in once caught up,
    /// while every projection keeps running (comma-separated names).
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
            ReadModel::Notifications => {
                let $projection = notifications::Notifications { namespace };
                $then
            }
            ReadModel::Discovery => {
                let $projection = discovery::Discovery;
                $then
            }
            ReadModel::Recommendations => {
                let $projection = recommendations::Recommendations;
                $then
            }
            ReadModel::Lists => {
                let $projection = lists::Lists;
                $then
            }
        }
    }};
}

/// The name it answers readiness probes under.
pub const PROCESS: &str = "projector";

/// Why the projector stopped before it was told to.
#[derive(Debug, thiserror::Error)]
pub enum ProjectorError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    #[error("projection {0} panicked")]
    Panicked(&'static str),
}

/// Runs every projection until `shutdown`. One that stops for good (it panicked, or its
/// checkpoint lies beyond the stream) stops the others, and the projector ends with its error,
/// for whatever supervises the process to see and restart it.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), ProjectorError> {
    let health = Health::new(true);
    health.serve(&config.health, shutdown.clone()).await?;
    let mut rebuilds = rebuilds(&config)?;
    let pool = readstream_runtime::db::connect_and_migrate(&database(&config), &shutdown).await?;
    health.connected_to_postgres(&pool);
    for model in rebuilds_due(&pool).await? {
        if !rebuilds.contains(&model) {
            tracing::info!(projection = model.name(), "a migration changed this projection's tables: rebuilding it");
            rebuilds.push(model);
        }
    }
    let (client, store) = config.nats.event_store(&shutdown).await?;
    health.connected_to_nats(&client);
    let runners = Runners { pool, store, client: client.clone() };
    health.reporting(lag_report(runners.clone()));
    let measured = runners.clone();
    health.collecting(Arc::new(move || {
        let runners = measured.clone();
        Box::pin(async move { runners.record_standings().await })
    }));
    // A checkpoint beyond the stream refuses to start, unless the projection is rebuilt: then
    // its runner starts once the rebuilt tables, which hold only what the stream holds, are in.
    let mut after_rebuild = Vec::new();
    for model in ReadModel::ALL {
        match with_projection!(model, &config, |projection| runners.of(projection).checkpoint_within_stream().await) {
            Ok(_) => {}
            Err(ProjectionError::AheadOfStream { .. }) if rebuilds.contains(&model) => after_rebuild.push(model),
            Err(err) => return Err(err.into()),
        }
    }
    let stop = shutdown.child_token();
    let mut runs = JoinSet::new();
    let mut names = HashMap::new();
    for model in ReadModel::ALL {
        let rebuild = rebuilds.contains(&model).then(|| {
            with_projection!(model, &config, |projection| runners.of(projection).rebuild(stop.clone()).boxed())
        });
        let run = with_projection!(model, &config, |projection| runners.of(projection).run(stop.clone()).boxed());
        let task = match rebuild {
            Some(rebuild) if after_rebuild.contains(&model) => runs.spawn(async move {
                match rebuild.await? {
                    Some(_) => run.await,
                    None => Ok(()),
                }
            }),
            Some(rebuild) => {
                let task = runs.spawn(async move { rebuild.await.map(|_| ()) });
                names.insert(task.id(), model.name());
                runs.spawn(run)
            }
            None => runs.spawn(run),
        };
        names.insert(task.id(), model.name());
    }
    tokio::spawn(answer_retries(config.clone(), runners, stop.clone()));
    readstream_runtime::ready::answer_probes(&client, &config.nats.namespace, PROCESS, stop.clone()).await?;
    let mut failure = None;
    while let Some(ended) = runs.join_next_with_id().await {
        let err = match ended {
            Ok((_, Ok(()))) => continue,
            Ok((_, Err(err))) => ProjectorError::Projection(err),
            Err(err) => ProjectorError::Panicked(names.get(&err.id()).copied().unwrap_or("unknown")),
        };
        tracing::error!(error = %err, "a projection stopped for good; stopping the projector");
        stop.cancel();
        failure.get_or_insert(err);
    }
    // Send the last live updates if NATS is still there; a flush waits for a reconnect
    // forever, so one that does not come does not hold the shutdown.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), client.flush()).await;
    failure.map_or(Ok(()), Err)
}

/// What the projector's `/readyz` adds: each projection's checkpoint against the stream's last
/// position, how far behind that is in positions and in seconds (the age of the oldest message
/// it has not applied), and its dead letters.
fn lag_report(runners: Runners) -> Report {
    std::sync::Arc::new(move || {
        let runners = runners.clone();
        Box::pin(async move { runners.lag().await.unwrap_or_else(|err| format!("projections: lag unknown ({err})\n")) })
    })
}

/// Answers an admin's requests to apply the dead letters again: every projection retries
/// its own, and the reply says how many were applied in all (empty when one could not try).
async fn answer_retries(config: Config, runners: Runners, shutdown: CancellationToken) {
    let subject = readstream_contracts::subject::retry_dead_letters(&config.nats.namespace);
    let mut requests = match runners.client.subscribe(subject).await {
        Ok(requests) => requests,
        Err(err) => {
            tracing::error!(error = %err, "cannot take requests to retry dead letters");
            return;
        }
    };
    loop {
        let request = tokio::select! {
            _ = shutdown.cancelled() => break,
            request = requests.next() => match request { Some(request) => request, None => break },
        };
        let mut applied = Some(0);
        for model in ReadModel::ALL {
            let outcome =
                with_projection!(model, &config, |projection| runners.of(projection).retry_dead_letters().await);
            match outcome {
                Ok(count) => applied = applied.map(|sum| sum + count),
                Err(err) => {
                    tracing::error!(projection = model.name(), error = %err, "could not retry dead letters");
                    applied = None;
                }
            }
        }
        if let Some(reply_to) = request.reply {
            let payload = applied.map(|count| count.to_string()).unwrap_or_default();
            if let Err(err) = runners.client.publish(reply_to, payload.into()).await {
                tracing::warn!(error = %err, "could not answer a request to retry dead letters");
            }
        }
    }
}

/// The projector's Postgres: its commits do not wait for the disk (`synchronous_commit = off`).
/// Each batch commits its checkpoint with its rows, so a crash of Postgres loses only the last
/// batches whole, and the projector applies them again from the stream, the source of truth.
pub fn database(config: &Config) -> DatabaseConfig {
    DatabaseConfig { asynchronous_commit: true, ..config.database.clone() }
}

/// The read models `config.rebuild` names.
fn rebuilds(config: &Config) -> Result<Vec<ReadModel>, StartError> {
    let known = || ReadModel::ALL.iter().map(|model| model.name()).collect::<Vec<_>>().join(", ");
    config
        .rebuild
        .iter()
        .map(|name| {
            ReadModel::from_name(name)
                .ok_or_else(|| StartError::Config(format!("no projection named {name}; known: {}", known())))
        })
        .collect()
}

/// The projections a migration marked to be rebuilt (`projection_checkpoints.rebuild_due`),
/// whose mark the rebuild's swap takes off.
async fn rebuilds_due(pool: &sqlx::PgPool) -> Result<Vec<ReadModel>, StartError> {
    let names = sqlx::query_scalar!("SELECT name FROM projection_checkpoints WHERE rebuild_due ORDER BY name")
        .fetch_all(pool)
        .await?;
    Ok(names.iter().filter_map(|name| ReadModel::from_name(name)).collect())
}

/// Rebuilds the projections named in `config.rebuild`, one after the other, each into fresh
/// tables swapped in once caught up (see [`Runner::rebuild`]), while the projectors running
/// them go on. Returns once every one is swapped in, or at `shutdown`.
pub async fn rebuild(config: &Config, shutdown: &CancellationToken) -> Result<(), ProjectorError> {
    let models = rebuilds(config)?;
    let pool = readstream_runtime::db::connect_and_migrate(&database(config), shutdown).await?;
    let (client, store) = config.nats.event_store(shutdown).await?;
    let runners = Runners { pool, store, client };
    for model in models {
        let rebuilt =
            with_projection!(model, config, |projection| runners.of(projection).rebuild(shutdown.clone()).await);
        if rebuilt?.is_none() {
            return Ok(());
        }
    }
    Ok(())
}

/// What every projection's runner shares.
#[derive(Clone)]
struct Runners {
    pool: sqlx::PgPool,
    store: readstream_eventstore::EventStore,
    client: async_nats::Client,
}

impl Runners {
    fn of<P: Projection>(&self, projection: P) -> Runner<P> {
        Runner::new(projection, self.pool.clone(), self.store.clone(), self.client.clone())
    }

    /// Where each projection stands against the stream.
    async fn standings(&self) -> Result<Vec<Standing>, Box<dyn std::error::Error + Send + Sync>> {
        let checkpoints: HashMap<String, i64> = sqlx::query_as("SELECT name, position FROM projection_checkpoints")
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .collect();
        let dead_letters: HashMap<String, i64> =
            sqlx::query_as("SELECT projection, count(*) FROM dead_letters GROUP BY projection")
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .collect();
        let mut stream = self.store.jetstream().get_stream(self.store.stream_name()).await?;
        let last = stream.info().await?.state.last_sequence;
        let mut standings = Vec::new();
        for model in ReadModel::ALL {
            let name = model.name();
            let at = checkpoints.get(name).copied().unwrap_or(0).max(0) as u64;
            let behind = last.saturating_sub(at);
            let seconds = if behind == 0 {
                0.0
            } else {
                let oldest = stream.get_raw_message(at + 1).await?;
                (async_nats::datetime::now() - oldest.time).as_seconds_f64().max(0.0)
            };
            standings.push(Standing {
                name,
                at,
                last,
                behind,
                seconds,
                dead_letters: dead_letters.get(name).copied().unwrap_or(0),
                rebuild_at: checkpoints.get(&format!("{name}:rebuild")).copied(),
            });
        }
        Ok(standings)
    }

    /// One line per projection with its lag, and the dead letters if there are any.
    async fn lag(&self) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        let standings = self.standings().await?;
        let mut lines = String::new();
        for Standing { name, at, last, behind, seconds, dead_letters, rebuild_at } in &standings {
            lines.push_str(&format!("projection {name}: at {at} of {last}, {behind} behind, {seconds:.1} s"));
            if *dead_letters > 0 {
                lines.push_str(&format!(", {dead_letters} dead letters"));
            }
            lines.push('\n');
            if let Some(at) = rebuild_at {
                lines.push_str(&format!("rebuild {name}: at {at} of {last}, into fresh tables\n"));
            }
        }
        let total: i64 = standings.iter().map(|standing| standing.dead_letters).sum();
        if total > 0 {
            lines.push_str(&format!("projections: degraded, {total} dead letters\n"));
        }
        Ok(lines)
    }

    /// Sets each projection's lag and dead letters in the metrics (left as they were when the
    /// stream or Postgres does not answer).
    async fn record_standings(&self) {
        let standings = match self.standings().await {
            Ok(standings) => standings,
            Err(err) => {
                tracing::warn!(error = %err, "the projections' lag is unknown");
                return;
            }
        };
        for standing in standings {
            let projection = standing.name;
            metrics::gauge!(PROJECTION_LAG_POSITIONS, "projection" => projection).set(standing.behind as f64);
            metrics::gauge!(PROJECTION_LAG_SECONDS, "projection" => projection).set(standing.seconds);
            metrics::gauge!(DEAD_LETTERS, "projection" => projection).set(standing.dead_letters as f64);
        }
    }
}

/// Where one projection stands against the stream.
struct Standing {
    name: &'static str,
    /// Its checkpoint, and the stream's last position.
    at: u64,
    last: u64,
    /// How many positions it has yet to apply, and the age of the oldest of them.
    behind: u64,
    seconds: f64,
    dead_letters: i64,
    /// A rebuild's checkpoint, while one runs.
    rebuild_at: Option<i64>,
}
