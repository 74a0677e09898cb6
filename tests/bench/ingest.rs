//! `make bench`: what a command costs at ingest, against raw JetStream publishes on the same
//! server, and whether that cost grows with the aggregate's history.
//!
//! Commands are ratings as the ratings service decides them (the event store's `decide` with its
//! `Rating` decider: the aggregate's state, decide, append with its expected position; 64 in
//! flight). Three kinds:
//! - new ratings (a book the reader had not rated: an aggregate with no earlier event) by 1,000
//!   readers the process has served before, what a command service mostly sees;
//! - new ratings each by a reader the process has never served: the first command of a reader
//!   in a process also asks the keyring whether the account was deleted (one key-value read);
//! - ratings changed, round robin over aggregates with 1 and with 1,000 earlier events.
//!
//! Raw publishes are 200-byte async publishes to one subject with their acknowledgements
//! awaited. Both against a NATS that syncs every write before it acknowledges it
//! (`sync_interval: always`, what `make run` runs) and one with the server's default (a sync
//! every 2 minutes), and, with `NATS_URL_CLUSTER`, a three-node cluster with the default sync
//! whose streams keep three replicas (what `NATS_NODES=3 make run` runs): each append is
//! acknowledged once two of the three nodes hold it.
//!
//! New ratings and raw publishes are compared with as many awaiting their acknowledgement at
//! once, 64 and 1,000: how many are in flight sets how many messages share each read and write
//! of the connection on both sides, so commands at 64 against publishes at 1,000 would compare
//! the window as much as the work.
//!
//! With `NATS_PID`, `NATS_PID_DEFAULT_SYNC` and `NATS_PIDS_CLUSTER` (comma-separated; bench.sh
//! sets them) it prints what each costs in CPU: the NATS servers' and this process's, per new
//! rating (of both kinds) and per raw publish, 64 in flight.
//!
//! Usage: readstream-ingest-bench [--commands N] [--publishes M]
//! Needs NATS_URL (fsync always) and NATS_URL_DEFAULT_SYNC (the default); NATS_URL_CLUSTER (the
//! cluster's seeds, comma-separated) is optional.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use chrono::Utc;
use futures::{stream::FuturesUnordered, StreamExt, TryStreamExt};
use prost::Message as _;
use readstream_contracts::{proto::events::v1 as pb, ratings, Envelope, Event, Metadata, RatingsEvent, Stars};
use readstream_e2e::bench::{self, arg, cpu_seconds, peak_resident, tree_cpu_seconds};
use readstream_eventstore::{EventStore, StreamSettings};
use readstream_ratings::domain::{Rating, RatingCommand, RatingFacts};
use uuid::Uuid;

/// Commands sent at once, as many gateway requests would; raw publishes are compared at the
/// same window.
const IN_FLIGHT: usize = 64;

/// The larger window both are compared at too (the client allows 5,000 publishes in flight).
const WIDE: usize = 1_000;

/// The aggregates the commands on aggregates with a history go to, round robin.
const AGGREGATES: usize = 64;

/// Runs on aggregates with 1 and with 1,000 earlier events, in turns; the best of each counts.
const HISTORY_ROUNDS: usize = 3;

fn meta(reader_id: Uuid) -> Metadata {
    let command_id = Uuid::now_v7();
    Metadata {
        occurred_at: Utc::now(),
        actor: Some(reader_id),
        command_id,
        correlation_id: command_id,
        import_job: None,
    }
}

fn rated(reader_id: Uuid, book_id: Uuid, stars: u8) -> anyhow::Result<Event> {
    let stars = Stars::whole(stars).context("1 to 5 stars")?;
    Ok(Event::Ratings(RatingsEvent::BookRated { reader_id, book_id, stars, previous_stars: None }))
}

/// Waits for every acknowledgement, `window` at a time.
async fn publish_all(
    jetstream: &async_nats::jetstream::Context,
    window: usize,
    messages: impl Iterator<Item = (String, bytes::Bytes)>,
) -> anyhow::Result<()> {
    let mut acks = FuturesUnordered::new();
    for (subject, payload) in messages {
        acks.push(std::future::IntoFuture::into_future(jetstream.publish(subject, payload).await?));
        while acks.len() >= window {
            acks.next().await.context("an ack")??;
        }
    }
    while let Some(ack) = acks.next().await {
        ack?;
    }
    Ok(())
}

