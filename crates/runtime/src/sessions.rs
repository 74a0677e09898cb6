//! Ended sessions, as every gateway learns them: the social service puts each session it ends
//! into the namespace's `<NS>_ENDED_SESSIONS` key-value bucket (key: the session id, value: when
//! it ended, in seconds since the Unix epoch), and each gateway watches the whole bucket, from
//! its start, to refuse the access tokens of those sessions until they expire.
//!
//! Entries are kept for [`KEPT_FOR`], so an access token can live at most that long: a gateway
//! started later still learns every session ended while a token of it could be valid.
//!
//! [`EndedSessions`] is a gateway's copy of the bucket, also told at once of the sessions that
//! gateway ends itself (`signOut`, `changePassword`). Each open WebSocket listens for its
//! session's end and closes (4401) when it comes. It fails closed: until the gateway has read
//! every ended session the bucket holds, and whenever its watch has been down (or NATS out of
//! reach) for [`WATCH_DOWN_GRACE`], it cannot tell a live token from one of an ended session,
//! and every token is answered `UNAVAILABLE`.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Mutex, RwLock,
    },
    time::{Duration, Instant, SystemTime},
};

use async_nats::jetstream::{self, kv};
use backon::BackoffBuilder as _;
use futures::StreamExt as _;
use readstream_contracts::{Code, Rejection};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long an ended session is remembered, the bound of an access token's lifetime.
pub const KEPT_FOR: Duration = Duration::from_secs(24 * 3600);

pub fn bucket_name(namespace: &str) -> String {
    readstream_eventstore::namespaced(namespace, "ENDED_SESSIONS")
}

/// Opens the namespace's bucket of ended sessions, creating it if needed, trying again with
/// backoff while JetStream does not answer (until `shutdown`).
pub async fn ended_sessions(
    client: async_nats::Client,
    namespace: &str,
    replicas: usize,
    shutdown: &CancellationToken,
) -> Result<kv::Store, crate::config::StartError> {
    let context = jetstream::new(client);
    crate::config::with_backoff("NATS", shutdown, || open_bucket(&context, namespace, replicas)).await
}

async fn open_bucket(
    context: &jetstream::Context,
    namespace: &str,
    replicas: usize,
) -> Result<kv::Store, crate::config::StartError> {
    let config = kv::Config {
        bucket: bucket_name(namespace),
        description: "sessions ended (signed out, password changed, refresh token reused)".to_owned(),
        history: 1,
        max_age: KEPT_FOR,
        storage: jetstream::stream::StorageType::File,
        num_replicas: replicas,
        ..Default::default()
    };
    let bucket = config.bucket.clone();
    context
        .create_or_update_key_value(config)
        .await
        .map_err(|source| crate::config::StartError::Bucket { bucket, source })
}

/// Records that `session_id` ended at `ended_at` (seconds since the Unix epoch).
pub async fn end(store: &kv::Store, session_id: Uuid, ended_at: i64) -> Result<u64, kv::PutError> {
    store.put(session_id.to_string(), ended_at.to_string().into()).await
}

/// A session id and when it ended, from a bucket entry (`None` for anything else).
pub fn parse(entry: &kv::Entry) -> Option<(Uuid, i64)> {
    let ended_at = std::str::from_utf8(&entry.value).ok()?.parse().ok()?;
    Some((Uuid::parse_str(&entry.key).ok()?, ended_at))
}

/// Seconds since the Unix epoch, as the bucket's entries and the tokens count time.
pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |since| since.as_secs())
}

/// How long the watch of ended sessions may be down before tokens are refused.
pub const WATCH_DOWN_GRACE: Duration = Duration::from_secs(10);

/// Forgetting ended sessions whose tokens have all expired, once per this many ends.
const PRUNE_EVERY: usize = 1_024;

