//! Subscriptions over WebSocket (`graphql-transport-ws`, or the legacy `graphql-ws`), within
//! the client's limits: each socket is counted against its client's request rate and places,
//! may run `WS_MAX_SUBSCRIPTIONS` subscriptions and receive messages up to
//! `WS_MAX_MESSAGE_BYTES`, and is closed with a code when it sends no `connection_init` within
//! `WS_INIT_TIMEOUT_MS` (4408) or when the token it was opened with expires or its session
//! ends (4401). When the gateway shuts down, every socket is closed with 1001 (going away), so
//! a client reconnects at once (to another gateway) rather than after a dead connection's
//! timeout.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use async_graphql::http::{ClientMessage, WebSocketProtocols, WsMessage, ALL_WEBSOCKET_PROTOCOLS};
use axum::{
    extract::{
        ws::{CloseFrame, Message, WebSocket},
        ConnectInfo, FromRequestParts, State, WebSocketUpgrade,
    },
    http::{header, request::Parts, HeaderMap, StatusCode},
    response::Response,
    routing::get,
    Router,
};
use futures::{channel::mpsc, future::BoxFuture, stream::BoxStream, FutureExt as _, SinkExt, StreamExt};
use tokio::sync::oneshot;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    auth::{Tokens, Viewer},
    http::refusal,
    shared_pushes::{Command, Frame, Session, SocketPushes},
    subscriptions, Shared,
};

/// `/graphql/ws`, the older path of subscriptions (`GET /graphql` serves them too).
pub(crate) fn routes() -> Router<Shared> {
    Router::new().route("/graphql/ws", get(upgrade))
}

/// What a WebSocket reads at most at once.
const WS_READ_BUFFER_BYTES: usize = 512;

