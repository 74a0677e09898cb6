//! `make bench`: what fsyncing every write costs at ingest. The same commands (a first rating
//! each: load the aggregate, decide, append with its expected position, as a command service
//! does; 64 in flight) and the same raw JetStream async publishes, against a NATS that syncs
//! every write before it acknowledges it (`sync_interval: always`, what `make run` runs) and one
//! with the server's default (a sync every 2 minutes).
//!
//! Usage: readstream-ingest-bench [--commands N] [--publishes M]
//! Needs NATS_URL (fsync always) and NATS_URL_DEFAULT_SYNC (the default).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use futures::{stream::FuturesUnordered, StreamExt, TryStreamExt};
use readstream_contracts::{ratings, Event, Metadata, RatingsEvent, Stars};
use readstream_eventstore::{EventStore, StreamSettings};
use uuid::Uuid;

/// Commands sent at once, as many gateway requests would.
const IN_FLIGHT: usize = 64;

/// Raw publishes awaiting their acknowledgement at once (the client allows 5,000).
const PUBLISH_WINDOW: usize = 1_000;

fn arg(name: &str, default: usize) -> anyhow::Result<usize> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => args.get(i + 1).context("missing value")?.parse().context(name.to_owned()),
        None => Ok(default),
    }
}

/// Rating commands per second, each on an aggregate of its own.
async fn commands_per_second(nats_url: &str, commands: usize) -> anyhow::Result<f64> {
    let client = async_nats::connect(nats_url).await?;
    let store = EventStore::connect(client, &readstream_testkit::namespace(), StreamSettings::default()).await?;
    let book_id = Uuid::now_v7();
    let started = Instant::now();
    futures::stream::iter(0..commands)
        .map(|_| {
            let store = store.clone();
            async move {
                let reader_id = Uuid::now_v7();
                let command_id = Uuid::now_v7();
                let meta = Metadata {
                    occurred_at: Utc::now(),
                    actor: Some(reader_id),
                    command_id,
                    correlation_id: command_id,
                    import_job: None,
                };
                let stars = Stars::whole(4).context("4 stars")?;
                let event = Event::Ratings(RatingsEvent::BookRated { reader_id, book_id, stars, previous_stars: None });
                let outcome =
                    store.execute(&ratings::rating(reader_id, book_id), meta, |_| Ok(vec![event.clone()])).await?;
                outcome.map_err(|rejection| anyhow::anyhow!("refused: {}", rejection.message))?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<()>()
        .await?;
    Ok(commands as f64 / started.elapsed().as_secs_f64())
}

/// Raw JetStream async publishes per second (200-byte messages, acknowledgements awaited).
async fn publishes_per_second(nats_url: &str, publishes: usize) -> anyhow::Result<f64> {
    let mut jetstream = async_nats::jetstream::new(async_nats::connect(nats_url).await?);
    // With a sync per write, a full window of acknowledgements takes longer than the default 5 s.
    jetstream.set_timeout(Duration::from_secs(60));
    let name = format!("BENCH_{}", Uuid::now_v7().simple());
    let subject = format!("bench.{name}");
    jetstream
        .create_stream(async_nats::jetstream::stream::Config {
            name: name.clone(),
            subjects: vec![subject.clone()],
            ..Default::default()
        })
        .await?;
    let payload = bytes::Bytes::from(vec![b'x'; 200]);
    let started = Instant::now();
    let mut acks = FuturesUnordered::new();
    for _ in 0..publishes {
        acks.push(std::future::IntoFuture::into_future(jetstream.publish(subject.clone(), payload.clone()).await?));
        while acks.len() >= PUBLISH_WINDOW {
            acks.next().await.context("an ack")??;
        }
    }
    while let Some(ack) = acks.next().await {
        ack?;
    }
    let rate = publishes as f64 / started.elapsed().as_secs_f64();
    jetstream.delete_stream(&name).await?;
    Ok(rate)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (commands, publishes) = (arg("--commands", 20_000)?, arg("--publishes", 200_000)?);
    let always = std::env::var("NATS_URL").context("NATS_URL: a NATS with sync_interval: always")?;
    let default = std::env::var("NATS_URL_DEFAULT_SYNC").context("NATS_URL_DEFAULT_SYNC: a NATS as it comes")?;
    println!("{commands} rating commands ({IN_FLIGHT} in flight) and {publishes} raw async publishes per setting");
    println!("{:<34} {:>12} {:>16}", "NATS sync", "commands/s", "publishes/s");
    let mut rows = Vec::new();
    for (label, url) in [("always (make run)", &always), ("every 2 minutes (the default)", &default)] {
        let row = (commands_per_second(url, commands).await?, publishes_per_second(url, publishes).await?);
        println!("{label:<34} {:>12.0} {:>16.0}", row.0, row.1);
        rows.push(row);
    }
    println!(
        "fsync on every write: {:.2}x the default's commands/s, {:.2}x its publishes/s",
        rows[0].0 / rows[1].0,
        rows[0].1 / rows[1].1
    );
    Ok(())
}
