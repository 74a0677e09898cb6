//! A NATS node that dies takes the messages in its hands with it, and nothing tells their
//! senders. A command whose reply was lost so is sent again, not waited for until its timeout.

use std::{sync::Arc, time::Duration};

use readstream_contracts::{proto::commands::v1 as pb, ratings::RatingsService};
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
    let commands = bus::Commands::<RatingsService, _>::new(held).on(|held: Held, _: pb::RateBook, _| async move {
        let _ = held.received.send(()).await;
        let mut answers = held.answer.lock().await;
        if answers.try_recv().is_err() {
            let _ = answers.recv().await;
        }
        Ok(bus::rejected(readstream_contracts::Rejection::new(readstream_contracts::Code::NotFound, "answered")))
    });
    let (serving, stop) = (namespace.clone(), shutdown.clone());
    tokio::spawn(async move { commands.serve(service, &serving, stop).await });
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
    let command = pb::RateBook {
        meta: Some(pb::CommandMeta {
            command_id: uuid::Uuid::now_v7().to_string(),
            actor: uuid::Uuid::now_v7().to_string(),
            ..Default::default()
        }),
        book_id: uuid::Uuid::now_v7().to_string(),
        stars: 4,
        quarter_stars: 0,
    };
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
