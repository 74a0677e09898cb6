//! `make bench`: replays 1,000,000 `BookRated` events from the stream into the read models and
//! prints events/s beside two measured in the same run: the per-event baseline, one
//! `INSERT … ON CONFLICT` per event in its own transaction, as ORM-based backends do; and the
//! in-Postgres limit, the same rows written by SQL alone from a table of the events, as many
//! events a transaction as the ratings projection applies in one (what the replay would reach
//! if reading the stream, decoding and sending cost nothing).
//!
//! Then the projection lag: `BookRated` events published at `--lag-rate` per second (5,000)
//! for `--lag-seconds` (60) into a fresh stream while the whole projector runs, each timed from
//! its append's acknowledgement to the ratings projection's notice that it has applied it
//! (p50/p99/max).
//!
//! Both on the NATS `NATS_URL_DEFAULT_SYNC` names when set (bench.sh starts one with the
//! server's default sync): its appends keep up with the lag's rate, and the replay's million
//! events are written in seconds rather than minutes (the replay reads them all the same).
//!
//! Each figure comes with the CPU it cost per event: this process's (the projection runner runs
//! in it), Postgres's and the NATS server's (when bench.sh gives its process id).
//!
//! Usage: readstream-replay-bench [--events N] [--baseline-events M] [--lag-rate N] [--lag-seconds N]
//! Needs NATS_URL or NATS_URL_DEFAULT_SYNC, and DATABASE_URL (a server where it may create
//! databases).

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use async_nats::jetstream::{
    consumer::{pull::OrderedConfig, DeliverPolicy},
    message::PublishMessage,
};
use bytes::Bytes;
use chrono::Utc;
use futures::{stream::FuturesUnordered, StreamExt};
use prost::Message;
use readstream_contracts::{
    proto::live::v1 as live, ratings, subject::projection_position, Envelope, Event, Metadata, RatingsEvent, ReadModel,
    Stars,
};
use readstream_e2e::bench::{
    self, arg, cpu_seconds, peak_resident, percentile, pid_from_env, postgres_cpu_seconds, tree_cpu_seconds,
};
use readstream_eventstore::{EventStore, StreamSettings};
use readstream_projection::{Projection as _, Runner};
use readstream_projector::ratings::Ratings;
use readstream_runtime::DatabaseConfig;
use sqlx::{Connection, PgConnection};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const BOOKS: u64 = 10_000;

fn book(i: u64) -> Uuid {
    Uuid::from_u128(0xb00c_0000_0000_0000_0000_0000_0000_0000 | u128::from(i % BOOKS))
}

/// A deterministic spread of stars, heavier on 4 and 5 as real ratings are.
fn stars(i: u64) -> u8 {
    [5, 4, 4, 5, 3, 4, 2, 5, 4, 1][(i.wrapping_mul(2_654_435_761) % 10) as usize]
}

/// The `i`th event of a bench: a rating by reader `i + 1`, published with its ack to await.
async fn publish_one(store: &EventStore, i: u64) -> anyhow::Result<async_nats::jetstream::context::PublishAckFuture> {
    let reader_id = Uuid::from_u128(u128::from(i) + 1);
    let command_id = Uuid::now_v7();
    let meta = Metadata {
        occurred_at: Utc::now(),
        actor: Some(reader_id),
        command_id,
        correlation_id: command_id,
        import_job: None,
    };
    let event = Event::Ratings(RatingsEvent::BookRated {
        reader_id,
        book_id: book(i),
        stars: Stars::whole(stars(i)).context("1 to 5 stars")?,
        previous_stars: None,
    });
    let envelope = Envelope::new(meta, vec![event]);
    let subject = store.subject(&ratings::rating(reader_id, book(i)));
    let message = PublishMessage::build().payload(Bytes::from(envelope.encode())).message_id(command_id.to_string());
    Ok(store.jetstream().send_publish(subject, message).await?)
}

async fn publish(store: &EventStore, events: u64) -> anyhow::Result<u64> {
    let mut acks = FuturesUnordered::new();
    let mut last = 0;
    for i in 0..events {
        acks.push(std::future::IntoFuture::into_future(publish_one(store, i).await?));
        // Below the client's 5,000 unacknowledged publishes, past which `send_publish` waits.
        while acks.len() >= 4_000 {
            if let Some(ack) = acks.next().await {
                last = last.max(ack?.sequence);
            }
        }
    }
    while let Some(ack) = acks.next().await {
        last = last.max(ack?.sequence);
    }
    Ok(last)
}

async fn fresh_database(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let mut admin = PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    let base = admin_url.rsplit_once('/').map_or(admin_url, |(base, _)| base);
    Ok(format!("{base}/{name}"))
}

