//! In a cluster: a client of the second gateway watches a book's ratings live while the load
//! goes through the first gateway and NATS nodes are killed. Its subscription must outlive the
//! faults, and a rating made through the first gateway after them must reach it.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use readstream_testkit::graphql::GraphQl;
use serde_json::{json, Value};
use tokio::{sync::watch, task::JoinHandle};
use uuid::Uuid;

const RATINGS_LIVE: &str = "subscription($b: ID!) { bookRatingsChanged(bookId: $b) { position ratings { count } } }";

/// How long the last rating's push may take to arrive.
const PUSH_BOUND: Duration = Duration::from_secs(15);

/// The figures of a push: the stream position they include and the rating count.
type Figures = (u64, u64);

pub struct Watcher {
    /// The last push's figures, as they arrive.
    last: watch::Receiver<Figures>,
    pushes: Arc<AtomicU64>,
    /// Ends with the error that ended the subscription.
    task: JoinHandle<anyhow::Error>,
}

fn figures(data: &Value) -> anyhow::Result<Figures> {
    let changed = &data["bookRatingsChanged"];
    let position = changed["position"].as_u64().with_context(|| format!("no position in {data}"))?;
    let count = changed["ratings"]["count"].as_u64().with_context(|| format!("no count in {data}"))?;
    Ok((position, count))
}

impl Watcher {
    /// Subscribes on `gateway` and keeps every push's figures until the check.
    pub async fn start(gateway: GraphQl, book: Uuid) -> anyhow::Result<Self> {
        let mut subscription = gateway.subscribe(RATINGS_LIVE, json!({ "b": book })).await?;
        let snapshot = figures(&subscription.next(Duration::from_secs(10)).await?)?;
        let (kept, last) = watch::channel(snapshot);
        let pushes = Arc::new(AtomicU64::new(0));
        let counted = pushes.clone();
        let task = tokio::spawn(async move {
            loop {
                let push = match subscription.next(Duration::from_secs(24 * 3600)).await {
                    Ok(data) => figures(&data),
                    Err(err) => return err,
                };
                match push {
                    Ok(figures) => {
                        kept.send_replace(figures);
                        counted.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(err) => return err,
                }
            }
        });
        Ok(Self { last, pushes, task })
    }

    /// A new reader rates `book` through `first_gateway`; its push must reach the watcher with
    /// the count the read model shows.
    pub async fn check_last_push(mut self, first_gateway: &GraphQl, book: Uuid) -> anyhow::Result<()> {
        let handle = format!("faults_live_{}", &Uuid::now_v7().simple().to_string()[24..]);
        let signed_up = first_gateway
            .request(
                "mutation($h: String!) { signUp(input: { handle: $h, displayName: $h, password: \"readstream-faults\" }) { token } }",
                json!({ "h": handle }),
            )
            .await?;
        let reader = first_gateway.with_token(signed_up.data()?["signUp"]["token"].as_str().context("no token")?);
        // As a client does, sent again while the answer is UNAVAILABLE ("try again in a
        // moment"): a gateway whose watch of ended sessions lived on the node left down
        // refuses signed-in requests until it watches again.
        let deadline = Instant::now() + Duration::from_secs(60);
        let position = loop {
            let rated = reader
                .request(
                    "mutation($b: ID!) { rateBook(bookId: $b, stars: 4, idempotencyKey: \"faults:live\") { position } }",
                    json!({ "b": book }),
                )
                .await?;
            match rated.data() {
                Ok(data) => break data["rateBook"]["position"].as_u64().context("no position")?,
                Err(err) if rated.error_code() == Some("UNAVAILABLE") && Instant::now() < deadline => {
                    println!("live: the first gateway answered UNAVAILABLE ({err}); sending again");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(err) => return Err(err),
            }
        };
        let count = loop {
            let read = reader
                .request_at("query($b: ID!) { book(id: $b) { ratings { count } } }", json!({ "b": book }), position)
                .await?;
            match read.data() {
                Ok(data) => break data["book"]["ratings"]["count"].as_u64().context("no count")?,
                Err(_) if read.error_code() == Some("UNAVAILABLE") && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(err) => return Err(err),
            }
        };
        let sent = Instant::now();
        let mut last = self.last.clone();
        let arrived = tokio::select! {
            arrived = tokio::time::timeout(PUSH_BOUND, last.wait_for(|(at, _)| *at >= position)) => arrived,
            ended = &mut self.task => {
                let why = ended?;
                anyhow::bail!("the second gateway's subscription ended during the faults: {why:#}");
            }
        };
        let Ok(Ok(pushed)) = arrived else {
            anyhow::bail!(
                "the rating at position {position} did not reach the second gateway's subscriber within {} s \
                 (its last push: {:?})",
                PUSH_BOUND.as_secs(),
                *self.last.borrow()
            );
        };
        let (at, pushed) = *pushed;
        anyhow::ensure!(pushed == count, "the push at {at} said {pushed} ratings, the read model {count}");
        println!(
            "live: {} pushes reached the second gateway's subscriber during the faults; \
             a rating through the first gateway after them reached it in {:.0} ms",
            self.pushes.load(Ordering::Relaxed),
            sent.elapsed().as_secs_f64() * 1e3
        );
        self.task.abort();
        Ok(())
    }
}
