//! The sessions this gateway refuses: every session ended before its access tokens expire,
//! learnt from the bucket of ended sessions ([`readstream_runtime::sessions`]) that the social
//! service writes, and at once from this gateway's own `signOut` and `changePassword`.
//!
//! Each open WebSocket listens for its session's end and closes (4401) when it comes.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        RwLock,
    },
    time::Duration,
};

use async_nats::jetstream::kv;
use backon::BackoffBuilder as _;
use futures::StreamExt as _;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Forgetting ended sessions whose tokens have all expired, once per this many ends.
const PRUNE_EVERY: usize = 1_024;

pub struct EndedSessions {
    /// Each ended session, until when its tokens could still be valid (seconds since the epoch).
    until: RwLock<HashMap<Uuid, u64>>,
    /// The lifetime of an access token: how long an ended session must be remembered.
    token_lifetime: Duration,
    announced: broadcast::Sender<Uuid>,
    ends_since_prune: AtomicUsize,
}

impl EndedSessions {
    pub fn new(token_lifetime: Duration) -> Self {
        Self {
            until: RwLock::default(),
            token_lifetime,
            announced: broadcast::channel(1_024).0,
            ends_since_prune: AtomicUsize::new(0),
        }
    }

    pub fn contains(&self, session_id: Uuid) -> bool {
        self.until.read().unwrap_or_else(|poisoned| poisoned.into_inner()).contains_key(&session_id)
    }

    /// Records that `session_id` ended at `ended_at` (seconds since the epoch) and tells the
    /// WebSockets of that session.
    pub fn end(&self, session_id: Uuid, ended_at: u64) {
        let until = ended_at.saturating_add(self.token_lifetime.as_secs());
        if until < jsonwebtoken::get_current_timestamp() {
            return;
        }
        let mut ended = self.until.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        ended.insert(session_id, until);
        if self.ends_since_prune.fetch_add(1, Ordering::Relaxed) + 1 >= PRUNE_EVERY {
            self.ends_since_prune.store(0, Ordering::Relaxed);
            let now = jsonwebtoken::get_current_timestamp();
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
    /// again (with backoff) whenever the watch fails or ends.
    pub async fn follow(&self, bucket: kv::Store, shutdown: CancellationToken) {
        let mut backoff =
            backon::ExponentialBuilder::default().with_max_delay(Duration::from_secs(10)).without_max_times().build();
        while !shutdown.is_cancelled() {
            match bucket.watch_with_history(">").await {
                Ok(mut watch) => loop {
                    let entry = tokio::select! {
                        () = shutdown.cancelled() => return,
                        entry = watch.next() => entry,
                    };
                    match entry {
                        Some(Ok(entry)) => {
                            if let Some((session_id, ended_at)) = readstream_runtime::sessions::parse(&entry) {
                                self.end(session_id, u64::try_from(ended_at).unwrap_or_default());
                            }
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
            let delay = backoff.next().unwrap_or(Duration::from_secs(10));
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_ended_session_is_refused_until_its_tokens_expire_and_its_sockets_hear_of_it() {
        let ended = std::sync::Arc::new(EndedSessions::new(Duration::from_secs(900)));
        let (session, other) = (Uuid::now_v7(), Uuid::now_v7());
        let listening = tokio::spawn({
            let ended = ended.clone();
            async move { ended.ended(session).await }
        });
        let now = jsonwebtoken::get_current_timestamp();
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
