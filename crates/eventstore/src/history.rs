//! The aggregates' histories this process has read, kept in memory so a command on an aggregate
//! it has seen before reads nothing: it decides on the kept history and appends with that
//! history's last position as the expected one. A history that is not the aggregate's latest any
//! more (another process appended meanwhile) fails that check, and only what was appended since
//! is read. What a command costs then no longer grows with the aggregate's history.
//!
//! Any beginning of an aggregate's history is safe to decide on this way, the empty one too: an
//! aggregate this process has not seen is taken to be new, which it is for most commands at
//! ingest (a reader's first rating of a book), and read only if its append says otherwise.
//!
//! The histories hold personal fields opened with their readers' keys, so they are kept only
//! while the keyring watches for destroyed keys, and all are dropped when one is destroyed.

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    hash::{BuildHasher, RandomState},
    sync::{Arc, Mutex, MutexGuard},
};

use lru::LruCache;
use readstream_contracts::Decider;
use uuid::Uuid;

use crate::{context_events, Stored};

/// The most messages the kept histories hold together; past it the least recently used go.
pub const KEPT_MESSAGES: usize = 100_000;

/// Commands on one aggregate in this process take turns, by one of this many locks (chosen by
/// the subject's hash): a history is then used by one command at a time, and commands of one
/// process do not race each other for an aggregate's next position.
const TURNS: usize = 1_024;

#[derive(Default)]
pub(crate) struct History {
    messages: Vec<Stored>,
    /// Where each command's message is in `messages`.
    commands: HashMap<Uuid, usize>,
    /// Each decider's state (by its type), and how many of `messages` it has folded.
    states: HashMap<TypeId, (Box<dyn Any + Send>, usize)>,
    /// The keyring's generation when they were read.
    generation: u64,
}

impl History {
    pub fn messages(&self) -> &[Stored] {
        &self.messages
    }

    pub fn last_position(&self) -> u64 {
        self.messages.last().map_or(0, |stored| stored.position)
    }

    /// The message of a command.
    pub fn of_command(&self, command_id: Uuid) -> Option<&Stored> {
        self.commands.get(&command_id).and_then(|&at| self.messages.get(at))
    }

    /// Adds the aggregate's next message (each holds one command).
    pub fn push(&mut self, stored: Stored) {
        self.commands.insert(stored.envelope.meta.command_id, self.messages.len());
        self.messages.push(stored);
    }

    /// Calls `f` with the decider's state after every message: the one kept from the last
    /// call, evolved by the messages added since.
    pub fn with_state<D: Decider + Send + 'static, R>(&mut self, f: impl FnOnce(&D) -> R) -> R {
        let kept = self.states.remove(&TypeId::of::<D>()).and_then(|(state, folded)| {
            let state = state.downcast::<D>().ok()?;
            Some((*state, self.messages.get(folded..)?))
        });
        let (state, added) = kept.unwrap_or_else(|| (D::default(), &self.messages[..]));
        let state = context_events(added).fold(state, D::evolve);
        let decided = f(&state);
        self.states.insert(TypeId::of::<D>(), (Box::new(state), self.messages.len()));
        decided
    }
}

struct Kept {
    histories: LruCache<String, History>,
    messages: usize,
}

/// The kept histories, by subject.
pub(crate) struct Histories {
    turns: Vec<Arc<tokio::sync::Mutex<()>>>,
    hasher: RandomState,
    kept: Mutex<Kept>,
}

/// One aggregate's history during one command, its turn taken.
pub(crate) struct Turn {
    subject: String,
    pub history: History,
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

impl Histories {
    pub fn new() -> Self {
        Self {
            turns: (0..TURNS).map(|_| Arc::default()).collect(),
            hasher: RandomState::new(),
            kept: Mutex::new(Kept { histories: LruCache::unbounded(), messages: 0 }),
        }
    }

    fn kept(&self) -> MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for the subject's turn, then takes its kept history, as far as it may still be
    /// used under the keyring's `generation` (`None`: no watch runs, keep nothing).
    pub async fn take(&self, subject: &str, generation: Option<u64>) -> Turn {
        let turn = self.turns[self.hasher.hash_one(subject) as usize % TURNS].clone().lock_owned().await;
        let kept = {
            let mut kept = self.kept();
            let history = kept.histories.pop(subject);
            kept.messages -= history.as_ref().map_or(0, |history| history.messages.len());
            history
        };
        let history = match kept {
            Some(history) if Some(history.generation) == generation => history,
            _ => History { generation: generation.unwrap_or_default(), ..History::default() },
        };
        Turn { subject: subject.to_owned(), history, _turn: turn }
    }

    /// Keeps the history for the subject's next command, then lets that command have its turn.
    pub fn give_back(&self, turn: Turn) {
        let Turn { subject, history, _turn } = turn;
        let mut kept = self.kept();
        kept.messages += history.messages.len();
        kept.histories.put(subject, history);
        while kept.messages > KEPT_MESSAGES {
            match kept.histories.pop_lru() {
                Some((_, oldest)) => kept.messages -= oldest.messages.len(),
                None => break,
            }
        }
    }
}
