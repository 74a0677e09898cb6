//! The one shape of every subscription: subscribe to the live subjects first, then read what
//! the read model holds (the snapshot, or the catch-up after a client's `since`), then pass on
//! each update newer than what that read included. Subscribing before reading means no change
//! falls between the read and the first push; the position filter means none arrives twice.

use std::sync::Arc;

use async_graphql::Context;
use bytes::Bytes;
use futures::{stream::BoxStream, FutureExt as _, Stream, StreamExt};
use prost::Message;
use readstream_runtime::live::Lagged;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{error::ApiError, AppState};

/// The subscriptions one WebSocket may run at once (`WS_MAX_SUBSCRIPTIONS`).
#[derive(Clone)]
pub struct Places(Arc<Semaphore>);

impl Places {
    pub fn new(max: usize) -> Self {
        Self(Arc::new(Semaphore::new(max)))
    }

    /// One place, `LIMIT_EXCEEDED` when every one is taken.
    pub fn take(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.0.clone().try_acquire_owned().map_err(|_| {
            ApiError::limit_exceeded(
                "this WebSocket runs as many subscriptions as it may (WS_MAX_SUBSCRIPTIONS): stop one, or open another",
            )
        })
    }
}

/// The queries and mutations one WebSocket may have in flight at once (`WS_MAX_IN_FLIGHT`).
#[derive(Clone)]
pub struct InFlight {
    pub places: Arc<Semaphore>,
    pub max: usize,
}

impl InFlight {
    pub fn new(max: usize) -> Self {
        Self { places: Arc::new(Semaphore::new(max)), max }
    }

    /// One place, `LIMIT_EXCEEDED` when every one is taken.
    pub fn take(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.places.clone().try_acquire_owned().map_err(|_| {
            ApiError::limit_exceeded(format!(
                "at most {} queries and mutations may be in flight on one WebSocket (WS_MAX_IN_FLIGHT): wait for an answer",
                self.max
            ))
        })
    }
}

/// What a push names, read once per gateway and shared by every subscriber it reaches: an
/// activity of an account with 15,000 followers connected here, or a review on a book 15,000
/// readers have open, is one query, not 15,000. The first subscriber to ask reads it while the
/// others wait for that read; the last `kept` are kept. Only for what is the same for every
/// viewer: what is the viewer's own (a block between them) is asked per subscriber after.
pub struct SharedReads<K, V>(Arc<std::sync::Mutex<lru::LruCache<K, Arc<tokio::sync::OnceCell<V>>>>>);

impl<K, V> Clone for SharedReads<K, V> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

/// How many pushed reads `SharedReads` keeps.
const SHARED_READS_KEPT: std::num::NonZeroUsize = std::num::NonZeroUsize::MIN.saturating_add(1_023);

impl<K: std::hash::Hash + Eq, V: Clone> Default for SharedReads<K, V> {
    fn default() -> Self {
        Self(Arc::new(std::sync::Mutex::new(lru::LruCache::new(SHARED_READS_KEPT))))
    }
}

impl<K: std::hash::Hash + Eq, V: Clone> SharedReads<K, V> {
    /// What `key` names, read by `read` if no subscriber read it yet; a failed read is not
    /// kept, so the next subscriber reads again.
    pub async fn get_or_read<E, Fut>(&self, key: K, read: impl FnOnce() -> Fut) -> Result<V, E>
    where
        Fut: std::future::Future<Output = Result<V, E>>,
    {
        let cell = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_or_insert(key, Default::default)
            .clone();
        cell.get_or_try_init(read).await.cloned()
    }
}

pub(crate) const FELL_BEHIND: &str =
    "this subscription fell behind and updates were dropped: subscribe again with `since` \
                           set to the last position received";

/// Subscriptions to live subjects, made before the snapshot is read.
pub struct Subscribed {
    /// The payloads of the live subjects, from `Live::follow`.
    updates: BoxStream<'static, Result<Bytes, Lagged>>,
    /// This subscription's place on its WebSocket, freed when the stream ends or is stopped.
    place: Option<OwnedSemaphorePermit>,
    /// Counts it in `readstream_subscriptions_open` for as long as it lives, if a socket runs
    /// it (a shared execution is counted once per subscriber instead, in `shared_pushes`).
    counted: Option<Counted>,
}

/// One open subscription in `readstream_subscriptions_open`, until dropped.
pub(crate) struct Counted;

impl Counted {
    pub(crate) fn new() -> Self {
        metrics::gauge!(readstream_runtime::metrics::SUBSCRIPTIONS_OPEN).increment(1.0);
        Self
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        metrics::gauge!(readstream_runtime::metrics::SUBSCRIPTIONS_OPEN).decrement(1.0);
    }
}

/// Takes one of the connection's places, then subscribes to every one of `subjects` and makes
/// sure the server has them.
pub async fn subscribe(ctx: &Context<'_>, subjects: impl IntoIterator<Item = String>) -> Result<Subscribed, ApiError> {
    let place = ctx.data_opt::<Places>().map(Places::take).transpose()?;
    let app = ctx.data_unchecked::<AppState>();
    let updates = app.live.follow(subjects).await.map_err(ApiError::unavailable)?;
    let counted = place.is_some().then(Counted::new);
    Ok(Subscribed { updates: updates.boxed(), place, counted })
}

/// Opens a subscription with `open` on the heap. async-graphql keeps the future that opens a
/// subscription inside the subscription's stream for as long as it lives, finished or not: run
/// in place, an idle subscription would hold room for every read and follow it made to open.
/// Every subscription resolver opens through this. Not an `async fn`: one would keep `open`
/// itself inline, as its argument, before its body ever boxed it.
pub fn opened<'a, S>(
    open: impl std::future::Future<Output = async_graphql::Result<S>> + Send + 'a,
) -> futures::future::BoxFuture<'a, async_graphql::Result<S>> {
    open.boxed()
}

