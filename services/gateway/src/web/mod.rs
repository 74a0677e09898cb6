//! The web app: pages a reader opens in a browser, server-rendered from the same schema the API
//! serves. Each page runs its GraphQL query in-process (`Schemas::execute`, with the same shape
//! limits, timeout and codes as `POST /graphql`), so a page and the API cannot disagree, and
//! fills a template that askama checks when the gateway compiles and that escapes every value.
//!
//! - `GET /`: home, with the reader's feed (`home`).
//! - `GET /books/{id}`: the book page (`book`).
//! - `GET /readers/{handle}`: a reader's profile (`reader`); `GET /authors/{id}`: an author's
//!   page (`author`).
//! - `GET /search?q=`: search, refined as the reader types (`search`).
//! - `GET /sign-in`, `GET /sign-up`, `GET /settings`, `GET /import`: the reader's own account
//!   (`account`).
//! - `GET /assets/{name}`: the pages' CSS and scripts, embedded in the binary (`assets`).
//! - `POST /session/…`: signing in, up and out and refreshing from a browser, the refresh
//!   token kept in an HttpOnly cookie script never sees (`session`).
//!
//! Public content is in the HTML, readable without JavaScript; what is the viewer's own is left
//! to script. Every page is behind the client's request rate, like every other door, and is
//! sent with a Content-Security-Policy that allows no inline script and no framing.

mod account;
mod assets;
mod author;
mod book;
mod home;
mod reader;
mod search;
mod session;

pub use book::{BOOK_PAGE, REVIEWS_PER_PAGE};

use std::net::SocketAddr;

use askama::Template;
use axum::{
    extract::ConnectInfo,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::get,
    Router,
};
use chrono::NaiveDate;
use readstream_contracts::Code;
use serde::{de::DeserializeOwned, Deserialize};

use crate::{error::ApiError, graphql::Schemas, limits::ClientAddress, AppState, Shared};

/// The pages' policy: their own scripts, styles and images only, no inline script, never in a
/// frame; WebSockets back to the gateway (`'self'` covers `ws:` and `wss:` of the same host).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The pages and their assets; unknown addresses get the "not found" page.
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(home::page))
        .route("/books/{id}", get(book::page))
        .route("/readers/{handle}", get(reader::page))
        .route("/authors/{id}", get(author::page))
        .route("/search", get(search::page))
        .route("/sign-in", get(account::sign_in))
        .route("/sign-up", get(account::sign_up))
        .route("/settings", get(account::settings))
        .route("/import", get(account::import))
        .merge(session::routes())
        .route("/assets/{name}", get(assets::serve))
        .route("/images/{image_id}/{size}", get(crate::images::serve))
        // Browsers ask for it whatever the page links.
        .route("/favicon.ico", get(|| async { axum::response::Redirect::permanent(assets::icon()) }))
        .fallback(|| async { PageError::not_found("There is no page at this address.").into_response() })
        .layer(axum::middleware::map_response(protected))
}

/// Every page's and asset's security headers.
async fn protected(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// An uploaded picture as a page shows it (`Image.url`).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Picture {
    pub url: String,
}

/// What every page shows around its content.
pub(crate) struct Layout {
    /// The page's `<title>`, before " · readstream".
    pub title: String,
    /// The stylesheet's and the icon's addresses, with their content's hash so they can be
    /// cached for good.
    pub stylesheet: &'static str,
    pub icon: &'static str,
    /// The scripts every page loads: graphql-ws and the session.
    pub graphql_ws: &'static str,
    pub session_js: &'static str,
    /// How a page about one thing previews where its link is shared.
    pub share: Option<Share>,
}

/// A page's canonical address and its Open Graph preview.
pub(crate) struct Share {
    /// `og:type`: `book`, `profile`.
    pub kind: &'static str,
    pub title: String,
    pub url: String,
    pub description: Option<String>,
    pub image: Option<String>,
}

impl Layout {
    fn new(title: impl Into<String>) -> Self {
        Layout {
            title: title.into(),
            stylesheet: assets::stylesheet(),
            icon: assets::icon(),
            graphql_ws: assets::graphql_ws(),
            session_js: assets::module("session.js"),
            share: None,
        }
    }

    /// The layout of a page about one thing, previewed as `share` says where its link is shared.
    fn shared(title: impl Into<String>, share: Share) -> Self {
        Layout { share: Some(share), ..Layout::new(title) }
    }

    /// A page script's address, by its name.
    pub fn script(&self, name: &str) -> &'static str {
        assets::module(name)
    }
}

