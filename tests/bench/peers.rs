//! `make bench`, the peer comparison: the gateway beside PostGraphile 4.14.1 and PostGraphile
//! 5.1.5 (Grafast) over the same read models, for the two pages a reader opens most.
//!
//! - **Book page**: a book's metadata, authors, ratings with histogram, shelf counts and first 10
//!   reviews, each with its reviewer's review and follower counts.
//! - **Feed page**: the first 20 items of a reader following 2,000 readers.
//! - **The book page as HTML** (`GET /books/{id}`, the web app's server-rendered page) beside the
//!   same page as the one GraphQL query it runs; and its CSS and JavaScript, gzipped.
//!
//! Each server runs as a process of its own (the gateway's release binary; PostGraphile 4 as its
//! single-process default and with `--cluster-workers 2`, one per core; PostGraphile 5 with two
//! workers, `postgraphile5/serve.mjs`, on the pinned Node 22), all four at once,
//! loaded in turns by `wrk` with 32 connections: four rounds, each server and page 5 s per
//! round, so the machine's noise falls on all of them alike (p50/p99: the rounds' mean). Each
//! server keeps as many Postgres connections in all, twice the machine's cores (the gateway's
//! `DATABASE_MAX_CONNECTIONS`, PostGraphile's `--max-pool-size` split over its workers): both
//! default to 10 a process, and ten busy backends on two cores cost the gateway a sixth of its
//! throughput in task switches, PostGraphile nothing measurable. Beside each figure: the
//! server's CPU per request, Postgres's CPU per request, and the server's peak resident memory. The read models are filled with SQL (this measures
//! serving the pages, not projecting them); both PostGraphiles learn the relations the gateway's
//! resolvers follow from `postgraphile/postgraphile.tags.json5`. The targets are against the
//! faster peer of each page.
//!
//! With `--compare <gateway binary>` it measures that build of the gateway beside this one's
//! instead of the peers, in the same turns, the HTML book page too: an interleaved A/B of a
//! change to the read path.
//!
//! Usage: readstream-peers-bench [--seconds N, per server and page, default 20] [--connections N] [--followees N]
//! [--compare <gateway binary>]; needs NATS_URL
//! and DATABASE_URL (a server where it may create a database), `wrk` on the PATH and
//! both PostGraphiles installed (`npm ci` in `tests/bench/postgraphile`, and with Node 22 in
//! `tests/bench/postgraphile5`, which `make bench` does).

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::Context as _;
use readstream_e2e::bench::{
    self, arg,
    pages::{fill, BOOK, READSTREAM_BOOK_PAGE, READSTREAM_FEED_PAGE, REVIEWS, VIEWER},
    postgres_cpu_seconds, tree_cpu_seconds, tree_peak_resident,
};
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

const SECRET: &str = "bench-secret-long-enough-for-hs256-signing";
/// Each server's load per page comes in this many turns, the servers alternating.
const ROUNDS: u64 = 4;

const POSTGRAPHILE_BOOK_PAGE: &str = "query($id: UUID!) { bookByBookId(bookId: $id) {
    title subtitle description pages format firstPublished
    bookAuthorsByBookId(orderBy: ORDINAL_ASC) { nodes { authorByAuthorId { name } } }
    bookRatingByBookId { ratingsCount quarterStarsSum stars1 stars2 stars3 stars4 stars5 }
    bookShelfCountByBookId { wantToRead currentlyReading read didNotFinish paused }
    bookReviewCountByBookId { reviewsCount }
    reviewsByBookId(first: 10, orderBy: [WRITTEN_ON_DESC, REVIEW_ID_DESC], condition: { withdrawn: false }) {
        pageInfo { hasNextPage endCursor }
        edges { cursor node { reviewId writtenOn quarterStars likesCount commentsCount containsSpoilers body
            readerByReaderId { handle readerReviewCountByReaderId { reviewsCount }
                               readerFollowCountByReaderId { followers } } } }
    }
} }";