/// What a `since` read replays: at most `max` items (the read asks for one more, to know).
pub struct Replay<T> {
    pub items: Vec<T>,
    pub cut_short: bool,
}

impl<T> Replay<T> {
    /// A snapshot: the one item that says how things are now.
    pub fn now(item: T) -> Self {
        Self { items: vec![item], cut_short: false }
    }

    /// `rows` read with `LIMIT max + 1`.
    pub fn of(mut rows: Vec<T>, max: usize) -> Self {
        let cut_short = rows.len() > max;
        rows.truncate(max);
        Self { items: rows, cut_short }
    }
}

impl Subscribed {
    /// These updates and `more`'s, as they come: subjects a subscription follows later.
    pub fn with(self, more: impl Stream<Item = Result<Bytes, Lagged>> + Send + 'static) -> Self {
        Subscribed { updates: futures::stream::select(self.updates, more).boxed(), ..self }
    }

    /// `replay` first, then each update (decoded as `M`) whose `key` is after `seen`, turned
    /// into an item by `item` (`None` drops it: gone since, or not for this client). An update
    /// that does not decode is dropped; the next snapshot is right regardless. A replay cut
    /// short ends with `LIMIT_EXCEEDED` instead, and so does a subscription whose client read
    /// so slowly that updates were dropped: the client subscribes again from its last item.
    pub fn after<M, K, T, F, Fut>(
        self,
        replay: Replay<T>,
        seen: Option<K>,
        key: fn(&M) -> K,
        item: F,
    ) -> impl Stream<Item = Result<T, async_graphql::Error>> + Send + 'static
    where
        M: Message + Default + 'static,
        K: Ord + Send + Sync + 'static,
        T: Send + 'static,
        F: Fn(M) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Option<T>> + Send + 'static,
    {
        let place = (self.place, self.counted);
        let replayed = futures::stream::iter(replay.items.into_iter().map(Ok));
        if replay.cut_short {
            let message = "more items followed `since` than one subscription replays (MAX_REPLAY_ITEMS): \
                           subscribe again with `since` set to the last position received";
            let end = futures::stream::once(async move {
                drop(place);
                Err(ApiError::limit_exceeded(message).into())
            });
            return replayed.chain(end).left_stream();
        }
        // Ends right after the update that says updates were dropped.
        let updates = futures::stream::unfold(Some(self.updates), |updates| async move {
            let mut updates = updates?;
            let payload = updates.next().await?;
            let more = payload.is_ok().then_some(updates);
            Some((payload, more))
        });
        let updates = updates.filter_map(move |payload| {
            let _place = &place;
            let update = payload.map(|payload| {
                M::decode(payload).ok().filter(|update| seen.as_ref().is_none_or(|seen| key(update) > *seen)).map(&item)
            });
            // On the heap: the stream keeps room for the future it waits on inline, so an idle
            // subscription would hold the largest item's read (its queries) all along.
            async move {
                match update {
                    Ok(Some(item)) => item.await.map(Ok),
                    Ok(None) => None,
                    Err(Lagged) => Some(Err(ApiError::limit_exceeded(FELL_BEHIND).into())),
                }
            }
            .boxed()
        });
        replayed.chain(updates).right_stream()
    }
}

#[cfg(test)]
mod tests {
    use readstream_contracts::proto::live::v1 as live;

    use super::*;

    #[tokio::test]
    async fn a_pushed_read_is_read_once_for_every_subscriber_but_a_failed_one_again() {
        let reads: SharedReads<u64, &str> = SharedReads::default();
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let read = || async {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tokio::task::yield_now().await;
            Ok::<_, ()>("a review")
        };
        let subscribers = futures::future::join_all((0..100).map(|_| reads.get_or_read(1, read))).await;
        assert!(subscribers.iter().all(|got| *got == Ok("a review")));
        assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 1, "one read for a hundred subscribers");
        assert_eq!(reads.get_or_read(2, || async { Err::<&str, _>("down") }).await, Err("down"));
        assert_eq!(reads.get_or_read(2, || async { Ok::<_, &str>("read again") }).await, Ok("read again"));
    }

    #[test]
    fn a_replay_read_with_one_row_more_than_it_may_send_says_it_was_cut_short() {
        let cut = Replay::of(vec![1, 2, 3], 2);
        assert_eq!((cut.items, cut.cut_short), (vec![1, 2], true));
        let whole = Replay::of(vec![1, 2], 2);
        assert_eq!((whole.items, whole.cut_short), (vec![1, 2], false));
    }

    #[tokio::test]
    async fn a_subscription_that_fell_behind_ends_with_limit_exceeded_instead_of_skipping_updates() {
        let update = |rows_done| Ok(Bytes::from(live::ImportProgressed { rows_done }.encode_to_vec()));
        let updates = futures::stream::iter([Err(Lagged), update(2), update(3)]);
        let subscribed = Subscribed { updates: updates.boxed(), place: None, counted: None };
        let rows = |update: &live::ImportProgressed| update.rows_done;
        let items: Vec<_> = subscribed
            .after(Replay::of(vec![], 0), None, rows, |update| async move { Some(update.rows_done) })
            .collect()
            .await;
        assert_eq!(items.len(), 1, "the subscription ends at once, though later updates are there: {items:?}");
        let code =
            items[0].as_ref().expect_err("the update that fell behind").extensions.as_ref().and_then(|e| e.get("code"));
        assert_eq!(code, Some(&async_graphql::Value::from("LIMIT_EXCEEDED")));
    }
}