/// The open WebSockets: axum's graceful shutdown lets go of a connection once it is upgraded,
/// so the gateway closes these itself.
#[derive(Clone)]
pub struct OpenSockets {
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl OpenSockets {
    /// Sockets that close with 1001 once `shutdown` is cancelled.
    pub fn new(shutdown: CancellationToken) -> Self {
        Self { shutdown, tracker: TaskTracker::new() }
    }

    /// Waits, at most `within`, for every socket to have sent its close frame.
    pub async fn drain(&self, within: Duration) {
        self.tracker.close();
        if tokio::time::timeout(within, self.tracker.wait()).await.is_err() {
            tracing::warn!(open = self.tracker.len(), "WebSockets still open at shutdown; dropping them");
        }
    }
}

/// The subscription protocol a WebSocket asks for (`Sec-WebSocket-Protocol`): 400 when it
/// names neither.
#[derive(Debug, Clone, Copy)]
pub struct Protocol(WebSocketProtocols);

impl<S: Send + Sync> FromRequestParts<S> for Protocol {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, StatusCode> {
        parts
            .headers
            .get(header::SEC_WEBSOCKET_PROTOCOL)
            .and_then(|value| value.to_str().ok())
            .and_then(|asked| asked.split(',').find_map(|protocol| protocol.trim().parse().ok()))
            .map(Self)
            .ok_or(StatusCode::BAD_REQUEST)
    }
}

/// Upgrades to a subscription WebSocket, or refuses with 429 when the client is over its rate
/// or holds as many sockets as it may.
pub(crate) async fn upgrade(
    State((schemas, app)): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    protocol: Protocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let client = app.limits.client_address(peer, &headers);
    if let Err(err) = app.limits.request(client) {
        return refusal(StatusCode::TOO_MANY_REQUESTS, err);
    }
    let place = match app.limits.open_websocket(client) {
        Ok(place) => place,
        Err(err) => return refusal(StatusCode::TOO_MANY_REQUESTS, err),
    };
    let config = &app.limits.config;
    let init_timeout = Duration::from_millis(config.ws_init_timeout_ms);
    let subscriptions = subscriptions::Places::new(config.ws_max_subscriptions);
    let in_flight = subscriptions::InFlight::new(config.ws_max_in_flight);
    let (signed_in, viewer) = oneshot::channel::<Option<Viewer>>();
    // What the socket holds for as long as it is open, rather than the whole `AppState`.
    let (tokens, signing_in) = (app.tokens.clone(), app.tokens.clone());
    let (open, going_away) = (app.sockets.tracker.token(), app.sockets.shutdown.clone());
    upgrade
        // tungstenite zero-fills its whole read buffer before each read: at its default of
        // 128 KiB that made every idle socket hold 128 KiB. Client messages are small; a larger
        // one grows the buffer for as long as it is read.
        .read_buffer_size(WS_READ_BUFFER_BYTES)
        .max_message_size(config.ws_max_message_bytes)
        .max_frame_size(config.ws_max_message_bytes)
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| async move {
            let (_place, _open) = (place, open);
            let (socket_sink, socket_stream) = socket.split();
            // The socket's session once its `connection_init` is accepted, and where its reader
            // hands the subscriptions every subscriber shares (`shared_pushes`).
            let session = Arc::new(std::sync::OnceLock::new());
            let (commands, shared_commands) = mpsc::unbounded();
            let pushes = SocketPushes::new(schemas.clone(), protocol.0, session.clone(), shared_commands);
            // What the client sends, to the protocol; a read error ends the connection. A
            // subscribe of a shared subscription goes to `pushes` instead, once the session is
            // open; a stop goes to both (only the one running it answers).
            let reading = (schemas.clone(), session.clone());
            let incoming = socket_stream
                .take_while(|message| std::future::ready(message.is_ok()))
                .filter_map(|message| {
                    std::future::ready(match message {
                        Ok(message @ (Message::Text(_) | Message::Binary(_))) => Some(message.into_data()),
                        _ => None,
                    })
                })
                .filter_map(move |data| {
                    let (schemas, session) = &reading;
                    std::future::ready(match ClientMessage::from_bytes(data) {
                        Ok(ClientMessage::Start { id, payload }) => {
                            let signed_in = session.get().map(|session| session.viewer.is_some());
                            match signed_in.and_then(|signed_in| schemas.sharing(&payload, signed_in)) {
                                Some(catch_up) => {
                                    let request = Box::new(payload);
                                    let _ = commands.unbounded_send(Command::Subscribe { id, request, catch_up });
                                    None
                                }
                                None => Some(Ok(ClientMessage::Start { id, payload })),
                            }
                        }
                        Ok(ClientMessage::Stop { id }) => {
                            let _ = commands.unbounded_send(Command::Stop { id: id.clone() });
                            Some(Ok(ClientMessage::Stop { id }))
                        }
                        message => Some(message),
                    })
                });
            // The protocol's answers are written to the socket by the task that reads it, as
            // they come: a push to 15,000 sockets is 15,000 of these, and a channel to a
            // writer in between cost each one more hand-over.
            let answers = async_graphql::http::WebSocket::from_message_stream(schemas, incoming, protocol.0)
                .on_connection_init(move |payload| async move {
                    let mut data = async_graphql::Data::default();
                    let authorization = ["Authorization", "authorization"]
                        .iter()
                        .find_map(|key| payload.get(key).and_then(|v| v.as_str()));
                    let viewer = signing_in.from_authorization(authorization).map_err(async_graphql::Error::from)?;
                    if let Some(viewer) = viewer {
                        data.insert(viewer);
                    }
                    data.insert(client);
                    data.insert(subscriptions.clone());
                    data.insert(in_flight.clone());
                    let _ = session.set(Session { viewer, client, places: subscriptions, in_flight });
                    let _ = signed_in.send(viewer);
                    Ok(data)
                })
                .map(|answer| match answer {
                    WsMessage::Text(text) => Message::Text(text.into()),
                    WsMessage::Close(code, reason) => Message::Close(Some(CloseFrame { code, reason: reason.into() })),
                });
            let pushes = pushes.map(|frame| match frame {
                Frame::Text(text) => Message::Text(text.into()),
                Frame::Close(code, reason) => Message::Close(Some(CloseFrame { code, reason: reason.into() })),
            });
            let closing = async move {
                tokio::select! {
                    frame = must_close(init_timeout, viewer, tokens) => frame,
                    () = going_away.cancelled() => {
                        CloseFrame { code: 1001, reason: "the server is going away; connect again".into() }
                    }
                }
            };
            // Boxed: an `async fn` keeps each argument it is passed in its own future as well
            // as where its body moves it, so these would take room twice in every socket's task.
            write(socket_sink, answers.boxed(), pushes.boxed(), closing.boxed()).await;
        })
}

