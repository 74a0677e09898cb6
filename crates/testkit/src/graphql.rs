//! A small GraphQL client, as an app would use the gateway: HTTP for queries and mutations,
//! WebSocket (`graphql-transport-ws`) for subscriptions.

use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, protocol::WebSocketConfig, Message};

#[derive(Clone)]
pub struct GraphQl {
    http: reqwest::Client,
    base_url: String,
    token: Option<String>,
    websocket_path: &'static str,
    /// Sent with every request and WebSocket upgrade (as a proxy would add `X-Forwarded-For`).
    headers: Vec<(&'static str, String)>,
}

/// A whole GraphQL response: `data` and `errors`.
#[derive(Debug, Clone)]
pub struct Response(pub Value);

impl Response {
    /// The data, or an error naming the first GraphQL error.
    pub fn data(&self) -> anyhow::Result<&Value> {
        if let Some(error) = self.0["errors"].get(0) {
            bail!("GraphQL error: {error}");
        }
        Ok(&self.0["data"])
    }

    /// `extensions.code` of the first error, if any.
    pub fn error_code(&self) -> Option<&str> {
        self.0["errors"][0]["extensions"]["code"].as_str()
    }
}

impl GraphQl {
    /// `base_url` is the gateway's root, e.g. `http://127.0.0.1:8080`.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            http: reqwest::Client::new(),
            base_url: base_url.into(),
            token: None,
            websocket_path: "/graphql",
            headers: Vec::new(),
        }
    }

    /// A request with one file, as the GraphQL multipart request spec sends it (Apollo's and
    /// urql's upload links do): `variables.file` is null in `operations`, and `map` points the
    /// file part at it.
    pub async fn upload(
        &self,
        query: &str,
        mut variables: Value,
        file: Vec<u8>,
        name: &str,
    ) -> anyhow::Result<Response> {
        variables["file"] = Value::Null;
        let operations = json!({ "query": query, "variables": variables });
        let form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", json!({ "0": ["variables.file"] }).to_string())
            .part("0", reqwest::multipart::Part::bytes(file).file_name(name.to_owned()).mime_str("text/csv")?);
        let mut request = self.http.post(format!("{}/graphql", self.base_url)).multipart(form);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.context("sending an upload")?;
        Ok(Response(response.json().await.context("reading a GraphQL response")?))
    }

    /// `GET path` on the gateway (an export, say) with the client's token: the status and body.
    pub async fn download(&self, path: &str) -> anyhow::Result<(u16, String)> {
        let mut request = self.http.get(format!("{}{path}", self.base_url));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        Ok((response.status().as_u16(), response.text().await?))
    }

    /// The same client, acting as the reader the token names.
    pub fn with_token(&self, token: impl Into<String>) -> Self {
        Self { token: Some(token.into()), ..self.clone() }
    }

    /// The same client, opening subscriptions on another path (the gateway also serves them on
    /// `/graphql/ws`).
    pub fn with_websocket_path(&self, path: &'static str) -> Self {
        Self { websocket_path: path, ..self.clone() }
    }

    /// The same client, sending `name: value` with each request and WebSocket upgrade.
    pub fn with_header(&self, name: &'static str, value: impl Into<String>) -> Self {
        let mut headers = self.headers.clone();
        headers.push((name, value.into()));
        Self { headers, ..self.clone() }
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub async fn request(&self, query: &str, variables: Value) -> anyhow::Result<Response> {
        self.send(query, variables, None).await
    }

    /// A request that reads at least `position` (read-your-writes).
    pub async fn request_at(&self, query: &str, variables: Value, position: u64) -> anyhow::Result<Response> {
        self.send(query, variables, Some(position)).await
    }

    /// A request, with the HTTP status and headers of its answer.
    pub async fn request_http(
        &self,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<(reqwest::StatusCode, reqwest::header::HeaderMap, Response)> {
        let response = self.post(query, variables, None).send().await.context("sending a GraphQL request")?;
        let (status, headers) = (response.status(), response.headers().clone());
        Ok((status, headers, Response(response.json().await.context("reading a GraphQL response")?)))
    }

    async fn send(&self, query: &str, variables: Value, position: Option<u64>) -> anyhow::Result<Response> {
        let response = self.post(query, variables, position).send().await.context("sending a GraphQL request")?;
        Ok(Response(response.json().await.context("reading a GraphQL response")?))
    }

    fn post(&self, query: &str, variables: Value, position: Option<u64>) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.base_url))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(position) = position {
            request = request.header("Readstream-Min-Position", position.to_string());
        }
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        request
    }

    /// Starts a subscription over WebSocket (`graphql-transport-ws`), with this client's token.
    pub async fn subscribe(&self, query: &str, variables: Value) -> anyhow::Result<Subscription> {
        self.open(Protocol::TransportWs, query, variables, json!({})).await
    }

    /// A subscription that starts once the read models include `position`.
    pub async fn subscribe_at(&self, query: &str, variables: Value, position: u64) -> anyhow::Result<Subscription> {
        self.open(Protocol::TransportWs, query, variables, json!({ "minPosition": position })).await
    }

    /// A subscription over the legacy `graphql-ws` protocol (subscriptions-transport-ws).
    pub async fn subscribe_legacy(&self, query: &str, variables: Value) -> anyhow::Result<Subscription> {
        self.open(Protocol::LegacyWs, query, variables, json!({})).await
    }

    async fn open(
        &self,
        protocol: Protocol,
        query: &str,
        variables: Value,
        extensions: Value,
    ) -> anyhow::Result<Subscription> {
        let ws_url = format!("{}{}", self.base_url.replacen("http", "ws", 1), self.websocket_path);
        let mut request = ws_url.into_client_request()?;
        request.headers_mut().insert("Sec-WebSocket-Protocol", protocol.name().parse()?);
        for (name, value) in &self.headers {
            request.headers_mut().insert(*name, value.parse()?);
        }
        // tungstenite zero-fills its whole read buffer before each read: its default 128 KiB
        // made a client holding thousands of sockets spend its CPU clearing memory.
        let config = WebSocketConfig::default().read_buffer_size(4 << 10);
        let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), false)
            .await
            .context("opening the WebSocket")?;
        let payload = match &self.token {
            Some(token) => json!({ "Authorization": format!("Bearer {token}") }),
            None => json!({}),
        };
        socket.send(Message::text(json!({ "type": "connection_init", "payload": payload }).to_string())).await?;
        let mut subscription = Subscription { socket, protocol };
        let ack = subscription.message(Duration::from_secs(10)).await?;
        if ack["type"] != "connection_ack" {
            bail!("the gateway refused the connection: {ack}");
        }
        subscription.start("1", query, variables, extensions).await?;
        Ok(subscription)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    TransportWs,
    LegacyWs,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::TransportWs => "graphql-transport-ws",
            Protocol::LegacyWs => "graphql-ws",
        }
    }
}

