//! Readers' keys: the `<NS>_READER_KEYS` key-value bucket, one entry per reader (key: the
//! reader id, value: the 32 key bytes), outside the event log. A reader's key is made by the
//! first append that seals something of theirs (their sign-up, or for a reader recorded
//! before sealing existed, their next such event). Deleting the account overwrites it with an
//! empty value (the bucket keeps one value per reader, so the key bytes are gone), which makes
//! every personal field they ever wrote unreadable (see `readstream_contracts::personal`) and
//! marks them erased, so no new key is ever made for them.

use async_nats::jetstream::{self, kv};
use readstream_contracts::personal::{Keys, ReaderKey};
use uuid::Uuid;

use crate::StoreError;

pub fn bucket_name(namespace: &str) -> String {
    format!("{}_READER_KEYS", namespace.to_uppercase().replace(['.', '-'], "_"))
}

/// A reader's entry in the bucket.
enum Entry {
    Key(ReaderKey),
    /// The account was deleted.
    Erased,
    /// Nothing sealed for them yet.
    None,
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
        match self.entry(reader_id).await? {
            Entry::Key(key) => Ok(Some(key)),
            Entry::Erased | Entry::None => Ok(None),
        }
    }

    async fn entry(&self, reader_id: Uuid) -> Result<Entry, StoreError> {
        match self.bucket.get(reader_id.to_string()).await.map_err(|err| failure(reader_id, err))? {
            None => Ok(Entry::None),
            Some(bytes) if bytes.is_empty() => Ok(Entry::Erased),
            Some(bytes) => ReaderKey::from_bytes(&bytes)
                .map(Entry::Key)
                .ok_or_else(|| failure(reader_id, "the stored key is not a key")),
        }
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

    /// The key to seal the reader's fields with, made now if they have none yet; `None` once
    /// they deleted their account.
    pub async fn for_sealing(&self, reader_id: Uuid) -> Result<Option<ReaderKey>, StoreError> {
        match self.entry(reader_id).await? {
            Entry::Key(key) => return Ok(Some(key)),
            Entry::Erased => return Ok(None),
            Entry::None => {}
        }
        let bytes = ReaderKey::generate();
        match self.bucket.create(reader_id.to_string(), bytes.to_vec().into()).await {
            Ok(_) => Ok(Some(ReaderKey::from_bytes(&bytes).expect("generated keys have the key length"))),
            // Made (or erased) meanwhile by someone else: theirs stands.
            Err(err) if err.kind() == kv::CreateErrorKind::AlreadyExists => match self.entry(reader_id).await? {
                Entry::Key(key) => Ok(Some(key)),
                Entry::Erased => Ok(None),
                Entry::None => Err(failure(reader_id, "the key vanished while being made")),
            },
            Err(err) => Err(failure(reader_id, err)),
        }
    }

    /// Destroys the reader's key for good, leaving the mark of an erased reader: idempotent.
    pub async fn destroy(&self, reader_id: Uuid) -> Result<(), StoreError> {
        self.bucket.put(reader_id.to_string(), Default::default()).await.map_err(|err| failure(reader_id, err))?;
        Ok(())
    }
}