const POSTGRAPHILE_FEED_PAGE: &str = "query($viewer: UUID!) {
    allFeedItems(condition: { readerId: $viewer }, orderBy: PRIMARY_KEY_DESC, first: 20) {
        edges { cursor node { kind activityByPositionAndEventIndex { occurredAt quarterStars bookByBookId { title } }
                              readerByActorId { handle } } }
        pageInfo { hasNextPage endCursor }
    }
}";

/// A server under test: a child process and the URL it answers GraphQL on.
struct Server {
    name: &'static str,
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Ends PostGraphile's cluster workers too: they leave when their master goes.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// How many Postgres connections each server keeps in all: twice the machine's cores.
fn pool_size() -> u32 {
    2 * std::thread::available_parallelism().map_or(1, |cores| cores.get() as u32)
}

/// The gateway's release binary, beside this one, over the run's database.
async fn start_gateway(run: &bench::Run) -> anyhow::Result<Server> {
    start_gateway_from(run, &std::env::current_exe()?.with_file_name("readstream-gateway"), "readstream").await
}

/// A gateway binary (this build's, or another to compare it with), over the run's database.
async fn start_gateway_from(run: &bench::Run, binary: &Path, name: &'static str) -> anyhow::Result<Server> {
    let port = free_port()?;
    let child = Command::new(binary)
        .env("NATS_URL", &run.nats_url)
        .env("READSTREAM_NAMESPACE", &run.namespace)
        .env("DATABASE_URL", &run.database_url)
        .env("GATEWAY_ADDR", format!("127.0.0.1:{port}"))
        .env("JWT_SECRET", SECRET)
        .env("DATABASE_MAX_CONNECTIONS", pool_size().to_string())
        .env("RATE_LIMIT_CLIENT_PER_SECOND", "0")
        .env("RATE_LIMIT_READER_PER_SECOND", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {} (cargo build --release -p readstream-gateway)", binary.display()))?;
    let base_url = format!("http://127.0.0.1:{port}");
    let server = Server { name, child, url: format!("{base_url}/graphql") };
    readstream_testkit::ready::Readiness::new().gateway(&base_url).wait(Duration::from_secs(20)).await?;
    Ok(server)
}

/// PostGraphile 4 from `tests/bench/postgraphile`, over the run's database, with `workers`
/// cluster workers (1: its single-process default).
async fn start_postgraphile(run: &bench::Run, workers: u32) -> anyhow::Result<Server> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/postgraphile");
    let cli = dir.join("node_modules/postgraphile/cli.js");
    anyhow::ensure!(cli.exists(), "PostGraphile is not installed: npm ci --prefix {}", dir.display());
    let port = free_port()?;
    let mut command = Command::new("node");
    command
        .current_dir(&dir)
        .arg(&cli)
        .args(["--connection", &run.database_url, "--schema", "public", "--host", "127.0.0.1"])
        .args(["--port", &port.to_string(), "--disable-query-log", "--disable-graphiql"])
        .args(["--max-pool-size", &(pool_size() / workers).max(1).to_string()])
        .env("NODE_ENV", "production")
        .stdout(Stdio::null());
    let name = if workers > 1 {
        command.args(["--cluster-workers", &workers.to_string()]);
        "PostGraphile 4 x2"
    } else {
        "PostGraphile 4"
    };
    let child = command.spawn().context("starting node")?;
    answering(Server { name, child, url: format!("http://127.0.0.1:{port}/graphql") }).await
}

/// PostGraphile 5 from `tests/bench/postgraphile5` (`serve.mjs`: the Amber preset with V4's
/// naming, the same tags), with two workers, run by the pinned Node 22 in `.tools/node`
/// (`deploy/local/install-node.sh`; version 5 needs Node 22 or later).
async fn start_postgraphile5(run: &bench::Run) -> anyhow::Result<Server> {
    const WORKERS: u32 = 2;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/postgraphile5");
    let node = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/node/bin/node");
    anyhow::ensure!(node.exists(), "Node 22 is not installed: deploy/local/install-node.sh");
    anyhow::ensure!(
        dir.join("node_modules/postgraphile").exists(),
        "PostGraphile 5 is not installed: npm ci in {} with Node 22",
        dir.display()
    );
    let port = free_port()?;
    let child = Command::new(&node)
        .current_dir(&dir)
        .arg("serve.mjs")
        .env("DATABASE_URL", &run.database_url)
        .env("PORT", port.to_string())
        .env("WORKERS", WORKERS.to_string())
        .env("POOL_SIZE", (pool_size() / WORKERS).max(1).to_string())
        .env("NODE_ENV", "production")
        .stdout(Stdio::null())
        .spawn()
        .context("starting Node 22")?;
    answering(Server { name: "PostGraphile 5 x2", child, url: format!("http://127.0.0.1:{port}/graphql") }).await
}

/// The server once it answers a query: within 20 s.
async fn answering(server: Server) -> anyhow::Result<Server> {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        let answer = client.post(&server.url).json(&json!({ "query": "{ __typename }" })).send().await;
        if answer.is_ok_and(|a| a.status().is_success()) {
            return Ok(server);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("{} did not answer at {} in 20 s", server.name, server.url)
}

/// One page as a server is asked for it: a GraphQL query, or (`path`) a page the gateway
/// renders itself, asked with `GET`.
struct Page {
    query: &'static str,
    variables: Value,
    token: Option<String>,
    path: Option<String>,
}

impl Page {
    fn body(&self) -> String {
        json!({ "query": self.query, "variables": self.variables }).to_string()
    }

    /// Asks once and checks the answer is the page, whole, without errors.
    async fn check(&self, url: &str, rows: impl Fn(&Value) -> Option<usize>, expected: usize) -> anyhow::Result<()> {
        let mut request = reqwest::Client::new().post(url).header("content-type", "application/json");
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let answer: Value = request.body(self.body()).send().await?.json().await?;
        anyhow::ensure!(answer.get("errors").is_none(), "{url} answered errors: {answer}");
        let found = rows(&answer["data"]).with_context(|| format!("{url} answered {answer}"))?;
        anyhow::ensure!(found == expected, "{url} answered {found} rows, not {expected}");
        Ok(())
    }
}

/// What `wrk` measured of one server and page, summed over the rounds.
#[derive(Default)]
struct Measured {
    requests: f64,
    seconds: f64,
    /// Each round's p50 and p99, in milliseconds.
    p50s: Vec<f64>,
    p99s: Vec<f64>,
    server_cpu: f64,
    postgres_cpu: f64,
    peak_resident: u64,
}

impl Measured {
    fn per_second(&self) -> f64 {
        self.requests / self.seconds
    }

    /// The mean of the rounds' p99s, in milliseconds (likewise `p50_ms`).
    fn p99_ms(&self) -> f64 {
        self.p99s.iter().sum::<f64>() / self.p99s.len().max(1) as f64
    }

    fn p50_ms(&self) -> f64 {
        self.p50s.iter().sum::<f64>() / self.p50s.len().max(1) as f64
    }
}

/// Loads `server` with `page` for `seconds` and adds what `wrk` saw to `measured`.
async fn measure(
    server: &Server,
    page: &Page,
    connections: u64,
    seconds: u64,
    measured: &mut Measured,
) -> anyhow::Result<()> {
    let script = std::env::temp_dir().join(format!("readstream-peers-{}.lua", Uuid::new_v4().simple()));
    let mut lua = match page.path {
        Some(_) => "wrk.method = \"GET\"\n".to_owned(),
        None => format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = [==[{}]==]\n",
            page.body()
        ),
    };
    if let Some(token) = &page.token {
        lua.push_str(&format!("wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n"));
    }
    std::fs::write(&script, lua)?;
    let url = match &page.path {
        Some(path) => format!("{}{path}", server.url.trim_end_matches("/graphql")),
        None => server.url.clone(),
    };
    let wrk_script = script.clone();
    let (server_cpu, postgres_cpu) = (tree_cpu_seconds(server.child.id()), postgres_cpu_seconds());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("wrk")
            .args(["-t2", &format!("-c{connections}"), &format!("-d{seconds}s"), "--latency", "-s"])
            .arg(&wrk_script)
            .arg(&url)
            .output()
    })
    .await?
    .context("running wrk (apt-get install wrk)")?;
    measured.server_cpu += tree_cpu_seconds(server.child.id()) - server_cpu;
    measured.postgres_cpu += postgres_cpu_seconds() - postgres_cpu;
    measured.peak_resident = tree_peak_resident(server.child.id());
    std::fs::remove_file(&script)?;
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    anyhow::ensure!(output.status.success(), "wrk failed: {report}{}", String::from_utf8_lossy(&output.stderr));
    anyhow::ensure!(
        !report.contains("Non-2xx") && !report.contains("Socket errors"),
        "{} answered errors under load:\n{report}",
        server.name
    );
    let per_second: f64 = report
        .lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .and_then(|n| n.trim().parse().ok())
        .with_context(|| format!("no Requests/sec in {report}"))?;
    let latency = |quantile: &str| -> anyhow::Result<f64> {
        let value = report
            .lines()
            .find_map(|line| line.trim().strip_prefix(quantile))
            .with_context(|| format!("no {quantile} in {report}"))?
            .trim();
        let (number, unit) = value.split_at(value.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(value.len()));
        let number: f64 = number.parse()?;
        Ok(match unit {
            "us" => number / 1e3,
            "ms" => number,
            "s" => number * 1e3,
            "m" => number * 60e3,
            other => anyhow::bail!("a latency in {other}"),
        })
    };
    measured.requests += per_second * seconds as f64;
    measured.seconds += seconds as f64;
    measured.p50s.push(latency("50%")?);
    measured.p99s.push(latency("99%")?);
    Ok(())
}

