//! `make bench`: library imports through the whole stack (command services, projector and
//! gateway in this one process, over the NATS and Postgres that `NATS_URL` and `DATABASE_URL`
//! name):
//!   1. 10,000 Goodreads rows of books already in the catalog (by ISBN), each a "want to read"
//!      and a rating: rows/s from the upload to the job's end (target ≥ 2,000 rows/s);
//!   2. 100,000 rows, each a "want to read" of one of the same books (so only the first 10,000
//!      add anything to the reader's shelves): the process's peak memory above what it held
//!      just before the upload (target ≤ 100 MB), sampled every 50 ms.
//!
//! Usage: readstream-import-bench [--books N] [--rows N] [--memory-rows N].

use std::time::{Duration, Instant};

use futures::{StreamExt as _, TryStreamExt as _};
use readstream_e2e::{
    bench::{self, arg, resident},
    System,
};
use readstream_testkit::graphql::GraphQl;
use serde_json::{json, Value};

const HEADER: &str = "Book Id,Title,Author,Author l-f,Additional Authors,ISBN,ISBN13,My Rating,Average Rating,Publisher,Binding,Number of Pages,Year Published,Original Publication Year,Date Read,Date Added,Bookshelves,Bookshelves with positions,Exclusive Shelf,My Review,Spoiler,Private Notes,Read Count,Owned Copies";

/// The `n`th ISBN-13 of the bench (978 and nine digits, with its check digit).
fn isbn(n: u64) -> String {
    let body = format!("978{n:09}");
    let sum: u32 =
        body.chars().filter_map(|c| c.to_digit(10)).enumerate().map(|(i, d)| if i % 2 == 0 { d } else { d * 3 }).sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

async fn mutate(client: &GraphQl, query: &str, variables: Value) -> anyhow::Result<Value> {
    Ok(client.request(query, variables).await?.data()?.clone())
}

/// `books` books of one author, each with an edition: what the files' rows match.
async fn fill(system: &System, books: u64) -> anyhow::Result<()> {
    let librarian = system.librarian().await?;
    let author =
        mutate(&librarian, "mutation { addAuthor(input: { name: \"Bench Author\" }) { authorId } }", json!({})).await?;
    let author = author["addAuthor"]["authorId"].clone();
    futures::stream::iter(0..books)
        .map(|n| {
            let (librarian, author) = (&librarian, &author);
            async move {
                let input = json!({ "title": format!("Bench Book {n}"), "pages": 300, "authorIds": [author] });
                let added = mutate(
                    librarian,
                    "mutation($i: AddBookInput!) { addBook(input: $i) { bookId } }",
                    json!({ "i": input }),
                )
                .await?;
                let edition = json!({ "bookId": added["addBook"]["bookId"], "isbn": isbn(n) });
                mutate(
                    librarian,
                    "mutation($i: AddEditionInput!) { addEdition(input: $i) { position } }",
                    json!({ "i": edition }),
                )
                .await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(32)
        .try_collect::<()>()
        .await
}

fn file(rows: u64, books: u64, rated: bool) -> String {
    let mut file = format!("{HEADER}\n");
    for row in 0..rows {
        let stars = if rated { row % 5 + 1 } else { 0 };
        file.push_str(&format!(
            "{row},Bench Book {n},Bench Author,,,,=\"{isbn}\",{stars},,,,,,,,2024/01/01,,,to-read,,,,0,0\n",
            n = row % books,
            isbn = isbn(row % books)
        ));
    }
    file
}

/// Uploads `file` as a new reader; the time until the job is done, and the job.
async fn import(system: &System, handle: &str, file: String) -> anyhow::Result<(Duration, Value)> {
    let signed_up = mutate(
        &system.client(),
        "mutation($h: String!) { signUp(input: { handle: $h, displayName: \"Bench\", password: \"correct horse battery\" }) { token } }",
        json!({ "h": handle }),
    )
    .await?;
    let reader = system.client().with_token(signed_up["signUp"]["token"].as_str().unwrap_or_default());
    let started = Instant::now();
    let upload = "mutation($file: Upload!) { importLibrary(file: $file, format: GOODREADS) { id } }";
    let job =
        reader.upload(upload, json!({}), file.into_bytes(), "bench.csv").await?.data()?["importLibrary"]["id"].clone();
    loop {
        let state = reader
            .request(
                "query($id: ID!) { importJob(id: $id) { status rowsImported rowsSkipped rowsFailed } }",
                json!({ "id": job }),
            )
            .await?
            .data()?["importJob"]
            .clone();
        if state["status"] == "DONE" || state["status"] == "FAILED" {
            return Ok((started.elapsed(), state));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let books = arg("--books", 10_000)?;
    let rows = arg("--rows", 10_000)?;
    let memory_rows = arg("--memory-rows", 100_000)?;
    let system = System::start().await?;
    let filling = Instant::now();
    fill(&system, books).await?;
    // The import finds books in the read models: time it once they hold the whole catalog.
    let pool = sqlx::PgPool::connect(&system.database_url).await?;
    while sqlx::query_scalar::<_, i64>("SELECT count(*) FROM editions").fetch_one(&pool).await? < books as i64 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "catalog: {books} books with an edition each, added and projected in {:.1} s",
        filling.elapsed().as_secs_f64()
    );

    let (took, job) = import(&system, "bench_speed", file(rows, books, true)).await?;
    let per_second = rows as f64 / took.as_secs_f64();
    println!(
        "import of {rows} rows of books in the catalog (want to read + rating): {:.1} s, {per_second:.0} rows/s (target ≥ 2,000): {job}",
        took.as_secs_f64()
    );
    bench::target(
        &format!("import of {rows} rows of books in the catalog"),
        &format!("{per_second:.0} rows/s ({:.1} s)", took.as_secs_f64()),
        ">= 2,000 rows/s",
        per_second >= 2_000.0,
    )?;

    // The file is made first: the bench's own copy is not the import's memory.
    let memory_file = file(memory_rows, books, false);
    let idle = resident();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(idle));
    let sampling = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(resident(), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let (took, job) = import(&system, "bench_memory", memory_file).await?;
    sampling.abort();
    let above = peak.load(std::sync::atomic::Ordering::Relaxed).saturating_sub(idle);
    // The file names the catalog's `books` books over and over: past its first `books` rows,
    // a row repeats one already shelved and writes nothing (its time is not an import's rate).
    println!(
        "import of {memory_rows} rows (only the first {} new to the reader): {:.1} s; peak memory {:.1} MB above the {:.1} MB held before (target ≤ 100 MB): {job}",
        books.min(memory_rows),
        took.as_secs_f64(),
        above as f64 / 1e6,
        idle as f64 / 1e6
    );
    bench::target(
        &format!("memory of an import of {memory_rows} rows, above what the process held before"),
        &format!("{:.1} MB ({memory_rows} rows in {:.1} s)", above as f64 / 1e6, took.as_secs_f64()),
        "<= 100 MB",
        above <= 100_000_000,
    )?;
    system.stop().await
}