/// Has Postgres write back what earlier phases left dirty before the next is timed: a
/// checkpoint falling inside a phase (the replay and the in-Postgres limit each leave over a
/// million rows' pages and WAL) stalls its commits behind the disk, and would be counted
/// against whichever phase came next.
async fn checkpoint(admin_url: &str) -> anyhow::Result<()> {
    let mut admin = PgConnection::connect(admin_url).await?;
    sqlx::query("CHECKPOINT").execute(&mut admin).await?;
    Ok(())
}

/// The projection runner, from position 0 until it has applied `last`.
async fn replay(
    store: &EventStore,
    client: &async_nats::Client,
    database_url: &str,
    last: u64,
) -> anyhow::Result<Duration> {
    let pool =
        readstream_runtime::db::connect_and_migrate(&DatabaseConfig::new(database_url), &CancellationToken::new())
            .await?;
    let mut notices = client.subscribe(projection_position(store.namespace(), ReadModel::Ratings)).await?;
    client.flush().await?;
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let runner = Runner::new(Ratings { namespace: store.namespace().to_owned() }, pool, store.clone(), client.clone());
    let run = tokio::spawn(runner.run(shutdown.clone()));
    while let Some(notice) = notices.next().await {
        if live::ProjectionPosition::decode(notice.payload)?.position >= last {
            break;
        }
    }
    let elapsed = started.elapsed();
    shutdown.cancel();
    run.await??;
    Ok(elapsed)
}

