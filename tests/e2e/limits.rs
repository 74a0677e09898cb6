//! The gateway's limits as a client meets them: request rates per address and per reader,
//! the stricter count of sign-ins (each aliased field counted), the width of a query, how long
//! a request may run, what a WebSocket may hold, and how far a subscription's `since` replays.
//! Every address below is forwarded by the test's trusted proxy (127.0.0.1), so each test
//! counts against its own addresses.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use readstream_e2e::{Options, System};
use readstream_gateway::limits::LimitsConfig;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

use readstream_testkit::graphql::Response;

use super::{add_seed_book, GraphQl};

/// The test's trusted proxy: every test client connects from loopback.
const LOOPBACK_PROXY: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

fn rates() -> LimitsConfig {
    LimitsConfig {
        client_per_second: 1,
        client_burst: 4,
        reader_per_second: 1,
        reader_burst: 5,
        sign_in_per_minute: 3,
        trusted_proxies: vec![LOOPBACK_PROXY],
        ..LimitsConfig::PRODUCTION
    }
}

fn sockets() -> LimitsConfig {
    LimitsConfig {
        trusted_proxies: vec![LOOPBACK_PROXY],
        ws_init_timeout_ms: 500,
        ws_max_subscriptions: 2,
        ws_max_message_bytes: 16 << 10,
        ws_max_connections_per_client: 2,
        max_replay_items: 2,
        ..LimitsConfig::without_rate_limits()
    }
}

async fn start(limits: LimitsConfig) -> anyhow::Result<System> {
    System::start_with(Options { limits, ..Options::default() }).await
}

fn from(client: &GraphQl, address: &str) -> GraphQl {
    client.with_header("X-Forwarded-For", address)
}

fn codes(response: &Value) -> Vec<&str> {
    let errors = response["errors"].as_array().map(Vec::as_slice).unwrap_or_default();
    errors.iter().filter_map(|error| error["extensions"]["code"].as_str()).collect()
}

/// Sends `{ __typename }` until the gateway refuses it, and returns how many went through and the
/// refusal. At one request a second after a burst of 4, at most 4 go through, plus one for each
/// second the requests took: a slow machine lets a few more through, never an unlimited number.
async fn until_refused(
    client: &GraphQl,
) -> anyhow::Result<(u64, reqwest::StatusCode, reqwest::header::HeaderMap, Response)> {
    let started = std::time::Instant::now();
    for passed in 0..20 {
        let (status, headers, response) = client.request_http("{ __typename }", json!({})).await?;
        if status != 200 {
            let refilled = started.elapsed().as_secs();
            assert!(passed <= 4 + refilled, "{passed} went through in {refilled} s with a burst of 4");
            return Ok((passed, status, headers, response));
        }
    }
    anyhow::bail!("20 requests went through with a burst of 4")
}

#[tokio::test]
async fn an_address_past_its_burst_is_told_to_wait_and_others_are_not() -> anyhow::Result<()> {
    let system = start(rates()).await?;
    let busy = from(&system.client(), "198.51.100.1");
    let (passed, status, headers, refused) = until_refused(&busy).await?;
    assert!(passed >= 4, "refused after {passed}, within the burst");
    assert_eq!(status, 429);
    assert_eq!(refused.error_code(), Some("RATE_LIMITED"), "{:?}", refused.0);
    assert_eq!(refused.0["errors"][0]["extensions"]["retryAfter"], 1);
    assert_eq!(headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));

    from(&system.client(), "198.51.100.2").request("{ __typename }", json!({})).await?.data()?;

    // Bad tokens count too: guessing them is not a way around the limit.
    let forger = from(&system.client(), "198.51.100.3").with_token("not.a.token");
    assert_eq!(forger.request("{ __typename }", json!({})).await?.error_code(), Some("UNAUTHENTICATED"));
    let (_, status, _, refused) = until_refused(&forger).await?;
    assert_eq!((status.as_u16(), refused.error_code()), (429, Some("RATE_LIMITED")));
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    busy.request("{ __typename }", json!({})).await?.data()?;
    system.stop().await
}

