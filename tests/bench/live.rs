//! `make bench`: live pushes to many WebSockets on one gateway. This process runs the whole
//! stack (command services, projector, gateway) over the NATS and Postgres that `NATS_URL` and
//! `DATABASE_URL` name; a second process of this binary (`--load`) is the clients: it opens
//! `--clients` WebSockets, each subscribed to one book's `bookRatingsChanged`, then rates the
//! book `--rounds` times, one reader after another, and times each push from the mutation's
//! start to its arrival on every WebSocket. Printed: the gateway process's memory per idle
//! connection, and the p50/p99/max of the pushes, beside the CPU each process used.
//!
//! Usage: readstream-live-bench [--clients N] [--rounds N].

use std::{
    io::{BufRead as _, BufReader, Write as _},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _};
use futures::StreamExt as _;
use readstream_e2e::{
    bench::{arg, cpu_seconds, percentile, resident},
    Options, System,
};
use readstream_gateway::limits::LimitsConfig;
use readstream_testkit::graphql::GraphQl;
use serde_json::{json, Value};

const SUBSCRIPTION: &str = "subscription($b: ID!) { bookRatingsChanged(bookId: $b) { ratings { count } } }";
/// WebSockets being opened at once.
const OPENING_AT_ONCE: usize = 200;
/// The longest a push may take before the bench counts it lost.
const PUSH_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let clients = arg("--clients", 15_000)?;
    let rounds = arg("--rounds", 5)?;
    if std::env::args().any(|a| a == "--load") {
        let url = std::env::args().skip_while(|a| a != "--url").nth(1).context("--url")?;
        let book = std::env::args().skip_while(|a| a != "--book").nth(1).context("--book")?;
        let tokens: Vec<String> = std::env::args()
            .skip_while(|a| a != "--tokens")
            .nth(1)
            .context("--tokens")?
            .split(',')
            .map(str::to_owned)
            .collect();
        return load(&url, &book, clients as usize, &tokens).await;
    }
    serve(clients, rounds).await
}

