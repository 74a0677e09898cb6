//! One NATS subscription per live subject in a process (the gateway), shared by every GraphQL
//! subscription that follows the subject. Thousands of clients watching one book cost one
//! NATS subscription, and each push crosses from NATS once and is handed to them in memory,
//! instead of NATS sending it thousands of times over the gateway's one connection.
//!
//! Each GraphQL subscription is one `Following`: one channel, whatever number of subjects it
//! follows (a feed follows every account above the fan-out limit that its reader follows). A
//! subject keeps its followers' senders; a follower costs a subject one entry (8 bytes: a
//! subject 15,000 sockets follow keeps 32,768 slots), and a subject costs a follower one
//! handle. The NATS subscription ends when its subject's last follower goes.
//!
//! Subjects of which each has one follower or few (every reader's own feed) are received
//! through one wildcard subscription for all of them (`shared`), routed here by subject: a
//! connected reader then costs no NATS subscription of its own (each holds a channel of 32
//! messages, a third of an idle feed's memory). The price: this gateway receives the feed
//! notices of readers not connected to it, which the projector writes anyway.

use std::{
    collections::{HashMap, HashSet},
    hash::{Hash, Hasher},
    pin::Pin,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex, MutexGuard, PoisonError,
    },
    task::{Context, Poll},
};

use bytes::Bytes;
use futures::{channel::mpsc, Stream, StreamExt as _};
use readstream_eventstore::trace_context;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

/// Updates kept for a follower that has not read them yet. One that falls further behind is
/// told so (`Lagged`) and ends.
pub const KEPT_UPDATES: usize = 64;

/// The subjects followed in this gateway.
#[derive(Clone)]
pub struct Live {
    nats: async_nats::Client,
    topics: Arc<Mutex<HashMap<Arc<str>, Arc<Topic>>>>,
    shared: Arc<Vec<Wildcard>>,
}

/// A wildcard subject (`prefix.*`) whose subjects are received through one subscription, kept
/// from its first follower on.
struct Wildcard {
    subject: String,
    subscribed: OnceCell<()>,
}

impl Wildcard {
    fn covers(&self, subject: &str) -> bool {
        let prefix = self.subject.trim_end_matches('*');
        subject.strip_prefix(prefix).is_some_and(|token| !token.is_empty() && !token.contains('.'))
    }
}

/// One subject and who follows it here.
struct Topic {
    subject: Arc<str>,
    followers: Mutex<HashSet<Member>>,
    /// Set once the NATS server has the subject's subscription.
    subscribed: OnceCell<()>,
    /// Cancelled when the last follower goes: the NATS subscription ends.
    unfollowed: CancellationToken,
}

/// A follower: where its updates are posted.
type Follower = Post<Bytes>;

/// A follower in its subjects' sets: the same follower by address.
struct Member(Arc<Follower>);

impl PartialEq for Member {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Member {}

impl Hash for Member {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.0).hash(state);
    }
}

/// Some updates were dropped: the client read them slower than they came.
#[derive(Debug, PartialEq, Eq)]
pub struct Lagged;

/// The sending side of a mailbox: what is posted waits there until read, `KEPT_UPDATES` at
/// most unless the mailbox was made to keep more. The channel is unbounded, with the bound kept here: a tokio channel allocates a block
/// of 32 slots when made, which was a tenth of an idle WebSocket's memory.
pub struct Post<T> {
    items: mpsc::UnboundedSender<T>,
    unread: Arc<Unread>,
}

/// What a mailbox's two sides share.
struct Unread {
    /// Items posted and not yet read.
    count: AtomicUsize,
    /// How many unread items it keeps.
    kept: usize,
    /// Set when an item found `kept` unread and was dropped.
    lagged: AtomicBool,
}

/// The reading side of a mailbox: its items in the order posted, then `Lagged` (first, and
/// for good) once one was dropped because too many were unread.
pub struct Mailbox<T> {
    items: mpsc::UnboundedReceiver<T>,
    unread: Arc<Unread>,
}

/// A new mailbox that keeps `KEPT_UPDATES` unread: post to the one, read from the other.
pub fn mailbox<T>() -> (Post<T>, Mailbox<T>) {
    mailbox_keeping(KEPT_UPDATES)
}

