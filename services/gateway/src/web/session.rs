//! A browser's session, without handing the refresh token to script: the refresh token lives in
//! an HttpOnly, SameSite=Strict cookie scoped to `/session` (Secure when `SECURE_COOKIES` is set,
//! `PUBLIC_URL` is `https://`, or a trusted proxy says the request came over HTTPS); the access
//! token is answered in the body, for the page's script to keep in memory and send as a bearer
//! token like any client.
//!
//! - `POST /session/sign-up` `{handle, displayName, password}` and `POST /session/sign-in`
//!   `{handle, password}`: a session, as `signUp` and `signIn` open it.
//! - `POST /session/refresh`: the next access token for the cookie's refresh token (each is
//!   good once: the page's script refreshes one tab at a time, under a Web Lock); 204 without
//!   a cookie (not signed in), 401 with one refused (and the cookie cleared).
//! - `POST /session/sign-out`: ends the session of the bearer token sent and clears the cookie;
//!   a cookie alone authorises nothing but its own refresh.
//!
//! Each is a GraphQL mutation run in-process, behind the same rates (sign-ins counted as
//! sign-ins). Bodies are JSON (`Content-Type: application/json`, which a cross-site form cannot
//! send), at most 16 KiB; every refusal is `{"error": {"code", "message"}}` with its status.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{rejection::JsonRejection, ConnectInfo, DefaultBodyLimit, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use chrono::{DateTime, Utc};
use readstream_contracts::Code;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{query_as, PageError};
use crate::{error::ApiError, AppState, Shared};

/// The cookie holding a browser's refresh token, sent only to `/session`.
const REFRESH_COOKIE: &str = "readstream_refresh";
/// The cookie holding the device token a sign-in answered, so wrong passwords sent for the
/// same handle from elsewhere never delay this browser's sign-ins.
const DEVICE_COOKIE: &str = "readstream_device";
const COOKIE_PATH: &str = "/session";
/// How long the device cookie is kept.
const DEVICE_COOKIE_SECS: i64 = 400 * 24 * 3600;
/// The largest body a session door reads.
const MAX_BODY_BYTES: usize = 16 * 1024;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/session/sign-up", post(sign_up))
        .route("/session/sign-in", post(sign_in))
        .route("/session/refresh", post(refresh))
        .route("/session/sign-out", post(sign_out))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// What each door asks of the session it opens.
macro_rules! session_fields {
    () => {
        "token tokenExpiresAt refreshToken refreshTokenExpiresAt deviceToken readerId reader { handle displayName url }"
    };
}

const SIGN_UP: &str = concat!(
    "mutation($handle: String!, $name: String!, $password: String!) {
        session: signUp(input: { handle: $handle, displayName: $name, password: $password }) { ",
    session_fields!(),
    " } }"
);
const SIGN_IN: &str = concat!(
    "mutation($handle: String!, $password: String!, $device: String) {
        session: signIn(handle: $handle, password: $password, device: $device) { ",
    session_fields!(),
    " } }"
);
const REFRESH: &str = concat!(
    "mutation($refresh: String!) { session: refreshSession(refreshToken: $refresh) { ",
    session_fields!(),
    " } }"
);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignUpForm {
    handle: String,
    display_name: String,
    password: String,
}

#[derive(Deserialize)]
struct SignInForm {
    handle: String,
    password: String,
}

/// A session as the GraphQL mutations answer it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Opened {
    token: String,
    token_expires_at: DateTime<Utc>,
    refresh_token: String,
    refresh_token_expires_at: DateTime<Utc>,
    device_token: Option<String>,
    reader_id: String,
    reader: Option<Signed>,
}

#[derive(Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct Signed {
    handle: String,
    display_name: String,
    url: String,
}

/// What the page's script is given: everything but the refresh and device tokens.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Session {
    token: String,
    token_expires_at: DateTime<Utc>,
    reader_id: String,
    reader: Option<Signed>,
}

/// A session door's refusal, as JSON.
struct Refused(PageError);

impl From<PageError> for Refused {
    fn from(err: PageError) -> Self {
        Refused(err)
    }
}

impl From<ApiError> for Refused {
    fn from(err: ApiError) -> Self {
        Refused(err.into())
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.0.code.as_str(), "message": self.0.message } });
        let mut response = (self.0.status, Json(body)).into_response();
        if let Some(secs) = self.0.retry_after_secs {
            response.headers_mut().insert(header::RETRY_AFTER, secs.into());
        }
        response
    }
}

/// The request's body as `T`, refused with a code when it is not JSON of that shape.
fn form<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, Refused> {
    body.map(|Json(form)| form).map_err(|rejection| {
        let status = rejection.status();
        let mut err =
            PageError::from(ApiError::invalid("body", format!("the body is not this door's JSON: {rejection}")));
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            err.status = status;
        }
        Refused(err)
    })
}

