//! Readers' keys: the `<NS>_READER_KEYS` key-value bucket, one entry per reader (key: the
//! reader id, value: the 32 key bytes), outside the event log. A reader's key is made by the
//! first append that seals something of theirs (their sign-up, or for a reader recorded
//! before sealing existed, their next such event). Deleting the account overwrites it with an
//! empty value (the bucket keeps one value per reader, so the key bytes are gone), which makes
//! every personal field they ever wrote unreadable (see `readstream_contracts::personal`) and
//! marks them erased, so no new key is ever made for them.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use readstream_contracts::personal::{Keys, ReaderKey, KEY_LEN};
use uuid::Uuid;

use crate::StoreError;

pub fn bucket_name(namespace: &str) -> String {
    crate::namespaced(namespace, "READER_KEYS")
}

/// A reader's entry in the bucket.
enum Entry {
    Key(Box<ReaderKey>),
    /// The account was deleted.
    Erased,
    /// Nothing sealed for them yet.
    None,
}

/// The most keys a process keeps at hand; past it the cache starts again empty.
const MAX_CACHED: usize = 100_000;

#[derive(Clone)]
pub struct Keyring {
    bucket: kv::Store,
    cache: Arc<Mutex<Cache>>,
}

/// The keys this process fetched or made, so each reader's is fetched once. A watch of the
/// bucket drops a reader's key the moment it is destroyed anywhere; while no watch runs, the
/// cache is empty and off, since it could hold a destroyed key.
#[derive(Default)]
struct Cache {
    keys: HashMap<Uuid, [u8; KEY_LEN]>,
    /// Readers found without a key (nothing sealed for them yet): not erased, as far as the
    /// watch has told.
    keyless: std::collections::HashSet<Uuid>,
    /// Counts the keys dropped, so a fetch that raced a drop does not put its key back.
    drops: u64,
    off: bool,
}

impl Cache {
    fn get(&self, reader_id: Uuid) -> Option<ReaderKey> {
        self.keys.get(&reader_id).and_then(|bytes| ReaderKey::from_bytes(bytes))
    }

    /// Keeps a key fetched while `drops` was as given, unless a key was dropped since.
    fn keep(&mut self, reader_id: Uuid, bytes: &[u8], drops: u64) {
        let Ok(bytes) = <[u8; KEY_LEN]>::try_from(bytes) else { return };
        if self.off || self.drops != drops {
            return;
        }
        if self.keys.len() >= MAX_CACHED {
            self.keys.clear();
        }
        self.keys.insert(reader_id, bytes);
    }

    /// Remembers a reader found without a key while `drops` was as given.
    fn keep_keyless(&mut self, reader_id: Uuid, drops: u64) {
        if self.off || self.drops != drops {
            return;
        }
        if self.keyless.len() >= MAX_CACHED {
            self.keyless.clear();
        }
        self.keyless.insert(reader_id);
    }

    fn drop_key(&mut self, reader_id: Uuid) {
        self.keys.remove(&reader_id);
        self.keyless.remove(&reader_id);
        self.drops += 1;
    }
}

fn lock(cache: &Mutex<Cache>) -> MutexGuard<'_, Cache> {
    cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn failure(reader_id: Uuid, err: impl std::fmt::Display) -> StoreError {
    StoreError::Keys { reader_id, message: err.to_string() }
}

/// Drops each destroyed key from the cache as the bucket's watch reports it, for as long as the
/// cache is in use. A watch that ends (its consumer lived in a NATS server that restarted) may
/// have missed a destruction: the cache is emptied and switched off until a new watch runs,
/// then used again (a fetch begun meanwhile keeps nothing, by `drops`).
async fn watch(bucket: kv::Store, mut updates: kv::Watch, cache: std::sync::Weak<Mutex<Cache>>) {
    let mut wait = WATCH_AGAIN_FIRST;
    loop {
        while let Some(Ok(entry)) = updates.next().await {
            let Some(cache) = cache.upgrade() else { return };
            let destroyed = entry.operation != kv::Operation::Put || entry.value.is_empty();
            if let (true, Ok(reader_id)) = (destroyed, Uuid::parse_str(&entry.key)) {
                lock(&cache).drop_key(reader_id);
            }
        }
        let Some(held) = cache.upgrade() else { return };
        tracing::warn!("the watch of readers' keys ended; fetching every key from the bucket until it runs again");
        {
            let mut held = lock(&held);
            held.off = true;
            held.keys.clear();
            held.keyless.clear();
            held.drops += 1;
        }
        drop(held);
        updates = loop {
            tokio::time::sleep(wait).await;
            if cache.strong_count() == 0 {
                return;
            }
            match bucket.watch_all().await {
                Ok(updates) => break updates,
                Err(err) => {
                    tracing::warn!(error = %err, ?wait, "cannot watch readers' keys yet; trying again");
                    wait = (wait * 2).min(WATCH_AGAIN_MAX);
                }
            }
        };
        wait = WATCH_AGAIN_FIRST;
        let Some(held) = cache.upgrade() else { return };
        let mut held = lock(&held);
        held.off = false;
        held.drops += 1;
        tracing::info!("watching readers' keys again; caching them again");
    }
}

