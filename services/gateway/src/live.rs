//! One NATS subscription per live subject in this gateway, shared by every GraphQL
//! subscription that follows the subject. Thousands of clients watching one book cost one
//! NATS subscription, and each push crosses from NATS once and is handed to them in memory,
//! instead of NATS sending it thousands of times over the gateway's one connection. The NATS
//! subscription ends when the last follower of its subject goes.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use bytes::Bytes;
use futures::StreamExt as _;
use tokio::sync::{broadcast, OnceCell};

/// Updates of one subject kept for a follower that has not read them yet. One that falls
/// further behind loses the oldest (`Lagged`).
const KEPT_UPDATES: usize = 64;

/// The subjects followed in this gateway.
#[derive(Clone)]
pub struct Live {
    nats: async_nats::Client,
    topics: Arc<Mutex<HashMap<String, Arc<Topic>>>>,
}

struct Topic {
    updates: broadcast::Sender<Bytes>,
    /// Set once the NATS server has the subject's subscription.
    subscribed: OnceCell<()>,
}

type Topics = Mutex<HashMap<String, Arc<Topic>>>;

fn lock(topics: &Topics) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Topic>>> {
    topics.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Live {
    pub fn new(nats: async_nats::Client) -> Self {
        Self { nats, topics: Arc::default() }
    }

    /// The payloads published on `subject` from now on. When this returns, the NATS server
    /// has the subscription: nothing published after it is missed.
    pub async fn follow(&self, subject: &str) -> Result<broadcast::Receiver<Bytes>, async_nats::Error> {
        let (topic, updates) = {
            let mut topics = lock(&self.topics);
            let topic = topics
                .entry(subject.to_owned())
                .or_insert_with(|| {
                    Arc::new(Topic { updates: broadcast::channel(KEPT_UPDATES).0, subscribed: OnceCell::new() })
                })
                .clone();
            // Made under the lock, so the topic is never dropped between here and the receiver.
            let updates = topic.updates.subscribe();
            (topic, updates)
        };
        let subscribed = topic
            .subscribed
            .get_or_try_init(|| async {
                let subscriber = self.nats.subscribe(subject.to_owned()).await?;
                self.nats.flush().await?;
                tokio::spawn(forward(subscriber, topic.clone(), self.topics.clone(), subject.to_owned()));
                Ok::<_, async_nats::Error>(())
            })
            .await;
        match subscribed {
            Ok(()) => Ok(updates),
            Err(err) => {
                drop(updates);
                forget_if_unfollowed(&self.topics, subject, &topic);
                Err(err)
            }
        }
    }

    /// How many subjects have a NATS subscription open in this gateway.
    pub fn subjects(&self) -> usize {
        lock(&self.topics).len()
    }
}

/// Hands each message of `subscriber` to the topic's followers, until the last one goes.
async fn forward(mut subscriber: async_nats::Subscriber, topic: Arc<Topic>, topics: Arc<Topics>, subject: String) {
    loop {
        tokio::select! {
            message = subscriber.next() => match message {
                // None followed: the message was published before anyone could want it.
                Some(message) => drop(topic.updates.send(message.payload)),
                None => break,
            },
            () = topic.updates.closed() => {
                if forget_if_unfollowed(&topics, &subject, &topic) {
                    break;
                }
            }
        }
    }
    lock(&topics).retain(|_, kept| !Arc::ptr_eq(kept, &topic));
}

/// Removes `topic` if no one follows it; whether it did. Checked under the lock `follow` takes
/// to add a follower, so no follower joins a topic as it goes.
fn forget_if_unfollowed(topics: &Topics, subject: &str, topic: &Arc<Topic>) -> bool {
    let mut topics = lock(topics);
    if topic.updates.receiver_count() > 0 {
        return false;
    }
    if topics.get(subject).is_some_and(|kept| Arc::ptr_eq(kept, topic)) {
        topics.remove(subject);
    }
    true
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn connect() -> async_nats::Client {
        async_nats::connect(readstream_testkit::nats_url()).await.expect("the test NATS server")
    }

    async fn receive(updates: &mut broadcast::Receiver<Bytes>) -> Bytes {
        tokio::time::timeout(Duration::from_secs(5), updates.recv()).await.expect("an update in time").expect("open")
    }

    #[tokio::test]
    async fn followers_of_one_subject_share_one_subscription_and_each_gets_what_is_published_after_following() {
        let subject = format!("{}.live.book", readstream_testkit::namespace());
        let live = Live::new(connect().await);
        let mut first = live.follow(&subject).await.expect("followed");
        let mut second = live.follow(&subject).await.expect("followed");
        assert_eq!(live.subjects(), 1);
        // Published by another connection right after following: the server already has it.
        let publisher = connect().await;
        publisher.publish(subject.clone(), "one".into()).await.expect("published");
        publisher.flush().await.expect("flushed");
        assert_eq!(receive(&mut first).await, "one");
        assert_eq!(receive(&mut second).await, "one");
    }

    #[tokio::test]
    async fn the_subscription_ends_with_its_last_follower_and_a_new_follower_starts_another() {
        let subject = format!("{}.live.book", readstream_testkit::namespace());
        let live = Live::new(connect().await);
        let first = live.follow(&subject).await.expect("followed");
        let second = live.follow(&subject).await.expect("followed");
        drop(first);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(live.subjects(), 1, "one follower is left");
        drop(second);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while live.subjects() > 0 {
            assert!(tokio::time::Instant::now() < deadline, "the subscription was never dropped");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut again = live.follow(&subject).await.expect("followed");
        let publisher = connect().await;
        publisher.publish(subject.clone(), "two".into()).await.expect("published");
        assert_eq!(receive(&mut again).await, "two");
    }
}
