//! The gateway: one GraphQL endpoint for queries, mutations and subscriptions.
//!
//! - `POST /graphql`: queries and mutations; `GET /graphql`: GraphiQL in a browser.
//! - A WebSocket upgrade of `GET /graphql` (or of `/graphql/ws`, the older path): subscriptions
//!   over `graphql-transport-ws` or the legacy `graphql-ws`; the token goes in the
//!   `connection_init` payload as `Authorization`.
//! - `GET /export/goodreads.csv` and `GET /export/events.ndjson`: the reader's library and
//!   events, with their bearer token (`export`).
//! - `GET /healthz` (the process runs) and `GET /readyz` (ready or not, for a load balancer;
//!   nothing more). Each line of readiness (Postgres, NATS, the ended sessions, dead letters)
//!   and `GET /metrics` are on `HEALTH_ADDR`, as the other processes have them, never here.
//!
//! Mutations become commands sent over NATS; queries read the Postgres read models;
//! `Readstream-Min-Position: N` (or `extensions.minPosition`) waits until they include N.

pub mod auth;
pub mod commands;
pub mod error;
pub mod export;
pub mod graphql;
pub mod limits;
pub mod live;
pub mod sessions;
pub mod shape;
pub mod subscriptions;
pub mod websocket;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::{
    extract::{ws::rejection::WebSocketUpgradeRejection, ConnectInfo, State, WebSocketUpgrade},
    http::{header, HeaderMap, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::get,
    Router,
};
use readstream_runtime::{
    config::StartError,
    health::{Health, HealthConfig},
    positions::Positions,
    DatabaseConfig, NatsConfig,
};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::limit::RequestBodyLimitLayer;
use tracing::Instrument as _;

use crate::{
    auth::Tokens,
    error::ApiError,
    limits::{Limits, LimitsConfig},
};

/// The shortest `JWT_SECRET` accepted: HS256 is only as strong as its key.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// How long shutdown waits for the WebSockets to send their close frames.
const SOCKETS_DRAIN: Duration = Duration::from_secs(2);

/// Header asking to read at least this stream position.
pub const MIN_POSITION_HEADER: &str = "readstream-min-position";

#[derive(Debug, Clone, clap::Parser)]
#[command(name = "readstream-gateway", about = "The GraphQL gateway")]
pub struct Config {
    #[command(flatten)]
    pub nats: NatsConfig,
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// Address to listen on.
    #[arg(long, env = "GATEWAY_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Secret that signs the readers' tokens (HS256), at least 32 bytes. There is no default:
    /// without one the gateway refuses to start, unless `--development` is given.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// A development run: without `JWT_SECRET`, sign with a random secret made at start (tokens
    /// then end with the process).
    #[arg(long, env = "READSTREAM_DEVELOPMENT")]
    pub development: bool,
    /// How long an access token stays valid, in seconds (at most a day); a client keeps its
    /// session going with `refreshSession`.
    #[arg(long, env = "ACCESS_TOKEN_LIFETIME_SECS", default_value_t = 15 * 60)]
    pub access_token_lifetime_secs: u64,
    /// Longest wait, in milliseconds, for the read models to reach a requested position.
    #[arg(long, env = "READ_YOUR_WRITES_TIMEOUT_MS", default_value_t = 5_000)]
    pub read_your_writes_timeout_ms: u64,
    /// Longest wait, in milliseconds, for a command service's answer; past it the outcome is
    /// unknown and the client is told `DEADLINE_EXCEEDED`.
    #[arg(long, env = "COMMAND_TIMEOUT_MS", default_value_t = 5_000)]
    pub command_timeout_ms: u64,
    #[command(flatten)]
    pub limits: LimitsConfig,
    #[command(flatten)]
    pub health: HealthConfig,
    /// Print the GraphQL SDL and exit.
    #[arg(long)]
    pub print_schema: bool,
}

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
    pub live: live::Live,
}

pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    let listener = TcpListener::bind(config.addr).await?;
    serve(config, listener, shutdown).await
}