pub struct EndedSessions {
    /// Each ended session, until when its tokens could still be valid (seconds since the epoch).
    until: RwLock<HashMap<Uuid, u64>>,
    /// The lifetime of an access token: how long an ended session must be remembered.
    token_lifetime: Duration,
    announced: broadcast::Sender<Uuid>,
    ends_since_prune: AtomicUsize,
    watch: Mutex<Watch>,
    /// How long the watch may be down before tokens are refused.
    grace: Duration,
}

/// How the watch of the bucket stands.
#[derive(Debug, Default)]
struct Watch {
    /// Every ended session the bucket held was read, at least once.
    read: bool,
    /// Since when the watch (or NATS) has been down, if it is.
    down_since: Option<Instant>,
}

impl EndedSessions {
    pub fn new(token_lifetime: Duration) -> Self {
        Self::with_grace(token_lifetime, WATCH_DOWN_GRACE)
    }

    /// Ended sessions whose watch may be down `grace` before tokens are refused.
    pub fn with_grace(token_lifetime: Duration, grace: Duration) -> Self {
        Self {
            until: RwLock::default(),
            token_lifetime,
            announced: broadcast::channel(1_024).0,
            ends_since_prune: AtomicUsize::new(0),
            watch: Mutex::default(),
            grace,
        }
    }

    /// Whether this gateway knows which sessions ended: `UNAVAILABLE` before it read the bucket,
    /// and while its watch has been down past the grace.
    pub fn known(&self) -> Result<(), Rejection> {
        let watch = self.watch.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let down_too_long = watch.down_since.is_some_and(|since| since.elapsed() >= self.grace);
        if watch.read && !down_too_long {
            return Ok(());
        }
        Err(Rejection::new(
            Code::Unavailable,
            "this gateway cannot check tokens against ended sessions right now; try again in a moment",
        ))
    }

    /// Every ended session the bucket held is read, and the watch is up.
    pub fn watch_up(&self) {
        let mut watch = self.watch.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *watch = Watch { read: true, down_since: None };
    }

    /// The watch (or NATS) is down: from now on, past the grace, tokens are refused.
    fn watch_down(&self) {
        let mut watch = self.watch.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        watch.down_since.get_or_insert_with(Instant::now);
    }

    pub fn contains(&self, session_id: Uuid) -> bool {
        self.until.read().unwrap_or_else(|poisoned| poisoned.into_inner()).contains_key(&session_id)
    }

    /// Records that `session_id` ended at `ended_at` (seconds since the epoch) and tells the
    /// WebSockets of that session.
    pub fn end(&self, session_id: Uuid, ended_at: u64) {
        let until = ended_at.saturating_add(self.token_lifetime.as_secs());
        if until < now_secs() {
            return;
        }
        let mut ended = self.until.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        ended.insert(session_id, until);
        if self.ends_since_prune.fetch_add(1, Ordering::Relaxed) + 1 >= PRUNE_EVERY {
            self.ends_since_prune.store(0, Ordering::Relaxed);
            let now = now_secs();
            ended.retain(|_, until| *until >= now);
        }
        drop(ended);
        let _ = self.announced.send(session_id);
    }

    /// Resolves when `session_id` ends (at once if it has).
    pub async fn ended(&self, session_id: Uuid) {
        let mut announced = self.announced.subscribe();
        loop {
            if self.contains(session_id) {
                return;
            }
            match announced.recv().await {
                Ok(ended) if ended == session_id => return,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return std::future::pending().await,
            }
        }
    }

