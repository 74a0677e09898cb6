//! `make bench`: one review liked by `--likers` readers (10,000), each like its own command's
//! message on the stream, applied by the notifications projection while it runs; prints the
//! rows it wrote and the time from the first like's append until the author's unread count,
//! read as the gateway reads it, says every like.
//!
//! Usage: readstream-notifications-bench [--likers N]
//! Needs NATS_URL and DATABASE_URL (a server where it may create databases).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use chrono::Utc;
use futures::{stream::FuturesUnordered, StreamExt};
use readstream_contracts::{reviews, Envelope, Event, Metadata, ReviewsEvent};
use readstream_e2e::bench::{self, arg};
use readstream_eventstore::{EventStore, StreamSettings};
use readstream_projection::Runner;
use readstream_projector::notifications::Notifications;
use readstream_runtime::DatabaseConfig;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

async fn publish(
    store: &EventStore,
    actor: Uuid,
    aggregate: &readstream_contracts::subject::Aggregate,
    event: Event,
) -> anyhow::Result<async_nats::jetstream::context::PublishAckFuture> {
    let command_id = Uuid::now_v7();
    let meta = Metadata {
        occurred_at: Utc::now(),
        actor: Some(actor),
        command_id,
        correlation_id: command_id,
        import_job: None,
    };
    let envelope = Envelope::new(meta, vec![event]);
    let message = PublishMessage::build().payload(Bytes::from(envelope.encode())).message_id(command_id.to_string());
    Ok(store.jetstream().send_publish(store.subject(aggregate), message).await?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let likers = arg("--likers", 10_000)?;
    let run = bench::Run::start("notifications").await?;
    let client = async_nats::connect(&run.nats_url).await?;
    let store = EventStore::connect(client.clone(), &run.namespace, StreamSettings::default()).await?;
    let pool =
        readstream_runtime::db::connect_and_migrate(&DatabaseConfig::new(&run.database_url), &CancellationToken::new())
            .await?;

    let (author, book) = (Uuid::now_v7(), Uuid::now_v7());
    let review_id = reviews::review_id(author, book);
    let review = reviews::review(author, book);
    let published = Event::Reviews(ReviewsEvent::ReviewPublished {
        review_id,
        reader_id: author,
        book_id: book,
        body: "Vivid.".into(),
        contains_spoilers: false,
        written_on: Utc::now().date_naive(),
    });
    publish(&store, author, &review, published).await?.await?;

    let shutdown = CancellationToken::new();
    let runner = Runner::new(Notifications { namespace: run.namespace.clone() }, pool.clone(), store.clone(), client);
    let running = tokio::spawn(runner.run(shutdown.clone()));

    let started = Instant::now();
    let mut acks = FuturesUnordered::new();
    for i in 0..likers {
        let liker_id = Uuid::from_u128(u128::from(i) + 1);
        let aggregate = reviews::like(author, book, liker_id);
        let liked = Event::Reviews(ReviewsEvent::ReviewLiked { review_id, liker_id });
        acks.push(std::future::IntoFuture::into_future(publish(&store, liker_id, &aggregate, liked).await?));
        while acks.len() >= 4_000 {
            acks.next().await.context("an ack")??;
        }
    }
    while let Some(ack) = acks.next().await {
        ack?;
    }
    let appended = started.elapsed();
    let deadline = started + Duration::from_secs(600);
    let mut unread = 0;
    while unread < likers as i64 {
        anyhow::ensure!(Instant::now() < deadline, "the unread count stopped at {unread} of {likers}");
        tokio::time::sleep(Duration::from_millis(20)).await;
        unread = readstream_readmodel::notifications::unread_count(&pool, author).await?;
    }
    let counted = started.elapsed();
    let rows: (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM notification_items), (SELECT count(*) FROM notification_groups)")
            .fetch_one(&pool)
            .await?;
    let read = Instant::now();
    readstream_readmodel::notifications::page(&pool, author, i64::MAX, 20).await?;
    let page = read.elapsed();
    shutdown.cancel();
    running.await??;
    println!(
        "notifications: {likers} likes of one review appended in {:.2} s; the author's unread count read {likers} \
         after {:.2} s; {} item rows and {} group row written; their first page read in {:.1} ms",
        appended.as_secs_f64(),
        counted.as_secs_f64(),
        rows.0,
        rows.1,
        page.as_secs_f64() * 1000.0
    );
    bench::target(
        "notifications: rows written for 10,000 likes of one review",
        &format!("{} items + {} group", rows.0, rows.1),
        "one item a like, one group",
        rows.0 == likers as i64 && rows.1 == 1,
    )?;
    Ok(())
}
