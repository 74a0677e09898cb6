//! A NATS node or a command service that dies takes the messages in its hands with it, and
//! nothing tells their senders. A command lost so is sent again when the gateway's connection is
//! made again or a service says it connected, not waited for until its timeout.

use std::{sync::Arc, time::Duration};

use readstream_contracts::{
    proto::commands::v1 as pb,
    ratings::{RatingsRoutes, RatingsService},
    Code, Identified, Rejection, Sender,
};
use readstream_runtime::bus;
use readstream_testkit::own_nats::OwnCluster;
use tokio::sync::{mpsc, Mutex};
use tokio_util::sync::CancellationToken;

/// What the test's ratings service does with a command: it tells the test it has one, then
/// answers once the test says so (the first time; again at once).
#[derive(Clone)]
struct Held {
    received: mpsc::Sender<()>,
    answer: Arc<Mutex<mpsc::Receiver<()>>>,
}

impl RatingsRoutes for Held {
    async fn rate_book(&self, _: pb::RateBook, _: Sender) -> Result<Identified, Rejection> {
        let _ = self.received.send(()).await;
        let mut answers = self.answer.lock().await;
        if answers.try_recv().is_err() {
            let _ = answers.recv().await;
        }
        Err(Rejection::new(Code::NotFound, "answered"))
    }

    async fn clear_rating(&self, _: pb::ClearRating, _: Sender) -> Result<Identified, Rejection> {
        Err(Rejection::new(Code::NotFound, "not asked"))
    }

    async fn describe_book(&self, _: pb::DescribeBook, _: Sender) -> Result<Identified, Rejection> {
        Err(Rejection::new(Code::NotFound, "not asked"))
    }
}

/// A ratings service of the test's own, serving `held`'s way until `shutdown`.
fn serve_ratings(
    client: async_nats::Client,
    held: Held,
    namespace: &str,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let namespace = namespace.to_owned();
    tokio::spawn(async move {
        let _ = bus::answer_commands::<RatingsService, _>(held, client, &namespace, shutdown).await;
    })
}

/// A rating by a reader of no book: the test's service answers it as it was told.
fn rating() -> pb::RateBook {
    pb::RateBook {
        meta: Some(pb::CommandMeta {
            command_id: uuid::Uuid::now_v7().to_string(),
            actor: uuid::Uuid::now_v7().to_string(),
            ..Default::default()
        }),
        book_id: uuid::Uuid::now_v7().to_string(),
        stars: 4,
        quarter_stars: 0,
    }
}

#[tokio::test]
async fn a_command_whose_reply_died_with_a_node_is_sent_again_when_the_gateway_reconnects() -> anyhow::Result<()> {
    let cluster = OwnCluster::start()?;
    let namespace = readstream_testkit::namespace();
    let shutdown = CancellationToken::new();

    // The service's connection is to node 1; the gateway's to node 2 (node 3 if that dies),
    // coming back after 300 ms, so the reply sent meanwhile finds no gateway to go to.
    let service = async_nats::connect(cluster.url("node-1")?).await?;
    let (received, mut told) = mpsc::channel(4);
    let (answer, answers) = mpsc::channel(4);
    let held = Held { received, answer: Arc::new(Mutex::new(answers)) };
    let _service = serve_ratings(service, held, &namespace, shutdown.clone());
    let gateway = async_nats::ConnectOptions::new()
        .retain_servers_order()
        .reconnect_delay_callback(|_| Duration::from_millis(300))
        .connect(vec![cluster.url("node-2")?, cluster.url("node-3")?])
        .await?;
    anyhow::ensure!(
        gateway.server_info().server_name == "node-2",
        "the gateway is on {}",
        gateway.server_info().server_name
    );
    let reconnects = bus::Reconnects::follow(&gateway, &namespace, shutdown.clone()).await?;
    let command = rating();
    // Node 2 learns of the service's subscription over its route.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        answer.send(()).await?;
        match bus::send(&gateway, &reconnects, &namespace, &command, Duration::from_secs(5)).await {
            Ok(_) => break,
            Err(bus::BusError::NoResponders { .. }) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => anyhow::bail!("the service did not answer: {err}"),
        }
    }
    while told.try_recv().is_ok() {}

    let sent = {
        let (gateway, reconnects, namespace, command) =
            (gateway.clone(), reconnects.clone(), namespace.clone(), command.clone());
        tokio::spawn(
            async move { bus::send(&gateway, &reconnects, &namespace, &command, Duration::from_secs(5)).await },
        )
    };
    tokio::time::timeout(Duration::from_secs(5), told.recv()).await?;
    cluster.kill("node-2")?;
    let killed = tokio::time::Instant::now();
    // Answered at once, while the gateway has no connection: the reply is lost.
    answer.send(()).await?;
    // The gateway reconnects to node 3 and sends the command again; the service answers it.
    answer.send(()).await?;
    let reply = sent.await?;
    anyhow::ensure!(reply.is_ok(), "the command was not answered: {:?}", reply.err());
    anyhow::ensure!(
        killed.elapsed() < Duration::from_secs(3),
        "answered {:?} after the node died: the command waited for its timeout",
        killed.elapsed()
    );
    shutdown.cancel();
    Ok(())
}

/// A command whose service died before answering is sent again once a new one of that service
/// says it serves, rather than waited for until its timeout.
#[tokio::test]
async fn a_command_whose_service_died_is_sent_again_when_a_new_one_starts() -> anyhow::Result<()> {
    let namespace = readstream_testkit::namespace();
    let shutdown = CancellationToken::new();
    let url = readstream_testkit::nats_url();
    // The first takes the command and never answers: it is killed.
    let (received, mut told) = mpsc::channel(4);
    let (_never, answers) = mpsc::channel(1);
    let silent = Held { received, answer: Arc::new(Mutex::new(answers)) };
    let first = serve_ratings(async_nats::connect(&url).await?, silent, &namespace, CancellationToken::new());
    let gateway = async_nats::connect(&url).await?;
    let reconnects = bus::Reconnects::follow(&gateway, &namespace, shutdown.clone()).await?;
    let command = rating();
    let sent = {
        let (gateway, reconnects, namespace, command) =
            (gateway.clone(), reconnects.clone(), namespace.clone(), command.clone());
        tokio::spawn(async move {
            // Until the first service's subscription is in.
            loop {
                match bus::send(&gateway, &reconnects, &namespace, &command, Duration::from_secs(5)).await {
                    Err(bus::BusError::NoResponders { .. }) => tokio::time::sleep(Duration::from_millis(20)).await,
                    answered => return answered,
                }
            }
        })
    };
    tokio::time::timeout(Duration::from_secs(5), told.recv()).await?;
    first.abort();
    let died = tokio::time::Instant::now();

    let (received, _told) = mpsc::channel(4);
    let (answer, answers) = mpsc::channel(4);
    answer.send(()).await?;
    let second = Held { received, answer: Arc::new(Mutex::new(answers)) };
    let _second = serve_ratings(async_nats::connect(&url).await?, second, &namespace, shutdown.clone());
    let reply = sent.await?;
    anyhow::ensure!(reply.is_ok(), "the command was not answered: {:?}", reply.err());
    anyhow::ensure!(
        died.elapsed() < Duration::from_secs(3),
        "answered {:?} after its service died: the command waited for its timeout",
        died.elapsed()
    );
    shutdown.cancel();
    Ok(())
}