/// The first and the longest wait before watching the bucket again.
const WATCH_AGAIN_FIRST: std::time::Duration = std::time::Duration::from_millis(100);
const WATCH_AGAIN_MAX: std::time::Duration = std::time::Duration::from_secs(5);

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
            .map_err(|source| StoreError::KeyringSetup { bucket, source })?;
        let cache = Arc::new(Mutex::new(Cache::default()));
        let updates = bucket.watch_all().await.map_err(|err| failure(Uuid::nil(), err))?;
        tokio::spawn(watch(bucket.clone(), updates, Arc::downgrade(&cache)));
        Ok(Self { bucket, cache })
    }

    /// Whether keys are kept in memory now: while a watch of the bucket runs.
    pub fn is_caching(&self) -> bool {
        !lock(&self.cache).off
    }

    /// Changes whenever a key is destroyed, or the watch that reports destructions stops or
    /// starts again; `None` while no watch runs. Whatever was opened with the keys under one
    /// generation may be kept while the generation stays the same.
    pub fn generation(&self) -> Option<u64> {
        let cache = lock(&self.cache);
        (!cache.off).then_some(cache.drops)
    }

    /// The reader's key, if they have one.
    pub async fn get(&self, reader_id: Uuid) -> Result<Option<ReaderKey>, StoreError> {
        match self.entry(reader_id).await? {
            Entry::Key(key) => Ok(Some(*key)),
            Entry::Erased | Entry::None => Ok(None),
        }
    }

    /// Whether the reader deleted their account (their key destroyed for good). Asked before
    /// every append, so a reader known to be there is answered from the cache, keyless or not.
    pub async fn is_erased(&self, reader_id: Uuid) -> Result<bool, StoreError> {
        let drops = {
            let cache = lock(&self.cache);
            if cache.keys.contains_key(&reader_id) || cache.keyless.contains(&reader_id) {
                return Ok(false);
            }
            cache.drops
        };
        match self.entry(reader_id).await? {
            Entry::Erased => Ok(true),
            Entry::Key(_) => Ok(false),
            Entry::None => {
                lock(&self.cache).keep_keyless(reader_id, drops);
                Ok(false)
            }
        }
    }

    async fn entry(&self, reader_id: Uuid) -> Result<Entry, StoreError> {
        let drops = {
            let cache = lock(&self.cache);
            if let Some(key) = cache.get(reader_id) {
                return Ok(Entry::Key(Box::new(key)));
            }
            cache.drops
        };
        // Sent again when a try is late (a cluster node died with it): see `with_tries`.
        let got = crate::with_tries(|| self.bucket.get(reader_id.to_string()))
            .await
            .ok_or_else(|| failure(reader_id, "no answer from the key-value bucket"))?;
        match got.map_err(|err| failure(reader_id, err))? {
            None => Ok(Entry::None),
            Some(bytes) if bytes.is_empty() => Ok(Entry::Erased),
            Some(bytes) => {
                let key =
                    ReaderKey::from_bytes(&bytes).ok_or_else(|| failure(reader_id, "the stored key is not a key"))?;
                lock(&self.cache).keep(reader_id, &bytes, drops);
                Ok(Entry::Key(Box::new(key)))
            }
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
            Entry::Key(key) => return Ok(Some(*key)),
            Entry::Erased => return Ok(None),
            Entry::None => {}
        }
        let drops = lock(&self.cache).drops;
        let bytes = ReaderKey::generate().map_err(|err| failure(reader_id, err))?;
        let key = ReaderKey::from_bytes(&bytes).ok_or_else(|| failure(reader_id, "a generated key is not a key"))?;
        // Sent again when a try is late: a second copy of a create that was stored meets it as
        // `AlreadyExists`, and the key read back is this one.
        let created = crate::with_tries(|| self.bucket.create(reader_id.to_string(), bytes.to_vec().into()))
            .await
            .ok_or_else(|| failure(reader_id, "no answer from the key-value bucket"))?;
        match created {
            Ok(_) => {
                lock(&self.cache).keep(reader_id, &bytes, drops);
                Ok(Some(key))
            }
            // Made (or erased) meanwhile by someone else: theirs stands.
            Err(err) if err.kind() == kv::CreateErrorKind::AlreadyExists => match self.entry(reader_id).await? {
                Entry::Key(key) => Ok(Some(*key)),
                Entry::Erased => Ok(None),
                Entry::None => Err(failure(reader_id, "the key vanished while being made")),
            },
            Err(err) => Err(failure(reader_id, err)),
        }
    }

    /// Destroys the reader's key for good, leaving the mark of an erased reader: idempotent.
    pub async fn destroy(&self, reader_id: Uuid) -> Result<(), StoreError> {
        lock(&self.cache).drop_key(reader_id);
        self.bucket.put(reader_id.to_string(), Default::default()).await.map_err(|err| failure(reader_id, err))?;
        Ok(())
    }
}
