//! `make faults`: faults under load, then a count of what survived.
//!
//! Starts `make run` (which supervises its processes) on a data folder of its own, signs up
//! readers and adds books, then has every reader rate, shelve, review and follow through
//! GraphQL, one mutation at a time, each sent again with its idempotency key until it is
//! acknowledged. Meanwhile, cycle after cycle, it kill -9s the gateway, each command service and
//! the projector in turn, then the projector and the ratings service together, then all eight
//! processes at once (`make run` must start each again, however many die together), kills NATS
//! and starts it again, stops Postgres as a crash would (immediate: recovery at the next start)
//! and starts it again, and stops `make run` with TERM to its whole process group and runs it
//! again on the same data, waiting for every process to be ready again before the next fault.
//! Then it stops the load and checks:
//! - every acknowledged mutation's command id is in the stream exactly once (lost: 0,
//!   duplicated: 0), and an unacknowledged one at most once;
//! - every projection reached the stream's head, with no dead letters;
//! - the read models show exactly what the recorded mutations did: each book's rating count,
//!   histogram, shelf counts and reviews, each reader's followers and following.
//!
//! It prints the longest time a client went unanswered (refused as UNAVAILABLE, timed out, or
//! connection refused) after each kind of fault, beside its goal ([`system::goal`]): 10 s on a
//! single node; in a cluster, the elections of what it led (measured) plus 1 s when the stream
//! leader's node was killed, and 2 s for a node that led nothing.
//!
//! With `--cluster` it starts `NATS_NODES=3 make run` (three NATS nodes, the stream at three
//! replicas, two of every process) and each cycle kill -9s the node that leads the stream,
//! starting it again 3 s later; after the cycles it kills the node that leads the least and
//! leaves it down while the load goes on. The same checks follow, and a client of the second
//! gateway, subscribed to a book's ratings all along, must get the push of a rating made
//! through the first gateway after the faults.
//!
//! Usage: readstream-faults [--cycles N (20)] [--clients N (16)] [--seed N] [--cluster]
//! Run by deploy/local/faults.sh, which builds the binaries it starts. What `make run` printed
//! is kept in target/faults-run.log.

mod live;
mod load;
mod system;

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use futures::StreamExt as _;
use prost::Message as _;
use readstream_contracts::{proto::events::v1 as pb, ReadModel};
use readstream_runtime::positions::Positions;
use readstream_testkit::graphql::GraphQl;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    load::{Library, Outage, Outcome, Reader, Sent, Shared, Shelf},
    system::{System, Target},
};

/// Books the load works on.
const BOOKS: usize = 8;

/// How long the load runs after a fault's processes are all ready again, before the next fault.
const BETWEEN_FAULTS: Duration = Duration::from_secs(1);

/// How long every process has to be ready again after a fault.
const READY_BOUND: Duration = Duration::from_secs(90);

/// How long the projections have to reach the stream's head once the load stopped.
const CATCH_UP_BOUND: Duration = Duration::from_secs(120);

/// How long the load goes on with a cluster node left down, after every process answers again.
const LEFT_DOWN_LOAD: Duration = Duration::from_secs(10);

struct Args {
    cycles: usize,
    clients: usize,
    seed: u64,
    /// `NATS_NODES=3 make run`, whose stream leader's node is killed each cycle.
    cluster: bool,
}

impl Args {
    /// What one cycle hits.
    fn targets(&self) -> &'static [Target] {
        if self.cluster {
            &[Target::NatsLeader]
        } else {
            &Target::ALL
        }
    }
}

