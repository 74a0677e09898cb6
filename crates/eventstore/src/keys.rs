//! Readers' keys: the `<NS>_READER_KEYS` key-value bucket, one entry per reader (key: the
//! reader id, value: the 32 key bytes), outside the event log. A reader's key is made when they
//! sign up and purged when they delete their account, which makes every personal field they
//! ever wrote unreadable (see `readstream_contracts::personal`).

use async_nats::jetstream::{self, kv};
use readstream_contracts::personal::{Keys, ReaderKey};
use uuid::Uuid;

use crate::StoreError;

pub fn bucket_name(namespace: &str) -> String {
    format!("{}_READER_KEYS", namespace.to_uppercase().replace(['.', '-'], "_"))
}

#[derive(Clone)]
pub struct Keyring {
    bucket: kv::Store,
}

fn failure(reader_id: Uuid, err: impl std::fmt::Display) -> StoreError {
    StoreError::Keys { reader_id, message: err.to_string() }
}

impl Keyring {
    /// Opens the namespace's bucket, creating it if needed.
    pub async fn connect(context: &jetstream::Context, namespace: &str, replicas: usize) -> Result<Self, StoreError> {
        let config = kv::Config {
            bucket: bucket_name(namespace),
            description: "each reader's key for their personal fields; purged when the account is deleted".to_owned(),
            history: 1,
            storage: jetstream::stream::StorageType::File,
            num_replicas: replicas,
            ..Default::default()
        };
        let bucket = config.bucket.clone();
        let bucket = context
            .create_or_update_key_value(config)
            .await
            .map_err(|err| StoreError::Keys { reader_id: Uuid::nil(), message: format!("bucket {bucket}: {err}") })?;
        Ok(Self { bucket })
    }

    /// The reader's key, if they have one.
    pub async fn get(&self, reader_id: Uuid) -> Result<Option<ReaderKey>, StoreError> {
        let entry = self.bucket.get(reader_id.to_string()).await.map_err(|err| failure(reader_id, err))?;
        entry
            .map(|bytes| ReaderKey::from_bytes(&bytes).ok_or_else(|| failure(reader_id, "the stored key is not a key")))
            .transpose()
    }

    /// The keys these readers have (a reader without one is left out).
    pub async fn get_all(&self, reader_ids: &[Uuid]) -> Result<Keys, StoreError> {
        let mut keys = Keys::new();
        for &reader_id in reader_ids {
            if let Some(key) = self.get(reader_id).await? {
                keys.insert(reader_id, key);
            }
        }
        Ok(keys)
    }

    /// The reader's key, made now if they have none: for the sign-up that records them.
    pub async fn get_or_create(&self, reader_id: Uuid) -> Result<ReaderKey, StoreError> {
        let bytes = ReaderKey::generate();
        match self.bucket.create(reader_id.to_string(), bytes.to_vec().into()).await {
            Ok(_) => Ok(ReaderKey::from_bytes(&bytes).expect("generated keys have the key length")),
            // Made by an earlier try of the same sign-up.
            Err(err) if err.kind() == kv::CreateErrorKind::AlreadyExists => {
                self.get(reader_id).await?.ok_or_else(|| failure(reader_id, "the key vanished while being made"))
            }
            Err(err) => Err(failure(reader_id, err)),
        }
    }

    /// Destroys the reader's key and every earlier value of it: idempotent.
    pub async fn destroy(&self, reader_id: Uuid) -> Result<(), StoreError> {
        self.bucket.purge(reader_id.to_string()).await.map_err(|err| failure(reader_id, err))
    }
}
