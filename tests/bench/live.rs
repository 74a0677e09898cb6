//! `make bench`: live pushes to many WebSockets on one gateway. This process runs the whole
//! stack (command services, projector, gateway) over the NATS and Postgres that `NATS_URL` and
//! `DATABASE_URL` name; a second process of this binary (`--load <plan>`) is the clients. It
//! opens `--clients` WebSockets, each with one subscription, then rates books `--rounds` times
//! and times each push from the mutation's start to its arrival on every WebSocket. What the
//! sockets follow:
//!   - by default one book's `bookRatingsChanged`; a reader after another rates the book;
//!   - with `--reviews`, one book's `bookReviewAdded` as the web app's book page asks for it; a
//!     reader after another publishes a review of the book;
//!   - with `--feed`, each its own reader's `feed`, every reader following the same
//!     `--followees` accounts, each with more followers than the fan-out limit (so a live feed
//!     follows each of them); one of them rates a book each round.
//!
//! Printed: the gateway process's memory per idle connection, the p50/p99/max of the pushes,
//! and the CPU of each process. One kind per run, so neither reuses memory the other freed.
//!
//! With `--node` the clients are a Node app's instead of this binary's: graphql-ws over ws
//! (`tests/bench/live-clients`, `npm ci` there first), as most web apps hold a subscription.
//!
//! Usage: readstream-live-bench [--feed | --reviews] [--node] [--clients N] [--rounds N] [--followees N].

use std::{
    io::{BufRead as _, BufReader, Write as _},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _};
use futures::StreamExt as _;
use readstream_e2e::{
    bench::{self, arg, cpu_seconds, percentile, resident, user_and_system_cpu_seconds},
    Options, System,
};
use readstream_gateway::limits::LimitsConfig;
use readstream_testkit::graphql::GraphQl;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

/// WebSockets being opened at once.
const OPENING_AT_ONCE: usize = 200;
/// The longest a push may take before the bench counts it lost.
const PUSH_TIMEOUT: Duration = Duration::from_secs(30);
const TOKEN_LIFETIME: Duration = Duration::from_secs(3_600);

/// What the clients' process does, written to a file by this one.
#[derive(Serialize, Deserialize)]
struct Plan {
    url: String,
    subscription: String,
    variables: Value,
    /// Where an item's position is (a JSON pointer into its `data`).
    position: String,
    /// Whether the subscription sends what is now before any change.
    snapshot: bool,
    /// One token per socket; anonymous sockets when empty.
    viewers: Vec<String>,
    /// Each round's actor (a token) and book.
    rounds: Vec<(String, String)>,
    /// What each round's actor does to its book (`$b`), and where its answer's position is (a
    /// JSON pointer into its `data`).
    mutation: String,
    mutation_position: String,
}

/// What a round does by default: its actor rates the book.
const RATE: &str = "mutation($b: ID!) { rateBook(bookId: $b, stars: 4) { position } }";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if let Some(plan) = std::env::args().skip_while(|a| a != "--load").nth(1) {
        let plan: Plan = serde_json::from_slice(&std::fs::read(plan)?)?;
        return load(plan, arg("--clients", 0)? as usize).await;
    }
    let clients = arg("--clients", 15_000)?;
    let rounds = arg("--rounds", 5)?;
    let followees = arg("--followees", 20)?;
    let limits = LimitsConfig { ws_max_connections_per_client: usize::MAX, ..LimitsConfig::without_rate_limits() };
    let system = System::start_with(Options { limits, ..Options::default() }).await?;
    let books = add_books(&system, rounds).await?;
    if std::env::args().any(|a| a == "--feed") {
        feed(&system, books, clients, followees).await?;
    } else if std::env::args().any(|a| a == "--reviews") {
        reviews(&system, &books[0], clients, rounds).await?;
    } else {
        book(&system, &books[0], clients, rounds).await?;
    }
    system.stop().await
}

