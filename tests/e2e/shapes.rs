//! Hostile shapes and every door: a small document that expands past any limit (the fragment
//! bomb), fragment cycles and deep text are refused at once over HTTP and over a WebSocket,
//! while other requests go on being served; an operation sent over a WebSocket counts against
//! the same rates as one over HTTP, and a query over a WebSocket has the same time limit.

use std::time::Duration;

use readstream_e2e::{Options, System};
use readstream_gateway::limits::LimitsConfig;
use serde_json::{json, Value};

use super::sign_up;

/// F1 spreads F2 eight times, F2 spreads F3 eight times, … F16 asks for `id`: 8^15 fields once
/// expanded, in 1.6 KB of text.
fn fragment_bomb() -> String {
    let mut query = String::from("query { viewer { ...F1 } }");
    for i in 1..16 {
        query.push_str(&format!(" fragment F{i} on Reader {{ {} }}", format!("...F{} ", i + 1).repeat(8)));
    }
    query.push_str(" fragment F16 on Reader { id }");
    query
}

/// The hostile documents, each to be refused with `INVALID_ARGUMENT`.
fn hostile_documents() -> Vec<String> {
    vec![
        fragment_bomb(),
        "{ viewer { ...A } } fragment A on Reader { ...B } fragment B on Reader { ...A }".to_owned(),
        format!("{{ {}id{} }}", "viewer { ".repeat(5_000), " }".repeat(5_000)),
        format!("{{ book(id: {}\"x\"{}) {{ title }} }}", "[".repeat(10_000), "]".repeat(10_000)),
    ]
}

/// The code of a refusal over graphql-transport-ws: an `error` message's payload is the list
/// of errors, a `next` one's holds them.
fn socket_code(message: &Value) -> Option<&str> {
    let errors = if message["type"] == "error" { &message["payload"] } else { &message["payload"]["errors"] };
    errors[0]["extensions"]["code"].as_str()
}

#[tokio::test]
async fn hostile_shapes_are_refused_at_once_over_http_and_websocket_while_others_are_served() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (reader, _) = sign_up(&system, "ana").await?;
    // Two at once held the gateway's both cores before: a probe beside them must still answer.
    let bombs = futures::future::join_all(hostile_documents().into_iter().map(|query| {
        let reader = reader.clone();
        async move { (reader.request(&query, json!({})).await, query.len()) }
    }));
    let probe = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        reader.request("{ viewer { handle } }", json!({})).await
    };
    let (refused, probe) = tokio::time::timeout(Duration::from_secs(20), futures::future::join(bombs, probe))
        .await
        .map_err(|_| anyhow::anyhow!("a hostile document held the gateway for 20 s"))?;
    for (response, length) in refused {
        let response = response?;
        assert_eq!(response.error_code(), Some("INVALID_ARGUMENT"), "{length} bytes: {:?}", response.0);
    }
    assert_eq!(probe?.data()?["viewer"]["handle"], "ana");

    let mut socket = reader.subscribe("{ viewer { handle } }", json!({})).await?;
    assert_eq!(socket.next(Duration::from_secs(10)).await?["viewer"]["handle"], "ana");
    for (i, query) in hostile_documents().iter().enumerate().take(2) {
        let id = format!("hostile-{i}");
        socket.start(&id, query, json!({}), json!({})).await?;
        let mut answer = socket.message(Duration::from_secs(20)).await?;
        while answer["id"] != id.as_str() {
            answer = socket.message(Duration::from_secs(20)).await?;
        }
        assert_eq!(socket_code(&answer), Some("INVALID_ARGUMENT"), "{answer}");
    }
    system.stop().await
}

#[tokio::test]
async fn operations_over_a_websocket_count_against_the_readers_rate_as_over_http() -> anyhow::Result<()> {
    let limits = LimitsConfig { reader_per_second: 1, reader_burst: 5, ..LimitsConfig::without_rate_limits() };
    let system = System::start_with(Options { limits, ..Options::default() }).await?;
    let (reader, _) = sign_up(&system, "ana").await?;
    let started = std::time::Instant::now();
    let mut socket = reader.subscribe("{ __typename }", json!({})).await?;
    for i in 2..=40 {
        socket.start(&i.to_string(), "{ __typename }", json!({}), json!({})).await?;
    }
    let (mut served, mut limited) = (0u64, 0u64);
    while served + limited < 40 {
        let message = socket.message(Duration::from_secs(10)).await?;
        match message["type"].as_str() {
            Some("next") if message["payload"]["errors"].is_null() => served += 1,
            Some("complete") => {}
            _ => {
                assert_eq!(socket_code(&message), Some("RATE_LIMITED"), "{message}");
                limited += 1;
            }
        }
    }
    let refilled = started.elapsed().as_secs();
    assert!(served <= 5 + refilled, "{served} of 40 served in {refilled} s with a burst of 5");
    assert!(limited >= 40 - 5 - refilled, "{limited} refused");
    system.stop().await
}

#[tokio::test]
async fn a_query_over_a_websocket_is_cut_off_at_the_request_timeout() -> anyhow::Result<()> {
    let limits = LimitsConfig { request_timeout_ms: 300, ..LimitsConfig::without_rate_limits() };
    let system = System::start_with(Options { limits, ..Options::default() }).await?;
    let mut socket = system.client().subscribe("{ __typename }", json!({})).await?;
    socket.next(Duration::from_secs(10)).await?;
    // A position the read models will not reach: the wait for it outlasts the request's time.
    socket.start("late", "{ __typename }", json!({}), json!({ "minPosition": 1u64 << 40 })).await?;
    let mut answer = socket.message(Duration::from_secs(10)).await?;
    while answer["id"] != "late" {
        answer = socket.message(Duration::from_secs(10)).await?;
    }
    assert_eq!(socket_code(&answer), Some("DEADLINE_EXCEEDED"), "{answer}");
    system.stop().await
}