fn print_row(page: &str, server: &str, m: &Measured, ours: Option<&Measured>) {
    let ratio = ours.map_or(String::new(), |ours| {
        format!("   ours {:.2}x its req/s, p99 {:.2}x", ours.per_second() / m.per_second(), ours.p99_ms() / m.p99_ms())
    });
    println!(
        "  {page:<10} {server:<16} {:>7.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  CPU/req: server {:>5.2} ms, Postgres {:>5.2} ms  peak RSS {:>6.1} MB{ratio}",
        m.per_second(),
        m.p50_ms(),
        m.p99_ms(),
        m.server_cpu * 1e3 / m.requests,
        m.postgres_cpu * 1e3 / m.requests,
        m.peak_resident as f64 / 1e6
    );
}

/// A warm-up (PostGraphile's JIT, every pool filled), then rounds in which each server takes
/// its turn, so the machine's noise falls on all of them alike.
async fn measure_in_turns<const PAGES: usize>(
    servers: &[(Server, &[Page; PAGES])],
    connections: u64,
    seconds: u64,
) -> anyhow::Result<Vec<[Measured; PAGES]>> {
    for (server, pages) in servers {
        for page in pages.iter() {
            measure(server, page, connections, (seconds / 5).max(1), &mut Measured::default()).await?;
        }
    }
    let mut measured: Vec<[Measured; PAGES]> =
        servers.iter().map(|_| std::array::from_fn(|_| Measured::default())).collect();
    for _ in 0..ROUNDS {
        for ((server, pages), measured) in servers.iter().zip(&mut measured) {
            for (page, measured) in pages.iter().zip(measured.iter_mut()) {
                measure(server, page, connections, (seconds / ROUNDS).max(1), measured).await?;
            }
        }
    }
    Ok(measured)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds = arg("--seconds", 20)?;
    let connections = arg("--connections", 32)?;
    let followees = arg("--followees", 2_000)? as i64;
    let run = bench::Run::start("peers").await?;
    let mut db = PgConnection::connect(&run.database_url).await?;
    fill(&mut db, followees).await?;
    db.close().await?;

    let tokens = readstream_gateway::auth::Tokens::new(SECRET, Duration::from_secs(3_600));
    let viewer: Uuid = VIEWER.parse()?;
    let token = tokens.issue(viewer, Uuid::now_v7()).map_err(|e| anyhow::anyhow!(e.message))?.0;
    let readstream_pages = [
        Page { query: READSTREAM_BOOK_PAGE, variables: json!({ "id": BOOK }), token: None, path: None },
        Page { query: READSTREAM_FEED_PAGE, variables: json!({}), token: Some(token), path: None },
    ];
    let postgraphile_pages = [
        Page { query: POSTGRAPHILE_BOOK_PAGE, variables: json!({ "id": BOOK }), token: None, path: None },
        Page { query: POSTGRAPHILE_FEED_PAGE, variables: json!({ "viewer": VIEWER }), token: None, path: None },
    ];
    let page_names = ["book page", "feed page"];

    println!(
        "the book page (10 of {REVIEWS} reviews) and the feed page (20 items, following {followees}), \
         wrk with {connections} connections, {ROUNDS} rounds of {} s per server and page, the servers taking turns, \
         each server with {} Postgres connections in all",
        seconds / ROUNDS,
        pool_size()
    );
    let gateway = start_gateway(&run).await?;
    readstream_pages[0].check(&gateway.url, |d| Some(d["book"]["reviews"]["edges"].as_array()?.len()), 10).await?;
    readstream_pages[1].check(&gateway.url, |d| Some(d["viewer"]["feed"]["edges"].as_array()?.len()), 20).await?;
    // `--compare <gateway binary>`: another build of the gateway, measured in the same turns
    // (an interleaved A/B of a change), shown beside this build's, instead of the peers; the
    // server-rendered book page is measured beside the two.
    if let Some(other) = std::env::args().skip_while(|a| a != "--compare").nth(1) {
        let other = start_gateway_from(&run, Path::new(&other), "readstream B").await?;
        readstream_pages[0].check(&other.url, |d| Some(d["book"]["reviews"]["edges"].as_array()?.len()), 10).await?;
        let [book, feed] = readstream_pages;
        let compared = [book, feed, rendered_page()];
        let servers = [(gateway, &compared), (other, &compared)];
        let measured = measure_in_turns(&servers, connections, seconds).await?;
        for (i, name) in page_names.iter().chain(&["HTML page"]).enumerate() {
            print_row(name, servers[0].0.name, &measured[0][i], None);
            print_row(name, servers[1].0.name, &measured[1][i], Some(&measured[0][i]));
        }
        return Ok(());
    }
    let mut servers = vec![(gateway, &readstream_pages)];
    for peer in
        [start_postgraphile(&run, 1).await?, start_postgraphile(&run, 2).await?, start_postgraphile5(&run).await?]
    {
        postgraphile_pages[0]
            .check(&peer.url, |d| Some(d["bookByBookId"]["reviewsByBookId"]["edges"].as_array()?.len()), 10)
            .await?;
        postgraphile_pages[1].check(&peer.url, |d| Some(d["allFeedItems"]["edges"].as_array()?.len()), 20).await?;
        servers.push((peer, &postgraphile_pages));
    }
    let measured = measure_in_turns(&servers, connections, seconds).await?;
    let [ours, peers @ ..] = measured.as_slice() else { anyhow::bail!("no servers measured") };
    for (i, name) in page_names.iter().enumerate() {
        print_row(name, servers[0].0.name, &ours[i], None);
        for ((server, _), peer) in servers[1..].iter().zip(peers) {
            print_row(name, server.name, &peer[i], Some(&ours[i]));
        }
    }
    println!("targets, against the faster PostGraphile: throughput >= 3x, p99 <= 1/3");
    for (i, name) in page_names.iter().enumerate() {
        let fastest = peers.iter().map(|peer| &peer[i]).max_by(|a, b| a.per_second().total_cmp(&b.per_second()));
        let Some(peer) = fastest else { continue };
        let (throughput, p99) = (ours[i].per_second() / peer.per_second(), ours[i].p99_ms() / peer.p99_ms());
        let verdict = if throughput >= 3.0 && p99 <= 1.0 / 3.0 { "met" } else { "NOT met" };
        println!("  {name:<10} {throughput:.2}x the req/s, {p99:.2}x the p99: {verdict}");
        let ours = &ours[i];
        let cost = |m: &Measured| {
            format!(
                "{:.0} req/s, p99 {:.1} ms, CPU/req {:.2} + Postgres {:.2} ms, peak RSS {:.0} MB",
                m.per_second(),
                m.p99_ms(),
                m.server_cpu * 1e3 / m.requests,
                m.postgres_cpu * 1e3 / m.requests,
                m.peak_resident as f64 / 1e6
            )
        };
        bench::target(
            &format!("{name}: req/s against the faster PostGraphile"),
            &format!("{throughput:.2}x (ours {}; theirs {})", cost(ours), cost(peer)),
            ">= 3x",
            throughput >= 3.0,
        )?;
        bench::target(&format!("{name}: p99 against it"), &format!("{p99:.2}x"), "<= 1/3", p99 <= 1.0 / 3.0)?;
    }
    rendered_book_page(&servers[0].0, connections, seconds).await?;
    book_page_assets()
}