async fn book(system: &System, book: &str, clients: u64, rounds: u64) -> anyhow::Result<()> {
    let raters =
        (0..rounds).map(|_| system.token_for(Uuid::new_v4(), TOKEN_LIFETIME)).collect::<Result<Vec<_>, _>>()?;
    let plan = Plan {
        url: system.base_url.clone(),
        subscription: "subscription($b: ID!) { bookRatingsChanged(bookId: $b) { position ratings { count } } }".into(),
        variables: json!({ "b": book }),
        position: "/bookRatingsChanged/position".into(),
        snapshot: true,
        viewers: Vec::new(),
        rounds: raters.into_iter().map(|rater| (rater, book.to_owned())).collect(),
        mutation: RATE.into(),
        mutation_position: "/rateBook/position".into(),
    };
    measure("book", "each subscribed to one book", plan, clients).await
}

async fn reviews(system: &System, book: &str, clients: u64, rounds: u64) -> anyhow::Result<()> {
    let reviewers =
        (0..rounds).map(|_| system.token_for(Uuid::new_v4(), TOKEN_LIFETIME)).collect::<Result<Vec<_>, _>>()?;
    let plan = Plan {
        url: system.base_url.clone(),
        // What the web app's book page asks for each new review (without its `since`).
        subscription: "subscription($b: ID!) { bookReviewAdded(bookId: $b) {
            id stars writtenOn containsSpoilers body(revealSpoilers: true) position likesCount commentsCount
            reviewer { url handle displayName reviewsCount followersCount avatar { url(size: SMALL) } }
        } }"
        .into(),
        variables: json!({ "b": book }),
        position: "/bookReviewAdded/position".into(),
        snapshot: false,
        viewers: Vec::new(),
        rounds: reviewers.into_iter().map(|reviewer| (reviewer, book.to_owned())).collect(),
        mutation:
            "mutation($b: ID!) { publishReview(bookId: $b, body: \"A review from the live bench.\") { position } }"
                .into(),
        mutation_position: "/publishReview/position".into(),
    };
    measure("review", "each following the new reviews of one book", plan, clients).await
}

async fn feed(system: &System, books: Vec<String>, clients: u64, followees: u64) -> anyhow::Result<()> {
    let followed = follow(system, clients, followees).await?;
    let viewers =
        followed.viewers.iter().map(|viewer| system.token_for(*viewer, TOKEN_LIFETIME)).collect::<Result<_, _>>()?;
    let rater = system.token_for(followed.acting, TOKEN_LIFETIME)?;
    let plan = Plan {
        url: system.base_url.clone(),
        subscription: "subscription { feed { position kind stars } }".into(),
        variables: json!({}),
        position: "/feed/position".into(),
        snapshot: false,
        viewers,
        rounds: books.iter().map(|book| (rater.clone(), book.clone())).collect(),
        mutation: RATE.into(),
        mutation_position: "/rateBook/position".into(),
    };
    let what = format!("each the feed of a reader following {followees} accounts above the fan-out limit");
    measure("feed", &what, plan, clients).await
}

/// `count` books, projected.
async fn add_books(system: &System, count: u64) -> anyhow::Result<Vec<String>> {
    let librarian = system.librarian().await?;
    let author = librarian
        .request("mutation { addAuthor(input: { name: \"Live Bench Author\" }) { authorId } }", json!({}))
        .await?
        .data()?["addAuthor"]["authorId"]
        .clone();
    let mut books = Vec::new();
    for n in 0..count {
        let added = librarian
            .request(
                "mutation($t: String!, $a: ID!) { addBook(input: { title: $t, pages: 100, authorIds: [$a] }) { bookId position } }",
                json!({ "t": format!("Live Bench {n}"), "a": author }),
            )
            .await?
            .data()?["addBook"]
            .clone();
        let book = added["bookId"].as_str().context("no book id")?.to_owned();
        let position = added["position"].as_u64().context("no position")?;
        librarian.request_at("query($b: ID!) { book(id: $b) { id } }", json!({ "b": book }), position).await?;
        books.push(book);
    }
    Ok(books)
}

/// Readers and whom they follow, loaded straight into the feed's read model (as a bench of
/// the live path, not of the follow commands).
struct Followed {
    viewers: Vec<Uuid>,
    /// The followed account that acts.
    acting: Uuid,
}

