//! `make bench`: what the size of the whole system costs a page. No read path may scale with
//! it: the book page and the feed page (following 2,000; `pages::fill`) are served from two
//! databases alike but for how many readers exist besides, 10,000 in all in one and
//! `--readers` (1,000,000) in the other. One in ten of those readers shares their reading with
//! no one (`ONLY_ME`, which the feed filters by), and each has rated the page's book (an
//! activity of their own, in no one's feed). Each database has a gateway of its own; the two
//! are asked in turns, so the machine's noise falls on both alike. Target: each page's p50 with
//! the larger system is at most 1.1× its p50 with the smaller.
//!
//! Usage: readstream-scale-bench [--requests N, per page and system, default 500] [--readers N];
//! needs NATS_URL and DATABASE_URL (a server where it may create databases).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use readstream_e2e::bench::{
    self, arg,
    pages::{fill, BOOK, READSTREAM_BOOK_PAGE, READSTREAM_FEED_PAGE, VIEWER},
    percentile,
};
use readstream_testkit::graphql::GraphQl;
use serde_json::json;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

const SECRET: &str = "scale-bench-secret-long-enough-for-hs256";
/// The feed page's viewer follows this many readers.
const FOLLOWEES: i64 = 2_000;
/// A reader id from a number, in SQL (`i`): apart from `pages::READER_SQL`'s.
const OTHER_SQL: &str = "('5ca1e000-0000-0000-0000-' || lpad(to_hex(i), 12, '0'))::uuid";

/// Readers until the system has `total`: one in ten sharing their reading with no one, each
/// with a rating of the page's book in the activities (fanned out to no one).
async fn grow_to(db: &mut PgConnection, total: i64) -> anyhow::Result<i64> {
    let present: i64 = sqlx::query_scalar("SELECT count(*) FROM readers").fetch_one(&mut *db).await?;
    let adding = (total - present).max(0);
    sqlx::query(&format!(
        "INSERT INTO readers (reader_id, handle, display_name, joined_at, position, reading_visibility)
         SELECT {OTHER_SQL}, 'other' || i, 'Other ' || i, now(), 10000000 + i,
                CASE WHEN i % 10 = 0 THEN 'ONLY_ME' ELSE 'EVERYONE' END
         FROM generate_series(1, $1::bigint) AS i"
    ))
    .bind(adding)
    .execute(&mut *db)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO activities (position, event_index, actor_id, kind, book_id, quarter_stars, occurred_at, backdated, fanned_out)
         SELECT 10000000 + i, 0, {OTHER_SQL}, 'rated', $2::uuid, (4 + 4 * (i % 5))::smallint, now(), false, true
         FROM generate_series(1, $1::bigint) AS i"
    ))
    .bind(adding)
    .bind(BOOK)
    .execute(&mut *db)
    .await?;
    sqlx::query("VACUUM ANALYZE").execute(&mut *db).await?;
    Ok(present + adding)
}

/// One system: its run, its gateway, and a client signed in as the viewer.
struct System {
    readers: i64,
    gateway: bench::Gateway,
    client: GraphQl,
}

async fn system(total: i64) -> anyhow::Result<System> {
    let run = bench::Run::start("scale").await?;
    let mut db = PgConnection::connect(&run.database_url).await?;
    fill(&mut db, FOLLOWEES).await?;
    let readers = grow_to(&mut db, total).await?;
    db.close().await?;
    let limits = readstream_gateway::limits::LimitsConfig::without_rate_limits();
    let gateway = bench::Gateway::start_with_secret(&run, limits, SECRET).await?;
    let tokens = readstream_gateway::auth::Tokens::new(SECRET, Duration::from_secs(3_600));
    let viewer: Uuid = VIEWER.parse()?;
    let token = tokens.issue(viewer, Uuid::now_v7()).map_err(|e| anyhow::anyhow!(e.message))?.0;
    let client = GraphQl::new(&gateway.base_url).with_token(&token);
    Ok(System { readers, gateway, client })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let requests = arg("--requests", 500)? as usize;
    let larger = arg("--readers", 1_000_000)? as i64;
    let started = Instant::now();
    let systems = [system(10_000).await?, system(larger).await?];
    println!(
        "two systems of {} and {} readers filled in {:.1} s; the book page and the feed page (following {FOLLOWEES}), \
         {requests} requests each, the systems in turns",
        systems[0].readers,
        systems[1].readers,
        started.elapsed().as_secs_f64()
    );
    let pages =
        [("book page", READSTREAM_BOOK_PAGE, json!({ "id": BOOK })), ("feed page", READSTREAM_FEED_PAGE, json!({}))];
    for (name, query, variables) in &pages {
        let mut timings: [Vec<Duration>; 2] = Default::default();
        for i in 0..requests + 50 {
            for (timing, system) in timings.iter_mut().zip(&systems) {
                let asked = Instant::now();
                let response = system.client.request(query, variables.clone()).await?;
                let elapsed = asked.elapsed();
                response.data().with_context(|| format!("the {name} of {} readers", system.readers))?;
                if i >= 50 {
                    timing.push(elapsed);
                }
            }
        }
        let [small, large] = timings.map(|mut timing| {
            timing.sort();
            (percentile(&timing, 0.5).as_secs_f64() * 1e3, percentile(&timing, 0.99).as_secs_f64() * 1e3)
        });
        let ratio = large.0 / small.0;
        println!(
            "  {name:<10} {} readers: p50 {:.2} ms p99 {:.2} ms; {} readers: p50 {:.2} ms p99 {:.2} ms; p50 {ratio:.2}x",
            systems[0].readers, small.0, small.1, systems[1].readers, large.0, large.1
        );
        bench::flat(
            &format!("scale: the {name} with {} readers against {}", systems[1].readers, systems[0].readers),
            large.0,
            small.0,
        )?;
    }
    for system in systems {
        system.gateway.stop().await?;
    }
    Ok(())
}
