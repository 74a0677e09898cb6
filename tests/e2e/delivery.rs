//! Commands that reach no service, or get no answer in time: the client learns which (nothing
//! was changed, or the outcome is unknown), and the demo loader retries only the first.

use std::{sync::Mutex, time::Duration};

use futures::StreamExt;
use readstream_e2e::{Options, System};
use readstream_testkit::demo;
use serde_json::json;
use tokio::sync::mpsc;

use super::{add_seed_book, sign_up, RATE};

/// Takes `service`'s commands in `system`'s namespace and never answers: a hung service. It
/// returns once another connection's request reaches it (a flush of its own connection was
/// seen not to be enough under load: the gateway's next command still met no responders).
async fn hung_service(system: &System, service: &str) -> anyhow::Result<async_nats::Subscriber> {
    let client = async_nats::connect(readstream_testkit::nats_url()).await?;
    let subject = readstream_contracts::command::every_command_of(&system.namespace, service);
    let mut commands = client.subscribe(subject).await?;
    client.flush().await?;
    let other = async_nats::connect(readstream_testkit::nats_url()).await?;
    let probe = format!("{}.cmd.{service}.probe", system.namespace);
    let request = || async_nats::Request::new().timeout(Some(Duration::from_millis(200)));
    for _ in 0..100 {
        match other.send_request(probe.clone(), request()).await {
            Err(err) if err.kind() == async_nats::RequestErrorKind::NoResponders => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            // Delivered and left unanswered, as a hung service does.
            _ => break,
        }
    }
    // The probes it took are not the test's commands.
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(100), commands.next()).await {}
    Ok(commands)
}

#[tokio::test]
async fn a_command_no_service_answers_is_unavailable_changes_nothing_and_goes_through_once_it_runs(
) -> anyhow::Result<()> {
    let mut system = System::start_with(Options { without: vec!["ratings"], ..Options::default() }).await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (book, _) = add_seed_book(&system).await?;
    let before = system.stream_messages().await?;

    let refused = ana.request(RATE, json!({ "book": book, "stars": 5, "key": "first" })).await?;
    assert_eq!(refused.error_code(), Some("UNAVAILABLE"), "{:?}", refused.0);
    assert_eq!(refused.0["data"], serde_json::Value::Null);
    assert_eq!(system.stream_messages().await?, before, "a refused command appended");

    system.start_service("ratings").await?;
    let accepted = ana.request(RATE, json!({ "book": book, "stars": 5, "key": "first" })).await?;
    assert_eq!(accepted.data()?["rateBook"]["bookId"], json!(book));
    assert_eq!(system.stream_messages().await?, before + 1);
    system.stop().await
}

#[tokio::test]
async fn a_command_not_answered_in_time_is_deadline_exceeded() -> anyhow::Result<()> {
    let options =
        Options { without: vec!["ratings"], command_timeout: Duration::from_millis(300), ..Options::default() };
    let system = System::start_with(options).await?;
    let ana = system.client_as(uuid::Uuid::new_v4())?;
    let mut hung = hung_service(&system, "ratings").await?;

    let book = uuid::Uuid::new_v4();
    let response = ana.request(RATE, json!({ "book": book, "stars": 5 })).await?;
    assert_eq!(response.error_code(), Some("DEADLINE_EXCEEDED"), "{:?}", response.0);
    let message = response.0["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("same idempotencyKey"), "{message}");
    // The command did reach a (hung) service: its outcome is really unknown.
    let delivered = tokio::time::timeout(Duration::from_secs(5), hung.next()).await?;
    assert!(delivered.is_some_and(|command| command.subject.ends_with(".rate_book")));
    system.stop().await
}

#[tokio::test]
async fn the_demo_loader_retries_a_command_no_service_took_until_the_service_runs() -> anyhow::Result<()> {
    let mut system = System::start_with(Options { without: vec!["reading"], ..Options::default() }).await?;
    let (retries, mut retried) = mpsc::unbounded_channel();
    let notify = move |err: &anyhow::Error, _: Duration| {
        let _ = retries.send(err.to_string());
    };
    let gateway = system.client();
    let loading = tokio::spawn(async move { demo::load(&gateway, &notify).await });

    // The first shelf step reaches no reading service: the loader says it will try again.
    let first = tokio::time::timeout(Duration::from_secs(120), retried.recv()).await?;
    let first = first.unwrap_or_default();
    assert!(first.contains("not delivered") && first.contains("no reading service is running"), "{first}");
    system.start_service("reading").await?;

    let loaded = tokio::time::timeout(Duration::from_secs(120), loading).await???;
    assert_eq!((loaded.ratings, loaded.reviews), (33, 11));
    assert_eq!((loaded.currently_reading, loaded.want_to_read), (6, 141));
    assert_eq!((loaded.author_books, loaded.author_followers), (4, 5));
    assert_eq!((loaded.reviewer_author_books, loaded.reviewer_author_followers), (3, 27));
    system.stop().await
}

#[tokio::test]
async fn the_demo_loader_stops_at_a_command_whose_outcome_is_unknown() -> anyhow::Result<()> {
    let options =
        Options { without: vec!["social"], command_timeout: Duration::from_millis(300), ..Options::default() };
    let system = System::start_with(options).await?;
    let _hung = hung_service(&system, "social").await?;
    let retried = Mutex::new(vec![]);
    let notify = |err: &anyhow::Error, _: Duration| retried.lock().map(|mut r| r.push(err.to_string())).unwrap_or(());

    let failed = demo::load(&system.client(), &notify).await;
    let err = failed.err().map(|err| err.to_string()).unwrap_or_default();
    assert!(err.contains("DEADLINE_EXCEEDED"), "the load did not stop at the unanswered signUp: {err}");
    assert_eq!(retried.lock().map(|r| r.len()).unwrap_or(usize::MAX), 0, "an unknown outcome was retried");
    system.stop().await
}
