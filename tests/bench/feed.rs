//! `make bench`, part three: the feed.
//!
//! 1. Feed page latency (first 20 items, through the gateway over HTTP) for viewers following
//!    10, 500 and 5,000 readers, each followed reader with 50 activities, p50/p99 side by side;
//!    and a page 200,000 items deep beside the first.
//! 2. A reader's followers: the first page of a reader with 10 followers, and the first page
//!    and one 200,000 followers deep of a reader with 300,000, p50/p99 side by side.
//! 3. Write amplification: rows the feed projection writes for one rating by authors with 10,
//!    10,000 and 1,000,000 followers, through the projection's own code.
//!
//! The read models are filled with SQL. Usage: readstream-feed-bench [--requests N];
//! needs NATS_URL and DATABASE_URL (a server where it may create a database).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use readstream_contracts::{Envelope, Event, Metadata, RatingsEvent, Stars};
use readstream_e2e::bench::{self, arg, percentile};
use readstream_eventstore::{EventStore, Stored, StreamSettings};
use readstream_projection::{Delivered, Runner};
use readstream_projector::feed::Feed;
use readstream_runtime::{DatabaseConfig, NatsConfig};
use readstream_testkit::graphql::GraphQl;
use serde_json::json;
use sqlx::{Connection, PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const QUERY: &str = "{ viewer { feed(first: 20) {
    edges { cursor node { kind at stars reader { handle } book { title } } }
    pageInfo { hasNextPage endCursor }
} } }";
const FANOUT_LIMIT: u64 = 10_000;
const SECRET: &str = "bench-secret-long-enough-for-hs256-signing";

/// A reader id from a number, so SQL and Rust agree on it.
fn reader(n: u64) -> Uuid {
    Uuid::from_u128(0xfeed_0000_0000_0000_0000_0000_0000_0000 | u128::from(n))
}

const READER_SQL: &str = "('feed0000-0000-0000-0000-' || lpad(to_hex(i), 12, '0'))::uuid";

/// Followees 1..=5000, each with 50 rating activities fanned out to its followers; viewers
/// 10_000_001.. following the first 10, 500 and 5,000 of them.
async fn fill_feeds(db: &mut PgConnection) -> anyhow::Result<Vec<(u64, Uuid)>> {
    sqlx::query(
        "INSERT INTO books (book_id, title, subtitle, description, pages, format, added_at, position)
                 VALUES ('00000000-0000-0000-0000-00000000b00c', 'Bench book', '', '', 300, '', now(), 1)",
    )
    .execute(&mut *db)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO readers (reader_id, handle, display_name, joined_at, position)
         SELECT {READER_SQL}, 'reader' || i, 'Reader ' || i, now(), i FROM generate_series(1, 5000) AS i"
    ))
    .execute(&mut *db)
    .await?;
    // Activity k of followee i sits at position i * 100 + k.
    sqlx::query(&format!(
        "INSERT INTO activities (position, event_index, actor_id, kind, book_id, quarter_stars, occurred_at, backdated, fanned_out)
         SELECT i * 100 + k, 0, {READER_SQL}, 'rated', '00000000-0000-0000-0000-00000000b00c', (4 * (1 + k % 5))::smallint,
                now(), false, true
         FROM generate_series(1, 5000) AS i, generate_series(1, 50) AS k"
    ))
    .execute(&mut *db)
    .await?;
    let mut viewers = Vec::new();
    for (n, following) in [(10_000_001u64, 10u64), (10_000_002, 500), (10_000_003, 5_000)] {
        let viewer = reader(n);
        sqlx::query("INSERT INTO readers (reader_id, handle, display_name, joined_at, position) VALUES ($1, $2, 'Viewer', now(), $3)")
            .bind(viewer)
            .bind(format!("viewer{following}"))
            .bind(n as i64)
            .execute(&mut *db)
            .await?;
        sqlx::query(&format!(
            "INSERT INTO feed_follows (follower_id, followee_id) SELECT $1, {READER_SQL} FROM generate_series(1, $2::bigint) AS i"
        ))
        .bind(viewer)
        .bind(following as i64)
        .execute(&mut *db)
        .await?;
        sqlx::query(&format!(
            "INSERT INTO feed_items (reader_id, position, event_index, actor_id, kind)
             SELECT $1, i * 100 + k, 0, {READER_SQL}, 'rated' FROM generate_series(1, $2::bigint) AS i, generate_series(1, 50) AS k"
        ))
        .bind(viewer)
        .bind(following as i64)
        .execute(&mut *db)
        .await?;
        viewers.push((following, viewer));
    }
    sqlx::query("ANALYZE").execute(&mut *db).await?;
    Ok(viewers)
}

