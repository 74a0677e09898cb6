//! Ended sessions, as every gateway learns them: the social service puts each session it ends
//! into the namespace's `<NS>_ENDED_SESSIONS` key-value bucket (key: the session id, value: when
//! it ended, in seconds since the Unix epoch), and each gateway watches the whole bucket, from
//! its start, to refuse the access tokens of those sessions until they expire.
//!
//! Entries are kept for [`KEPT_FOR`], so an access token can live at most that long: a gateway
//! started later still learns every session ended while a token of it could be valid.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
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
