//! The load: readers who rate, shelve, review and follow through GraphQL as an app would, each
//! sending one mutation at a time with an idempotency key and sending it again, with the same
//! key, until it is acknowledged. Every attempt that found no one to answer is timed.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use rand::{rngs::StdRng, seq::SliceRandom as _, Rng as _, SeedableRng as _};
use readstream_testkit::graphql::GraphQl;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// One request's bound: longer than the gateway's own command timeout (10 s).
const REQUEST_BOUND: Duration = Duration::from_secs(20);

/// How long a mutation is still sent again after the load stopped.
pub const FINISH_BOUND: Duration = Duration::from_secs(90);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shelf {
    WantToRead,
    CurrentlyReading,
    Read,
}

#[derive(Debug, Clone)]
pub enum Op {
    Rate { book: Uuid, stars: u8 },
    Shelve { book: Uuid, shelf: Shelf },
    Review { book: Uuid },
    Follow { reader: Uuid },
    Unfollow { reader: Uuid },
}

/// What one reader's acknowledged mutations left, as the read models should show it.
#[derive(Debug, Default, Clone)]
pub struct Library {
    pub ratings: HashMap<Uuid, u8>,
    pub shelves: HashMap<Uuid, Shelf>,
    pub reviewed: HashSet<Uuid>,
    pub following: HashSet<Uuid>,
}

impl Library {
    /// A mutation that changes something (one that changes nothing records no event).
    fn next(&self, rng: &mut StdRng, books: &[Uuid], readers: &[Uuid], me: Uuid) -> Op {
        let book = *books.choose(rng).unwrap_or(&Uuid::nil());
        match rng.gen_range(0..10) {
            0..=3 => {
                let current = self.ratings.get(&book).copied();
                let stars = loop {
                    let stars = rng.gen_range(1..=5);
                    if Some(stars) != current {
                        break stars;
                    }
                };
                Op::Rate { book, stars }
            }
            4..=6 => {
                let shelf = match self.shelves.get(&book) {
                    None | Some(Shelf::Read) => Shelf::WantToRead,
                    Some(Shelf::WantToRead) => Shelf::CurrentlyReading,
                    Some(Shelf::CurrentlyReading) => Shelf::Read,
                };
                Op::Shelve { book, shelf }
            }
            7 if !self.reviewed.contains(&book) => Op::Review { book },
            _ => {
                let others: Vec<Uuid> = readers.iter().copied().filter(|r| *r != me).collect();
                let reader = *others.choose(rng).unwrap_or(&Uuid::nil());
                if self.following.contains(&reader) {
                    Op::Unfollow { reader }
                } else {
                    Op::Follow { reader }
                }
            }
        }
    }

    pub fn apply(&mut self, op: &Op) {
        match *op {
            Op::Rate { book, stars } => {
                self.ratings.insert(book, stars);
            }
            Op::Shelve { book, shelf } => {
                self.shelves.insert(book, shelf);
            }
            Op::Review { book } => {
                self.reviewed.insert(book);
            }
            Op::Follow { reader } => {
                self.following.insert(reader);
            }
            Op::Unfollow { reader } => {
                self.following.remove(&reader);
            }
        }
    }
}

/// The GraphQL mutation for an op and its variables.
fn mutation(op: &Op, key: &str) -> (&'static str, Value) {
    match op {
        Op::Rate { book, stars } => (
            "mutation($b: ID!, $s: Float!, $k: String!) { rateBook(bookId: $b, stars: $s, idempotencyKey: $k) { position } }",
            json!({ "b": book, "s": stars, "k": key }),
        ),
        Op::Shelve { book, shelf } => (
            match shelf {
                Shelf::WantToRead => "mutation($b: ID!, $k: String!) { wantToRead(bookId: $b, idempotencyKey: $k) { position } }",
                Shelf::CurrentlyReading => {
                    "mutation($b: ID!, $k: String!) { startReading(bookId: $b, idempotencyKey: $k) { position } }"
                }
                Shelf::Read => "mutation($b: ID!, $k: String!) { finishReading(bookId: $b, idempotencyKey: $k) { position } }",
            },
            json!({ "b": book, "k": key }),
        ),
        Op::Review { book } => (
            "mutation($b: ID!, $body: String!, $k: String!) { publishReview(bookId: $b, body: $body, idempotencyKey: $k) { position } }",
            json!({ "b": book, "body": format!("Read through the faults ({key})."), "k": key }),
        ),
        Op::Follow { reader } => (
            "mutation($r: ID!, $k: String!) { follow(readerId: $r, idempotencyKey: $k) { position } }",
            json!({ "r": reader, "k": key }),
        ),
        Op::Unfollow { reader } => (
            "mutation($r: ID!, $k: String!) { unfollow(readerId: $r, idempotencyKey: $k) { position } }",
            json!({ "r": reader, "k": key }),
        ),
    }
}