async fn sign_up(
    State((schemas, app)): State<Shared>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<SignUpForm>, JsonRejection>,
) -> Response {
    let open = async {
        let form = form(body)?;
        let client = super::admit(&app, peer, &headers)?;
        let variables = json!({ "handle": form.handle, "name": form.display_name, "password": form.password });
        opened(&schemas, client, SIGN_UP, variables).await
    };
    session_response(&app, peer, &headers, open.await)
}

async fn sign_in(
    State((schemas, app)): State<Shared>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<SignInForm>, JsonRejection>,
) -> Response {
    let open = async {
        let form = form(body)?;
        let client = super::admit(&app, peer, &headers)?;
        let device = cookie(&headers, DEVICE_COOKIE);
        let variables = json!({ "handle": form.handle, "password": form.password, "device": device });
        opened(&schemas, client, SIGN_IN, variables).await
    };
    session_response(&app, peer, &headers, open.await)
}

async fn refresh(
    State((schemas, app)): State<Shared>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Response {
    let open = async {
        form(body)?;
        let client = super::admit(&app, peer, &headers)?;
        match cookie(&headers, REFRESH_COOKIE) {
            Some(refresh_token) => {
                opened(&schemas, client, REFRESH, json!({ "refresh": refresh_token })).await.map(Some)
            }
            None => Ok(None),
        }
    };
    match open.await {
        Ok(Some(opened)) => session_response(&app, peer, &headers, Ok(opened)),
        // No cookie: a reader who is not signed in, which is no error.
        Ok(None) => (StatusCode::NO_CONTENT, [(header::CACHE_CONTROL, "no-store")]).into_response(),
        // A refresh token refused (spent, ended, expired) is forgotten.
        Err(refused) if refused.0.code == Code::Unauthenticated => {
            let mut response = refused.into_response();
            let secure = secure(&app, peer, &headers);
            response.headers_mut().append(header::SET_COOKIE, set_cookie(REFRESH_COOKIE, "", 0, secure));
            response
        }
        Err(refused) => refused.into_response(),
    }
}

async fn sign_out(
    State((schemas, app)): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Response {
    let end = async {
        form(body)?;
        let (client, viewer) = crate::http::caller(&app, peer, &headers)?;
        let viewer = viewer.ok_or_else(ApiError::unauthenticated)?;
        let _: serde_json::Value =
            query_as(&schemas, client, Some(viewer), "mutation { signOut { sessionIds } }", json!({})).await?;
        Ok::<_, Refused>(())
    };
    let mut response = match end.await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(refused) => refused.into_response(),
    };
    let secure = secure(&app, ConnectInfo(peer), &headers);
    response.headers_mut().append(header::SET_COOKIE, set_cookie(REFRESH_COOKIE, "", 0, secure));
    response
}

/// Runs a mutation that opens a session, named `session` in its answer.
async fn opened(
    schemas: &crate::graphql::Schemas,
    client: crate::limits::ClientAddress,
    mutation: &'static str,
    variables: serde_json::Value,
) -> Result<Opened, Refused> {
    #[derive(Deserialize)]
    struct Data {
        session: Opened,
    }
    let data: Data = query_as(schemas, client, None, mutation, variables).await?;
    Ok(data.session)
}

/// The session for the script, and its refresh (and device) token in cookies; or the refusal.
fn session_response(
    app: &Arc<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: &HeaderMap,
    opened: Result<Opened, Refused>,
) -> Response {
    let opened = match opened {
        Ok(opened) => opened,
        Err(refused) => return refused.into_response(),
    };
    let secure = secure(app, peer, headers);
    let lifetime = (opened.refresh_token_expires_at - Utc::now()).num_seconds().max(0);
    let session = Session {
        token: opened.token,
        token_expires_at: opened.token_expires_at,
        reader_id: opened.reader_id,
        reader: opened.reader,
    };
    let mut response = (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], Json(session)).into_response();
    let cookies = response.headers_mut();
    cookies.append(header::SET_COOKIE, set_cookie(REFRESH_COOKIE, &opened.refresh_token, lifetime, secure));
    if let Some(device) = opened.device_token.filter(|device| cookie_safe(device)) {
        cookies.append(header::SET_COOKIE, set_cookie(DEVICE_COOKIE, &device, DEVICE_COOKIE_SECS, secure));
    }
    response
}

/// Whether cookies must be Secure: configured so, a public `https://` address, or a trusted
/// proxy saying the request came over HTTPS.
fn secure(app: &AppState, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: &HeaderMap) -> bool {
    app.secure_cookies
        || app.public_url.starts_with("https://")
        || (app.limits.is_trusted_proxy(peer.ip())
            && headers
                .get("x-forwarded-proto")
                .and_then(|proto| proto.to_str().ok())
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https")))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, sent only to `/session`; `max_age` 0
/// clears it.
fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!("{name}={value}; Path={COOKIE_PATH}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The value of cookie `name`, if it is sent and is a token (URL-safe base64).
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, value)| *key == name && !value.is_empty() && cookie_safe(value))
        .map(|(_, value)| value.to_owned())
}

fn cookie_safe(token: &str) -> bool {
    token.len() <= 512 && token.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}