/// Which aggregates the commands go to, and who sends them.
#[derive(Clone, Copy)]
enum Aggregates {
    /// Each command a new rating (a book not rated before) by one of `READERS` readers the
    /// process has served before: what a command service mostly sees.
    NewByKnownReaders,
    /// Each command a new rating by a reader the process has never served: the first command
    /// of each costs one look-up more, whether the account was deleted.
    NewByNewReaders,
    /// Round robin over `AGGREGATES` readers' ratings of one book with this many earlier ratings each.
    WithHistory(usize),
}

/// The readers the commands of `Aggregates::NewByKnownReaders` come from, each served once first.
const READERS: usize = 1_000;

/// Rating commands per second, `in_flight` at once, to `aggregates`. Aggregates with a history
/// are first read by one command each (its mean time is the second figure, in ms), as a process
/// that has not seen them yet would.
async fn commands_per_second(
    nats: &Nats,
    commands: usize,
    in_flight: usize,
    aggregates: Aggregates,
) -> anyhow::Result<(f64, f64)> {
    let client = async_nats::connect(nats.urls.clone()).await?;
    // Shared, as a command service shares its one store between the requests it serves.
    let settings = StreamSettings { replicas: nats.replicas };
    let store = Arc::new(EventStore::connect(client, &readstream_testkit::namespace(), settings).await?);
    let book_id = Uuid::now_v7();
    let known = match aggregates {
        Aggregates::NewByKnownReaders => READERS,
        _ => AGGREGATES,
    };
    let readers: Vec<Uuid> = (0..known).map(|_| Uuid::now_v7()).collect();
    let run = |commands: usize, aggregates: Aggregates| {
        let store = store.clone();
        let readers = readers.clone();
        async move {
            let started = Instant::now();
            futures::stream::iter(0..commands)
                .map(|i| {
                    let store = store.clone();
                    let (reader_id, book_id) = match aggregates {
                        Aggregates::NewByKnownReaders => (readers[i % READERS], Uuid::now_v7()),
                        Aggregates::NewByNewReaders => (Uuid::now_v7(), book_id),
                        Aggregates::WithHistory(_) => (readers[i % AGGREGATES], book_id),
                    };
                    async move {
                        // Round robin over 64 aggregates, 64 ≡ 4 (mod 5): each command changes the stars.
                        let command = RatingCommand::Rate { stars: (i % 5 + 1) as i32 };
                        let facts = RatingFacts { reader_id, book_id, book_exists: true };
                        let rating = ratings::rating(reader_id, book_id);
                        let outcome = store.decide::<Rating>(&rating, meta(reader_id), &command, &facts);
                        outcome.await?.map_err(|rejection| anyhow::anyhow!("refused: {}", rejection.message))?;
                        anyhow::Ok(())
                    }
                })
                .buffer_unordered(in_flight)
                .try_collect::<()>()
                .await?;
            anyhow::Ok(started.elapsed())
        }
    };
    let mut first = Duration::ZERO;
    if let Aggregates::NewByKnownReaders = aggregates {
        // Each reader's first command, as the service served them before.
        run(READERS, Aggregates::NewByKnownReaders).await?;
    }
    if let Aggregates::WithHistory(earlier) = aggregates {
        let mut history = Vec::new();
        for _ in 0..earlier {
            for &reader_id in &readers {
                let envelope = Envelope::new(meta(reader_id), vec![rated(reader_id, book_id, 3)?]);
                let payload = pb::Envelope::from(&envelope).encode_to_vec().into();
                history.push((store.subject(&ratings::rating(reader_id, book_id)), payload));
            }
        }
        publish_all(store.jetstream(), WIDE, history.into_iter()).await?;
        first = run(AGGREGATES, aggregates).await? / AGGREGATES as u32;
    }
    let elapsed = run(commands, aggregates).await?;
    Ok((commands as f64 / elapsed.as_secs_f64(), first.as_secs_f64() * 1_000.0))
}

/// Raw JetStream async publishes per second, `window` awaiting their acknowledgement at once.
async fn publishes_per_second(nats: &Nats, publishes: usize, window: usize) -> anyhow::Result<f64> {
    let mut jetstream = async_nats::jetstream::new(async_nats::connect(nats.urls.clone()).await?);
    // With a sync per write, a full window of acknowledgements takes longer than the default 5 s.
    jetstream.set_timeout(Duration::from_secs(60));
    let name = format!("BENCH_{}", Uuid::now_v7().simple());
    let subject = format!("bench.{name}");
    jetstream
        .create_stream(async_nats::jetstream::stream::Config {
            name: name.clone(),
            subjects: vec![subject.clone()],
            num_replicas: nats.replicas,
            ..Default::default()
        })
        .await?;
    let payload = bytes::Bytes::from(vec![b'x'; 200]);
    let started = Instant::now();
    publish_all(&jetstream, window, (0..publishes).map(|_| (subject.clone(), payload.clone()))).await?;
    let rate = publishes as f64 / started.elapsed().as_secs_f64();
    jetstream.delete_stream(&name).await?;
    Ok(rate)
}

