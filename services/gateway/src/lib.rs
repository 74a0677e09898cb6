//! The gateway: one GraphQL endpoint for queries, mutations and subscriptions.
//!
//! - `POST /graphql`: queries and mutations; `GET /graphql`: GraphiQL in a browser.
//! - A WebSocket upgrade of `GET /graphql` (or of `/graphql/ws`, the older path): subscriptions
//!   over `graphql-transport-ws` or the legacy `graphql-ws`; the token goes in the
//!   `connection_init` payload as `Authorization`.
//! - `GET /export/goodreads.csv` and `GET /export/events.ndjson`: the reader's library and
//!   events, with their bearer token (`export`).
//! - `GET /books/{id}` and the other pages of the web app (`web`), server-rendered from the
//!   same schema.
//! - `GET /healthz` (the process runs) and `GET /readyz` (ready or not, for a load balancer;
//!   nothing more). Each line of readiness (Postgres, NATS, the ended sessions, dead letters)
//!   and `GET /metrics` are on `HEALTH_ADDR`, as the other processes have them, never here.
//!
//! Mutations become commands sent over NATS; queries read the Postgres read models;
//! `Readstream-Min-Position: N` (or `extensions.minPosition`) waits until they include N.
//!
//! This file only assembles: `http` (the GraphQL doors), `websocket` and `export` bring their
//! routes, `config` the settings, `graphql` the schema and its slices.

pub mod auth;
pub mod commands;
pub mod config;
pub mod error;
pub mod export;
pub mod graphql;
mod http;
pub mod images;
pub mod limits;
pub mod shape;
mod shared_pushes;
pub mod subscriptions;
mod web;
pub mod websocket;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use readstream_runtime::{config::StartError, health::Health, live::Live, positions::Positions, DatabaseConfig};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use crate::config::{Config, WebConfig, MIN_JWT_SECRET_BYTES};
pub use crate::http::MIN_POSITION_HEADER;
/// The book page's GraphQL query and page size, as the server-rendered page runs them.
pub use crate::web::{BOOK_PAGE, REVIEWS_PER_PAGE};
use crate::{auth::Tokens, limits::Limits};

/// How long shutdown waits for the WebSockets to send their close frames.
const SOCKETS_DRAIN: Duration = Duration::from_secs(2);

/// What every resolver can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub nats: async_nats::Client,
    /// When a command's request or reply may have been lost, to send it again.
    pub reconnects: readstream_runtime::bus::Reconnects,
    /// The stream, read by the events export.
    pub store: readstream_eventstore::EventStore,
    pub namespace: String,
    pub tokens: Arc<Tokens>,
    pub positions: Positions,
    pub command_timeout: Duration,
    pub limits: Arc<Limits>,
    pub sockets: websocket::OpenSockets,
    /// The live subjects subscriptions follow, one NATS subscription each.
    pub live: Live,
    /// Where readers reach the gateway (`PUBLIC_URL`), without a trailing slash: the start of
    /// every `url` field.
    pub public_url: Arc<str>,
    /// Whether the browser's session cookies are always Secure (`SECURE_COOKIES`).
    pub secure_cookies: bool,
    /// Uploaded pictures being decoded, a few at a time.
    pub decoders: images::Decoders,
}

pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    let listener = TcpListener::bind(config.addr).await?;
    serve(config, listener, shutdown).await
}

/// Serves on a listener the caller bound (tests bind port 0).
pub async fn serve(config: Config, listener: TcpListener, shutdown: CancellationToken) -> Result<(), StartError> {
    let (jwt_secret, token_lifetime) = (config::jwt_secret(&config)?, config::token_lifetime(&config)?);
    let public_url = config.web.public_url(listener.local_addr()?)?;
    let health = Health::new(true);
    health.serve(&config.health, shutdown.clone()).await?;
    metrics::gauge!(readstream_runtime::metrics::SUBSCRIPTIONS_OPEN).set(0.0);
    metrics::gauge!(readstream_runtime::metrics::SHARED_EXECUTIONS).set(0.0);
    let database = DatabaseConfig { generic_plans: true, ..config.database.clone() };
    let pool = readstream_runtime::db::connect_and_migrate(&database, &shutdown).await?;
    health.connected_to_postgres(&pool);
    let (nats, store) = config.nats.event_store(&shutdown).await?;
    health.connected_to_nats(&nats);
    let timeout = Duration::from_millis(config.read_your_writes_timeout_ms);
    let positions = Positions::start(&nats, &config.nats.namespace, pool.clone(), timeout, shutdown.clone()).await?;
    let live = Live::new(nats.clone(), readstream_contracts::social::live_wildcards(&config.nats.namespace));
    let reconnects =
        readstream_runtime::bus::Reconnects::follow(&nats, &config.nats.namespace, shutdown.clone()).await?;
    let app = AppState {
        pool,
        nats,
        reconnects,
        store,
        namespace: config.nats.namespace.clone(),
        tokens: Arc::new(Tokens::new(&jwt_secret, token_lifetime)),
        positions,
        command_timeout: Duration::from_millis(config.command_timeout_ms),
        limits: Arc::new(Limits::new(config.limits.clone())),
        sockets: websocket::OpenSockets::new(shutdown.clone()),
        live,
        public_url: public_url.into(),
        secure_cookies: config.web.secure_cookies,
        decoders: images::Decoders::default(),
    };
    tokio::spawn(app.limits.clone().forget_idle_clients_every_minute(shutdown.clone()));
    let ended_sessions = readstream_runtime::sessions::ended_sessions(
        app.nats.clone(),
        &app.namespace,
        config.nats.stream_replicas,
        &shutdown,
    )
    .await?;
    let (tokens, nats, stop) = (app.tokens.clone(), app.nats.clone(), shutdown.clone());
    tokio::spawn(async move { tokens.ended_sessions().follow(ended_sessions, nats, stop).await });
    let tokens = app.tokens.clone();
    health.requiring(Arc::new(move || {
        let known = tokens.ended_sessions().known().is_ok();
        (known, format!("ended sessions: {}\n", if known { "ok" } else { "down" }))
    }));
    let pool = app.pool.clone();
    health.reporting(Arc::new(move || {
        let pool = pool.clone();
        Box::pin(async move {
            match graphql::operations::dead_letters_count(&pool).await {
                Ok(count @ 1..) => format!("projections: degraded, {count} dead letters\n"),
                _ => String::new(),
            }
        })
    }));
    let schemas = graphql::Schemas::new(app.clone());
    let app_shared = Arc::new(app.clone());
    let router = http::routes(&app_shared, &config.limits)
        .merge(websocket::routes())
        .merge(export::routes())
        .merge(web::routes())
        .with_state((schemas, app_shared));
    tracing::info!(addr = %listener.local_addr()?, "GraphQL at /graphql");
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    app.sockets.drain(SOCKETS_DRAIN).await;
    Ok(())
}

/// What every route is handed, cloned for each request: the `AppState` behind an `Arc`, whose
/// clone is one count where the state's own copies an `async_nats::Client` and the stream's
/// whole description (2–3% of the gateway's CPU for the peer bench's pages).
pub(crate) type Shared = (graphql::Schemas, Arc<AppState>);