/// The stack, measured while the other process holds its WebSockets and rates the book.
async fn serve(clients: u64, rounds: u64) -> anyhow::Result<()> {
    let limits = LimitsConfig { ws_max_connections_per_client: usize::MAX, ..LimitsConfig::without_rate_limits() };
    let system = System::start_with(Options { limits, ..Options::default() }).await?;
    let librarian = system.librarian().await?;
    let author = librarian
        .request("mutation { addAuthor(input: { name: \"Live Bench Author\" }) { authorId } }", json!({}))
        .await?
        .data()?["addAuthor"]["authorId"]
        .clone();
    let added = librarian
        .request(
            "mutation($a: ID!) { addBook(input: { title: \"Live Bench\", pages: 100, authorIds: [$a] }) { bookId position } }",
            json!({ "a": author }),
        )
        .await?
        .data()?["addBook"]
        .clone();
    let book = added["bookId"].as_str().context("no book id")?.to_owned();
    // Wait until the book is projected, so every subscription's first item is its snapshot.
    let position = added["position"].as_u64().context("no position")?;
    librarian.request_at("query($b: ID!) { book(id: $b) { id } }", json!({ "b": book }), position).await?;
    let tokens = (0..rounds)
        .map(|_| system.token_for(uuid::Uuid::new_v4(), Duration::from_secs(3_600)))
        .collect::<anyhow::Result<Vec<_>>>()?;

    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = resident();
    let mut load = Command::new(std::env::current_exe()?)
        .args(["--load", "--url", &system.base_url, "--book", &book, "--tokens", &tokens.join(",")])
        .args(["--clients", &clients.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut said = BufReader::new(load.stdout.take().context("no stdout")?).lines();
    let mut told = load.stdin.take().context("no stdin")?;
    let opened = tokio::task::spawn_blocking(move || {
        let line = said.next().context("the load process ended")??;
        anyhow::Ok((line, said))
    });
    let (line, mut said) = opened.await??;
    let connected: Value = serde_json::from_str(&line)?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held = resident();
    let per_connection = held.saturating_sub(idle) as f64 / clients as f64;
    println!(
        "{clients} WebSockets, each subscribed to one book, opened in {:.1} s; gateway process {:.0} MB idle, {:.0} MB holding them: {:.1} KB per idle connection (target ≤ 20 KB)",
        connected["seconds"].as_f64().unwrap_or(0.0),
        idle as f64 / 1e6,
        held as f64 / 1e6,
        per_connection / 1e3
    );

    let cpu = cpu_seconds();
    let started = Instant::now();
    writeln!(told, "go")?;
    let measured = tokio::task::spawn_blocking(move || anyhow::Ok(said.next().context("the load process ended")??));
    let line = measured.await??;
    let pushes: Value = serde_json::from_str(&line)?;
    let (wall, cpu) = (started.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    println!(
        "{rounds} ratings pushed to {clients} subscribers: {} of {} delivered; p50 {} ms, p99 {} ms, max {} ms from the mutation (target p99 ≤ 250 ms); stack {:.0}% CPU, clients {:.0}% CPU over {wall:.1} s",
        pushes["delivered"],
        clients * rounds,
        pushes["p50_ms"],
        pushes["p99_ms"],
        pushes["max_ms"],
        cpu / wall * 100.0,
        pushes["cpu_seconds"].as_f64().unwrap_or(0.0) / wall * 100.0,
    );
    drop(told);
    load.wait()?;
    system.stop().await
}

/// The clients' process: opens `clients` subscriptions, says so on stdout, then on "go" from
/// stdin rates the book once per token and prints the pushes' timings.
async fn load(url: &str, book: &str, clients: usize, tokens: &[String]) -> anyhow::Result<()> {
    let started = Instant::now();
    let client = GraphQl::new(url);
    let (arrived, mut arrivals) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let subscriptions = futures::stream::iter(0..clients)
        .map(|_| {
            let client = &client;
            async move {
                let mut subscription = client.subscribe(SUBSCRIPTION, json!({ "b": book })).await?;
                subscription.next(PUSH_TIMEOUT).await?;
                anyhow::Ok(subscription)
            }
        })
        .buffer_unordered(OPENING_AT_ONCE)
        .collect::<Vec<_>>()
        .await;
    for subscription in subscriptions {
        let mut subscription = subscription?;
        let arrived = arrived.clone();
        tokio::spawn(async move {
            while let Ok(item) = subscription.next(Duration::from_secs(3_600)).await {
                let count = item["bookRatingsChanged"]["ratings"]["count"].as_u64().unwrap_or(0);
                if arrived.send((count, Instant::now())).is_err() {
                    return;
                }
            }
        });
    }
    println!("{}", json!({ "seconds": started.elapsed().as_secs_f64() }));
    let mut go = String::new();
    tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut go)).await??;

    let cpu = cpu_seconds();
    let mut latencies = Vec::with_capacity(clients * tokens.len());
    for (round, token) in tokens.iter().enumerate() {
        let count = round as u64 + 1;
        let rater = client.with_token(token.as_str());
        let sent = Instant::now();
        let rated = rater
            .request("mutation($b: ID!) { rateBook(bookId: $b, stars: 4) { position } }", json!({ "b": book }))
            .await?;
        rated.data()?;
        let mut delivered = 0;
        let deadline = tokio::time::Instant::now() + PUSH_TIMEOUT;
        while delivered < clients {
            let Ok(Some((pushed, at))) = tokio::time::timeout_at(deadline, arrivals.recv()).await else {
                break;
            };
            if pushed == count {
                latencies.push(at.duration_since(sent));
                delivered += 1;
            }
        }
        if delivered < clients {
            bail!("round {round}: {delivered} of {clients} subscribers got the push within {PUSH_TIMEOUT:?}");
        }
    }
    latencies.sort();
    let ms = |d: Duration| (d.as_secs_f64() * 1e4).round() / 10.0;
    println!(
        "{}",
        json!({
            "delivered": latencies.len(),
            "p50_ms": ms(percentile(&latencies, 0.50)),
            "p99_ms": ms(percentile(&latencies, 0.99)),
            "max_ms": ms(percentile(&latencies, 1.0)),
            "cpu_seconds": cpu_seconds() - cpu,
        })
    );
    Ok(())
}