/// The server-rendered book page, `GET /books/{id}` (the query it runs is the gateway's own).
fn rendered_page() -> Page {
    let path = Some(format!("/books/{BOOK}"));
    Page { query: readstream_gateway::BOOK_PAGE, variables: json!({}), token: None, path }
}

/// The server-rendered book page (`GET /books/{id}`) beside the same page as one GraphQL
/// query (the query the page runs in-process, over HTTP), in turns.
async fn rendered_book_page(gateway: &Server, connections: u64, seconds: u64) -> anyhow::Result<()> {
    let variables = json!({
        "id": BOOK, "first": readstream_gateway::REVIEWS_PER_PAGE, "after": null, "order": "NEWEST", "stars": null,
    });
    let pages = [rendered_page(), Page { query: readstream_gateway::BOOK_PAGE, variables, token: None, path: None }];
    let html = reqwest::get(format!("{}/books/{BOOK}", gateway.url.trim_end_matches("/graphql"))).await?.text().await?;
    anyhow::ensure!(html.contains("Community Reviews"), "the rendered book page is not the page: {html}");
    pages[1]
        .check(
            &gateway.url,
            |d| Some(d["book"]["reviews"]["edges"].as_array()?.len()),
            readstream_gateway::REVIEWS_PER_PAGE as usize,
        )
        .await?;
    let mut measured: [Measured; 2] = Default::default();
    for _ in 0..ROUNDS {
        for (page, measured) in pages.iter().zip(measured.iter_mut()) {
            measure(gateway, page, connections, (seconds / ROUNDS).max(1), measured).await?;
        }
    }
    println!(
        "the book page as HTML (GET /books/{{id}}, {} reviews) beside the same query over GraphQL",
        readstream_gateway::REVIEWS_PER_PAGE
    );
    print_row("HTML page", "readstream", &measured[0], None);
    print_row("its query", "readstream", &measured[1], None);
    let ratio = measured[0].per_second() / measured[1].per_second();
    bench::target(
        "book page as HTML: req/s against its GraphQL query",
        &format!(
            "{ratio:.2}x ({:.0} against {:.0} req/s; p99 {:.1} against {:.1} ms)",
            measured[0].per_second(),
            measured[1].per_second(),
            measured[0].p99_ms(),
            measured[1].p99_ms()
        ),
        ">= 1x",
        ratio >= 1.0,
    )
}

/// The book page's CSS and JavaScript, gzipped as a server would send them (`gzip -9`).
fn book_page_assets() -> anyhow::Result<()> {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../services/gateway/assets");
    let files = ["app.css", "session.js", "book.js", "vendor/graphql-ws-6.4.2.min.js"];
    let mut total = 0;
    for file in files {
        let output = Command::new("gzip").args(["-9c"]).arg(assets.join(file)).output().context("running gzip")?;
        anyhow::ensure!(output.status.success(), "gzip failed on {file}");
        println!("  {file:<32} {:>6} bytes gzipped", output.stdout.len());
        total += output.stdout.len();
    }
    bench::target(
        "book page's CSS and JavaScript, gzipped",
        &format!("{:.1} KB", total as f64 / 1024.0),
        "<= 50 KB",
        total <= 50 * 1024,
    )
}