/// The secret tokens are signed with: the configured one if it is long enough, a random one
/// for a development run, otherwise none and the gateway does not start.
fn jwt_secret(config: &Config) -> Result<String, StartError> {
    match &config.jwt_secret {
        Some(secret) if secret.len() >= MIN_JWT_SECRET_BYTES => Ok(secret.clone()),
        Some(_) => Err(StartError::Config(format!("JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes"))),
        None if config.development => {
            tracing::warn!("no JWT_SECRET: signing with a random secret; tokens end when the gateway stops");
            Ok(format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple()))
        }
        None => Err(StartError::Config(format!(
            "set JWT_SECRET (at least {MIN_JWT_SECRET_BYTES} bytes; `make run` makes one in its data folder), \
             or pass --development"
        ))),
    }
}

/// Serves on a listener the caller bound (tests bind port 0).
pub async fn serve(config: Config, listener: TcpListener, shutdown: CancellationToken) -> Result<(), StartError> {
    let jwt_secret = jwt_secret(&config)?;
    let token_lifetime = Duration::from_secs(config.access_token_lifetime_secs);
    if token_lifetime > readstream_runtime::sessions::KEPT_FOR || token_lifetime.is_zero() {
        return Err(StartError::Config("ACCESS_TOKEN_LIFETIME_SECS must be 1 to 86400".into()));
    }
    let health = Health::new(true);
    health.serve(&config.health, shutdown.clone()).await?;
    metrics::gauge!(readstream_runtime::metrics::SUBSCRIPTIONS_OPEN).set(0.0);
    let database = DatabaseConfig { generic_plans: true, ..config.database.clone() };
    let pool = readstream_runtime::db::connect_and_migrate(&database, &shutdown).await?;
    health.connected_to_postgres(&pool);
    let (nats, store) = config.nats.event_store(&shutdown).await?;
    health.connected_to_nats(&nats);
    let timeout = Duration::from_millis(config.read_your_writes_timeout_ms);
    let positions = Positions::start(&nats, &config.nats.namespace, pool.clone(), timeout, shutdown.clone()).await?;
    let live = live::Live::new(nats.clone(), [readstream_contracts::social::live_feeds(&config.nats.namespace)]);
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
    };
    tokio::spawn(forget_idle_clients(app.limits.clone(), shutdown.clone()));
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
    let router = Router::new()
        .route(
            "/graphql",
            get(graphql_get)
                .post(graphql_http)
                .layer::<_, std::convert::Infallible>(axum::middleware::from_fn_with_state(
                    config.limits.max_body_bytes,
                    only_uploads_are_large,
                ))
                .layer(RequestBodyLimitLayer::new(config.limits.max_upload_bytes.max(config.limits.max_body_bytes)))
                .layer(axum::middleware::map_response(coded_payload_too_large))
                .layer(axum::middleware::from_fn_with_state(Arc::new(app.clone()), admit)),
        )
        .route("/graphql/ws", get(websocket::upgrade))
        .route("/export/goodreads.csv", get(export::goodreads_csv))
        .route("/export/events.ndjson", get(export::events_ndjson))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state((schemas, Arc::new(app.clone())));
    tracing::info!(addr = %listener.local_addr()?, "GraphQL at /graphql");
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    app.sockets.drain(SOCKETS_DRAIN).await;
    Ok(())
}

/// Keeps the rate limiters' tables as small as the set of recent clients.
async fn forget_idle_clients(limits: Arc<Limits>, shutdown: CancellationToken) {
    let mut every_minute = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every_minute.tick() => limits.forget_idle_clients(),
        }
    }
}

/// What every route is handed, cloned for each request: the `AppState` behind an `Arc`, whose
/// clone is one count where the state's own copies an `async_nats::Client` and the stream's
/// whole description (2–3% of the gateway's CPU for the peer bench's pages).
pub(crate) type Shared = (graphql::Schemas, Arc<AppState>);

