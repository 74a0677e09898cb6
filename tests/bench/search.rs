//! `make bench`: search over 1,000,000 books and 100,000 authors, through the gateway over
//! HTTP, p50/p99 (the target: p99 ≤ 50 ms). Each query is a title or an author's name with one
//! letter changed, as a reader mistypes it.
//!
//! The read models are filled with SQL (this measures searching, not projecting). Titles are
//! three words of three syllables each (1,152 syllables), so their trigrams vary as real titles' do.
//! Usage: readstream-search-bench [--books N] [--requests N]; needs NATS_URL and DATABASE_URL
//! (a server where it may create a database).

use std::time::Instant;

use readstream_e2e::bench::{self, arg, percentile};
use readstream_gateway::limits::LimitsConfig;
use readstream_testkit::graphql::GraphQl;
use serde_json::json;
use sqlx::{Connection, PgConnection};

const QUERY: &str = "query($q: String!) { search(query: $q, first: 20) {
    edges { node { __typename ... on Book { id title } ... on Author { id name } } }
} }";

/// A word of three syllables (onset, vowel, coda: 1,152 of them), picked by hashing `seed`: a
/// SQL expression.
fn word(seed: &str) -> String {
    const ONSETS: &str =
        "'','b','br','c','ch','d','dr','f','g','gr','h','k','l','m','n','p','pr','r','s','sh','st','t','tr','v'";
    const VOWELS: &str = "'a','e','i','o','u','ou','ea','io'";
    const CODAS: &str = "'','n','r','s','l','t'";
    let pick = |list: &str, count: u32, salt: u32| {
        format!("(ARRAY[{list}])[1 + abs(hashint8(({seed}) * 131 + {salt}) % {count})]")
    };
    (0..3)
        .map(|i| {
            format!("{} || {} || {}", pick(ONSETS, 24, i * 3), pick(VOWELS, 8, i * 3 + 1), pick(CODAS, 6, i * 3 + 2))
        })
        .collect::<Vec<_>>()
        .join(" || ")
}

/// `text` with its middle letter changed: a typo.
fn mistyped(text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let middle = chars.len() / 2;
    chars[middle] = if chars[middle] == 'e' { 'a' } else { 'e' };
    chars.into_iter().collect()
}

async fn fill(db: &mut PgConnection, books: i64) -> anyhow::Result<()> {
    let authors = (books / 10).max(1);
    let id = |kind: &str| format!("('00000000-0000-0000-{kind}-' || lpad(to_hex(i), 12, '0'))::uuid");
    sqlx::query(&format!(
        "INSERT INTO authors (author_id, name, bio, added_at, position)
         SELECT {}, initcap({}) || ' ' || initcap({}), '', now(), i FROM generate_series(1, $1::bigint) AS i",
        id("a000"),
        word("i"),
        word("i + 7919")
    ))
    .bind(authors)
    .execute(&mut *db)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO books (book_id, title, subtitle, description, pages, format, added_at, position)
         SELECT {}, initcap({}) || ' ' || {} || ' ' || {}, '', '', 300, 'Paperback', now(), i
         FROM generate_series(1, $1::bigint) AS i",
        id("b000"),
        word("i + 1000003"),
        word("i + 2000003"),
        word("i + 3000017")
    ))
    .bind(books)
    .execute(&mut *db)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO book_authors (book_id, author_id, ordinal)
         SELECT {}, ('00000000-0000-0000-a000-' || lpad(to_hex(1 + i % $2::bigint), 12, '0'))::uuid, 0
         FROM generate_series(1, $1::bigint) AS i",
        id("b000")
    ))
    .bind(books)
    .bind(authors)
    .execute(&mut *db)
    .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let books = arg("--books", 1_000_000)? as i64;
    let requests = arg("--requests", 500)? as usize;
    let run = bench::Run::start("search").await?;
    let mut db = PgConnection::connect(&run.database_url).await?;
    let started = Instant::now();
    fill(&mut db, books).await?;
    // As autovacuum leaves a table: GIN's pending list (where new rows wait to be merged into
    // the index, scanned in full by every search) flushed.
    sqlx::query("VACUUM ANALYZE").execute(&mut db).await?;
    println!(
        "filled the read models with {books} books and {} authors in {:.1} s",
        books / 10,
        started.elapsed().as_secs_f64()
    );
    // What readers look for: titles and names spread over the catalog, each mistyped.
    let titles: Vec<String> =
        sqlx::query_scalar("SELECT title FROM books WHERE position % ($1::bigint / 250) = 0 LIMIT 250")
            .bind(books.max(250))
            .fetch_all(&mut db)
            .await?;
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM authors WHERE position % ($1::bigint / 250) = 0 LIMIT 250")
            .bind((books / 10).max(250))
            .fetch_all(&mut db)
            .await?;
    let queries: Vec<(String, String)> =
        titles.iter().zip(&names).flat_map(|(t, n)| [(mistyped(t), t.clone()), (mistyped(n), n.clone())]).collect();

    let gateway = bench::Gateway::start(&run, LimitsConfig::without_rate_limits()).await?;
    let client = GraphQl::new(&gateway.base_url);

    let (mut timings, mut found_first) = (Vec::with_capacity(requests), 0);
    for i in 0..requests + 50 {
        let (query, meant) = &queries[i % queries.len()];
        let started = Instant::now();
        let response = client.request(QUERY, json!({ "q": query })).await?;
        let elapsed = started.elapsed();
        let first = &response.data()?["search"]["edges"][0]["node"];
        let first = first["title"].as_str().or(first["name"].as_str()).unwrap_or_default();
        if i >= 50 {
            timings.push(elapsed);
            found_first += usize::from(first == meant);
        }
    }
    timings.sort();
    let (p50, p99) = (percentile(&timings, 0.50).as_secs_f64() * 1e3, percentile(&timings, 0.99).as_secs_f64() * 1e3);
    let meant_first = 100.0 * found_first as f64 / requests as f64;
    println!(
        "search, mistyped titles and names (20 hits, through GraphQL over HTTP), {requests} requests over {books} books: \
         p50 {p50:.2} ms  p99 {p99:.2} ms (target ≤ 50 ms); the one meant ranked first in {meant_first:.0}%"
    );
    bench::target(
        &format!("search p99, a mistyped title or name over {books} books"),
        &format!("{p99:.1} ms (p50 {p50:.1} ms; the one meant first in {meant_first:.0}%)"),
        "<= 50 ms",
        p99 <= 50.0,
    )?;
    gateway.stop().await
}