    /// Follows the bucket of ended sessions from its first entry until `shutdown`, watching
    /// again (with backoff) whenever the watch fails or ends; each second it looks whether NATS
    /// is still connected.
    pub async fn follow(&self, bucket: kv::Store, nats: async_nats::Client, shutdown: CancellationToken) {
        let retries = backon::ExponentialBuilder::default().with_max_delay(Duration::from_secs(10)).without_max_times();
        let mut backoff = retries.build();
        let mut every_second = tokio::time::interval(Duration::from_secs(1));
        while !shutdown.is_cancelled() {
            match self.watch(&bucket).await {
                Ok((mut watch, mut read)) => loop {
                    // Once caught up: tokens are trusted, and the next failure backs off anew.
                    if std::mem::take(&mut read) {
                        self.watch_up();
                        backoff = retries.build();
                    }
                    let entry = tokio::select! {
                        () = shutdown.cancelled() => return,
                        _ = every_second.tick() => {
                            // The watch may have lived on the server this client lost, and a
                            // watch that resumes says nothing until the next session ends: so
                            // it is made again from the first entry once NATS is back.
                            if nats.connection_state() != async_nats::connection::State::Connected {
                                tracing::warn!("NATS is out of reach; watching ended sessions again once it is back");
                                break;
                            }
                            continue;
                        }
                        entry = watch.next() => entry,
                    };
                    match entry {
                        Some(Ok(entry)) => {
                            if let Some((session_id, ended_at)) = parse(&entry) {
                                self.end(session_id, u64::try_from(ended_at).unwrap_or_default());
                            }
                            read |= entry.seen_current;
                        }
                        Some(Err(err)) => {
                            tracing::warn!(error = %err, "watching ended sessions failed; watching again");
                            break;
                        }
                        None => break,
                    }
                },
                Err(err) => tracing::warn!(error = %err, "cannot watch ended sessions; trying again"),
            }
            self.watch_down();
            let delay = backoff.next().unwrap_or(Duration::from_secs(10));
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// A watch of the bucket from its first entry, and whether it is read already (the bucket is
    /// empty); otherwise the entry that catches up says so (`seen_current`).
    async fn watch(&self, bucket: &kv::Store) -> Result<(kv::Watch, bool), Box<dyn std::error::Error + Send + Sync>> {
        let mut stream = bucket.stream.clone();
        let empty = stream.info().await?.state.messages == 0;
        Ok((bucket.watch_with_history(">").await?, empty))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls `known` until it answers `wanted`, for at most `within`.
    async fn until_known(ended: &EndedSessions, wanted: bool, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if ended.known().is_ok() == wanted {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// Fails closed: no token is trusted before every ended session is read, and none once
    /// the watch has been gone past the grace; trusted again once the bucket is back and read.
    #[tokio::test]
    async fn tokens_wait_for_the_ended_sessions_and_are_refused_while_the_watch_is_down() {
        let url = std::env::var("NATS_URL").expect("NATS_URL: the test NATS server `make test` started");
        let nats = async_nats::connect(url).await.expect("the test NATS server");
        let namespace = format!("t{}", &Uuid::new_v4().simple().to_string()[..12]);
        let shutdown = CancellationToken::new();
        let bucket = ended_sessions(nats.clone(), &namespace, 1, &shutdown).await.unwrap();
        let session = Uuid::now_v7();
        let now = i64::try_from(now_secs()).unwrap();
        end(&bucket, session, now).await.unwrap();
        let ended =
            std::sync::Arc::new(EndedSessions::with_grace(Duration::from_secs(900), Duration::from_millis(300)));
        assert!(ended.known().is_err(), "nothing is read yet");
        let following = tokio::spawn({
            let (ended, bucket, nats, shutdown) = (ended.clone(), bucket.clone(), nats.clone(), shutdown.clone());
            async move { ended.follow(bucket, nats, shutdown).await }
        });
        assert!(until_known(&ended, true, Duration::from_secs(10)).await, "never read the bucket");
        assert!(ended.contains(session), "known only once every ended session is read");

        // The bucket goes away: past the grace, no token is trusted.
        let jetstream = async_nats::jetstream::new(nats.clone());
        jetstream.delete_stream(&bucket.stream_name).await.unwrap();
        assert!(until_known(&ended, false, Duration::from_secs(30)).await, "still trusted with the watch gone");
        ended_sessions(nats, &namespace, 1, &shutdown).await.unwrap();
        assert!(until_known(&ended, true, Duration::from_secs(30)).await, "never trusted again");
        shutdown.cancel();
        following.await.unwrap();
    }

    /// A TCP proxy to the test NATS server that can go down for a while, as a NATS server a
    /// gateway is connected to does when it dies: its connections are cut and new ones refused.
    struct Proxy {
        url: String,
        down_until: std::sync::Arc<Mutex<Instant>>,
        cut: broadcast::Sender<()>,
    }

    impl Proxy {
        async fn to(nats_url: &str) -> Proxy {
            let server = nats_url.trim_start_matches("nats://").to_owned();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a local port");
            let url = format!("nats://{}", listener.local_addr().expect("its address"));
            let down_until = std::sync::Arc::new(Mutex::new(Instant::now()));
            let cut = broadcast::channel(1).0;
            let (down, cuts) = (down_until.clone(), cut.clone());
            tokio::spawn(async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if Instant::now() < *down.lock().unwrap() {
                        continue;
                    }
                    let (server, mut cut) = (server.clone(), cuts.subscribe());
                    tokio::spawn(async move {
                        let Ok(mut server) = tokio::net::TcpStream::connect(server).await else { return };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = cut.recv() => {}
                        }
                    });
                }
            });
            Proxy { url, down_until, cut }
        }

        fn down_for(&self, time: Duration) {
            *self.down_until.lock().unwrap() = Instant::now() + time;
            let _ = self.cut.send(());
        }
    }

    /// The server a gateway watched through goes away and comes back while no session ends:
    /// the watch is made again from the first entry, so tokens are trusted again (a watch that
    /// only resumed would say nothing until the next session ended, and every token would stay
    /// refused).
    #[tokio::test]
    async fn tokens_are_trusted_again_once_nats_is_back_though_no_session_ended_meanwhile() {
        let url = std::env::var("NATS_URL").expect("NATS_URL: the test NATS server `make test` started");
        let proxy = Proxy::to(&url).await;
        let nats = async_nats::connect(&proxy.url).await.expect("NATS through the proxy");
        let namespace = format!("t{}", &Uuid::new_v4().simple().to_string()[..12]);
        let shutdown = CancellationToken::new();
        let bucket = ended_sessions(nats.clone(), &namespace, 1, &shutdown).await.unwrap();
        end(&bucket, Uuid::now_v7(), i64::try_from(now_secs()).unwrap()).await.unwrap();
        let ended =
            std::sync::Arc::new(EndedSessions::with_grace(Duration::from_secs(900), Duration::from_millis(300)));
        let following = tokio::spawn({
            let (ended, bucket, nats, shutdown) = (ended.clone(), bucket.clone(), nats.clone(), shutdown.clone());
            async move { ended.follow(bucket, nats, shutdown).await }
        });
        assert!(until_known(&ended, true, Duration::from_secs(10)).await, "never read the bucket");

        proxy.down_for(Duration::from_secs(2));
        assert!(until_known(&ended, false, Duration::from_secs(10)).await, "still trusted with NATS gone");
        assert!(until_known(&ended, true, Duration::from_secs(30)).await, "never trusted again once NATS was back");
        shutdown.cancel();
        following.await.unwrap();
    }

    #[tokio::test]
    async fn an_ended_session_is_refused_until_its_tokens_expire_and_its_sockets_hear_of_it() {
        let ended = std::sync::Arc::new(EndedSessions::new(Duration::from_secs(900)));
        let (session, other) = (Uuid::now_v7(), Uuid::now_v7());
        let listening = tokio::spawn({
            let ended = ended.clone();
            async move { ended.ended(session).await }
        });
        let now = now_secs();
        ended.end(other, now);
        ended.end(session, now - 3_600);
        assert!(!ended.contains(session), "its tokens expired long ago");
        assert!(ended.contains(other));
        assert!(!listening.is_finished());
        ended.end(session, now);
        assert!(ended.contains(session));
        tokio::time::timeout(Duration::from_secs(5), listening).await.unwrap().unwrap();
    }
}