/// How a mutation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Acknowledged,
    /// Still unanswered when the load's last bound passed: it may or may not be recorded.
    Unacknowledged,
    /// Refused with a code that says nothing was changed: the load's own mistake, reported.
    Refused(String),
}

#[derive(Debug, Clone)]
pub struct Sent {
    pub reader: Uuid,
    pub key: String,
    pub op: Op,
    pub outcome: Outcome,
}

/// A time no attempt of one client was answered: from the first failed attempt's start to the
/// answer that ended it.
#[derive(Debug, Clone)]
pub struct Outage {
    pub started: Instant,
    pub lasted: Duration,
    pub reads: bool,
}

/// A signed-up reader of the load.
#[derive(Clone)]
pub struct Reader {
    pub id: Uuid,
    pub client: GraphQl,
}

/// What the clients share with the faults: the latest acknowledged position, how many faults
/// were done, and for each client (the read-your-writes client last) the count of faults done
/// before the start of its latest answered attempt.
pub struct Shared {
    pub latest: AtomicU64,
    pub faults: AtomicU64,
    answered: Vec<AtomicU64>,
    /// Told each time a client is answered.
    answers: tokio::sync::Notify,
}

impl Shared {
    pub fn new(clients: usize) -> Self {
        Self {
            latest: AtomicU64::new(0),
            faults: AtomicU64::new(0),
            answered: (0..clients).map(|_| AtomicU64::new(0)).collect(),
            answers: tokio::sync::Notify::new(),
        }
    }

    /// Whether every client has had an answer to an attempt started after the latest fault:
    /// none is unanswered any more, or waits on an attempt the fault will fail.
    fn all_answered_since_the_fault(&self) -> bool {
        let faults = self.faults.load(Ordering::SeqCst);
        self.answered.iter().all(|answered| answered.load(Ordering::SeqCst) >= faults)
    }

    /// Waits, woken by each answer, until every client has been answered since the latest
    /// fault; false if `within` passes first.
    pub async fn all_answered_within(&self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            // Registered before the check, so an answer between the two still wakes it.
            let answer = self.answers.notified();
            tokio::pin!(answer);
            answer.as_mut().enable();
            if self.all_answered_since_the_fault() {
                return true;
            }
            if tokio::time::timeout_at(deadline, answer).await.is_err() {
                return self.all_answered_since_the_fault();
            }
        }
    }
}

/// Why an attempt failed.
enum Failure {
    /// Nothing answered, or the answer says to try again: send the same key again.
    Retry,
    /// A coded refusal: nothing was changed.
    Refused(String),
}

/// One attempt of a request, sorted into its outcome.
async fn attempt(client: &GraphQl, query: &str, variables: Value, at: Option<u64>) -> Result<Value, Failure> {
    let request = async {
        match at {
            Some(position) => client.request_at(query, variables, position).await,
            None => client.request(query, variables).await,
        }
    };
    let response = match tokio::time::timeout(REQUEST_BOUND, request).await {
        Ok(Ok(response)) => response,
        // Connection refused or reset, an answer that is not GraphQL, or no answer at all.
        Ok(Err(_)) | Err(_) => return Err(Failure::Retry),
    };
    match response.error_code() {
        None => Ok(response.0["data"].clone()),
        Some("UNAVAILABLE" | "DEADLINE_EXCEEDED" | "RATE_LIMITED") => Err(Failure::Retry),
        Some(code) => Err(Failure::Refused(format!("{code}: {}", response.0["errors"][0]["message"]))),
    }
}