/// Readers 20_000_001..=20_300_000, all following `reader(1)` ("reader1"), the first 10 also
/// `reader(2)` ("reader2"), each follow at the follower's number as its position.
async fn fill_followers(db: &mut PgConnection) -> anyhow::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO readers (reader_id, handle, display_name, joined_at, position)
         SELECT {READER_SQL}, 'reader' || i, 'Reader ' || i, now(), i FROM generate_series(20000001, 20300000) AS i"
    ))
    .execute(&mut *db)
    .await?;
    for (followee, last) in [(reader(1), 20_300_000), (reader(2), 20_000_010)] {
        sqlx::query(&format!(
            "INSERT INTO follows (follower_id, followee_id, since, position)
             SELECT {READER_SQL}, $1, now(), i FROM generate_series(20000001, $2) AS i"
        ))
        .bind(followee)
        .bind(last)
        .execute(&mut *db)
        .await?;
    }
    sqlx::query("ANALYZE follows").execute(&mut *db).await?;
    Ok(())
}

/// p50 and p99 of each list of timings, in ms.
fn p50_p99<const N: usize>(timings: [Vec<Duration>; N]) -> [(f64, f64); N] {
    timings.map(|mut timing| {
        timing.sort();
        (millis(percentile(&timing, 0.5)), millis(percentile(&timing, 0.99)))
    })
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Rows the feed projection writes for one rating by an author with `followers` followers.
async fn rows_written(
    pool: &PgPool,
    store: &EventStore,
    client: &async_nats::Client,
    followers: u64,
    position: u64,
) -> anyhow::Result<i64> {
    let author = reader(20_000_000 + position);
    let mut db = pool.acquire().await?;
    sqlx::query(
        "INSERT INTO feed_follows (follower_id, followee_id)
         SELECT ('fade0000-0000-0000-0000-' || lpad(to_hex(i), 12, '0'))::uuid, $1 FROM generate_series(1, $2::bigint) AS i",
    )
    .bind(author)
    .bind(followers as i64)
    .execute(&mut *db)
    .await?;
    sqlx::query("INSERT INTO feed_follower_counts (reader_id, followers, merged_on_read) VALUES ($1, $2, $3)")
        .bind(author)
        .bind(followers as i64)
        .bind(followers > FANOUT_LIMIT)
        .execute(&mut *db)
        .await?;
    let meta = Metadata {
        occurred_at: Utc::now(),
        actor: Some(author),
        command_id: Uuid::new_v4(),
        correlation_id: Uuid::new_v4(),
        import_job: None,
    };
    let event = Event::Ratings(RatingsEvent::BookRated {
        reader_id: author,
        book_id: Uuid::nil(),
        stars: Stars::whole(5).context("5 stars")?,
        previous_stars: None,
    });
    let batch = vec![Delivered::new("bench", Stored { position, envelope: Envelope::new(meta, vec![event]) })];
    let runner = Runner::new(
        Feed { namespace: store.namespace().to_owned(), fanout_limit: FANOUT_LIMIT },
        pool.clone(),
        store.clone(),
        client.clone(),
    );
    runner.apply_batch(batch).await?;
    let written: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM activities WHERE position = $1) + (SELECT count(*) FROM feed_items WHERE position = $1)",
    )
    .bind(position as i64)
    .fetch_one(&mut *db)
    .await?;
    Ok(written)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let requests = arg("--requests", 500)? as usize;
    let nats_url = std::env::var("NATS_URL").context("set NATS_URL")?;
    let admin_url = std::env::var("DATABASE_URL").context("set DATABASE_URL")?;
    let run_id = Uuid::new_v4().simple().to_string()[..10].to_owned();
    let mut admin = PgConnection::connect(&admin_url).await?;
    let name = format!("bench_feed_{run_id}");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    let database_url = format!("{}/{name}", admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base));
    let pool =
        readstream_runtime::db::connect_and_migrate(&DatabaseConfig::new(&database_url), &CancellationToken::new())
            .await?;
    let started = Instant::now();
    let viewers = fill_feeds(&mut *pool.acquire().await?).await?;
    println!(
        "filled 5,000 readers x 50 activities and three viewers' feeds in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let namespace = format!("bench{run_id}");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let shutdown = CancellationToken::new();
    let config = readstream_gateway::Config {
        nats: NatsConfig::new(&nats_url, &namespace),
        database: DatabaseConfig::new(&database_url),
        addr: listener.local_addr()?,
        jwt_secret: Some(SECRET.into()),
        development: false,
        access_token_lifetime_secs: 3_600,
        read_your_writes_timeout_ms: 1_000,
        command_timeout_ms: 10_000,
        limits: readstream_gateway::limits::LimitsConfig::without_rate_limits(),
        health: readstream_runtime::health::HealthConfig::default(),
        web: Default::default(),
        print_schema: false,
    };
    let gateway = tokio::spawn(readstream_gateway::serve(config, listener, shutdown.clone()));
    readstream_testkit::ready::Readiness::new().gateway(&base_url).wait(Duration::from_secs(10)).await?;
    let tokens = readstream_gateway::auth::Tokens::new(SECRET, Duration::from_secs(3_600));
    let clients: Vec<(u64, GraphQl)> = viewers
        .iter()
        .map(|(following, viewer)| {
            Ok((
                *following,
                GraphQl::new(&base_url)
                    .with_token(tokens.issue(*viewer, uuid::Uuid::now_v7()).map_err(|e| anyhow::anyhow!(e.message))?.0),
            ))
        })
        .collect::<anyhow::Result<_>>()?;

    println!();
    println!("feed page (first 20, through GraphQL over HTTP), {requests} requests each, interleaved");
    let mut timings: Vec<Vec<Duration>> = vec![Vec::new(); clients.len()];
    for i in 0..requests + 50 {
        for (timing, (_, client)) in timings.iter_mut().zip(&clients) {
            let started = Instant::now();
            let response = client.request(QUERY, json!({})).await?;
            let elapsed = started.elapsed();
            let items = response.data()?["viewer"]["feed"]["edges"].as_array().map_or(0, Vec::len);
            anyhow::ensure!(items == 20, "a feed page of {items}");
            if i >= 50 {
                timing.push(elapsed);
            }
        }
    }
    let mut p50_of_10 = 0.0;
    for (mut timing, (following, _)) in timings.into_iter().zip(&clients) {
        timing.sort();
        let (p50, p99) = (millis(percentile(&timing, 0.5)), millis(percentile(&timing, 0.99)));
        if *following == 10 {
            p50_of_10 = p50;
        }
        println!(
            "  following {following:>5}: p50 {p50:>6.2} ms  p99 {p99:>6.2} ms   p50 vs following 10: {:.2}x",
            p50 / p50_of_10
        );
        if *following != 10 {
            bench::flat(&format!("feed page following {following} against following 10"), p50, p50_of_10)?;
        }
    }

    // Deep in a feed: the page after the 200,000th of the 250,000 items of the viewer following
    // 5,000, beside the first page, interleaved. The cursor bounds the index scan, so the page
    // costs what the first does.
    let (_, deepest) = viewers.last().context("no viewers")?;
    let (_, client) = clients.last().context("no clients")?;
    let position: i64 = sqlx::query_scalar(
        "SELECT position FROM feed_items WHERE reader_id = $1 ORDER BY position DESC, event_index DESC OFFSET 199999 LIMIT 1",
    )
    .bind(deepest)
    .fetch_one(&pool)
    .await?;
    let after = readstream_gateway::graphql::shared::encode_cursor("feed", &format!("{position}:0"));
    let deep_query =
        QUERY.replace("feed(first: 20)", "feed(first: 20, after: $after)").replacen('{', "query($after: String) {", 1);
    let mut timings: [Vec<Duration>; 2] = Default::default();
    for i in 0..requests + 50 {
        for (timing, after) in timings.iter_mut().zip([None, Some(&after)]) {
            let started = Instant::now();
            let response = client.request(&deep_query, json!({ "after": after })).await?;
            let elapsed = started.elapsed();
            let items = response.data()?["viewer"]["feed"]["edges"].as_array().map_or(0, Vec::len);
            anyhow::ensure!(items == 20, "a feed page of {items}");
            if i >= 50 {
                timing.push(elapsed);
            }
        }
    }
    let [first, deep] = p50_p99(timings);
    println!(
        "  following  5000, after 200,000 items: p50 {:>6.2} ms  p99 {:>6.2} ms   p50 vs its first page ({:.2} ms): {:.2}x",
        deep.0,
        deep.1,
        first.0,
        deep.0 / first.0
    );
    bench::flat("feed page after 200,000 items against its first page", deep.0, first.0)?;

    // Followers, newest first: each page is an index range from its cursor, whatever the count.
    let started = Instant::now();
    fill_followers(&mut *pool.acquire().await?).await?;
    println!();
    println!(
        "a reader's followers (first 20, through GraphQL over HTTP), {requests} requests each, interleaved; filled 300,000 in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let followers_query = "query($handle: String!, $after: String) {
        reader(handle: $handle) { followers(first: 20, after: $after) { edges { cursor node { handle } } } } }";
    let deep = readstream_gateway::graphql::shared::encode_cursor("follows", "20100001");
    let pages = [("reader2", None), ("reader1", None), ("reader1", Some(&deep))];
    let mut timings: [Vec<Duration>; 3] = Default::default();
    for i in 0..requests + 50 {
        for (timing, (handle, after)) in timings.iter_mut().zip(pages) {
            let started = Instant::now();
            let response = client.request(followers_query, json!({ "handle": handle, "after": after })).await?;
            let elapsed = started.elapsed();
            let items = response.data()?["reader"]["followers"]["edges"].as_array().map_or(0, Vec::len);
            anyhow::ensure!(items == if handle == "reader2" { 10 } else { 20 }, "a followers page of {items}");
            if i >= 50 {
                timing.push(elapsed);
            }
        }
    }
    let [few, first, deep] = p50_p99(timings);
    for (label, (p50, p99)) in
        [("10 followers, first page", few), ("300,000, first page", first), ("300,000, after 200,000", deep)]
    {
        println!("  {label:<26} p50 {p50:>6.2} ms  p99 {p99:>6.2} ms   p50 vs 10 followers: {:.2}x", p50 / few.0);
    }
    bench::flat("followers page of a reader with 300,000 against one with 10", first.0, few.0)?;
    bench::flat("followers page after 200,000 against one with 10 followers", deep.0, few.0)?;

    println!();
    println!("write amplification: rows written for one rating (fan-out limit {FANOUT_LIMIT})");
    let client = async_nats::connect(&nats_url).await?;
    let store = EventStore::connect(client.clone(), &namespace, StreamSettings::default()).await?;
    for (position, followers) in [(1_000_000_001u64, 10u64), (1_000_000_002, 10_000), (1_000_000_003, 1_000_000)] {
        let written = rows_written(&pool, &store, &client, followers, position).await?;
        println!("  author with {followers:>9} followers: {written:>6} rows");
        // One activity, and an item for each follower up to the fan-out limit; past it, read on merge.
        let bound = if followers > FANOUT_LIMIT { 1 } else { followers as i64 + 1 };
        bench::target(
            &format!("rows written for one rating, author with {followers} followers"),
            &format!("{written} rows"),
            &format!("<= {bound} (fan-out limit {FANOUT_LIMIT})"),
            written <= bound,
        )?;
    }
    shutdown.cancel();
    gateway.await??;
    Ok(())
}