/// The same stream, one autocommitted `INSERT … ON CONFLICT` per event.
async fn baseline(store: &EventStore, database_url: &str, events: u64) -> anyhow::Result<Duration> {
    let pool =
        readstream_runtime::db::connect_and_migrate(&DatabaseConfig::new(database_url), &CancellationToken::new())
            .await?;
    let stream = store.jetstream().get_stream(store.stream_name()).await?;
    let consumer =
        stream.create_consumer(OrderedConfig { deliver_policy: DeliverPolicy::All, ..Default::default() }).await?;
    let mut messages = consumer.messages().await?.take(events as usize);
    let started = Instant::now();
    while let Some(message) = messages.next().await {
        let envelope = Envelope::decode(&message?.payload)?;
        for recorded in envelope.events {
            if let Event::Ratings(RatingsEvent::BookRated { book_id, stars, .. }) = recorded.event {
                let mut histogram = [0i64; 5];
                histogram[usize::from(stars.rounded()) - 1] = 1;
                sqlx::query(
                    "INSERT INTO book_ratings (book_id, ratings_count, quarter_stars_sum, stars_1, stars_2, stars_3, stars_4, stars_5)
                     VALUES ($1, 1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (book_id) DO UPDATE SET
                         ratings_count = book_ratings.ratings_count + 1,
                         quarter_stars_sum = book_ratings.quarter_stars_sum + EXCLUDED.quarter_stars_sum,
                         stars_1 = book_ratings.stars_1 + EXCLUDED.stars_1,
                         stars_2 = book_ratings.stars_2 + EXCLUDED.stars_2,
                         stars_3 = book_ratings.stars_3 + EXCLUDED.stars_3,
                         stars_4 = book_ratings.stars_4 + EXCLUDED.stars_4,
                         stars_5 = book_ratings.stars_5 + EXCLUDED.stars_5",
                )
                .bind(book_id)
                .bind(i64::from(stars.quarters()))
                .bind(histogram[0])
                .bind(histogram[1])
                .bind(histogram[2])
                .bind(histogram[3])
                .bind(histogram[4])
                .execute(&pool)
                .await?;
            }
        }
    }
    Ok(started.elapsed())
}

/// The events of a bench as rows (`position`, `reader_id`, `book_id`, `stars`), made by SQL with
/// the same readers, books and stars as `publish_one`.
const EVENTS_TABLE: &str = "CREATE UNLOGGED TABLE bench_events AS
    SELECT i AS position,
           ('00000000-0000-0000-0000-' || lpad(to_hex(i + 1), 12, '0'))::uuid AS reader_id,
           ('b00c0000-0000-0000-0000-' || lpad(to_hex(i % 10000), 12, '0'))::uuid AS book_id,
           (ARRAY[5, 4, 4, 5, 3, 4, 2, 5, 4, 1])[(i * 2654435761) % 10 + 1]::smallint AS stars
    FROM generate_series(0::bigint, $1::bigint - 1) AS i";

/// The replay's writes done inside Postgres: from a table of the events (made before the clock
/// starts), each `batch` of them upsert their readers' ratings and add to their books' figures
/// in one transaction, by one procedure. Returns its time and Postgres's CPU seconds.
async fn in_postgres(database_url: &str, events: u64, batch: usize) -> anyhow::Result<(Duration, f64)> {
    let pool =
        readstream_runtime::db::connect_and_migrate(&DatabaseConfig::new(database_url), &CancellationToken::new())
            .await?;
    let mut connection = pool.acquire().await?;
    sqlx::query(EVENTS_TABLE).bind(events as i64).execute(&mut *connection).await?;
    sqlx::query("ALTER TABLE bench_events ADD PRIMARY KEY (position)").execute(&mut *connection).await?;
    sqlx::query("VACUUM ANALYZE bench_events").execute(&mut *connection).await?;
    // The events table just written is not the limit's to write back (see `checkpoint`).
    sqlx::query("CHECKPOINT").execute(&mut *connection).await?;
    let replay = format!(
        "DO $$
         DECLARE first bigint := 0;
         BEGIN
             WHILE first < {events} LOOP
                 INSERT INTO ratings (reader_id, book_id, quarter_stars, rated_at)
                 SELECT reader_id, book_id, 4 * stars, now() FROM bench_events
                 WHERE position >= first AND position < first + {batch}
                 ON CONFLICT (reader_id, book_id) DO UPDATE
                 SET quarter_stars = EXCLUDED.quarter_stars, rated_at = EXCLUDED.rated_at;
                 INSERT INTO book_ratings AS s
                     (book_id, ratings_count, quarter_stars_sum, stars_1, stars_2, stars_3, stars_4, stars_5, position)
                 SELECT book_id, count(*), 4 * sum(stars),
                        count(*) FILTER (WHERE stars = 1), count(*) FILTER (WHERE stars = 2),
                        count(*) FILTER (WHERE stars = 3), count(*) FILTER (WHERE stars = 4),
                        count(*) FILTER (WHERE stars = 5), max(position) + 1
                 FROM bench_events WHERE position >= first AND position < first + {batch}
                 GROUP BY book_id
                 ON CONFLICT (book_id) DO UPDATE SET
                     ratings_count = s.ratings_count + EXCLUDED.ratings_count,
                     quarter_stars_sum = s.quarter_stars_sum + EXCLUDED.quarter_stars_sum,
                     stars_1 = s.stars_1 + EXCLUDED.stars_1,
                     stars_2 = s.stars_2 + EXCLUDED.stars_2,
                     stars_3 = s.stars_3 + EXCLUDED.stars_3,
                     stars_4 = s.stars_4 + EXCLUDED.stars_4,
                     stars_5 = s.stars_5 + EXCLUDED.stars_5,
                     position = EXCLUDED.position;
                 COMMIT;
                 first := first + {batch};
             END LOOP;
         END $$"
    );
    let (started, cpu) = (Instant::now(), postgres_cpu_seconds());
    sqlx::raw_sql(&replay).execute(&mut *connection).await?;
    let (elapsed, cpu) = (started.elapsed(), postgres_cpu_seconds() - cpu);
    let rated: i64 =
        sqlx::query_scalar("SELECT sum(ratings_count)::bigint FROM book_ratings").fetch_one(&mut *connection).await?;
    anyhow::ensure!(rated == events as i64, "the in-Postgres replay counted {rated} ratings of {events}");
    Ok((elapsed, cpu))
}

/// What the lag bench measured, each list sorted.
struct Lag {
    /// Each event's time from its append's acknowledgement to the ratings projection's notice
    /// of a position at or past it.
    applied: Vec<Duration>,
    /// Each event's time from its publish to its acknowledgement.
    appended: Vec<Duration>,
    /// The process's CPU seconds (publisher and projector).
    cpu: f64,
}

/// Publishes `per_second` events a second for `seconds` into `store` (a fresh stream) while the
/// whole projector runs over `database_url`.
async fn lag(
    nats_url: &str,
    store: &EventStore,
    client: &async_nats::Client,
    database_url: &str,
    per_second: u64,
    seconds: u64,
) -> anyhow::Result<Lag> {
    let mut notices = client.subscribe(projection_position(store.namespace(), ReadModel::Ratings)).await?;
    client.flush().await?;
    let applied = Arc::new(Mutex::new(Vec::<(u64, Instant)>::new()));
    let noting = tokio::spawn({
        let applied = applied.clone();
        async move {
            while let Some(notice) = notices.next().await {
                if let Ok(notice) = live::ProjectionPosition::decode(notice.payload) {
                    applied.lock().unwrap_or_else(PoisonError::into_inner).push((notice.position, Instant::now()));
                }
            }
        }
    });
    let applied_up_to = |position: u64| {
        let applied = applied.clone();
        async move {
            while applied.lock().unwrap_or_else(PoisonError::into_inner).last().is_none_or(|(at, _)| *at < position) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    let shutdown = CancellationToken::new();
    let config = readstream_projector::Config {
        nats: readstream_runtime::NatsConfig::new(nats_url, store.namespace()),
        database: DatabaseConfig::new(database_url),
        health: readstream_runtime::health::HealthConfig { health_addr: None },
        rebuild: Vec::new(),
        feed_fanout_limit: 10_000,
    };
    let projector = tokio::spawn(readstream_projector::run(config, shutdown.clone()));
    // The projector has started once it has applied a first event.
    let first = publish_one(store, 0).await?.await?.sequence;
    let pool = sqlx::PgPool::connect(database_url).await?;
    while sqlx::query_scalar::<_, i64>(
        "SELECT coalesce(max(position), 0) FROM projection_checkpoints WHERE name = 'ratings'",
    )
    .fetch_one(&pool)
    .await
    .unwrap_or(0)
        < first as i64
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // 100 ticks a second, each publishing its share, so the rate is even within the second.
    let per_tick = per_second / 100;
    let cpu = cpu_seconds();
    let mut ticks = tokio::time::interval(Duration::from_millis(10));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    // Each acknowledgement is awaited on its own task, so none holds back the next publish.
    let mut acks = Vec::with_capacity((per_tick * seconds * 100) as usize);
    for tick in 0..seconds * 100 {
        ticks.tick().await;
        for n in 0..per_tick {
            let sent = Instant::now();
            let ack = publish_one(store, 1 + tick * per_tick + n).await?;
            acks.push(tokio::spawn(async move {
                let sequence = ack.await?.sequence;
                anyhow::Ok((sequence, sent, Instant::now()))
            }));
        }
    }
    let mut published = Vec::with_capacity(acks.len());
    for ack in acks {
        published.push(ack.await??);
    }
    let last = published.iter().map(|(sequence, _, _)| *sequence).max().unwrap_or(first);
    applied_up_to(last).await;
    let cpu = cpu_seconds() - cpu;
    shutdown.cancel();
    projector.await??;
    noting.abort();
    let applied = std::mem::take(&mut *applied.lock().unwrap_or_else(PoisonError::into_inner));
    let mut lags: Vec<Duration> = published
        .iter()
        .filter_map(|(sequence, _, acknowledged)| {
            let at = applied.partition_point(|(position, _)| position < sequence);
            applied.get(at).map(|(_, when)| when.saturating_duration_since(*acknowledged))
        })
        .collect();
    anyhow::ensure!(lags.len() == published.len(), "{} events never reported applied", published.len() - lags.len());
    lags.sort();
    let mut appends: Vec<Duration> = published.iter().map(|(_, sent, acknowledged)| *acknowledged - *sent).collect();
    appends.sort();
    Ok(Lag { applied: lags, appended: appends, cpu })
}

fn rate(events: u64, elapsed: Duration) -> f64 {
    events as f64 / elapsed.as_secs_f64()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let events = arg("--events", 1_000_000)?;
    let baseline_events = arg("--baseline-events", 20_000)?.min(events);
    let (nats_url, nats_pid, sync) = match std::env::var("NATS_URL_DEFAULT_SYNC") {
        Ok(url) => (url, pid_from_env("NATS_PID_DEFAULT_SYNC")?, "NATS's default sync"),
        Err(_) => {
            (std::env::var("NATS_URL").context("set NATS_URL")?, pid_from_env("NATS_PID")?, "the NATS_URL server")
        }
    };
    let admin_url = std::env::var("DATABASE_URL").context("set DATABASE_URL")?;
    let run_id = Uuid::new_v4().simple().to_string()[..10].to_owned();

    let client = async_nats::connect(&nats_url).await?;
    let store = EventStore::connect(client.clone(), &format!("bench{run_id}"), StreamSettings::default()).await?;
    let started = Instant::now();
    let last = publish(&store, events).await?;
    println!(
        "published {events} BookRated events over {BOOKS} books in {:.1} s ({sync})",
        started.elapsed().as_secs_f64()
    );

    // CPU seconds so far: this process's, Postgres's and the NATS server's (when known).
    let cpu = || [cpu_seconds(), postgres_cpu_seconds(), nats_pid.map_or(0.0, tree_cpu_seconds)];
    let per_event = |before: [f64; 3], events: u64| {
        let after = cpu();
        let micros = |i: usize| (after[i] - before[i]) * 1e6 / events as f64;
        match nats_pid {
            Some(_) => {
                format!("CPU µs/event: this process {:.1}, Postgres {:.1}, NATS {:.1}", micros(0), micros(1), micros(2))
            }
            None => format!("CPU µs/event: this process {:.1}, Postgres {:.1}", micros(0), micros(1)),
        }
    };
    let database = fresh_database(&admin_url, &format!("bench_{run_id}")).await?;
    checkpoint(&admin_url).await?;
    let before = cpu();
    let replayed = replay(&store, &client, &database, last).await?;
    let replay_cost = per_event(before, events);
    let database = fresh_database(&admin_url, &format!("bench_baseline_{run_id}")).await?;
    checkpoint(&admin_url).await?;
    let before = cpu();
    let base = baseline(&store, &database, baseline_events).await?;
    let baseline_cost = per_event(before, baseline_events);
    let database = fresh_database(&admin_url, &format!("bench_limit_{run_id}")).await?;
    let batch = Ratings { namespace: store.namespace().to_owned() }.max_batch();
    let (limit, limit_cpu) = in_postgres(&database, events, batch).await?;
    let limit_cost = format!("CPU µs/event: Postgres {:.1}", limit_cpu * 1e6 / events as f64);

    let (ours, theirs, within) = (rate(events, replayed), rate(baseline_events, base), rate(events, limit));
    println!();
    println!(
        "projection replay   {events:>9} events  {:>8.1} s  {ours:>10.0} events/s  (batched, set-based, exactly-once; {replay_cost})",
        replayed.as_secs_f64()
    );
    println!("baseline            {baseline_events:>9} events  {:>8.1} s  {theirs:>10.0} events/s  (one INSERT … ON CONFLICT per event; {baseline_cost})", base.as_secs_f64());
    println!("in-Postgres limit   {events:>9} events  {:>8.1} s  {within:>10.0} events/s  (the same rows by SQL alone, {batch} events a transaction; {limit_cost})", limit.as_secs_f64());
    println!(
        "replay / baseline   {:.1}x (target ≥ 20x); replay / in-Postgres limit {:.2}x (target ≥ 0.5x)",
        ours / theirs,
        ours / within
    );
    let peak = peak_resident() as f64 / 1e6;
    bench::target(
        "replay against one INSERT per event",
        &format!(
            "{:.1}x ({ours:.0} / {theirs:.0} events/s; replay {replay_cost}; peak RSS {peak:.0} MB)",
            ours / theirs
        ),
        ">= 20x",
        ours / theirs >= 20.0,
    )?;
    bench::target(
        "replay against the in-Postgres limit",
        &format!("{:.2}x ({ours:.0} / {within:.0} events/s; limit {limit_cost})", ours / within),
        ">= 0.5x",
        ours / within >= 0.5,
    )?;

    let lag_client = async_nats::connect(&nats_url).await?;
    let lag_store =
        EventStore::connect(lag_client.clone(), &format!("benchlag{run_id}"), StreamSettings::default()).await?;
    let lag_database = fresh_database(&admin_url, &format!("bench_lag_{run_id}")).await?;
    checkpoint(&admin_url).await?;
    let (per_second, seconds) = (arg("--lag-rate", 5_000)?, arg("--lag-seconds", 60)?);
    let lag = lag(&nats_url, &lag_store, &lag_client, &lag_database, per_second, seconds).await?;
    let ms = |sorted: &[Duration], p: f64| percentile(sorted, p).as_secs_f64() * 1e3;
    println!(
        "projection lag      {per_second} events/s for {seconds} s ({sync}): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms from the append's acknowledgement to applied (target p99 ≤ 100 ms); the appends themselves p50 {:.1} ms, p99 {:.1} ms; {:.0}% CPU (publisher and projector)",
        ms(&lag.applied, 0.5),
        ms(&lag.applied, 0.99),
        ms(&lag.applied, 1.0),
        ms(&lag.appended, 0.5),
        ms(&lag.appended, 0.99),
        lag.cpu / seconds as f64 * 100.0
    );
    let p99 = ms(&lag.applied, 0.99);
    println!("peak RSS of this process {:.0} MB", peak_resident() as f64 / 1e6);
    bench::target(
        &format!("projection lag p99, {per_second} events/s for {seconds} s"),
        &format!(
            "{p99:.1} ms ({:.0}% CPU, publisher and projector; peak RSS {:.0} MB)",
            lag.cpu / seconds as f64 * 100.0,
            peak_resident() as f64 / 1e6
        ),
        "<= 100 ms",
        p99 <= 100.0,
    )?;
    Ok(())
}