pub struct Subscription {
    socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    protocol: Protocol,
}

impl Subscription {
    /// Starts another subscription on the same WebSocket, under `id`.
    pub async fn start(&mut self, id: &str, query: &str, variables: Value, extensions: Value) -> anyhow::Result<()> {
        let start = match self.protocol {
            Protocol::TransportWs => "subscribe",
            Protocol::LegacyWs => "start",
        };
        let subscribe = json!({
            "id": id,
            "type": start,
            "payload": { "query": query, "variables": variables, "extensions": extensions },
        });
        self.socket.send(Message::text(subscribe.to_string())).await?;
        Ok(())
    }

    /// The next protocol message as sent (`next`, `error`, `complete`, …), waiting at most
    /// `timeout`; an error once the WebSocket closes.
    pub async fn message(&mut self, timeout: Duration) -> anyhow::Result<Value> {
        loop {
            let message = tokio::time::timeout(timeout, self.socket.next())
                .await
                .map_err(|_| anyhow!("no WebSocket message within {timeout:?}"))?
                .ok_or_else(|| anyhow!("the WebSocket closed"))??;
            match message {
                Message::Text(text) => {
                    let value: Value = serde_json::from_str(&text)?;
                    match value["type"].as_str() {
                        Some("ping") => {
                            let pong = json!({ "type": "pong" }).to_string();
                            self.socket.send(Message::text(pong)).await?;
                        }
                        // The legacy protocol's keep-alive.
                        Some("ka") => {}
                        _ => return Ok(value),
                    }
                }
                Message::Close(frame) => bail!("the WebSocket closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The next item's `data`, waiting at most `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> anyhow::Result<Value> {
        let message = self.message(timeout).await?;
        let item = match self.protocol {
            Protocol::TransportWs => "next",
            Protocol::LegacyWs => "data",
        };
        match message["type"].as_str() {
            Some(kind) if kind == item && message["payload"]["errors"].is_null() => {
                Ok(message["payload"]["data"].clone())
            }
            _ => bail!("the subscription failed: {message}"),
        }
    }
}