/// Pictures are read from Postgres: each request for one counts against its address's rate,
/// like a page or a query.
#[tokio::test]
async fn an_address_past_its_burst_is_refused_pictures_too() -> anyhow::Result<()> {
    let system = start(rates()).await?;
    let (reader, _) = super::sign_up(&system, "pictured").await?;
    let set = "mutation($file: Upload!) { setAvatar(file: $file) { reader { avatar { url } } } }";
    let uploaded =
        from(&reader, "198.51.100.20").upload(set, json!({}), super::images::png(64, 64, 1), "me.png").await?;
    let url = uploaded.data()?["setAvatar"]["reader"]["avatar"]["url"].as_str().unwrap_or_default().to_owned();
    let http = reqwest::Client::new();
    let started = std::time::Instant::now();
    for passed in 0..20 {
        let response = http.get(&url).header("X-Forwarded-For", "198.51.100.21").send().await?;
        if response.status() != 200 {
            let refilled = started.elapsed().as_secs();
            assert!(passed <= 4 + refilled, "{passed} went through in {refilled} s with a burst of 4");
            assert_eq!(response.status(), 429);
            assert!(response.headers().contains_key("retry-after"));
            return system.stop().await;
        }
    }
    anyhow::bail!("20 pictures were served with a burst of 4")
}

#[tokio::test]
async fn a_reader_is_limited_from_whichever_address_it_asks() -> anyhow::Result<()> {
    let system = start(rates()).await?;
    let reader = system.client_as(uuid::Uuid::now_v7())?;
    // Each request from an address of its own: only the reader's limit (a burst of 5, then one
    // a second) can refuse it.
    let started = std::time::Instant::now();
    let mut addresses = (10..40).map(|i| format!("198.51.100.{i}"));
    let refused_at = loop {
        let Some(address) = addresses.next() else { anyhow::bail!("30 requests went through with a burst of 5") };
        let (status, _, response) = from(&reader, &address).request_http("{ viewer { id } }", json!({})).await?;
        if status != 200 {
            assert_eq!((status.as_u16(), response.error_code()), (429, Some("RATE_LIMITED")));
            break address;
        }
        response.data()?;
    };
    let passed = refused_at.rsplit('.').next().unwrap_or_default().parse::<u64>()? - 10;
    assert!((5..=5 + started.elapsed().as_secs()).contains(&passed), "{passed} went through");
    // The address itself is fresh: an anonymous request from it goes through.
    from(&system.client(), &refused_at).request("{ __typename }", json!({})).await?.data()?;
    system.stop().await
}

fn sign_ins(count: usize) -> String {
    let fields: String = (0..count)
        .map(|i| format!("a{i}: signIn(handle: \"nobody{i}\", password: \"not the password\") {{ token }} "))
        .collect();
    format!("mutation {{ {fields} }}")
}

