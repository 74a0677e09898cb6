//! `make bench`: an offline evaluation of recommendations. A generated library (`--books`
//! 100,000 and `--readers` 20,000; Zipf popularity; `--groups` 50 taste groups, about half of
//! each reader's books from their group, ratings with noise; random ids, so nothing leaks
//! through them) is sent as events through the catalog and recommendations projections, 20%
//! of each reader's ratings of 4 stars and up held out (never in the stream). Then, through
//! GraphQL, for `--sample` 2,000 readers: recall@10 (hits / min(10, held out)) of "for you"
//! and of "readers also enjoyed" seeded by one of the reader's held-in 4-star books, beside a
//! most-popular baseline that also leaves out the reader's books, and the p99 of each query.
//! A control run generates the same library with the taste groups shuffled for every pick;
//! its recall must come out near the baseline. Last, the rows one rating writes for readers
//! with 10, 100 and 1,000 books. The seed is printed; `--seed N` replays one.
//!
//! Usage: readstream-recommendations-bench [--books N] [--readers N] [--groups N] [--sample N] [--seed N]
//! Needs NATS_URL and DATABASE_URL (a server where it may create databases).

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use chrono::Utc;
use futures::{stream::FuturesUnordered, StreamExt};
use prost::Message as _;
use rand::{rngs::StdRng, Rng, SeedableRng};
use readstream_contracts::{
    catalog, proto::live::v1 as live, ratings, subject::projection_position, BookDetails, CatalogEvent, Envelope,
    Event, Metadata, RatingsEvent, ReadModel, Stars,
};
use readstream_e2e::bench::{self, arg, percentile};
use readstream_eventstore::{EventStore, StreamSettings};
use readstream_projection::Runner;
use readstream_projector::{catalog::Catalog, recommendations::Recommendations};
use readstream_runtime::DatabaseConfig;
use readstream_testkit::graphql::GraphQl;
use serde_json::json;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const SECRET: &str = "recommendations-bench-secret-of-at-least-32-bytes";
const FOR_YOU: &str = "{ recommendedBooks(first: 10) { book { id } } }";
const ALSO: &str = "query($b: ID!) { book(id: $b) { readersAlsoEnjoyed(first: 10) { book { id } } } }";

/// One generated library: each reader's ratings in the stream, and those held out.
struct Library {
    books: Vec<Uuid>,
    /// Per reader: (book, quarter stars) sent as events.
    held_in: Vec<Vec<(Uuid, u8)>>,
    /// Per reader: books rated 4 stars or more, never sent.
    held_out: Vec<Vec<Uuid>>,
    readers: Vec<Uuid>,
}

/// Draws from cumulative weights.
fn pick(rng: &mut StdRng, cumulative: &[f64], items: &[usize]) -> usize {
    let total = *cumulative.last().unwrap_or(&1.0);
    let at = rng.gen_range(0.0..total);
    items[cumulative.partition_point(|c| *c <= at).min(items.len() - 1)]
}

fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    weights
        .scan(0.0, |sum, w| {
            *sum += w;
            Some(*sum)
        })
        .collect()
}

