//! `make bench`, part two: the first page of a book's reviews for a book with 10 reviews and
//! for one with 1,000,000, through the gateway over HTTP, p50/p99 side by side in one run.
//!
//! The read models are filled with SQL (this measures reading the page, not projecting it).
//! Usage: readstream-reviews-bench [--reviews N] [--requests N]; needs NATS_URL and
//! DATABASE_URL (a server where it may create a database).

use std::time::{Duration, Instant};

use readstream_e2e::bench::{self, arg, percentile};
use readstream_gateway::limits::LimitsConfig;
use readstream_testkit::graphql::GraphQl;
use serde_json::json;
use sqlx::{Connection, PgConnection};

const QUERY: &str = "query($id: ID!, $order: ReviewOrder!) { book(id: $id) {
    reviews(first: 20, orderBy: $order) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { id writtenOn stars likesCount commentsCount containsSpoilers body reviewer { handle reviewsCount } } }
    }
} }";

/// Book `book` (1 or 2) with `count` reviews by as many readers, numbered from `first_reader`.
async fn fill(db: &mut PgConnection, book: i64, count: i64, first_reader: i64) -> anyhow::Result<()> {
    let book_id = format!("00000000-0000-0000-0000-b0000000000{book}");
    sqlx::query(
        "INSERT INTO books (book_id, title, subtitle, description, pages, format, added_at, position)
         VALUES ($1::uuid, 'Bench book', '', '', 300, 'Paperback', now(), $2)",
    )
    .bind(&book_id)
    .bind(book)
    .execute(&mut *db)
    .await?;
    let reader = "('00000000-0000-0000-0000-' || lpad(to_hex(i), 12, '0'))::uuid";
    sqlx::query(&format!(
        "INSERT INTO readers (reader_id, handle, display_name, joined_at, position)
         SELECT {reader}, 'reader' || i, 'Reader ' || i, now(), i FROM generate_series($1::bigint, $2::bigint) AS i"
    ))
    .bind(first_reader)
    .bind(first_reader + count - 1)
    .execute(&mut *db)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO reviews (review_id, reader_id, book_id, body, contains_spoilers, written_on, published_at,
                              quarter_stars, likes_count, comments_count, position)
         SELECT gen_random_uuid(), {reader}, $3::uuid, repeat('A considered review. ', 40), i % 17 = 0,
                date '2026-01-01' - (i % 3650)::int, now(), (4 * (1 + i % 5))::smallint, i % 97, i % 7, i
         FROM generate_series($1::bigint, $2::bigint) AS i"
    ))
    .bind(first_reader)
    .bind(first_reader + count - 1)
    .bind(&book_id)
    .execute(&mut *db)
    .await?;
    sqlx::query("INSERT INTO book_review_counts (book_id, reviews_count) VALUES ($1::uuid, $2)")
        .bind(&book_id)
        .bind(count)
        .execute(&mut *db)
        .await?;
    sqlx::query(&format!(
        "INSERT INTO reader_review_counts (reader_id, reviews_count)
         SELECT {reader}, 1 FROM generate_series($1::bigint, $2::bigint) AS i"
    ))
    .bind(first_reader)
    .bind(first_reader + count - 1)
    .execute(&mut *db)
    .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let big = arg("--reviews", 1_000_000)? as i64;
    let requests = arg("--requests", 500)? as usize;
    let run = bench::Run::start("reviews").await?;
    let mut db = PgConnection::connect(&run.database_url).await?;
    let started = Instant::now();
    fill(&mut db, 1, 10, 1).await?;
    fill(&mut db, 2, big, 11).await?;
    // Vacuumed, not only analysed: a table just loaded with a million rows has autovacuum
    // working through it (and every first read setting hint bits) for minutes, which is the
    // load, not the page.
    sqlx::query("VACUUM (ANALYZE)").execute(&mut db).await?;
    println!("filled the read models with 10 + {big} reviews in {:.1} s", started.elapsed().as_secs_f64());

    let gateway = bench::Gateway::start(&run, LimitsConfig::without_rate_limits()).await?;
    let client = GraphQl::new(&gateway.base_url);

    println!();
    println!("first page of a book's reviews (20, through GraphQL over HTTP), {requests} requests each");
    for order in ["NEWEST", "MOST_LIKED", "HIGHEST_RATED"] {
        let mut timings: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
        for i in 0..requests + 50 {
            // Interleaved, so both books see the same machine noise.
            for (book, timing) in timings.iter_mut().enumerate() {
                let id = format!("00000000-0000-0000-0000-b0000000000{}", book + 1);
                let started = Instant::now();
                let response = client.request(QUERY, json!({ "id": id, "order": order })).await?;
                let elapsed = started.elapsed();
                let edges = response.data()?["book"]["reviews"]["edges"].as_array().map_or(0, Vec::len);
                anyhow::ensure!(edges == 10 || edges == 20, "unexpected page of {edges}");
                if i >= 50 {
                    timing.push(elapsed);
                }
            }
        }
        let [small, large] = timings.map(|mut t| {
            t.sort();
            (percentile(&t, 0.50), percentile(&t, 0.99))
        });
        println!(
            "  {order:<14} 10 reviews: p50 {:>6.2} ms  p99 {:>6.2} ms   {big} reviews: p50 {:>6.2} ms  p99 {:>6.2} ms   p50 ratio {:.2}x",
            small.0.as_secs_f64() * 1e3,
            small.1.as_secs_f64() * 1e3,
            large.0.as_secs_f64() * 1e3,
            large.1.as_secs_f64() * 1e3,
            large.0.as_secs_f64() / small.0.as_secs_f64()
        );
        bench::flat(
            &format!("reviews page ({order}) of a book with {big} reviews against one with 10"),
            large.0.as_secs_f64() * 1e3,
            small.0.as_secs_f64() * 1e3,
        )?;
    }
    gateway.stop().await
}