/// Sends the protocol's answers and the shared subscriptions' pushes until the answers end (or
/// either closes the socket), or until `closing` says why the socket must close: then the
/// client gets that close frame and the connection is dropped.
async fn write(
    mut socket: futures::stream::SplitSink<WebSocket, Message>,
    mut answers: BoxStream<'static, Message>,
    mut pushes: BoxStream<'static, Message>,
    mut closing: BoxFuture<'static, CloseFrame>,
) {
    loop {
        tokio::select! {
            answer = answers.next() => match answer {
                Some(answer) => {
                    if socket.send(answer).await.is_err() {
                        return;
                    }
                }
                None => return,
            },
            Some(push) = pushes.next() => {
                let closes = matches!(push, Message::Close(_));
                if socket.send(push).await.is_err() || closes {
                    return;
                }
            },
            frame = &mut closing => {
                tracing::debug!(code = frame.code, reason = %frame.reason, "closing a WebSocket");
                let _ = socket.send(Message::Close(Some(frame))).await;
                return;
            }
        }
    }
}

/// Resolves when a WebSocket must close: no `connection_init` within `init_timeout`, or the
/// token it was opened with expired or its session ended. Pending for good on an anonymous
/// connection.
async fn must_close(
    init_timeout: Duration,
    viewer: oneshot::Receiver<Option<Viewer>>,
    tokens: Arc<Tokens>,
) -> CloseFrame {
    let viewer = match tokio::time::timeout(init_timeout, viewer).await {
        Err(_) => return CloseFrame { code: 4408, reason: "Connection initialisation timeout".into() },
        Ok(Ok(Some(viewer))) => viewer,
        // Anonymous, or refused at `connection_init` (the protocol closes that one itself).
        Ok(Ok(None) | Err(_)) => return std::future::pending().await,
    };
    let left = viewer.expires_at.saturating_sub(jsonwebtoken::get_current_timestamp());
    tokio::select! {
        () = tokio::time::sleep(Duration::from_secs(left)) => {
            CloseFrame { code: 4401, reason: "Unauthorized: the token expired; connect again with a new one".into() }
        }
        () = tokens.ended_sessions().ended(viewer.session_id) => {
            CloseFrame { code: 4401, reason: "Unauthorized: the session ended; sign in again".into() }
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, Request};

    use super::*;

    async fn protocol(header: Option<&[u8]>) -> Result<Protocol, StatusCode> {
        let mut request = Request::builder().uri("/graphql/ws");
        if let Some(value) = header {
            request = request.header(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_bytes(value).expect("a header"));
        }
        let (mut parts, ()) = request.body(()).expect("a request").into_parts();
        Protocol::from_request_parts(&mut parts, &()).await
    }

    #[tokio::test]
    async fn a_websocket_names_a_protocol_it_speaks_or_is_refused_with_400() {
        assert!(protocol(Some(b"graphql-ws")).await.is_ok());
        assert!(protocol(Some(b"chat, graphql-transport-ws")).await.is_ok());
        for refused in [None, Some(&b""[..]), Some(b"chat"), Some(b"graphql-ws\xff"), Some(&[b'x'; 4096][..])] {
            assert_eq!(protocol(refused).await.err(), Some(StatusCode::BAD_REQUEST), "{refused:?}");
        }
    }
}