#[tokio::test]
async fn each_aliased_sign_in_counts_and_a_wide_one_is_refused_before_any_runs() -> anyhow::Result<()> {
    let system = start(rates()).await?;
    let before = system.stream_messages().await?;
    let guesser = from(&system.client(), "203.0.113.1");

    let wide = guesser.request(&sign_ins(21), json!({})).await?;
    assert_eq!(codes(&wide.0), ["INVALID_ARGUMENT"], "{:?}", wide.0);
    assert!(wide.0["errors"][0]["message"].as_str().unwrap_or_default().contains("MAX_ROOT_FIELDS"));
    // Sent again, the gateway has its parse kept: it is held to the limits all the same.
    let again = guesser.request(&sign_ins(21), json!({})).await?;
    assert_eq!(codes(&again.0), ["INVALID_ARGUMENT"], "{:?}", again.0);

    let (status, headers, guesses) = guesser.request_http(&sign_ins(5), json!({})).await?;
    let mut seen = codes(&guesses.0);
    seen.sort_unstable();
    assert_eq!(seen, ["RATE_LIMITED", "RATE_LIMITED", "UNAUTHENTICATED", "UNAUTHENTICATED", "UNAUTHENTICATED"]);
    assert_eq!(status, 200, "a partial refusal is a GraphQL answer");
    assert!(headers.get("retry-after").is_some());
    let limited =
        guesses.0["errors"].as_array().into_iter().flatten().find(|e| e["extensions"]["code"] == "RATE_LIMITED");
    assert!(limited.is_some_and(|e| e["extensions"]["retryAfter"].as_u64().is_some_and(|secs| secs >= 1)));

    let aliases: String = (0..31).map(|i| format!("t{i}: __typename ")).collect();
    let aliased =
        from(&system.client(), "203.0.113.2").request(&format!("{{ viewer {{ id }} {aliases} }}"), json!({})).await?;
    assert_eq!(codes(&aliased.0).first().copied(), Some("INVALID_ARGUMENT"), "{:?}", aliased.0);
    assert_eq!(system.stream_messages().await?, before, "nothing was appended");
    system.stop().await
}

#[tokio::test]
async fn a_request_that_runs_too_long_is_cut_off_with_deadline_exceeded() -> anyhow::Result<()> {
    let limits = LimitsConfig { request_timeout_ms: 300, ..LimitsConfig::without_rate_limits() };
    let system = start(limits).await?;
    let response = system.client().request_at("{ __typename }", json!({}), 1 << 40).await?;
    assert_eq!(response.error_code(), Some("DEADLINE_EXCEEDED"), "{:?}", response.0);
    system.stop().await
}

const RATINGS_LIVE: &str = "subscription($b: ID!) { bookRatingsChanged(bookId: $b) { position } }";

#[tokio::test]
async fn a_websocket_holds_a_bounded_number_of_subscriptions_and_a_client_of_websockets() -> anyhow::Result<()> {
    let system = start(sockets()).await?;
    let (book, _) = add_seed_book(&system).await?;
    let client = from(&system.client(), "192.0.2.1");
    let mut socket = client.subscribe(RATINGS_LIVE, json!({ "b": book })).await?;
    socket.next(Duration::from_secs(10)).await?;
    socket.start("2", RATINGS_LIVE, json!({ "b": book }), json!({})).await?;
    socket.next(Duration::from_secs(10)).await?;
    socket.start("3", RATINGS_LIVE, json!({ "b": book }), json!({})).await?;
    let refused = socket.message(Duration::from_secs(10)).await?;
    assert_eq!(refused["id"], "3");
    assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED", "{refused}");

    let _second = client.subscribe(RATINGS_LIVE, json!({ "b": book })).await?;
    let third = client.subscribe(RATINGS_LIVE, json!({ "b": book })).await;
    assert!(third.is_err(), "a third WebSocket from one address is refused");
    from(&system.client(), "192.0.2.2").subscribe(RATINGS_LIVE, json!({ "b": book })).await?;
    drop(socket);
    // The place comes back once the server sees the socket close.
    let mut again = Err(anyhow::anyhow!("never tried"));
    for _ in 0..50 {
        again = client.subscribe(RATINGS_LIVE, json!({ "b": book })).await;
        if again.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    again?;
    system.stop().await
}

async fn raw_socket(
    system: &System,
) -> anyhow::Result<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>> {
    let mut request = format!("{}/graphql", system.base_url.replacen("http", "ws", 1)).into_client_request()?;
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse()?);
    request.headers_mut().insert("X-Forwarded-For", "192.0.2.50".parse()?);
    Ok(tokio_tungstenite::connect_async(request).await?.0)
}

