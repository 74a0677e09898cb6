//! `GET /healthz`, `GET /readyz` and `GET /metrics` over HTTP for every process, on an address
//! of its own (`HEALTH_ADDR`), never the gateway's public one: what a supervisor, a Kubernetes
//! probe or Prometheus asks.
//! `/healthz` is 200 while the process runs. `/readyz` is 200 once the process is connected and
//! its servers answer, 503 before that (while it starts, or while NATS or Postgres is out of
//! reach), with one line per check; the projector adds each projection's lag and its dead
//! letters, which never make it unready.

use std::{
    net::SocketAddr,
    sync::{Arc, OnceLock},
    time::Duration,
};

use axum::{extract::State, http::StatusCode, response::IntoResponse, routing::get, Router};
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::config::StartError;

/// How long `/readyz` waits for Postgres to answer.
const DATABASE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Where a process answers health probes.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct HealthConfig {
    /// Where to answer `GET /healthz` and `GET /readyz` over HTTP (e.g. `127.0.0.1:9101`); not
    /// at all when unset.
    #[arg(long, env = "HEALTH_ADDR")]
    pub health_addr: Option<SocketAddr>,
}

/// More lines for `/readyz`, asked once the process is ready.
pub type Report = Arc<dyn Fn() -> BoxFuture<'static, String> + Send + Sync>;

/// A further condition of readiness, and its line (the gateway's ended sessions).
pub type Check = Arc<dyn Fn() -> (bool, String) + Send + Sync>;

/// What a process measures only when asked (the projector's lag): run before each `/metrics`.
pub type Collect = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

/// What a process's `/readyz` checks, filled in as the process connects.
#[derive(Clone, Default)]
pub struct Health(Arc<Parts>);

#[derive(Default)]
struct Parts {
    uses_postgres: bool,
    nats: OnceLock<async_nats::Client>,
    pool: OnceLock<sqlx::PgPool>,
    report: OnceLock<Report>,
    check: OnceLock<Check>,
    collect: OnceLock<Collect>,
}

impl Health {
    /// A process that needs NATS, and Postgres too when `uses_postgres`.
    pub fn new(uses_postgres: bool) -> Self {
        crate::metrics::registry();
        Self(Arc::new(Parts { uses_postgres, ..Parts::default() }))
    }

    pub fn connected_to_nats(&self, client: &async_nats::Client) {
        let _ = self.0.nats.set(client.clone());
    }

    pub fn connected_to_postgres(&self, pool: &sqlx::PgPool) {
        let _ = self.0.pool.set(pool.clone());
    }

    /// Adds `report`'s lines to every ready answer.
    pub fn reporting(&self, report: Report) {
        let _ = self.0.report.set(report);
    }

    /// Makes the process ready only while `check` says so too.
    pub fn requiring(&self, check: Check) {
        let _ = self.0.check.set(check);
    }

    /// Runs `collect` before every `/metrics` answer.
    pub fn collecting(&self, collect: Collect) {
        let _ = self.0.collect.set(collect);
    }

    /// Whether the process is ready, and the lines that say why.
    pub async fn readiness(&self) -> (bool, String) {
        let up = |ok: bool| if ok { "ok" } else { "down" };
        let mut body = String::new();
        let mut ready = true;
        if self.0.uses_postgres {
            let postgres = match self.0.pool.get() {
                Some(pool) => {
                    let ping = sqlx::query("SELECT 1").execute(pool);
                    matches!(tokio::time::timeout(DATABASE_CHECK_TIMEOUT, ping).await, Ok(Ok(_)))
                }
                None => false,
            };
            body.push_str(&format!("postgres: {}\n", up(postgres)));
            ready &= postgres;
        }
        let nats = self
            .0
            .nats
            .get()
            .is_some_and(|client| client.connection_state() == async_nats::connection::State::Connected);
        body.push_str(&format!("nats: {}\n", up(nats)));
        ready &= nats;
        if let Some(check) = self.0.check.get() {
            let (ok, line) = check();
            body.push_str(&line);
            ready &= ok;
        }
        if let (true, Some(report)) = (ready, self.0.report.get()) {
            body.push_str(&report().await);
        }
        (ready, body)
    }

    /// Answers at the configured address until `shutdown`; does nothing when none is set. Call
    /// it before connecting, so a probe hears "not ready" while the process waits for a server.
    pub async fn serve(&self, config: &HealthConfig, shutdown: CancellationToken) -> Result<(), StartError> {
        let Some(addr) = config.health_addr else {
            return Ok(());
        };
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let app = Router::new()
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .with_state(self.clone());
        tokio::spawn(async move {
            let served = axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await;
            if let Err(err) = served {
                tracing::error!(error = %err, "the health endpoint stopped");
            }
        });
        tracing::info!(%addr, "health probes at /healthz and /readyz, metrics at /metrics");
        Ok(())
    }
}

async fn readyz(State(health): State<Health>) -> impl IntoResponse {
    let (ready, body) = health.readiness().await;
    (if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, body)
}

async fn metrics(State(health): State<Health>) -> impl IntoResponse {
    if let Some(collect) = health.0.collect.get() {
        collect().await;
    }
    crate::metrics::response()
}
