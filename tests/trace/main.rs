//! One `rateBook` followed as one OpenTelemetry trace through every hop: the gateway's GraphQL
//! request, the command it sends, the ratings service handling it, the append, the ratings
//! projection applying the event, and the gateway pushing the new figures to a subscriber. The
//! system runs in this process (its own test binary: the tracer is process-wide), exporting over
//! OTLP/HTTP, as configured by the standard variables, to a receiver in this test.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::Duration,
};

use anyhow::Context as _;
use axum::{body::Bytes, extract::State, routing::post, Router};
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{any_value, AnyValue},
};
use prost::Message as _;
use readstream_e2e::System;
use serde_json::json;
use tokio::sync::watch;

/// One received span: its trace, its name, its attributes as text.
#[derive(Debug, Clone)]
struct Span {
    trace: String,
    name: String,
    attributes: BTreeMap<String, String>,
}

/// Every span received so far; a change wakes whoever waits for one.
type Received = Arc<watch::Sender<Vec<Span>>>;

fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|value| value.value.as_ref()) {
        Some(any_value::Value::StringValue(text)) => text.clone(),
        Some(any_value::Value::IntValue(number)) => number.to_string(),
        Some(any_value::Value::BoolValue(flag)) => flag.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

/// `POST /v1/traces`, as an OTLP/HTTP collector takes it (protobuf).
async fn receive(State(received): State<Received>, body: Bytes) -> &'static str {
    if let Ok(request) = ExportTraceServiceRequest::decode(body) {
        let spans = request.resource_spans.into_iter().flat_map(|r| r.scope_spans).flat_map(|s| s.spans);
        let spans: Vec<Span> = spans
            .map(|span| {
                let trace = span.trace_id.iter().map(|byte| format!("{byte:02x}")).collect();
                let attributes = span.attributes.iter().map(|kv| (kv.key.clone(), text(kv.value.as_ref()))).collect();
                Span { trace, name: span.name, attributes }
            })
            .collect();
        received.send_modify(|kept| kept.extend(spans));
    }
    ""
}

/// The hops of a rating, as (span name, an attribute it must have).
const HOPS: [(&str, Option<(&str, &str)>); 6] = [
    ("graphql request", None),
    ("send command", Some(("command", "rate_book"))),
    ("handle command", Some(("service", "ratings"))),
    ("append", None),
    ("project", Some(("projection", "ratings"))),
    ("live push", None),
];

#[tokio::test(flavor = "multi_thread")]
async fn a_rating_is_one_trace_from_the_gateway_through_the_projection_to_the_live_push() -> anyhow::Result<()> {
    let received: Received = Arc::new(watch::Sender::new(Vec::new()));
    let mut spans = received.subscribe();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let app = Router::new().route("/v1/traces", post(receive)).with_state(received.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    // The standard variables, as an operator sets them; read once, when tracing starts.
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint);
    std::env::set_var("OTEL_SERVICE_NAME", "readstream-trace-test");
    readstream_runtime::init_tracing();

    let system = System::start().await?;
    let librarian = system.librarian().await?;
    let author =
        librarian.request("mutation { addAuthor(input: { name: \"Ursula\" }) { authorId } }", json!({})).await?;
    let author = author.data()?["addAuthor"]["authorId"].clone();
    let book = librarian
        .request(
            "mutation($a: ID!) { addBook(input: { title: \"The Dispossessed\", pages: 387, authorIds: [$a] }) { bookId } }",
            json!({ "a": author }),
        )
        .await?;
    let book = book.data()?["addBook"]["bookId"].as_str().context("no book id")?.to_owned();
    let signed_up = system
        .client()
        .request(
            "mutation { signUp(input: { handle: \"traced_reader\", displayName: \"Traced\", password: \"a long enough password\" }) { token } }",
            json!({}),
        )
        .await?;
    let reader = system.client().with_token(signed_up.data()?["signUp"]["token"].as_str().context("no token")?);
    let mut live = reader
        .subscribe(
            "subscription($b: ID!) { bookRatingsChanged(bookId: $b) { ratings { count } } }",
            json!({ "b": book }),
        )
        .await?;
    live.next(Duration::from_secs(10)).await?;
    let rated = reader
        .request("mutation($b: ID!) { rateBook(bookId: $b, stars: 5) { position } }", json!({ "b": book }))
        .await?;
    rated.data()?;
    let pushed = live.next(Duration::from_secs(10)).await?;
    assert_eq!(pushed["bookRatingsChanged"]["ratings"]["count"], 1, "{pushed}");

    // The rating's trace, complete: waits for the spans as the collector receives them (the
    // exporter sends what it holds at the flush, and later spans in its next batch).
    readstream_runtime::traces::flush();
    let complete =
        tokio::time::timeout(Duration::from_secs(20), spans.wait_for(|spans| missing_hops(spans).is_empty()));
    if !matches!(complete.await, Ok(Ok(_))) {
        let spans = received.borrow();
        let names: BTreeSet<(String, String)> = spans.iter().map(|s| (s.trace.clone(), s.name.clone())).collect();
        anyhow::bail!("the rating's trace has no {:?}; received (trace, span): {names:?}", missing_hops(&spans));
    }
    system.stop().await
}

/// The hops the rating's trace lacks: the trace is the one of the command span that sent it.
fn missing_hops(spans: &[Span]) -> Vec<&'static str> {
    let sent = spans
        .iter()
        .find(|s| s.name == "send command" && s.attributes.get("command").is_some_and(|c| c == "rate_book"));
    match sent {
        None => vec!["send command"],
        Some(sent) => HOPS
            .iter()
            .filter(|(name, attribute)| {
                !spans.iter().any(|span| {
                    span.trace == sent.trace
                        && span.name == *name
                        && attribute.is_none_or(|(key, value)| span.attributes.get(key).is_some_and(|v| v == value))
                })
            })
            .map(|(name, _)| *name)
            .collect(),
    }
}