/// Reads until the server closes the socket, and returns the close code it sent (none when
/// the connection just ended); fails if the socket is still open after `within`.
async fn closes_within(
    socket: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    within: Duration,
) -> anyhow::Result<Option<u16>> {
    tokio::time::timeout(within, async {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Close(frame) = message {
                return frame.map(|frame| u16::from(frame.code));
            }
        }
        None
    })
    .await
    .map_err(|_| anyhow::anyhow!("the WebSocket was still open after {within:?}"))
}

#[tokio::test]
async fn a_websocket_without_connection_init_or_with_an_oversized_message_is_closed() -> anyhow::Result<()> {
    let system = start(sockets()).await?;
    let mut silent = raw_socket(&system).await?;
    assert_eq!(closes_within(&mut silent, Duration::from_secs(5)).await?, Some(4408));

    let mut loud = raw_socket(&system).await?;
    loud.send(Message::text(json!({ "type": "connection_init", "payload": {} }).to_string())).await?;
    let oversized = json!({ "id": "1", "type": "subscribe", "payload": { "query": "x".repeat(32 << 10) } });
    loud.send(Message::text(oversized.to_string())).await?;
    closes_within(&mut loud, Duration::from_secs(5)).await?;
    system.stop().await
}

#[tokio::test]
async fn a_websocket_message_many_times_its_read_buffer_but_within_the_limit_is_read_whole() -> anyhow::Result<()> {
    let system = start(sockets()).await?;
    let (book, _) = add_seed_book(&system).await?;
    // 12 KiB of comment before the subscription: twelve reads of the socket's 1 KiB buffer.
    let padded = format!("# {}\n{RATINGS_LIVE}", "x".repeat(12 << 10));
    let mut socket = from(&system.client(), "192.0.2.60").subscribe(&padded, json!({ "b": book })).await?;
    let now = socket.next(Duration::from_secs(10)).await?;
    assert!(now["bookRatingsChanged"]["position"].is_u64(), "the snapshot: {now}");
    system.stop().await
}

#[tokio::test]
async fn every_websocket_is_told_the_gateway_is_going_away_when_it_stops() -> anyhow::Result<()> {
    let system = start(sockets()).await?;
    let (book, _) = add_seed_book(&system).await?;
    let reader = system.token_for(uuid::Uuid::now_v7(), Duration::from_secs(600))?;
    let mut anonymous = raw_socket(&system).await?;
    let mut signed_in = raw_socket(&system).await?;
    for (socket, payload) in
        [(&mut anonymous, json!({})), (&mut signed_in, json!({ "Authorization": format!("Bearer {reader}") }))]
    {
        socket.send(Message::text(json!({ "type": "connection_init", "payload": payload }).to_string())).await?;
        let subscribe =
            json!({ "id": "1", "type": "subscribe", "payload": { "query": RATINGS_LIVE, "variables": { "b": book } } });
        socket.send(Message::text(subscribe.to_string())).await?;
    }
    let stopping = tokio::spawn(system.stop());
    assert_eq!(closes_within(&mut anonymous, Duration::from_secs(5)).await?, Some(1001));
    assert_eq!(closes_within(&mut signed_in, Duration::from_secs(5)).await?, Some(1001));
    stopping.await?
}

#[tokio::test]
async fn a_websocket_ends_when_its_token_does() -> anyhow::Result<()> {
    let system = start(sockets()).await?;
    let reader_id = uuid::Uuid::now_v7();
    let token = system.token_for(reader_id, Duration::from_secs(2))?;
    let client = from(&system.client(), "192.0.2.60").with_token(token);
    let mut feed = client.subscribe("subscription { feed { position } }", json!({})).await?;
    let ended = tokio::time::timeout(Duration::from_secs(8), async {
        loop {
            if let Err(err) = feed.message(Duration::from_secs(60)).await {
                return err.to_string();
            }
        }
    })
    .await;
    assert!(ended.as_ref().is_ok_and(|err| err.contains("4401")), "the WebSocket outlived its token: {ended:?}");
    system.stop().await
}

