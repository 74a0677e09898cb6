//! The aggregates' histories this process has read, kept in memory so a command on an aggregate
//! it has seen before reads nothing: it decides on the kept history and appends with that
//! history's last position as the expected one. A history that is not the aggregate's latest any
//! more (another process appended meanwhile) fails that check, and only what was appended since
//! is read. What a command costs then no longer grows with the aggregate's history.
//!
//! The histories hold personal fields opened with their readers' keys, so they are kept only
//! while the keyring watches for destroyed keys, and all are dropped when one is destroyed.

use std::sync::Arc;

use uuid::Uuid;

use crate::Stored;

/// The most messages the kept histories hold together; past it the least used ones go.
pub const KEPT_MESSAGES: u64 = 100_000;

/// One aggregate's kept history, shared. Commands on it in this process take turns, which also
/// spares them racing each other for its next position.
type Entry = Arc<tokio::sync::Mutex<History>>;

/// An entry as the cache holds it: with its messages when it was put in, its weight there.
#[derive(Clone)]
struct Weighed {
    entry: Entry,
    messages: u64,
}

#[derive(Default)]
pub(crate) struct History {
    pub messages: Vec<Stored>,
    /// Whether `messages` were read from the stream (possibly followed by appends since).
    pub loaded: bool,
    /// The keyring's generation when they were read.
    generation: u64,
}

impl History {
    /// Forgets what it holds unless it was read under the keyring's `generation` (`None`: no
    /// watch runs, keep nothing across commands).
    fn keep_only_under(&mut self, generation: Option<u64>) {
        if generation != Some(self.generation) {
            *self = History { generation: generation.unwrap_or_default(), ..History::default() };
        }
    }

    pub fn last_position(&self) -> u64 {
        self.messages.last().map_or(0, |stored| stored.position)
    }

    pub fn of_command(&self, command_id: Uuid) -> Option<&Stored> {
        self.messages.iter().find(|stored| stored.envelope.meta.command_id == command_id)
    }
}

#[derive(Clone)]
struct ByMessages;

impl quick_cache::Weighter<String, Weighed> for ByMessages {
    fn weight(&self, _subject: &String, weighed: &Weighed) -> u64 {
        weighed.messages + 1
    }
}

/// One aggregate's history, its commands' turn taken.
pub(crate) struct Locked {
    subject: String,
    entry: Entry,
    pub history: tokio::sync::OwnedMutexGuard<History>,
}

/// The kept histories, by subject.
pub(crate) struct Histories(quick_cache::sync::Cache<String, Weighed, ByMessages>);

impl Histories {
    pub fn new() -> Self {
        Self(quick_cache::sync::Cache::with_weighter(10_000, KEPT_MESSAGES, ByMessages))
    }

    /// The subject's history, locked for one command, as far as it may still be used under the
    /// keyring's `generation`.
    pub async fn lock(&self, subject: &str, generation: Option<u64>) -> Locked {
        let new = || Ok::<_, std::convert::Infallible>(Weighed { entry: Entry::default(), messages: 0 });
        let entry = match self.0.get_or_insert_with(subject, new) {
            Ok(weighed) => weighed.entry,
            Err(never) => match never {},
        };
        let mut history = entry.clone().lock_owned().await;
        history.keep_only_under(generation);
        Locked { subject: subject.to_owned(), entry, history }
    }

    /// Puts the entry back with its new weight.
    pub fn release(&self, locked: Locked) {
        let Locked { subject, entry, history } = locked;
        let messages = history.messages.len() as u64;
        drop(history);
        self.0.insert(subject, Weighed { entry, messages });
    }
}