/// Bodies above `MAX_BODY_BYTES` are for multipart uploads only (up to `MAX_UPLOAD_BYTES`,
/// enforced by the layer around this one): any other is refused with 413 by its length, or
/// cut off at the limit when it comes without one.
async fn only_uploads_are_large(
    State(max_body_bytes): State<usize>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if is_multipart(request.headers()) {
        return next.run(request).await;
    }
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|length| length > max_body_bytes) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let (parts, body) = request.into_parts();
    let limited = axum::body::Body::new(http_body_util::Limited::new(body, max_body_bytes));
    next.run(axum::extract::Request::from_parts(parts, limited)).await
}

/// The body limit's refusal as a GraphQL error with a code, like every other refusal.
async fn coded_payload_too_large(response: Response) -> Response {
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    let err = ApiError::invalid("body", "the request body is larger than this gateway accepts (MAX_BODY_BYTES)");
    let body = serde_json::to_value(graphql::request_error(err)).unwrap_or_default();
    (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(body)).into_response()
}

/// `GET /graphql`: subscriptions when it asks for a WebSocket (as Apollo, Hasura and
/// PostGraphile serve them), GraphiQL otherwise.
async fn graphql_get(
    state: State<Shared>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    protocol: Result<websocket::Protocol, StatusCode>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let asks_for_websocket = headers
        .get(header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"));
    if !asks_for_websocket {
        return Html(GraphiQLSource::build().endpoint("/graphql").subscription_endpoint("/graphql").finish())
            .into_response();
    }
    match (protocol, upgrade) {
        (Ok(protocol), Ok(upgrade)) => websocket::upgrade(state, peer, headers, protocol, upgrade).await,
        (_, Err(rejection)) => rejection.into_response(),
        (Err(status), _) => {
            (status, "a subscription WebSocket speaks graphql-transport-ws or graphql-ws").into_response()
        }
    }
}

/// Who a request comes from, as `admit` let it in.
#[derive(Debug, Clone, Copy)]
struct Admitted {
    client: limits::ClientAddress,
    viewer: Option<auth::Viewer>,
}

/// Lets a request in, before a byte of its body is read: within its client's and reader's
/// rates, with a valid token or none, and with one for an upload (a multipart request, which
/// is only ever a library import), so no one makes the gateway read a body it refuses.
async fn admit(
    State(app): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (client, viewer) = match caller(&app, peer, request.headers()) {
        Ok(caller) => caller,
        // A bad token is a GraphQL error like any other (200); too many requests are 429.
        Err(err) if err.code == readstream_contracts::Code::RateLimited => {
            return refusal(StatusCode::TOO_MANY_REQUESTS, err)
        }
        Err(err) => return refusal(StatusCode::OK, err),
    };
    if viewer.is_none() && is_multipart(request.headers()) {
        let err = ApiError::new(
            readstream_contracts::Code::Unauthenticated,
            "an upload needs `Authorization: Bearer <token>`",
        );
        return refusal(StatusCode::UNAUTHORIZED, err);
    }
    request.extensions_mut().insert(Admitted { client, viewer });
    next.run(request).await
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

async fn graphql_http(
    State((schemas, _)): State<Shared>,
    axum::Extension(Admitted { client, viewer }): axum::Extension<Admitted>,
    headers: HeaderMap,
    request: Result<GraphQLRequest, async_graphql_axum::rejection::GraphQLRejection>,
) -> Response {
    let mut request = match request {
        Ok(request) => request.into_inner(),
        // Not JSON, a multipart request out of the spec, a body cut off: coded, like every refusal.
        Err(rejection) => {
            let status = match rejection.0 {
                async_graphql::ParseRequestError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::BAD_REQUEST,
            };
            let err = ApiError::invalid("body", format!("the request is not a GraphQL request: {}", rejection.0));
            return refusal(status, err);
        }
    };
    if let Some(viewer) = viewer {
        request = request.data(viewer);
    }
    request = request.data(client);
    if let Some(value) = headers.get(MIN_POSITION_HEADER) {
        match value.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()) {
            Some(position) => {
                request.extensions.insert(graphql::MIN_POSITION.to_owned(), position.into());
            }
            None => {
                let err = ApiError::invalid(MIN_POSITION_HEADER, "Readstream-Min-Position must be a stream position");
                return refusal(StatusCode::OK, err);
            }
        }
    }
    let response = schemas.execute(request).instrument(request_span(&headers)).await;
    GraphQLResponse::from(response).into_response()
}

/// A GraphQL request's span, continuing the trace its `traceparent` header names, if any (an
/// invalid one is ignored: the request starts a trace of its own).
fn request_span(headers: &HeaderMap) -> tracing::Span {
    let traceparent = headers.get("traceparent").and_then(|value| value.to_str().ok()).map(|traceparent| {
        let mut carried = async_nats::HeaderMap::new();
        carried.insert("traceparent", traceparent);
        carried
    });
    readstream_eventstore::trace_context::continued(tracing::info_span!("graphql request"), traceparent.as_ref())
}

/// A refusal before the request runs, as a GraphQL response with its code; a rate limit's also
/// says `Retry-After`.
pub(crate) fn refusal(status: StatusCode, err: ApiError) -> Response {
    let retry_after = err.retry_after_secs;
    let mut response = (status, axum::Json(graphql::request_error(err))).into_response();
    if let Some(secs) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, secs.into());
    }
    response
}