/// A page that could not be shown: its status, and the error's code and message as the API
/// gives them.
#[derive(Debug)]
pub(crate) struct PageError {
    status: StatusCode,
    code: Code,
    message: String,
    retry_after_secs: Option<u64>,
}

impl PageError {
    fn not_found(message: impl Into<String>) -> Self {
        PageError {
            status: StatusCode::NOT_FOUND,
            code: Code::NotFound,
            message: message.into(),
            retry_after_secs: None,
        }
    }
}

impl From<ApiError> for PageError {
    fn from(err: ApiError) -> Self {
        let status = match err.code {
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::PermissionDenied => StatusCode::FORBIDDEN,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            code if code.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        PageError { status, code: err.code, message: err.message, retry_after_secs: err.retry_after_secs }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    code: &'a str,
    message: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage { layout: Layout::new(self.title()), code: self.code.as_str(), message: &self.message };
        let mut response = (self.status, render(&page)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(header::RETRY_AFTER, secs.into());
        }
        response
    }
}

impl PageError {
    fn title(&self) -> &'static str {
        match self.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::TOO_MANY_REQUESTS => "Too many requests",
            StatusCode::SERVICE_UNAVAILABLE => "Try again shortly",
            StatusCode::BAD_REQUEST => "Bad request",
            _ => "Something went wrong",
        }
    }
}

/// A template's HTML; a template that fails to render (it cannot fail for want of a value:
/// askama checked them all) is a plain 500.
fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => {
            tracing::error!(%err, "a page did not render");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response()
        }
    }
}

/// A count as a page shows it: "2,520".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub(crate) struct Count(pub(crate) i64);

impl Count {
    /// Whether a noun after it takes its plural.
    pub(crate) fn plural(self) -> bool {
        self.0 != 1
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits = self.0.unsigned_abs().to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        if self.0 < 0 {
            f.write_str("-")?;
        }
        f.write_str(&grouped)
    }
}

/// "April 17, 2017".
pub(crate) fn long_date(date: NaiveDate) -> String {
    date.format("%B %-d, %Y").to_string()
}

/// `text` as a query parameter's value.
pub(crate) fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// A page, or why it could not be shown.
fn respond(page: Result<impl Template, PageError>) -> Response {
    match page {
        Ok(page) => render(&page),
        Err(err) => err.into_response(),
    }
}

/// Lets a page's request in within its client's rate.
pub(crate) fn admit(
    app: &AppState,
    peer: ConnectInfo<SocketAddr>,
    headers: &HeaderMap,
) -> Result<ClientAddress, PageError> {
    let client = app.limits.client_address(peer.0, headers);
    app.limits.request(client)?;
    Ok(client)
}

/// Runs `query` in-process as the client `client` (signed out: a page's HTML is the same for
/// every reader) and reads its data as `T`; the first error, coded, otherwise.
async fn query<T: DeserializeOwned>(
    schemas: &Schemas,
    client: ClientAddress,
    query: &'static str,
    variables: serde_json::Value,
) -> Result<T, PageError> {
    query_as(schemas, client, None, query, variables).await
}

/// `query`, as `viewer` when one is given.
async fn query_as<T: DeserializeOwned>(
    schemas: &Schemas,
    client: ClientAddress,
    viewer: Option<crate::auth::Viewer>,
    query: &'static str,
    variables: serde_json::Value,
) -> Result<T, PageError> {
    let mut request =
        async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(variables)).data(client);
    if let Some(viewer) = viewer {
        request = request.data(viewer);
    }
    let response = schemas.execute(request).await;
    if let Some(error) = response.errors.into_iter().next() {
        let code = error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .and_then(|code| match code {
                async_graphql::Value::String(code) => Code::from_name(code),
                _ => None,
            })
            .unwrap_or(Code::Internal);
        return Err(ApiError::new(code, error.message).into());
    }
    // Read straight from the response's values, with no JSON tree built in between.
    async_graphql::from_value(response.data).map_err(|err| {
        tracing::error!(%err, "a page's query answered in a shape the page does not read");
        ApiError::internal("the page's data did not have the expected shape").into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        let shown = [0, 7, 999, 1_000, 2_520, 141_000, 1_234_567, -4_005].map(|n| Count(n).to_string());
        assert_eq!(shown, ["0", "7", "999", "1,000", "2,520", "141,000", "1,234,567", "-4,005"]);
    }

    #[test]
    fn a_cursor_is_encoded_as_a_query_value() {
        assert_eq!(percent_encode("a+b/c=&d"), "a%2Bb%2Fc%3D%26d");
    }
}
