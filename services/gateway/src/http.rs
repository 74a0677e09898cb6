//! The HTTP doors of GraphQL: `POST /graphql` (queries, mutations and uploads), `GET /graphql`
//! (GraphiQL, or a subscription WebSocket when it asks for one), and the load balancer's
//! `/healthz` and `/readyz`. Every request is admitted (rate limits, token) before a byte of its
//! body is read, and every refusal is a GraphQL error with its code.

use std::{net::SocketAddr, sync::Arc};

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::{
    extract::{ws::rejection::WebSocketUpgradeRejection, ConnectInfo, State, WebSocketUpgrade},
    http::{header, HeaderMap, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::get,
    Router,
};
use tower_http::limit::RequestBodyLimitLayer;
use tracing::Instrument as _;

use crate::{auth, error::ApiError, graphql, limits, limits::LimitsConfig, websocket, AppState, Shared};

/// Header asking to read at least this stream position.
pub const MIN_POSITION_HEADER: &str = "readstream-min-position";

/// `/graphql` with its body limits and admission, `/healthz` and `/readyz`.
pub(crate) fn routes(app: &Arc<AppState>, limits: &LimitsConfig) -> Router<Shared> {
    Router::new()
        .route(
            "/graphql",
            get(graphql_get)
                .post(graphql_http)
                .layer::<_, std::convert::Infallible>(axum::middleware::from_fn_with_state(
                    limits.max_body_bytes,
                    only_uploads_are_large,
                ))
                .layer(RequestBodyLimitLayer::new(limits.max_upload_bytes.max(limits.max_body_bytes)))
                .layer(axum::middleware::map_response(coded_payload_too_large))
                .layer(axum::middleware::from_fn_with_state(app.clone(), admit)),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
}

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