/// Sends a request until it is answered, `deadline` passes, or it is refused; an outage is
/// recorded for every run of failed attempts that an answer ended.
#[allow(clippy::too_many_arguments)]
async fn until_answered(
    client: &GraphQl,
    query: &str,
    variables: &Value,
    at: Option<u64>,
    mut deadline: impl FnMut() -> bool,
    outages: &mut Vec<Outage>,
    shared: &Shared,
    client_index: usize,
) -> Result<Option<Value>, String> {
    let reads = at.is_some();
    let mut first_failure: Option<Instant> = None;
    let mut delay = Duration::from_millis(50);
    loop {
        let started = Instant::now();
        let faults_before = shared.faults.load(Ordering::SeqCst);
        match attempt(client, query, variables.clone(), at).await {
            Ok(data) => {
                shared.answered[client_index].fetch_max(faults_before, Ordering::SeqCst);
                shared.answers.notify_waiters();
                if let Some(since) = first_failure {
                    outages.push(Outage { started: since, lasted: since.elapsed(), reads });
                }
                return Ok(Some(data));
            }
            Err(Failure::Refused(why)) => return Err(why),
            Err(Failure::Retry) => {
                first_failure.get_or_insert(started);
                if deadline() {
                    return Ok(None);
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_millis(500));
            }
        }
    }
}

/// What one client did.
pub struct Driven {
    pub sent: Vec<Sent>,
    pub outages: Vec<Outage>,
}

/// One reader's mutations until `stop`; the one in flight then is sent again for up to
/// `FINISH_BOUND`.
pub async fn drive(
    me: Reader,
    index: usize,
    books: Arc<Vec<Uuid>>,
    readers: Arc<Vec<Uuid>>,
    shared: Arc<Shared>,
    seed: u64,
    stop: CancellationToken,
) -> Driven {
    let mut rng = StdRng::seed_from_u64(seed ^ index as u64);
    let mut library = Library::default();
    let (mut sent, mut outages) = (Vec::new(), Vec::new());
    let mut stopped_at: Option<Instant> = None;
    for n in 0.. {
        if stop.is_cancelled() {
            break;
        }
        let op = library.next(&mut rng, &books, &readers, me.id);
        let key = format!("faults:{index}:{n}");
        let (query, variables) = mutation(&op, &key);
        let deadline = || {
            if stop.is_cancelled() {
                stopped_at.get_or_insert_with(Instant::now);
            }
            stopped_at.is_some_and(|at| at.elapsed() > FINISH_BOUND)
        };
        let outcome =
            match until_answered(&me.client, query, &variables, None, deadline, &mut outages, &shared, index).await {
                Ok(Some(data)) => {
                    let position = data.as_object().and_then(|d| d.values().next()).map(|v| v["position"].as_u64());
                    shared.latest.fetch_max(position.flatten().unwrap_or(0), Ordering::Relaxed);
                    library.apply(&op);
                    Outcome::Acknowledged
                }
                Ok(None) => Outcome::Unacknowledged,
                Err(why) => Outcome::Refused(why),
            };
        let done = outcome != Outcome::Acknowledged;
        sent.push(Sent { reader: me.id, key, op, outcome });
        if done {
            break;
        }
    }
    Driven { sent, outages }
}

/// Reads a book at the latest acknowledged position (read-your-writes) until `stop`: the
/// reads' outages, which the projector's and Postgres's faults make.
pub async fn read_your_writes(
    client: GraphQl,
    client_index: usize,
    book: Uuid,
    shared: Arc<Shared>,
    stop: CancellationToken,
) -> Result<Vec<Outage>, String> {
    let mut outages = Vec::new();
    let query = "query($b: ID!) { book(id: $b) { ratings { count } } }";
    while !stop.is_cancelled() {
        let at = shared.latest.load(Ordering::Relaxed);
        let deadline = || stop.is_cancelled();
        let variables = json!({ "b": book });
        until_answered(&client, query, &variables, Some(at), deadline, &mut outages, &shared, client_index).await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(outages)
}