/// One NATS setting the bench runs against.
struct Nats {
    label: &'static str,
    urls: Vec<String>,
    /// Replicas of the streams it makes.
    replicas: usize,
    /// The servers' processes, from the environment variable named.
    pids: Vec<u32>,
}

impl Nats {
    fn at(label: &'static str, urls: &str, replicas: usize, pids_from: &'static str) -> anyhow::Result<Self> {
        let pids = match std::env::var(pids_from) {
            Ok(list) => list.split(',').map(|pid| pid.trim().parse()).collect::<Result<_, _>>().context(pids_from)?,
            Err(_) => Vec::new(),
        };
        Ok(Self { label, urls: urls.split(',').map(str::to_owned).collect(), replicas, pids })
    }

    /// Returns once its JetStream takes streams of its replicas: a new cluster elects its
    /// leaders seconds after its nodes take clients.
    async fn ready(&self) -> anyhow::Result<()> {
        let jetstream = async_nats::jetstream::new(async_nats::connect(self.urls.clone()).await?);
        let name = format!("BENCH_READY_{}", Uuid::now_v7().simple());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let config = async_nats::jetstream::stream::Config {
                name: name.clone(),
                subjects: vec![format!("bench.{name}")],
                num_replicas: self.replicas,
                ..Default::default()
            };
            match jetstream.create_stream(config).await {
                Ok(_) => break,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(err) => anyhow::bail!("{}: JetStream did not take a stream within 60 s: {err}", self.label),
            }
        }
        jetstream.delete_stream(&name).await?;
        Ok(())
    }

    /// CPU seconds of its servers so far, if their processes are known.
    fn cpu_seconds(&self) -> Option<f64> {
        (!self.pids.is_empty()).then(|| self.pids.iter().copied().map(tree_cpu_seconds).sum())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (commands, publishes) = (arg("--commands", 20_000)? as usize, arg("--publishes", 200_000)? as usize);
    let always = std::env::var("NATS_URL").context("NATS_URL: a NATS with sync_interval: always")?;
    let default = std::env::var("NATS_URL_DEFAULT_SYNC").context("NATS_URL_DEFAULT_SYNC: a NATS as it comes")?;
    println!("{commands} rating commands and {publishes} raw async publishes per setting and window;");
    println!(
        "new ratings by {READERS} readers the service has served before against raw publishes, {IN_FLIGHT} and {WIDE} in flight;"
    );
    println!("new ratings each by a reader the service has not served ({IN_FLIGHT} in flight); then");
    println!(
        "commands ({IN_FLIGHT} in flight) round robin over {AGGREGATES} aggregates with 1 or 1,000 earlier events each,"
    );
    println!("{HISTORY_ROUNDS} runs of each in turns, the best of each shown");
    println!("(the first command on each of those, reading its history, is timed apart: ms per command)");
    println!(
        "{:<30} {:>8} {:>12} {:>7} {:>8} {:>12} {:>7} {:>10} {:>7} {:>10} {:>8} {:>7} {:>11}",
        "NATS sync",
        "new/s",
        "publishes/s",
        "ratio",
        "new/s",
        "publishes/s",
        "ratio",
        "new reader",
        "ratio",
        "1 earlier",
        "1,000",
        "1st ms",
        "1,000 vs 1"
    );
    println!(
        "{:<30} {:>29} {:>29} {:>18}",
        "",
        format!("({IN_FLIGHT} in flight)"),
        format!("({WIDE} in flight)"),
        format!("({IN_FLIGHT})")
    );
    let mut settings = vec![
        Nats::at("always (make run)", &always, 1, "NATS_PID")?,
        Nats::at("every 2 minutes (the default)", &default, 1, "NATS_PID_DEFAULT_SYNC")?,
    ];
    if let Ok(cluster) = std::env::var("NATS_URL_CLUSTER") {
        settings.push(Nats::at("3 nodes, 3 replicas (default)", &cluster, 3, "NATS_PIDS_CLUSTER")?);
    }
    let mut costs = Vec::new();
    for nats in &settings {
        nats.ready().await?;
        let label = nats.label;
        // CPU seconds of the NATS servers (when their processes are known) and of this process.
        let cpu = || (nats.cpu_seconds(), cpu_seconds());
        let per = |before: (Option<f64>, f64), count: usize| {
            let after = cpu();
            let micros = |seconds: f64| seconds * 1e6 / count as f64;
            (after.0.zip(before.0).map(|(after, before)| micros(after - before)), micros(after.1 - before.1))
        };
        let before = cpu();
        let (new, _) = commands_per_second(nats, commands, IN_FLIGHT, Aggregates::NewByKnownReaders).await?;
        // The readers' first commands are counted too: the figure errs high.
        let per_command = per(before, commands + READERS);
        let before = cpu();
        let raw = publishes_per_second(nats, publishes, IN_FLIGHT).await?;
        let per_publish = per(before, publishes);
        let before = cpu();
        let (new_reader, _) = commands_per_second(nats, commands, IN_FLIGHT, Aggregates::NewByNewReaders).await?;
        let per_new_reader = per(before, commands);
        let (new_wide, _) = commands_per_second(nats, commands, WIDE, Aggregates::NewByKnownReaders).await?;
        let raw_wide = publishes_per_second(nats, publishes, WIDE).await?;
        // Taken in turns, the best of each kept: a run of 20,000 commands lasts about half a
        // second, short enough for a burst of the machine's noise to halve one.
        let (mut one, mut thousand, mut first) = (0.0_f64, 0.0_f64, f64::MAX);
        for _ in 0..HISTORY_ROUNDS {
            one = one.max(commands_per_second(nats, commands, IN_FLIGHT, Aggregates::WithHistory(1)).await?.0);
            let (rate, first_ms) =
                commands_per_second(nats, commands, IN_FLIGHT, Aggregates::WithHistory(1_000)).await?;
            (thousand, first) = (thousand.max(rate), first.min(first_ms));
        }
        println!(
            "{label:<30} {new:>8.0} {raw:>12.0} {:>6.2}x {new_wide:>8.0} {raw_wide:>12.0} {:>6.2}x {new_reader:>10.0} {:>6.2}x {one:>10.0} {thousand:>8.0} {first:>7.1} {:>10.2}x",
            new / raw,
            new_wide / raw_wide,
            new_reader / raw,
            one / thousand
        );
        // The design's floor everywhere; half a raw publish where the server syncs as it comes.
        let (floor, wanted) =
            if nats.replicas == 1 && label.contains("default") { (0.5, ">= 0.5x") } else { (0.25, ">= 0.25x") };
        for (in_flight, ours, theirs) in [(IN_FLIGHT, new, raw), (WIDE, new_wide, raw_wide)] {
            bench::target(
                &format!("new ratings against raw publishes, {label}, {in_flight} in flight"),
                &format!("{:.2}x ({ours:.0} / {theirs:.0} per second)", ours / theirs),
                wanted,
                ours / theirs >= floor,
            )?;
        }
        bench::target(
            &format!("new ratings each by a reader the service has not served against raw publishes, {label}, {IN_FLIGHT} in flight"),
            &format!("{:.2}x ({new_reader:.0} / {raw:.0} per second)", new_reader / raw),
            ">= 0.25x",
            new_reader / raw >= 0.25,
        )?;
        bench::target(
            &format!("a command on 1,000 earlier events against one on 1, {label}"),
            &format!("{:.2}x the time ({one:.0} / {thousand:.0} per second)", one / thousand),
            "<= 1.2x",
            one / thousand <= 1.2,
        )?;
        costs.push((label, per_command, per_new_reader, per_publish));
    }
    let server = |micros: Option<f64>| micros.map_or_else(|| "-".to_owned(), |micros| format!("{micros:.1}"));
    println!("CPU µs per new rating (by a reader served before / by a new reader) and per raw publish, {IN_FLIGHT} in flight:");
    println!("the NATS server's + this process's");
    for (label, (server_command, client_command), (server_new, client_new), (server_publish, client_publish)) in costs {
        println!(
            "{label:<30} known reader {:>6} + {client_command:>5.1}   new reader {:>6} + {client_new:>5.1}   publish {:>6} + {client_publish:>5.1}",
            server(server_command),
            server(server_new),
            server(server_publish)
        );
    }
    println!("peak RSS of this process {:.0} MB", peak_resident() as f64 / 1e6);
    println!("targets: new ratings >= 0.5x raw publishes at the default sync on one node, >= 0.25x elsewhere and by new readers;");
    println!("a command on 1,000 earlier events costs <= 1.2x one on 1 (1,000 vs 1)");
    Ok(())
}