/// A new mailbox that keeps `kept` unread items.
pub fn mailbox_keeping<T>(kept: usize) -> (Post<T>, Mailbox<T>) {
    let (sender, receiver) = mpsc::unbounded();
    let unread = Arc::new(Unread { count: AtomicUsize::new(0), kept, lagged: AtomicBool::new(false) });
    (Post { items: sender, unread: unread.clone() }, Mailbox { items: receiver, unread })
}

impl<T> Post<T> {
    /// Posts `item`, or drops it and marks the mailbox lagged when as many are unread as it
    /// keeps.
    pub fn post(&self, item: T) {
        if self.unread.count.fetch_add(1, Ordering::Relaxed) >= self.unread.kept {
            self.unread.lagged.store(true, Ordering::Relaxed);
        } else {
            // Only fails once the mailbox is gone, as its reader leaves.
            let _ = self.items.unbounded_send(item);
        }
    }
}

impl<T> Mailbox<T> {
    /// Whether an item was dropped.
    pub fn lagged(&self) -> bool {
        self.unread.lagged.load(Ordering::Relaxed)
    }
}

impl<T> Stream for Mailbox<T> {
    type Item = Result<T, Lagged>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.lagged() {
            return Poll::Ready(Some(Err(Lagged)));
        }
        let read = self.items.poll_next_unpin(cx);
        if let Poll::Ready(Some(_)) = read {
            self.unread.count.fetch_sub(1, Ordering::Relaxed);
        }
        read.map(|item| item.map(Ok))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Live {
    /// `shared`: wildcard subjects (`prefix.*`) to receive through one subscription each.
    pub fn new(nats: async_nats::Client, shared: impl IntoIterator<Item = String>) -> Self {
        let shared = shared.into_iter().map(|subject| Wildcard { subject, subscribed: OnceCell::new() }).collect();
        Self { nats, topics: Arc::default(), shared: Arc::new(shared) }
    }

    /// The payloads published on any of `subjects` from now on. When this returns, the NATS
    /// server has every subject's subscription: nothing published after it is missed.
    pub async fn follow(&self, subjects: impl IntoIterator<Item = String>) -> Result<Following, async_nats::Error> {
        let subjects: Vec<Arc<str>> = subjects.into_iter().map(Arc::from).collect();
        let (post, mailbox) = mailbox();
        let topics = Vec::with_capacity(subjects.len());
        let mut following = Following { live: self.clone(), follower: Arc::new(post), topics, mailbox };
        for subject in subjects {
            let topic = {
                let mut topics = lock(&self.topics);
                let topic = topics
                    .entry(subject.clone())
                    .or_insert_with(|| {
                        Arc::new(Topic {
                            subject: subject.clone(),
                            followers: Mutex::default(),
                            subscribed: OnceCell::new(),
                            unfollowed: CancellationToken::new(),
                        })
                    })
                    .clone();
                // Added under the map's lock, so the topic cannot be let go in between.
                lock(&topic.followers).insert(Member(following.follower.clone()));
                topic
            };
            following.topics.push(topic.clone());
            match self.shared.iter().find(|wildcard| wildcard.covers(&subject)) {
                Some(wildcard) => {
                    wildcard
                        .subscribed
                        .get_or_try_init(|| async {
                            let subscriber = self.nats.subscribe(wildcard.subject.clone()).await?;
                            self.nats.flush().await?;
                            tokio::spawn(route(subscriber, self.topics.clone()));
                            Ok::<_, async_nats::Error>(())
                        })
                        .await?;
                }
                None => {
                    topic
                        .subscribed
                        .get_or_try_init(|| async {
                            let subscriber = self.nats.subscribe(subject.to_string()).await?;
                            self.nats.flush().await?;
                            tokio::spawn(forward(subscriber, topic.clone()));
                            Ok::<_, async_nats::Error>(())
                        })
                        .await?;
                }
            }
        }
        Ok(following)
    }

    /// How many subjects have a NATS subscription open in this gateway.
    pub fn subjects(&self) -> usize {
        lock(&self.topics).len()
    }
}

/// Hands each message of `subscriber` to the topic's followers, until the last one goes.
async fn forward(mut subscriber: async_nats::Subscriber, topic: Arc<Topic>) {
    loop {
        tokio::select! {
            message = subscriber.next() => match message {
                Some(message) => push(&topic, &message),
                None => return,
            },
            () = topic.unfollowed.cancelled() => return,
        }
    }
}

/// Hands each message of a wildcard's `subscriber` to the followers of its subject, if any.
async fn route(mut subscriber: async_nats::Subscriber, topics: Arc<Mutex<HashMap<Arc<str>, Arc<Topic>>>>) {
    while let Some(message) = subscriber.next().await {
        let topic = lock(&topics).get(message.subject.as_str()).cloned();
        if let Some(topic) = topic {
            push(&topic, &message);
        }
    }
}

/// Hands `message` to the topic's followers, in a span of the trace it carries, if any.
fn push(topic: &Topic, message: &async_nats::Message) {
    if message.headers.is_none() {
        return deliver(topic, &message.payload);
    }
    let span = tracing::info_span!("live push", subject = %message.subject);
    let _entered = trace_context::continued(span, message.headers.as_ref()).entered();
    deliver(topic, &message.payload);
}

fn deliver(topic: &Topic, payload: &Bytes) {
    for Member(follower) in lock(&topic.followers).iter() {
        follower.post(payload.clone());
    }
}

/// One GraphQL subscription's updates, from every subject it follows; it stops following them
/// when dropped.
pub struct Following {
    live: Live,
    follower: Arc<Follower>,
    topics: Vec<Arc<Topic>>,
    mailbox: Mailbox<Bytes>,
}

impl Stream for Following {
    type Item = Result<Bytes, Lagged>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.mailbox.poll_next_unpin(cx)
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        let mut topics = lock(&self.live.topics);
        for topic in &self.topics {
            let mut followers = lock(&topic.followers);
            followers.remove(&Member(self.follower.clone()));
            if followers.is_empty() {
                if topics.get(&topic.subject).is_some_and(|kept| Arc::ptr_eq(kept, topic)) {
                    topics.remove(&topic.subject);
                }
                topic.unfollowed.cancel();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn connect() -> async_nats::Client {
        let url = std::env::var("NATS_URL").expect("NATS_URL: the test NATS server `make test` started");
        async_nats::connect(url).await.expect("the test NATS server")
    }

    /// A namespace no other test uses.
    fn fresh_namespace() -> String {
        format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
    }

    async fn receive(following: &mut Following) -> Result<Bytes, Lagged> {
        tokio::time::timeout(Duration::from_secs(5), following.next()).await.expect("an update in time").expect("open")
    }

    /// A new book's live ratings subject, in a namespace of its own.
    fn book() -> String {
        readstream_contracts::ratings::live_book_ratings(&fresh_namespace(), uuid::Uuid::new_v4())
    }

    #[test]
    fn every_subject_an_open_feed_follows_for_its_whole_life_is_under_one_shared_wildcard() {
        use readstream_contracts::social;
        let reader_id = uuid::Uuid::now_v7();
        let wildcards: Vec<Wildcard> = social::live_wildcards("rs")
            .into_iter()
            .map(|subject| Wildcard { subject, subscribed: OnceCell::new() })
            .collect();
        let covered = |subject: &str| wildcards.iter().any(|wildcard| wildcard.covers(subject));
        assert!(covered(&social::live_feed("rs", reader_id)));
        assert!(covered(&social::live_merged_followees("rs", reader_id)));
        // Another namespace's are not.
        assert!(!covered(&social::live_feed("other", reader_id)));
        assert!(!covered(&social::live_merged_followees("other", reader_id)));
    }

    #[tokio::test]
    async fn followers_of_one_subject_share_one_subscription_and_each_gets_what_is_published_after_following() {
        let book = book();
        let live = Live::new(connect().await, []);
        let mut first = live.follow([book.clone()]).await.expect("followed");
        let mut second = live.follow([book.clone()]).await.expect("followed");
        assert_eq!(live.subjects(), 1);
        // Published by another connection right after following: the server already has it.
        let publisher = connect().await;
        publisher.publish(book.clone(), "one".into()).await.expect("published");
        publisher.flush().await.expect("flushed");
        assert_eq!(receive(&mut first).await, Ok("one".into()));
        assert_eq!(receive(&mut second).await, Ok("one".into()));
    }

    #[tokio::test]
    async fn one_following_gets_the_updates_of_every_subject_it_follows() {
        let (namespace, reader) = (fresh_namespace(), uuid::Uuid::new_v4());
        let feed = readstream_contracts::social::live_feed(&namespace, reader);
        let activity = readstream_contracts::social::live_activity(&namespace, uuid::Uuid::new_v4());
        let live = Live::new(connect().await, []);
        let mut following = live.follow([feed.clone(), activity.clone()]).await.expect("followed");
        let publisher = connect().await;
        publisher.publish(feed, "mine".into()).await.expect("published");
        publisher.flush().await.expect("flushed");
        assert_eq!(receive(&mut following).await, Ok("mine".into()));
        publisher.publish(activity, "theirs".into()).await.expect("published");
        publisher.flush().await.expect("flushed");
        assert_eq!(receive(&mut following).await, Ok("theirs".into()));
    }

    #[tokio::test]
    async fn subjects_under_a_shared_wildcard_reach_only_their_own_followers() {
        let namespace = fresh_namespace();
        let feed = |reader| readstream_contracts::social::live_feed(&namespace, reader);
        let live = Live::new(connect().await, [readstream_contracts::social::live_feeds(&namespace)]);
        let (mine, theirs) = (feed(uuid::Uuid::new_v4()), feed(uuid::Uuid::new_v4()));
        let mut following = live.follow([mine.clone()]).await.expect("followed");
        let mut other = live.follow([theirs.clone()]).await.expect("followed");
        let publisher = connect().await;
        publisher.publish(feed(uuid::Uuid::new_v4()), "lost".into()).await.expect("published");
        publisher.publish(theirs, "theirs".into()).await.expect("published");
        publisher.publish(mine.clone(), "mine".into()).await.expect("published");
        publisher.flush().await.expect("flushed");
        assert_eq!(receive(&mut following).await, Ok("mine".into()));
        assert_eq!(receive(&mut other).await, Ok("theirs".into()));
        // Followed again after its last follower went, through the same wildcard.
        drop(following);
        let mut again = live.follow([mine.clone()]).await.expect("followed");
        publisher.publish(mine, "again".into()).await.expect("published");
        publisher.flush().await.expect("flushed");
        assert_eq!(receive(&mut again).await, Ok("again".into()));
    }

    #[tokio::test]
    async fn the_subscription_ends_with_its_last_follower_and_a_new_follower_starts_another() {
        let book = book();
        let live = Live::new(connect().await, []);
        let first = live.follow([book.clone()]).await.expect("followed");
        let second = live.follow([book.clone()]).await.expect("followed");
        drop(first);
        assert_eq!(live.subjects(), 1, "one follower is left");
        drop(second);
        assert_eq!(live.subjects(), 0);
        let mut again = live.follow([book.clone()]).await.expect("followed");
        let publisher = connect().await;
        publisher.publish(book, "two".into()).await.expect("published");
        assert_eq!(receive(&mut again).await, Ok("two".into()));
    }

    #[tokio::test]
    async fn a_follower_that_falls_behind_is_told_once_its_updates_were_dropped() {
        let book = book();
        let live = Live::new(connect().await, []);
        let mut slow = live.follow([book.clone()]).await.expect("followed");
        let mut keeping_up = live.follow([book.clone()]).await.expect("followed");
        let publisher = connect().await;
        for n in 0..=KEPT_UPDATES {
            publisher.publish(book.clone(), n.to_string().into()).await.expect("published");
            if n < KEPT_UPDATES {
                publisher.flush().await.expect("flushed");
                assert_eq!(receive(&mut keeping_up).await, Ok(n.to_string().into()));
            }
        }
        publisher.flush().await.expect("flushed");
        assert_eq!(receive(&mut keeping_up).await, Ok(KEPT_UPDATES.to_string().into()));
        // The forward task hands each message to every follower in turn.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !slow.mailbox.lagged() {
            assert!(tokio::time::Instant::now() < deadline, "the slow follower was never marked");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(receive(&mut slow).await, Err(Lagged), "told before the updates it kept");
    }
}