fn args() -> anyhow::Result<Args> {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| -> anyhow::Result<Option<u64>> {
        match args.iter().position(|a| a == name) {
            Some(i) => Ok(Some(args.get(i + 1).context("missing value")?.parse().context(name.to_owned())?)),
            None => Ok(None),
        }
    };
    Ok(Args {
        cycles: value("--cycles")?.unwrap_or(20) as usize,
        clients: value("--clients")?.unwrap_or(16).max(2) as usize,
        seed: value("--seed")?.unwrap_or_else(rand::random),
        cluster: args.iter().any(|a| a == "--cluster"),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().context("no project root")?.to_owned();
    let bin_dir = std::env::current_exe()?.parent().context("no binary folder")?.to_owned();
    println!("faults: starting make run …");
    let cluster = args.cluster;
    let system = Arc::new(tokio::task::spawn_blocking(move || System::start(&root, &bin_dir, cluster)).await??);
    let result = run(&system, &args).await;
    if result.is_err() {
        eprintln!("make run's last lines:\n{}", system.log_tail());
    }
    result
}

async fn run(system: &Arc<System>, args: &Args) -> anyhow::Result<()> {
    let gateway = GraphQl::new(system.gateway_url());
    let books = Arc::new(add_books(&gateway).await?);
    let readers = sign_up(&gateway, args.clients).await?;
    let reader_ids = Arc::new(readers.iter().map(|(reader, _)| reader.id).collect::<Vec<_>>());
    println!(
        "faults: {} readers on {} books, {} cycles of {} faults (seed {})",
        readers.len(),
        books.len(),
        args.cycles,
        args.targets().len(),
        args.seed
    );

    let stop = CancellationToken::new();
    let shared = Arc::new(Shared::new(readers.len() + 1));
    let clients: Vec<_> = readers
        .iter()
        .enumerate()
        .map(|(index, (reader, _))| {
            tokio::spawn(load::drive(
                reader.clone(),
                index,
                books.clone(),
                reader_ids.clone(),
                shared.clone(),
                args.seed,
                stop.clone(),
            ))
        })
        .collect();
    let reads = tokio::spawn(load::read_your_writes(
        readers[0].0.client.clone(),
        readers.len(),
        books[0],
        shared.clone(),
        stop.clone(),
    ));

    // In a cluster, a reader of the second gateway watches the first book's ratings live.
    let live = match system.second_gateway_url() {
        Some(url) => Some(live::Watcher::start(GraphQl::new(url), books[0]).await?),
        None => None,
    };

    let started = Instant::now();
    let faults = do_faults(system, &shared, args).await;
    stop.cancel();
    let loaded_for = started.elapsed();
    let mut sent = Vec::new();
    let mut outages = Vec::new();
    for client in clients {
        let driven = client.await?;
        sent.extend(driven.sent);
        outages.extend(driven.outages);
    }
    outages.extend(reads.await?.map_err(|why| anyhow::anyhow!("a read-your-writes read was refused: {why}"))?);
    let faults = faults?;

    let head = at_the_head(system).await?;
    let recorded = recorded_commands(system).await?;
    let tally = tally(&sent, &recorded);
    let differences = compare_read_models(&gateway, &books, &readers, &sent, &recorded).await?;

    println!();
    println!(
        "faults: {} cycles, {} faults in {:.0} s, {} clients; every projection at the head (position {head}), no dead letters",
        args.cycles,
        faults.len(),
        loaded_for.as_secs_f64(),
        readers.len()
    );
    println!(
        "mutations: {} acknowledged, {} unacknowledged ({} of them recorded), {} refused; lost {}, duplicated {}",
        tally.acknowledged,
        tally.unacknowledged,
        tally.unacknowledged_recorded,
        tally.refused,
        tally.lost,
        tally.duplicated
    );
    println!(
        "read models: {} books and {} readers checked against the recorded mutations, {} differences",
        books.len(),
        readers.len(),
        differences.len()
    );
    let over = print_outages(&faults, &outages, args.targets());
    if let Some(live) = live {
        live.check_last_push(&gateway, books[0]).await?;
    }
    for line in tally.problems.iter().chain(&differences).take(20) {
        println!("  {line}");
    }
    anyhow::ensure!(tally.problems.is_empty() && differences.is_empty(), "faults lost, duplicated or changed data");
    if !over.is_empty() {
        println!("note: over the goal: {}", over.join(", "));
    }
    Ok(())
}

/// Hits every target in turn, `cycles` times, then, in a cluster, leaves a node down and keeps
/// the load on for [`LEFT_DOWN_LOAD`]; returns when each fault happened. After each, it waits
/// until every process is ready again and every client has had an answer to an attempt
/// started after the fault, so each outage belongs to one fault.
async fn do_faults(system: &Arc<System>, shared: &Shared, args: &Args) -> anyhow::Result<Vec<Fault>> {
    let (cycles, targets) = (args.cycles, args.targets());
    let mut faults = Vec::new();
    tokio::time::sleep(BETWEEN_FAULTS).await;
    for cycle in 1..=cycles {
        let mut line = format!("faults: cycle {cycle} of {cycles}, seconds until ready again:");
        for &target in targets {
            line.push_str(&fault(system, shared, target, &mut faults).await.with_context(|| format!("cycle {cycle}"))?);
        }
        println!("{line}");
    }
    if args.cluster {
        let line = fault(system, shared, Target::NodeLeftDown, &mut faults).await?;
        let (node, led) = system.left_down().context("no node left down")?;
        let led = if led.is_empty() { "nothing".to_owned() } else { led.join(", ") };
        println!("faults: {node}, which led {led}, left down; seconds until ready again:{line}");
        tokio::time::sleep(LEFT_DOWN_LOAD).await;
    }
    Ok(faults)
}

/// Does one fault, then waits until every process is ready again and every client has had an
/// answer since; returns what to print of it.
async fn fault(
    system: &Arc<System>,
    shared: &Shared,
    target: Target,
    faults: &mut Vec<Fault>,
) -> anyhow::Result<String> {
    let hit = system.clone();
    let at = Instant::now();
    shared.faults.fetch_add(1, Ordering::SeqCst);
    tokio::task::spawn_blocking(move || hit.fault(target)).await??;
    let restarted = at.elapsed();
    let election = if target == Target::NatsLeader { system.last_election().map(|(at, _)| at) } else { None };
    let led = if target == Target::NodeLeftDown { system.left_down().map(|(_, led)| led) } else { None };
    let goal = system::goal(target, election, led.as_deref());
    faults.push(Fault { at, target, goal });
    let check = system.clone();
    tokio::task::spawn_blocking(move || check.ready(READY_BOUND))
        .await?
        .with_context(|| format!("after {}'s fault", target.name()))?;
    shared.all_answered_within(READY_BOUND).await;
    let mut line = format!(" {} {:.1}", target.name(), at.elapsed().as_secs_f64());
    if matches!(target, Target::Nats | Target::Postgres | Target::RunAgain) {
        line.push_str(&format!(" (restarted in {:.1})", restarted.as_secs_f64()));
    }
    if target == Target::NatsLeader {
        match system.last_election() {
            Some((elected, led)) => {
                line.push_str(&format!(" (new leaders for {} in {:.1})", led.join(", "), elected.as_secs_f64()))
            }
            None => line.push_str(" (no new leaders)"),
        }
    }
    tokio::time::sleep(BETWEEN_FAULTS).await;
    Ok(line)
}

/// One fault: when, what, and the longest a client may go unanswered after it.
struct Fault {
    at: Instant,
    target: Target,
    goal: Duration,
}

/// Prints the longest outage after each kind of fault beside its goal (the shortest goal of
/// its faults); returns the faults whose longest outage is over their own goal.
fn print_outages(faults: &[Fault], outages: &[Outage], targets: &[Target]) -> Vec<String> {
    // Each outage is put down to the last fault before it ended.
    let mut longest = vec![[Duration::ZERO; 2]; faults.len()];
    let mut before_any = Duration::ZERO;
    for outage in outages {
        let ended = outage.started + outage.lasted;
        match faults.iter().rposition(|fault| fault.at <= ended) {
            Some(index) => {
                let slot = &mut longest[index][usize::from(outage.reads)];
                *slot = (*slot).max(outage.lasted);
            }
            None => before_any = before_any.max(outage.lasted),
        }
    }
    let mut by_target: BTreeMap<Target, ([Duration; 2], Option<Duration>)> =
        targets.iter().map(|target| (*target, ([Duration::ZERO; 2], None))).collect();
    let mut over = Vec::new();
    for (fault, [mutations, reads]) in faults.iter().zip(&longest) {
        let (worst, goal) = by_target.entry(fault.target).or_insert(([Duration::ZERO; 2], None));
        *worst = [worst[0].max(*mutations), worst[1].max(*reads)];
        *goal = Some(goal.map_or(fault.goal, |goal| goal.min(fault.goal)));
        if mutations.max(reads) > &fault.goal {
            over.push(format!(
                "{} ({:.1} s, goal {:.1} s)",
                fault.target.name(),
                mutations.max(reads).as_secs_f64(),
                fault.goal.as_secs_f64()
            ));
        }
    }
    println!("longest time a client went unanswered, by the fault before it:");
    println!("  {:<10} {:<48} {:>10} {:>10} {:>8}", "hit", "fault", "mutations", "reads", "goal");
    for (target, ([mutations, reads], goal)) in &by_target {
        println!(
            "  {:<10} {:<48} {:>8.1} s {:>8.1} s {:>6.1} s",
            target.name(),
            target.fault(),
            mutations.as_secs_f64(),
            reads.as_secs_f64(),
            goal.unwrap_or_default().as_secs_f64()
        );
    }
    if before_any > Duration::ZERO {
        println!("  before any fault: {:.1} s", before_any.as_secs_f64());
    }
    over
}

/// The librarian adds an author and the load's books (idempotently).
async fn add_books(gateway: &GraphQl) -> anyhow::Result<Vec<Uuid>> {
    let librarian = readstream_testkit::demo::librarian(gateway, &|_, _| {}).await?;
    let author = librarian
        .request(
            "mutation { addAuthor(input: { name: \"Ada Fault\" }, idempotencyKey: \"faults:author\") { authorId } }",
            json!({}),
        )
        .await?;
    let author = author.data()?["addAuthor"]["authorId"].clone();
    let mut books = Vec::new();
    for n in 0..BOOKS {
        let response = librarian
            .request(
                "mutation($t: String!, $a: ID!, $k: String!) { addBook(input: { title: $t, pages: 320, authorIds: [$a] }, idempotencyKey: $k) { bookId } }",
                json!({ "t": format!("Crash Course, volume {}", n + 1), "a": author, "k": format!("faults:book:{n}") }),
            )
            .await?;
        books.push(response.data()?["addBook"]["bookId"].as_str().context("no book id")?.parse()?);
    }
    Ok(books)
}

/// Signs up the load's readers: each with their handle.
async fn sign_up(gateway: &GraphQl, count: usize) -> anyhow::Result<Vec<(Reader, String)>> {
    let run = Uuid::now_v7().simple().to_string();
    let mut readers = Vec::new();
    for n in 0..count {
        let handle = format!("faults_{}_{n}", &run[run.len() - 8..]);
        let response = gateway
            .request(
                "mutation($h: String!) { signUp(input: { handle: $h, displayName: $h, password: \"readstream-faults\" }) { token readerId } }",
                json!({ "h": handle }),
            )
            .await?;
        let data = &response.data()?["signUp"];
        let client = gateway.with_token(data["token"].as_str().context("no token")?);
        let id = data["readerId"].as_str().context("no reader id")?.parse()?;
        readers.push((Reader { id, client }, handle));
    }
    Ok(readers)
}

/// Waits until every projection has applied the whole stream (told by the positions they
/// announce, as the gateway's read-your-writes is); its last position.
async fn at_the_head(system: &System) -> anyhow::Result<u64> {
    let last = stream_last_position(system).await?;
    let pool = sqlx::PgPool::connect(&system.database_url()).await?;
    let stop = CancellationToken::new();
    let positions = Positions::start(&connect(system).await?, "rs", pool.clone(), CATCH_UP_BOUND, stop.clone()).await?;
    let reached = positions.wait_for(last, &ReadModel::ALL).await;
    stop.cancel();
    reached.map_err(|behind| anyhow::anyhow!("projections behind the stream's head ({last}): {}", behind.message))?;
    let dead_letters: i64 = sqlx::query_scalar("SELECT count(*) FROM dead_letters").fetch_one(&pool).await?;
    anyhow::ensure!(dead_letters == 0, "{dead_letters} dead letters");
    Ok(last)
}

/// A connection to the running NATS nodes.
async fn connect(system: &System) -> anyhow::Result<async_nats::Client> {
    let urls = system.nats_urls();
    async_nats::connect(urls.clone()).await.with_context(|| format!("connecting to {urls:?}"))
}

/// The stream's last position, asked again while a try goes unanswered (a cluster still
/// settling after its faults).
async fn stream_last_position(system: &System) -> anyhow::Result<u64> {
    let jetstream = async_nats::jetstream::new(connect(system).await?);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let asked = async {
            let mut stream = jetstream.get_stream(readstream_eventstore::stream_name("rs")).await?;
            anyhow::Ok(stream.info().await?.state.last_sequence)
        };
        match tokio::time::timeout(Duration::from_secs(2), asked).await {
            Ok(Ok(last)) => return Ok(last),
            Ok(Err(err)) if Instant::now() >= deadline => return Err(err.context("the stream's last position")),
            Err(_) if Instant::now() >= deadline => anyhow::bail!("the stream did not say its last position in 60 s"),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// How many stream messages each command id has.
async fn recorded_commands(system: &System) -> anyhow::Result<HashMap<Uuid, usize>> {
    use async_nats::jetstream::consumer::{pull::OrderedConfig, DeliverPolicy};
    let last = stream_last_position(system).await?;
    let jetstream = async_nats::jetstream::new(connect(system).await?);
    let stream = jetstream.get_stream(readstream_eventstore::stream_name("rs")).await.context("opening the stream")?;
    // With a node left down, the server may place the consumer on it, and the request goes
    // unanswered: asked again, it lands elsewhere.
    let deadline = Instant::now() + Duration::from_secs(60);
    let consumer = loop {
        let config = OrderedConfig { deliver_policy: DeliverPolicy::All, ..Default::default() };
        match tokio::time::timeout(Duration::from_secs(2), stream.create_consumer(config)).await {
            Ok(Ok(consumer)) => break consumer,
            Ok(Err(err)) if Instant::now() >= deadline => {
                return Err(anyhow::Error::new(err).context("creating a consumer"))
            }
            Err(_) if Instant::now() >= deadline => anyhow::bail!("creating a consumer: no answer in 60 s"),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let mut messages = consumer.messages().await?;
    let mut recorded = HashMap::new();
    while let Some(message) = messages.next().await {
        let message = message?;
        let envelope = pb::Envelope::decode(message.payload.as_ref())?;
        *recorded.entry(envelope.command_id.parse()?).or_insert(0) += 1;
        if message.info().map_err(|e| anyhow::anyhow!("{e}"))?.stream_sequence >= last {
            break;
        }
    }
    Ok(recorded)
}

#[derive(Default)]
struct Tally {
    acknowledged: usize,
    unacknowledged: usize,
    unacknowledged_recorded: usize,
    refused: usize,
    lost: usize,
    duplicated: usize,
    problems: Vec<String>,
}

fn command_id(sent: &Sent) -> Uuid {
    readstream_runtime::bus::command_id(Some(sent.reader), &sent.key)
}

/// Each mutation against the stream.
fn tally(sent: &[Sent], recorded: &HashMap<Uuid, usize>) -> Tally {
    let mut tally = Tally::default();
    for mutation in sent {
        let times = recorded.get(&command_id(mutation)).copied().unwrap_or(0);
        if times > 1 {
            tally.duplicated += 1;
            tally.problems.push(format!("{} ({:?}) is in the stream {times} times", mutation.key, mutation.op));
        }
        match &mutation.outcome {
            Outcome::Acknowledged => {
                tally.acknowledged += 1;
                if times == 0 {
                    tally.lost += 1;
                    tally
                        .problems
                        .push(format!("acknowledged {} ({:?}) is not in the stream", mutation.key, mutation.op));
                }
            }
            Outcome::Unacknowledged => {
                tally.unacknowledged += 1;
                tally.unacknowledged_recorded += usize::from(times > 0);
            }
            Outcome::Refused(why) => {
                tally.refused += 1;
                tally.problems.push(format!("{} ({:?}) was refused: {why}", mutation.key, mutation.op));
            }
        }
    }
    tally
}

/// The read models against what the recorded mutations did; one line per difference.
async fn compare_read_models(
    gateway: &GraphQl,
    books: &[Uuid],
    readers: &[(Reader, String)],
    sent: &[Sent],
    recorded: &HashMap<Uuid, usize>,
) -> anyhow::Result<Vec<String>> {
    let mut libraries: HashMap<Uuid, Library> = HashMap::new();
    for mutation in sent.iter().filter(|m| recorded.contains_key(&command_id(m))) {
        libraries.entry(mutation.reader).or_default().apply(&mutation.op);
    }
    let mut differences = Vec::new();
    let mut differ = |what: String, expected: serde_json::Value, found: &serde_json::Value| {
        if &expected != found {
            differences.push(format!("{what}: expected {expected}, found {found}"));
        }
    };
    for book in books {
        let response = gateway
            .request(
                "query($b: ID!) { book(id: $b) {
                    ratings { count histogram { stars count } }
                    shelfCounts { wantToRead currentlyReading read }
                    reviews(first: 1) { totalCount }
                } }",
                json!({ "b": book }),
            )
            .await?;
        let found = &response.data()?["book"];
        let ratings: Vec<u8> = libraries.values().filter_map(|l| l.ratings.get(book).copied()).collect();
        let histogram: Vec<_> = (1..=5u8)
            .rev()
            .map(|stars| json!({ "stars": stars, "count": ratings.iter().filter(|s| **s == stars).count() }))
            .collect();
        let mut found_histogram = found["ratings"]["histogram"].as_array().cloned().unwrap_or_default();
        found_histogram.sort_by_key(|bucket| std::cmp::Reverse(bucket["stars"].as_u64()));
        differ(format!("book {book} ratings"), json!(ratings.len()), &found["ratings"]["count"]);
        differ(format!("book {book} histogram"), json!(histogram), &json!(found_histogram));
        let shelved = |shelf: Shelf| libraries.values().filter(|l| l.shelves.get(book) == Some(&shelf)).count();
        differ(
            format!("book {book} shelf counts"),
            json!({
                "wantToRead": shelved(Shelf::WantToRead),
                "currentlyReading": shelved(Shelf::CurrentlyReading),
                "read": shelved(Shelf::Read),
            }),
            &found["shelfCounts"],
        );
        let reviews = libraries.values().filter(|l| l.reviewed.contains(book)).count();
        differ(format!("book {book} reviews"), json!(reviews), &found["reviews"]["totalCount"]);
    }
    for (reader, handle) in readers {
        let response = gateway
            .request(
                "query($h: String!) { reader(handle: $h) { followersCount followingCount } }",
                json!({ "h": handle }),
            )
            .await?;
        let found = &response.data()?["reader"];
        let following = libraries.get(&reader.id).map_or(0, |l| l.following.len());
        let followers = libraries.values().filter(|l| l.following.contains(&reader.id)).count();
        differ(format!("reader {handle} following"), json!(following), &found["followingCount"]);
        differ(format!("reader {handle} followers"), json!(followers), &found["followersCount"]);
    }
    Ok(differences)
}