#[tokio::test]
async fn a_replay_longer_than_the_bound_says_so_and_resumes_from_its_last_item() -> anyhow::Result<()> {
    let system = start(sockets()).await?;
    let (book, _) = add_seed_book(&system).await?;
    let mut last = 0;
    for _ in 0..3 {
        let reviewer = system.client_as(uuid::Uuid::now_v7())?;
        let published = reviewer
            .request(
                "mutation($b: ID!) { publishReview(bookId: $b, body: \"Vivid.\") { position } }",
                json!({ "b": book }),
            )
            .await?;
        last = published.data()?["publishReview"]["position"].as_u64().unwrap_or_default();
    }
    let replay = "subscription($b: ID!, $since: Int) { bookReviewAdded(bookId: $b, since: $since) { position } }";
    let client = from(&system.client(), "192.0.2.70");
    let mut from_start = client.subscribe_at(replay, json!({ "b": book, "since": 0 }), last).await?;
    let first = from_start.next(Duration::from_secs(10)).await?;
    let second = from_start.next(Duration::from_secs(10)).await?;
    let cut = from_start.message(Duration::from_secs(10)).await?;
    assert_eq!(cut["payload"]["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED", "{cut}");
    assert_eq!(from_start.message(Duration::from_secs(10)).await?["type"], "complete");

    let resume_at = second["bookReviewAdded"]["position"].as_u64().unwrap_or_default();
    assert!(first["bookReviewAdded"]["position"].as_u64() < Some(resume_at));
    let mut rest = client.subscribe(replay, json!({ "b": book, "since": resume_at })).await?;
    let third = rest.next(Duration::from_secs(10)).await?;
    assert_eq!(third["bookReviewAdded"]["position"].as_u64(), Some(last));
    system.stop().await
}

/// The next text message a raw socket reads, as JSON.
async fn read_json(
    socket: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
) -> anyhow::Result<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await? {
            Some(Ok(Message::Text(text))) => return Ok(serde_json::from_str(&text)?),
            Some(Ok(_)) => continue,
            other => anyhow::bail!("no message: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_shared_subscription_echoes_any_id_escaped_refuses_a_bad_book_coded_and_a_reused_id_closes(
) -> anyhow::Result<()> {
    let system = start(sockets()).await?;
    let (book, _) = add_seed_book(&system).await?;
    let mut socket = raw_socket(&system).await?;
    socket.send(Message::text(json!({ "type": "connection_init", "payload": {} }).to_string())).await?;
    assert_eq!(read_json(&mut socket).await?["type"], "connection_ack");
    let subscribe = |id: &str, book: &str| {
        let payload = json!({ "query": RATINGS_LIVE, "variables": { "b": book } });
        Message::text(json!({ "id": id, "type": "subscribe", "payload": payload }).to_string())
    };
    // Control characters, a quote and a NUL in the id come back as the client sent them.
    let odd = "a\u{0}\u{1f}\"\\</script>é";
    socket.send(subscribe(odd, &book)).await?;
    let now = read_json(&mut socket).await?;
    assert_eq!((now["type"].as_str(), now["id"].as_str()), (Some("next"), Some(odd)), "{now}");
    assert!(now["payload"]["data"]["bookRatingsChanged"]["position"].is_u64(), "{now}");
    // A book id that is no id, 10,000 characters long: a coded error, then complete.
    socket.send(subscribe("long", &"x".repeat(10_000))).await?;
    let refused = read_json(&mut socket).await?;
    assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "INVALID_ARGUMENT", "{refused}");
    assert_eq!(read_json(&mut socket).await?, json!({ "type": "complete", "id": "long" }));
    // The id in use again: the protocol's 4409, and the gateway still answers.
    socket.send(subscribe(odd, &book)).await?;
    assert_eq!(closes_within(&mut socket, Duration::from_secs(5)).await?, Some(4409));
    let answer = system.client().request("{ __typename }", json!({})).await?;
    assert_eq!(answer.data()?["__typename"], "Query");
    system.stop().await
}