async fn follow(system: &System, clients: u64, followees: u64) -> anyhow::Result<Followed> {
    let pool = sqlx::PgPool::connect(&system.database_url).await?;
    let viewers: Vec<Uuid> = (0..clients).map(|_| Uuid::new_v4()).collect();
    let accounts: Vec<Uuid> = (0..followees.max(1)).map(|_| Uuid::new_v4()).collect();
    for account in &accounts {
        sqlx::query("INSERT INTO feed_follows (followee_id, follower_id) SELECT $1, * FROM UNNEST($2::uuid[])")
            .bind(account)
            .bind(&viewers)
            .execute(&pool)
            .await?;
        sqlx::query("INSERT INTO feed_follower_counts (reader_id, followers, merged_on_read) VALUES ($1, $2, true)")
            .bind(account)
            .bind(clients as i64)
            .execute(&pool)
            .await?;
    }
    Ok(Followed { viewers, acting: accounts[0] })
}

/// Whether the clients are the Node app's (`--node`).
fn node() -> bool {
    std::env::args().any(|a| a == "--node")
}

/// Runs `plan` in a clients' process and prints what it measured; `kind` names it in the
/// targets' table.
async fn measure(kind: &str, what: &str, plan: Plan, clients: u64) -> anyhow::Result<()> {
    let kind = if node() { format!("{kind} (Node clients)") } else { kind.to_owned() };
    let rounds = plan.rounds.len();
    let file = std::env::temp_dir().join(format!("readstream-live-bench-{}.json", Uuid::new_v4().simple()));
    std::fs::write(&file, serde_json::to_vec(&plan)?)?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = resident();
    // The clients: this binary's own (Rust, tokio-tungstenite), or with `--node` a Node app's
    // (graphql-ws over ws, tests/bench/live-clients).
    let mut load = if node() {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/live-clients/clients.mjs");
        let mut node = Command::new("node");
        node.arg(script).arg(&file).arg(clients.to_string());
        node
    } else {
        let mut rust = Command::new(std::env::current_exe()?);
        rust.arg("--load").arg(&file).args(["--clients", &clients.to_string()]);
        rust
    };
    let mut load = load.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    let mut said = BufReader::new(load.stdout.take().context("no stdout")?).lines();
    let mut told = load.stdin.take().context("no stdin")?;
    let (line, mut said) = tokio::task::spawn_blocking(move || {
        let line = said.next().context("the clients' process ended")??;
        anyhow::Ok((line, said))
    })
    .await??;
    let opened: Value = serde_json::from_str(&line)?;
    let held = resident();
    let per_connection = held.saturating_sub(idle) as f64 / clients as f64 / 1e3;
    println!(
        "{clients} WebSockets, {what}, opened in {:.1} s; gateway process {:.0} MB idle, {:.0} MB holding them: {per_connection:.1} KB per idle connection (target ≤ 20 KB)",
        opened["seconds"].as_f64().unwrap_or(0.0),
        idle as f64 / 1e6,
        held as f64 / 1e6,
    );
    bench::target(
        &format!("{clients} {kind} WebSockets: memory per idle connection"),
        &format!("{per_connection:.1} KB (the stack's process {:.0} MB holding them)", held as f64 / 1e6),
        "<= 20 KB",
        per_connection <= 20.0,
    )?;

    let (user, _) = user_and_system_cpu_seconds();
    let cpu = cpu_seconds();
    let started = Instant::now();
    writeln!(told, "go")?;
    let line =
        tokio::task::spawn_blocking(move || anyhow::Ok(said.next().context("the clients' process ended")??)).await??;
    let pushes: Value = serde_json::from_str(&line)?;
    let (wall, cpu, user) =
        (started.elapsed().as_secs_f64(), cpu_seconds() - cpu, user_and_system_cpu_seconds().0 - user);
    println!(
        "  {rounds} rounds pushed: {} of {} delivered; p50 {} ms, p99 {} ms, max {} ms from the mutation (target p99 ≤ 250 ms); stack {:.0}% CPU, clients {:.0}% CPU over {wall:.1} s",
        pushes["delivered"],
        clients * rounds as u64,
        pushes["p50_ms"],
        pushes["p99_ms"],
        pushes["max_ms"],
        cpu / wall * 100.0,
        pushes["cpu_seconds"].as_f64().unwrap_or(0.0) / wall * 100.0,
    );
    let per_push = cpu / (clients as f64 * rounds as f64) * 1e6;
    let user_per_push = user / (clients as f64 * rounds as f64) * 1e6;
    println!(
        "  stack CPU per socket per push: {per_push:.1} µs, {user_per_push:.1} µs of it in user space, the rest in the \
         kernel (each socket's write, and on loopback the clients' TCP receive too); gateway, command services and \
         projector in one process"
    );
    if kind.starts_with("book") {
        bench::target(
            &format!("{clients} {kind} WebSockets: stack CPU per socket per push"),
            &format!("{per_push:.1} µs, {user_per_push:.1} µs in user space ({rounds} rounds)"),
            "<= 5 µs",
            per_push <= 5.0,
        )?;
    }
    let p99 = pushes["p99_ms"].as_f64().context("no p99")?;
    bench::target(
        &format!("{clients} {kind} WebSockets: a push to all, p99 from the mutation"),
        &format!(
            "{p99} ms, {} of {} delivered (stack {:.0}% CPU, clients {:.0}%)",
            pushes["delivered"],
            clients * rounds as u64,
            cpu / wall * 100.0,
            pushes["cpu_seconds"].as_f64().unwrap_or(0.0) / wall * 100.0,
        ),
        "<= 250 ms",
        p99 <= 250.0,
    )?;
    drop(told);
    load.wait()?;
    std::fs::remove_file(file)?;
    Ok(())
}

