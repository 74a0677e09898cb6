//! The one shape of every subscription: subscribe to the live subjects first, then read what
//! the read model holds (the snapshot, or the catch-up after a client's `since`), then pass on
//! each update newer than what that read included. Subscribing before reading means no change
//! falls between the read and the first push; the position filter means none arrives twice.

use futures::{Stream, StreamExt};
use prost::Message;

use crate::{error::ApiError, AppState};

/// Subscriptions to live subjects, made before the snapshot is read.
pub struct Subscribed {
    updates: futures::stream::SelectAll<async_nats::Subscriber>,
}

/// Subscribes to every one of `subjects` and makes sure the server has them.
pub async fn subscribe(app: &AppState, subjects: impl IntoIterator<Item = String>) -> Result<Subscribed, ApiError> {
    let mut updates = Vec::new();
    for subject in subjects {
        updates.push(app.nats.subscribe(subject).await.map_err(ApiError::unavailable)?);
    }
    app.nats.flush().await.map_err(ApiError::unavailable)?;
    Ok(Subscribed { updates: futures::stream::select_all(updates) })
}

impl Subscribed {
    /// `snapshot` first, then each update (decoded as `M`) whose `key` is after `seen`, turned
    /// into an item by `item` (`None` drops it: gone since, or not for this client). An update
    /// that does not decode is dropped; the next snapshot is right regardless.
    pub fn after<M, K, T, F, Fut>(
        self,
        snapshot: Vec<T>,
        seen: Option<K>,
        key: fn(&M) -> K,
        item: F,
    ) -> impl Stream<Item = T> + Send + 'static
    where
        M: Message + Default + 'static,
        K: Ord + Send + Sync + 'static,
        T: Send + 'static,
        F: Fn(M) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Option<T>> + Send + 'static,
    {
        let updates = self.updates.filter_map(move |message| {
            let update =
                M::decode(message.payload).ok().filter(|update| seen.as_ref().is_none_or(|seen| key(update) > *seen));
            let item = update.map(&item);
            async move {
                match item {
                    Some(item) => item.await,
                    None => None,
                }
            }
        });
        futures::stream::iter(snapshot).chain(updates)
    }
}