/// Who asks: the client's address within its rate, and the reader its bearer token names (if
/// any) within theirs; a `RATE_LIMITED` or `UNAUTHENTICATED` refusal otherwise.
pub(crate) fn caller(
    app: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<(limits::ClientAddress, Option<auth::Viewer>), ApiError> {
    let client = app.limits.client_address(peer, headers);
    app.limits.request(client)?;
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let viewer = app.tokens.from_authorization(authorization)?;
    if let Some(viewer) = viewer {
        app.limits.reader_request(viewer.reader_id)?;
    }
    Ok((client, viewer))
}

/// Ready or not, for a load balancer: while Postgres and NATS answer and the ended sessions
/// are read (tokens are refused until they are). Why not, and the dead letters, are on the
/// health address.
async fn ready(State((_, app)): State<Shared>) -> Response {
    let postgres = graphql::operations::dead_letters_count(&app.pool).await.is_ok();
    let nats = app.nats.connection_state() == async_nats::connection::State::Connected;
    let sessions = app.tokens.ended_sessions().known().is_ok();
    if postgres && nats && sessions {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

#[cfg(test)]
mod tests {
    use readstream_runtime::{DatabaseConfig, NatsConfig};

    use super::*;

    fn config(jwt_secret: Option<&str>, development: bool) -> Config {
        Config {
            nats: NatsConfig::new("nats://127.0.0.1:1", "rs"),
            database: DatabaseConfig::new("postgres://127.0.0.1:1/unused"),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            jwt_secret: jwt_secret.map(Into::into),
            development,
            access_token_lifetime_secs: 60,
            read_your_writes_timeout_ms: 1,
            command_timeout_ms: 1,
            limits: LimitsConfig::PRODUCTION,
            health: HealthConfig::default(),
            print_schema: false,
        }
    }

    #[test]
    fn the_gateway_needs_a_secret_of_32_bytes_unless_told_it_is_a_development_run() {
        assert!(matches!(jwt_secret(&config(None, false)), Err(StartError::Config(_))));
        assert!(matches!(jwt_secret(&config(Some("readstream-development-secret"), true)), Err(StartError::Config(_))));
        let own = "k".repeat(MIN_JWT_SECRET_BYTES);
        assert_eq!(jwt_secret(&config(Some(&own), false)).ok(), Some(own));
        let (first, second) = (jwt_secret(&config(None, true)).ok(), jwt_secret(&config(None, true)).ok());
        assert!(first.as_ref().is_some_and(|s| s.len() >= MIN_JWT_SECRET_BYTES));
        assert_ne!(first, second, "a development secret is random, so no one else knows it");
    }
}