/// The clients' process: opens `clients` subscriptions, says so on stdout, then on "go" from
/// stdin plays the plan's rounds and prints the pushes' timings.
async fn load(plan: Plan, clients: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let anonymous = GraphQl::new(&plan.url);
    let (arrived, mut arrivals) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let subscriptions = futures::stream::iter(0..clients)
        .map(|n| {
            let client = match plan.viewers.get(n) {
                Some(token) => anonymous.with_token(token.as_str()),
                None => anonymous.clone(),
            };
            let plan = &plan;
            async move {
                let mut subscription = client.subscribe(&plan.subscription, plan.variables.clone()).await?;
                if plan.snapshot {
                    subscription.next(PUSH_TIMEOUT).await?;
                }
                anyhow::Ok(subscription)
            }
        })
        .buffer_unordered(OPENING_AT_ONCE)
        .collect::<Vec<_>>()
        .await;
    for subscription in subscriptions {
        let (mut subscription, arrived, pointer) = (subscription?, arrived.clone(), plan.position.clone());
        tokio::spawn(async move {
            while let Ok(item) = subscription.next(Duration::from_secs(3_600)).await {
                let position = match item.pointer(&pointer) {
                    Some(Value::Number(n)) => n.as_u64(),
                    Some(Value::String(s)) => s.parse().ok(),
                    _ => None,
                };
                if arrived.send((position.unwrap_or(0), Instant::now())).is_err() {
                    return;
                }
            }
        });
    }
    // A subscription with no snapshot says nothing once it is live: give the last ones time.
    if !plan.snapshot {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    println!("{}", json!({ "seconds": started.elapsed().as_secs_f64() }));
    let mut go = String::new();
    tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut go)).await??;

    let cpu = cpu_seconds();
    let mut latencies = Vec::with_capacity(clients * plan.rounds.len());
    for (round, (rater, book)) in plan.rounds.iter().enumerate() {
        let sent = Instant::now();
        let rated = anonymous.with_token(rater.as_str()).request(&plan.mutation, json!({ "b": book })).await?;
        let position = rated.data()?.pointer(&plan.mutation_position).and_then(Value::as_u64).context("no position")?;
        let mut delivered = 0;
        let deadline = tokio::time::Instant::now() + PUSH_TIMEOUT;
        while delivered < clients {
            let Ok(Some((pushed, at))) = tokio::time::timeout_at(deadline, arrivals.recv()).await else {
                break;
            };
            if pushed == position {
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