/// A normal draw (Box–Muller).
fn normal(rng: &mut StdRng, mean: f64, deviation: f64) -> f64 {
    let (u, v): (f64, f64) = (rng.gen_range(f64::EPSILON..1.0), rng.gen_range(0.0..1.0));
    mean + deviation * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// The library for `seed`; with `shuffled`, every in-group pick is from a random group, so no
/// taste structure is left, only popularity.
fn generate(seed: u64, books: usize, readers: usize, groups: usize, shuffled: bool) -> Library {
    let mut rng = StdRng::seed_from_u64(seed);
    let ids: Vec<Uuid> = (0..books).map(|_| Uuid::from_u128(rng.gen())).collect();
    // Popularity: Zipf over ranks; a book's rank and group drawn at random.
    let mut ranks: Vec<usize> = (0..books).collect();
    for i in (1..books).rev() {
        ranks.swap(i, rng.gen_range(0..=i));
    }
    let weight = |book: usize| 1.0 / (ranks[book] as f64 + 10.0);
    let group_of: Vec<usize> = (0..books).map(|_| rng.gen_range(0..groups)).collect();
    let all: Vec<usize> = (0..books).collect();
    let all_cumulative = cumulative(all.iter().map(|b| weight(*b)));
    let members: Vec<Vec<usize>> =
        (0..groups).map(|g| (0..books).filter(|b| group_of[*b] == g).collect::<Vec<_>>()).collect();
    let member_cumulative: Vec<Vec<f64>> =
        members.iter().map(|books| cumulative(books.iter().map(|b| weight(*b)))).collect();
    let mut library = Library { books: ids.clone(), held_in: vec![], held_out: vec![], readers: vec![] };
    for _ in 0..readers {
        let group = rng.gen_range(0..groups);
        let count = (5.0 + normal(&mut rng, 3.2, 0.8).exp()).min(500.0) as usize;
        let mut chosen: HashSet<usize> = HashSet::new();
        let mut ratings = Vec::new();
        let mut tries = 0;
        while chosen.len() < count && tries < count * 20 {
            tries += 1;
            let in_group = rng.gen_bool(0.5);
            let book = if in_group {
                let g = if shuffled { rng.gen_range(0..groups) } else { group };
                pick(&mut rng, &member_cumulative[g], &members[g])
            } else {
                pick(&mut rng, &all_cumulative, &all)
            };
            if !chosen.insert(book) {
                continue;
            }
            // Readers like their group's books more; every rating is noisy.
            let liked = group_of[book] == group && !shuffled || shuffled && in_group;
            let mean = if liked { 4.2 } else { 3.1 };
            let quarters = (normal(&mut rng, mean, 0.8) * 4.0).round().clamp(4.0, 20.0) as u8;
            ratings.push((ids[book], quarters));
        }
        let (mut held_in, mut held_out) = (Vec::new(), Vec::new());
        for (book, quarters) in ratings {
            if quarters >= 16 && rng.gen_bool(0.2) {
                held_out.push(book);
            } else {
                held_in.push((book, quarters));
            }
        }
        library.readers.push(Uuid::from_u128(rng.gen()));
        library.held_in.push(held_in);
        library.held_out.push(held_out);
    }
    library
}

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

fn added(book_id: Uuid) -> Event {
    Event::Catalog(CatalogEvent::BookAdded(BookDetails {
        book_id,
        title: format!("Book {}", &book_id.simple().to_string()[..8]),
        subtitle: String::new(),
        description: String::new(),
        pages: 300,
        format: String::new(),
        first_published: None,
        author_ids: Vec::new(),
    }))
}

fn rated(reader_id: Uuid, book_id: Uuid, quarters: u8) -> anyhow::Result<Event> {
    let stars = Stars::from_quarters(quarters).context("quarter stars")?;
    Ok(Event::Ratings(RatingsEvent::BookRated { reader_id, book_id, stars, previous_stars: None }))
}

/// Sends `events` in order, a few thousand awaiting their acknowledgement; the last position.
async fn send_all(
    store: &EventStore,
    events: impl Iterator<Item = anyhow::Result<(Uuid, readstream_contracts::subject::Aggregate, Event)>>,
) -> anyhow::Result<u64> {
    let (mut acks, mut last) = (FuturesUnordered::new(), 0);
    for item in events {
        let (actor, aggregate, event) = item?;
        acks.push(std::future::IntoFuture::into_future(publish(store, actor, &aggregate, event).await?));
        while acks.len() >= 4_000 {
            last = last.max(acks.next().await.context("an ack")??.sequence);
        }
    }
    while let Some(ack) = acks.next().await {
        last = last.max(ack?.sequence);
    }
    Ok(last)
}

/// Waits until `model` has applied `last`.
async fn reached(
    client: &async_nats::Client,
    namespace: &str,
    model: ReadModel,
    pool: &PgPool,
    last: u64,
) -> anyhow::Result<()> {
    let mut notices = client.subscribe(projection_position(namespace, model)).await?;
    loop {
        let at: i64 = sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = $1")
            .bind(model.name())
            .fetch_one(pool)
            .await?;
        if at as u64 >= last {
            return Ok(());
        }
        if let Ok(Some(notice)) = tokio::time::timeout(Duration::from_secs(1), notices.next()).await {
            if live::ProjectionPosition::decode(notice.payload)?.position >= last {
                return Ok(());
            }
        }
    }
}

/// What one evaluation measured.
struct Evaluation {
    for_you: f64,
    also: f64,
    baseline: f64,
    for_you_p99: Duration,
    also_p99: Duration,
}

fn recall(found: &[Uuid], held_out: &[Uuid]) -> f64 {
    let hits = found.iter().filter(|book| held_out.contains(book)).count();
    hits as f64 / held_out.len().min(10) as f64
}

fn ids(list: &serde_json::Value) -> Vec<Uuid> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["book"]["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()))
        .collect()
}

/// Sends a library through the projections, then evaluates `sample` of its readers.
async fn evaluate(label: &str, library: &Library, sample: usize, seed: u64) -> anyhow::Result<Evaluation> {
    let run = bench::Run::start("recommendations").await?;
    let client = async_nats::connect(&run.nats_url).await?;
    let store = EventStore::connect(client.clone(), &run.namespace, StreamSettings::default()).await?;
    let pool =
        readstream_runtime::db::connect_and_migrate(&DatabaseConfig::new(&run.database_url), &CancellationToken::new())
            .await?;
    let shutdown = CancellationToken::new();
    let catalog = tokio::spawn(Runner::new(Catalog, pool.clone(), store.clone(), client.clone()).run(shutdown.clone()));
    let projecting =
        tokio::spawn(Runner::new(Recommendations, pool.clone(), store.clone(), client.clone()).run(shutdown.clone()));

    let started = Instant::now();
    let books = library.books.iter().map(|book| Ok((Uuid::nil(), catalog::book(*book), added(*book))));
    let mut last = send_all(&store, books).await?;
    let ratings = library.readers.iter().zip(&library.held_in).flat_map(|(reader, held_in)| {
        held_in.iter().map(move |(book, quarters)| {
            Ok((*reader, ratings::rating(*reader, *book), rated(*reader, *book, *quarters)?))
        })
    });
    last = last.max(send_all(&store, ratings).await?);
    let sent = started.elapsed();
    reached(&client, &run.namespace, ReadModel::Catalog, &pool, last).await?;
    reached(&client, &run.namespace, ReadModel::Recommendations, &pool, last).await?;
    let events = library.books.len() + library.held_in.iter().map(Vec::len).sum::<usize>();
    println!(
        "{label}: {events} events sent in {:.1} s, applied by both projections {:.1} s after the first",
        sent.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );

    let gateway = start_gateway(&run).await?;
    let tokens = readstream_gateway::auth::Tokens::new(SECRET, Duration::from_secs(3_600));
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let candidates: Vec<usize> = (0..library.readers.len())
        .filter(|r| !library.held_out[*r].is_empty() && library.held_in[*r].iter().any(|(_, q)| *q >= 16))
        .collect();
    let mut chosen: Vec<usize> = Vec::new();
    let mut pool_left = candidates.clone();
    while chosen.len() < sample.min(candidates.len()) {
        chosen.push(pool_left.swap_remove(rng.gen_range(0..pool_left.len())));
    }
    let (mut for_you, mut also, mut baseline) = (0.0, 0.0, 0.0);
    let (mut for_you_times, mut also_times) = (Vec::new(), Vec::new());
    for &r in &chosen {
        let reader = library.readers[r];
        let token = tokens.issue(reader, Uuid::now_v7()).map_err(|e| anyhow::anyhow!(e.message))?.0;
        let client = GraphQl::new(&gateway.base_url).with_token(&token);
        let asked = Instant::now();
        let response = client.request(FOR_YOU, json!({})).await?;
        for_you_times.push(asked.elapsed());
        for_you += recall(&ids(&response.data()?["recommendedBooks"]), &library.held_out[r]);
        let liked: Vec<Uuid> = library.held_in[r].iter().filter(|(_, q)| *q >= 16).map(|(b, _)| *b).collect();
        let seed_book = liked[rng.gen_range(0..liked.len())];
        let asked = Instant::now();
        let response = client.request(ALSO, json!({ "b": seed_book })).await?;
        also_times.push(asked.elapsed());
        also += recall(&ids(&response.data()?["book"]["readersAlsoEnjoyed"]), &library.held_out[r]);
        let popular: Vec<Uuid> = sqlx::query_scalar(
            "SELECT c.book_id FROM book_taste_counts c
             WHERE NOT EXISTS (SELECT 1 FROM rec_known k WHERE k.reader_id = $1 AND k.book_id = c.book_id)
             ORDER BY c.readers DESC, c.book_id LIMIT 10",
        )
        .bind(reader)
        .fetch_all(&pool)
        .await?;
        baseline += recall(&popular, &library.held_out[r]);
    }
    gateway.stop().await?;
    shutdown.cancel();
    catalog.await??;
    projecting.await??;
    let n = chosen.len().max(1) as f64;
    for_you_times.sort();
    also_times.sort();
    Ok(Evaluation {
        for_you: for_you / n,
        also: also / n,
        baseline: baseline / n,
        for_you_p99: percentile(&for_you_times, 0.99),
        also_p99: percentile(&also_times, 0.99),
    })
}

async fn start_gateway(run: &bench::Run) -> anyhow::Result<bench::Gateway> {
    bench::Gateway::start_with_secret(run, readstream_gateway::limits::LimitsConfig::without_rate_limits(), SECRET)
        .await
}

/// The rows one 4-star rating of a book new to the system writes, by a reader who already has
/// `books` books in their taste: its pairs, its reader's row and its count.
async fn rows_per_rating(books: usize) -> anyhow::Result<i64> {
    let run = bench::Run::start("recommendation_rows").await?;
    let client = async_nats::connect(&run.nats_url).await?;
    let store = EventStore::connect(client.clone(), &run.namespace, StreamSettings::default()).await?;
    let pool =
        readstream_runtime::db::connect_and_migrate(&DatabaseConfig::new(&run.database_url), &CancellationToken::new())
            .await?;
    let shutdown = CancellationToken::new();
    let projecting =
        tokio::spawn(Runner::new(Recommendations, pool.clone(), store.clone(), client.clone()).run(shutdown.clone()));
    let reader = Uuid::now_v7();
    let theirs: Vec<Uuid> = (0..books).map(|_| Uuid::now_v7()).collect();
    let events = theirs.iter().map(|book| Ok((reader, ratings::rating(reader, *book), rated(reader, *book, 16)?)));
    let last = send_all(&store, events).await?;
    reached(&client, &run.namespace, ReadModel::Recommendations, &pool, last).await?;
    let new = Uuid::now_v7();
    let last =
        send_all(&store, std::iter::once(Ok((reader, ratings::rating(reader, new), rated(reader, new, 16)?)))).await?;
    reached(&client, &run.namespace, ReadModel::Recommendations, &pool, last).await?;
    let pairs: i64 = sqlx::query_scalar("SELECT count(*) FROM book_pairs WHERE book_a = $1 OR book_b = $1")
        .bind(new)
        .fetch_one(&pool)
        .await?;
    shutdown.cancel();
    projecting.await??;
    Ok(pairs + 2)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let books = arg("--books", 100_000)? as usize;
    let readers = arg("--readers", 20_000)? as usize;
    let groups = arg("--groups", 50)? as usize;
    let sample = arg("--sample", 2_000)? as usize;
    let seed = arg("--seed", rand::random::<u32>().into())?;
    println!("recommendations: {books} books, {readers} readers, {groups} taste groups, {sample} readers asked; --seed {seed}");

    let library = generate(seed, books, readers, groups, false);
    let held_out: usize = library.held_out.iter().map(Vec::len).sum();
    let held_in: usize = library.held_in.iter().map(Vec::len).sum();
    println!("library: {held_in} ratings sent, {held_out} of 4 stars and up held out");
    let real = evaluate("taste groups", &library, sample, seed).await?;
    drop(library);
    let control =
        evaluate("control, groups shuffled", &generate(seed, books, readers, groups, true), sample, seed).await?;

    println!();
    println!("recall@10 over {sample} readers          for you   also enjoyed   most popular");
    println!(
        "  taste groups                         {:>7.3}   {:>12.3}   {:>12.3}",
        real.for_you, real.also, real.baseline
    );
    println!(
        "  control, groups shuffled             {:>7.3}   {:>12.3}   {:>12.3}",
        control.for_you, control.also, control.baseline
    );
    let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
    println!("p99: for you {:.1} ms, also enjoyed {:.1} ms", ms(real.for_you_p99), ms(real.also_p99));
    let ratio = real.for_you / real.baseline.max(f64::EPSILON);
    let also_ratio = real.also / real.baseline.max(f64::EPSILON);
    let control_ratio = control.for_you / control.baseline.max(f64::EPSILON);
    bench::target(
        "recommendations: for you, recall@10 / most popular",
        &format!("{ratio:.2}x"),
        ">= 2x",
        ratio >= 2.0,
    )?;
    bench::target(
        "recommendations: also enjoyed, recall@10 / most popular",
        &format!("{also_ratio:.2}x"),
        ">= 2x",
        also_ratio >= 2.0,
    )?;
    bench::target(
        "recommendations: control (groups shuffled) / its most popular",
        &format!("{control_ratio:.2}x"),
        "near 1x (0.5-1.5)",
        (0.5..=1.5).contains(&control_ratio),
    )?;
    for (what, p99) in [("for you", real.for_you_p99), ("also enjoyed", real.also_p99)] {
        bench::target(
            &format!("recommendations: {what} p99"),
            &format!("{:.1} ms", ms(p99)),
            "<= 20 ms",
            p99 <= Duration::from_millis(20),
        )?;
    }
    let mut rows = Vec::new();
    for books in [10, 100, 1_000] {
        rows.push((books, rows_per_rating(books).await?));
    }
    let shown: Vec<String> = rows.iter().map(|(books, written)| format!("{written} with {books} books")).collect();
    println!("rows one rating writes: {}", shown.join(", "));
    let bounded =
        rows.iter().all(|(_, written)| *written <= 2 * readstream_projector::recommendations::PARTNERS as i64 + 2);
    bench::target(
        "recommendations: rows one rating writes (10/100/1,000 books)",
        &shown.join(", "),
        "bounded (<= 66)",
        bounded,
    )?;
    Ok(())
}
