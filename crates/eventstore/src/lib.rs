//! The JetStream event store.
//!
//! One stream per namespace (`<NS>_EVENTS` over `<ns>.events.>`) holds every event; each
//! aggregate instance is one subject. Appending decides against the aggregate's history and
//! publishes with `Nats-Expected-Last-Subject-Sequence` (optimistic concurrency) and
//! `Nats-Msg-Id` = command id (deduplication), reloading and deciding again on a conflict.
//!
//! The store seals each event's personal fields with their reader's key as it appends, and
//! opens them as it reads (see [`keys`]): deciders and projections see plain events, the log
//! holds nothing readable without the keys.

mod history;
pub mod keys;
pub mod trace_context;

use std::{sync::Arc, time::Duration};

use async_nats::jetstream::{
    self,
    context::PublishErrorKind,
    stream::{self, LastRawMessageErrorKind},
};
use bytes::Bytes;
use futures::StreamExt as _;
use prost::Message;
use readstream_contracts::{
    personal::{self, Keys},
    proto::events::v1 as pb,
    subject, Aggregate, Code, ContextEvent, Decider, Envelope, Event, Metadata, Rejection, WireError,
};
use tracing::Instrument as _;
use uuid::Uuid;

pub use history::KEPT_MESSAGES;
pub use keys::Keyring;

/// The oldest server that honours every stream setting readstream relies on.
pub const MIN_SERVER_VERSION: (u64, u64) = (2, 12);

/// How long JetStream remembers a message id; a command retried within it is recorded once.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// How many times a command is decided again after losing a race for its aggregate.
pub const MAX_ATTEMPTS: usize = 16;

/// The most messages one read of a subject asks for (a batched direct get).
const READ_BATCH: usize = 1_000;

/// How many subjects known to exist a process remembers.
const KNOWN_SUBJECTS: std::num::NonZeroUsize = std::num::NonZeroUsize::MIN.saturating_add(99_999);

/// How long one request to JetStream (an append, a read) may take, its tries together.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one try of a request to JetStream waits for its answer before it is sent again. A
/// request or answer that went through a cluster node as it died is lost, and nothing tells the
/// client; these answers take milliseconds, so one that is a second late is sent again rather
/// than waited for until [`REQUEST_TIMEOUT`]. Sending again is safe: reads change nothing, and
/// an append carries its command id and expected position, so the stream stores it once.
const TRY_TIMEOUT: Duration = Duration::from_secs(1);

/// Runs `request` again each time a try goes unanswered for [`TRY_TIMEOUT`], until
/// [`REQUEST_TIMEOUT`]; `None` when every try went unanswered. Only for requests that are safe
/// to send twice.
pub async fn with_tries<T, F, Fut>(mut request: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
    loop {
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return None;
        }
        if let Ok(answer) = tokio::time::timeout_at(deadline.min(now + TRY_TIMEOUT), request()).await {
            return Some(answer);
        }
    }
}

/// One stored message: its stream position and the command's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub position: u64,
    pub envelope: Envelope,
}

/// The events of these messages, in order.
pub fn events(history: &[Stored]) -> impl Iterator<Item = &Event> {
    history.iter().flat_map(|stored| &stored.envelope.events).map(|recorded| &recorded.event)
}

/// The events of these messages that belong to context `E`, in order. An aggregate's subject
/// holds only its own context's events: [`EventStore::decide`] appends nothing else.
pub fn context_events<E: ContextEvent>(history: &[Stored]) -> impl Iterator<Item = &E> {
    events(history).filter_map(E::of)
}

/// A command the store accepted: [`Recorded`]'s position is the message holding its events or,
/// when it changed nothing, the aggregate's last position (0 for an aggregate with no events).
pub use readstream_contracts::Recorded;

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored at this position.
    New(u64),
    /// A message with the same command id was already stored (at this position).
    Duplicate(u64),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("NATS server {found} is too old: readstream needs {}.{} or newer", MIN_SERVER_VERSION.0, MIN_SERVER_VERSION.1)]
    UnsupportedServer { found: String },
    #[error(
        "stream {stream} came back without the setting {setting}: the server would silently ignore it, refusing to run"
    )]
    SettingIgnored { stream: String, setting: &'static str },
    #[error("could not create or update stream {stream}: {source}")]
    Setup { stream: String, source: jetstream::context::CreateStreamError },
    #[error("could not open stream {stream}: {source}")]
    Open { stream: String, source: jetstream::context::GetStreamError },
    #[error("could not read the state of stream {stream}: {source}")]
    Info { stream: String, source: stream::InfoError },
    #[error("could not read {subject}: {source}")]
    Read { subject: String, source: stream::RawMessageError },
    #[error("could not read {subject}: {message}")]
    ReadBatch { subject: String, message: String },
    #[error("could not append to {subject}: {source}")]
    Append { subject: String, source: jetstream::context::PublishError },
    #[error("message {position} on {subject} is not a valid envelope: {source}")]
    Corrupt { subject: String, position: u64, source: WireError },
    #[error("{subject} kept changing under concurrent writers; gave up after {MAX_ATTEMPTS} attempts")]
    Contention { subject: String },
    #[error("{subject} has moved past position {expected}")]
    WrongExpectedPosition { subject: String, expected: u64 },
    #[error("could not create or update the key-value bucket {bucket}: {source}")]
    KeyringSetup { bucket: String, source: jetstream::context::CreateKeyValueError },
    #[error("the key of reader {reader_id}: {message}")]
    Keys { reader_id: Uuid, message: String },
    #[error("reader {0} deleted their account")]
    ReaderDeleted(Uuid),
}

/// A stored message that could not be read as plain events.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The keys could not be fetched: worth trying again.
    #[error(transparent)]
    Keys(#[from] StoreError),
    /// Not a valid envelope: trying again changes nothing.
    #[error(transparent)]
    Wire(#[from] WireError),
}

/// Stream settings that differ between a laptop and a cluster.
#[derive(Debug, Clone, Copy)]
pub struct StreamSettings {
    pub replicas: usize,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self { replicas: 1 }
    }
}

#[derive(Clone)]
pub struct EventStore {
    context: jetstream::Context,
    stream: jetstream::stream::Stream,
    namespace: String,
    keys: Keyring,
    histories: Arc<history::Histories>,
    /// Subjects known to hold a message. The stream refuses deletes and purges, so a subject
    /// that has one always will.
    existing: Arc<std::sync::Mutex<lru::LruCache<String, ()>>>,
}

/// The stream's name for a namespace: `rs` → `RS_EVENTS`.
pub fn stream_name(namespace: &str) -> String {
    namespaced(namespace, "EVENTS")
}

/// The name of a namespace's stream or bucket `what`: the one rule for each of them (JetStream
/// names take no `.`), `t-1a2b` and `READER_KEYS` → `T_1A2B_READER_KEYS`.
pub fn namespaced(namespace: &str, what: &str) -> String {
    format!("{}_{what}", namespace.to_uppercase().replace(['.', '-'], "_"))
}

fn parse_version(version: &str) -> Option<(u64, u64)> {
    let mut parts = version.trim_start_matches('v').split(['.', '-']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

impl EventStore {
    /// Checks the server, then creates or updates the namespace's stream and checks that it
    /// came back with every setting asked for.
    pub async fn connect(
        client: async_nats::Client,
        namespace: &str,
        settings: StreamSettings,
    ) -> Result<Self, StoreError> {
        let found = client.server_info().version;
        if parse_version(&found).is_none_or(|version| version < MIN_SERVER_VERSION) {
            return Err(StoreError::UnsupportedServer { found });
        }
        let context = jetstream::new(client);
        let name = stream_name(namespace);
        let wanted = stream::Config {
            name: name.clone(),
            subjects: vec![subject::every_event(namespace)],
            storage: stream::StorageType::File,
            num_replicas: settings.replicas,
            max_age: Duration::ZERO,
            max_bytes: -1,
            max_messages: -1,
            duplicate_window: DUPLICATE_WINDOW,
            deny_delete: true,
            deny_purge: true,
            allow_direct: true,
            allow_atomic_publish: true,
            ..Default::default()
        };
        let info = context
            .create_or_update_stream(wanted.clone())
            .await
            .map_err(|source| StoreError::Setup { stream: name.clone(), source })?;
        let got = &info.config;
        let checks = [
            ("deny_delete", got.deny_delete == wanted.deny_delete),
            ("deny_purge", got.deny_purge == wanted.deny_purge),
            ("allow_direct", got.allow_direct == wanted.allow_direct),
            ("allow_atomic", got.allow_atomic_publish == wanted.allow_atomic_publish),
            ("duplicate_window", got.duplicate_window >= wanted.duplicate_window),
            ("storage", got.storage == wanted.storage),
            ("num_replicas", got.num_replicas == wanted.num_replicas),
            ("max_age", got.max_age == wanted.max_age),
        ];
        if let Some((setting, _)) = checks.into_iter().find(|(_, ok)| !ok) {
            return Err(StoreError::SettingIgnored { stream: name, setting });
        }
        let stream =
            context.get_stream(&name).await.map_err(|source| StoreError::Open { stream: name.clone(), source })?;
        let keys = Keyring::connect(&context, namespace, settings.replicas).await?;
        let histories = Arc::new(history::Histories::new());
        let existing = Arc::new(std::sync::Mutex::new(lru::LruCache::new(KNOWN_SUBJECTS)));
        Ok(Self { context, stream, namespace: namespace.to_owned(), keys, histories, existing })
    }

    /// The readers' keys the store seals and opens personal fields with.
    pub fn keys(&self) -> &Keyring {
        &self.keys
    }

    /// A stored message as plain events: its personal fields opened with their readers' keys,
    /// empty where a reader has none any more.
    pub async fn open(&self, payload: &[u8]) -> Result<Envelope, OpenError> {
        let mut wire = pb::Envelope::decode(payload).map_err(WireError::from)?;
        let keys = self.keys.get_all(&personal::sealed_owners(&wire)?).await?;
        personal::open(&mut wire, &keys)?;
        Ok(Envelope::try_from(wire)?)
    }

    /// The envelope as stored: each personal field sealed with its reader's key (made for
    /// them by the first such append). A deleted reader acts no more: whatever a job or a late
    /// request sends in their name is refused, personal text or not (the destroyed key is the
    /// mark).
    async fn seal(&self, envelope: &Envelope) -> Result<Vec<u8>, StoreError> {
        if let Some(actor) = envelope.meta.actor {
            if self.keys.is_erased(actor).await? {
                return Err(StoreError::ReaderDeleted(actor));
            }
        }
        let mut wire = pb::Envelope::from(envelope);
        let mut keys = Keys::new();
        for reader_id in personal::owners(&wire)
            .map_err(|err| StoreError::Keys { reader_id: Uuid::nil(), message: err.to_string() })?
        {
            let key = self.keys.for_sealing(reader_id).await?;
            keys.insert(reader_id, key.ok_or(StoreError::ReaderDeleted(reader_id))?);
        }
        personal::seal(&mut wire, &keys).map_err(|err| match err {
            personal::SealError::NoKey(reader_id) => StoreError::ReaderDeleted(reader_id),
            err => StoreError::Keys { reader_id: Uuid::nil(), message: err.to_string() },
        })?;
        Ok(wire.encode_to_vec())
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn stream_name(&self) -> &str {
        self.stream.cached_info().config.name.as_str()
    }

    /// The event stream's handle.
    pub fn stream(&self) -> &jetstream::stream::Stream {
        &self.stream
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.context
    }

    /// The subject of one aggregate, e.g. `catalog.book.<id>` → `<ns>.events.catalog.book.<id>`.
    pub fn subject(&self, aggregate: &Aggregate) -> String {
        subject::events(&self.namespace, aggregate)
    }

    /// The aggregate's whole history, oldest first (empty when it has none).
    pub async fn load(&self, aggregate: &Aggregate) -> Result<Vec<Stored>, StoreError> {
        let mut history = Vec::new();
        self.read_after(&self.subject(aggregate), 0, &mut history).await?;
        Ok(history)
    }

    /// Adds the subject's messages after position `after` to `history`, oldest first: batched
    /// direct gets, so a long history is a few requests, not one per message.
    async fn read_after(&self, subject: &str, after: u64, history: &mut Vec<Stored>) -> Result<(), StoreError> {
        let failed = |message: String| StoreError::ReadBatch { subject: subject.to_owned(), message };
        let client = self.context.client();
        let api = format!("$JS.API.DIRECT.GET.{}", self.stream_name());
        let mut from = after + 1;
        let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
        // A batch whose next message is a try's timeout late is asked for again from there (see
        // `TRY_TIMEOUT`), keeping what came.
        'batch: loop {
            let inbox = client.new_inbox();
            let mut replies = client.subscribe(inbox.clone()).await.map_err(|err| failed(err.to_string()))?;
            let request = serde_json::json!({ "seq": from, "next_by_subj": subject, "batch": READ_BATCH }).to_string();
            client
                .publish_with_reply(api.clone(), inbox, request.into())
                .await
                .map_err(|err| failed(err.to_string()))?;
            let mut pending = 0;
            loop {
                let now = tokio::time::Instant::now();
                let reply = match tokio::time::timeout_at(deadline.min(now + TRY_TIMEOUT), replies.next()).await {
                    Ok(reply) => reply.ok_or_else(|| failed("the answer ended early".into()))?,
                    Err(_) if tokio::time::Instant::now() < deadline => continue 'batch,
                    Err(_) => return Err(failed(format!("no answer within {REQUEST_TIMEOUT:?}"))),
                };
                match reply.status.map(|status| status.as_u16()) {
                    // Nothing (more) on the subject, or the end of this batch.
                    Some(404) | Some(204) => break,
                    Some(status) => return Err(failed(format!("status {status} {:?}", reply.description))),
                    None => {}
                }
                let header =
                    |name: &str| reply.headers.as_ref().and_then(|headers| headers.get(name)).map(|v| v.as_str());
                let position = header("Nats-Sequence")
                    .and_then(|value| value.parse().ok())
                    .ok_or_else(|| failed("a message without its sequence".into()))?;
                pending = header("Nats-Num-Pending").and_then(|value| value.parse().ok()).unwrap_or(0u64);
                let envelope = self.open(&reply.payload).await.map_err(|err| match err {
                    OpenError::Keys(err) => err,
                    OpenError::Wire(source) => StoreError::Corrupt { subject: subject.to_owned(), position, source },
                })?;
                history.push(Stored { position, envelope });
                from = position + 1;
            }
            if pending == 0 {
                return Ok(());
            }
        }
    }

    /// The aggregate's state, folded from its events.
    pub async fn state<D: Decider>(&self, aggregate: &Aggregate) -> Result<D, StoreError> {
        Ok(D::fold(context_events(&self.load(aggregate).await?)))
    }

    /// Decides `command` against the aggregate's state and appends what it causes: `execute`
    /// with the decider's own fold and decide.
    /// The state is folded once per process and then evolved by each message added, so
    /// deciding does not grow with the aggregate's history.
    pub async fn decide<D: Decider<Error = Rejection> + Send + 'static>(
        &self,
        aggregate: &Aggregate,
        meta: Metadata,
        command: &D::Command,
        facts: &D::Facts,
    ) -> Result<Result<Recorded, Rejection>, StoreError> {
        self.execute_with(aggregate, meta, |history| {
            let events = history.with_state(|state: &D| state.decide(command, facts))?;
            Ok(events.into_iter().map(Into::into).collect())
        })
        .await
    }

    /// Whether the aggregate has any event: how one service checks another's aggregate exists.
    /// Asked by a direct get (not a JetStream API request, which the server handles in one
    /// queue), and remembered once true.
    pub async fn exists(&self, aggregate: &Aggregate) -> Result<bool, StoreError> {
        let subject = self.subject(aggregate);
        let existing = || self.existing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if existing().get(&subject).is_some() {
            return Ok(true);
        }
        // Any server holding the stream answers a direct get; one that has the message is right
        // (no server has a message the leader lacks), one that has not may lag: the leader says.
        let exists = match with_tries(|| self.stream.direct_get_last_for_subject(subject.as_str())).await {
            Some(Ok(_)) => true,
            Some(Err(_)) | None => self.last_position_of(&subject).await? > 0,
        };
        if exists {
            existing().put(subject, ());
        }
        Ok(exists)
    }

    /// The stream's last position (0 when empty).
    pub async fn last_position(&self) -> Result<u64, StoreError> {
        let info = with_tries(|| {
            let mut stream = self.stream.clone();
            async move { stream.info().await.map(|info| info.state.last_sequence) }
        })
        .await
        .unwrap_or_else(|| Err(stream::InfoError::new(jetstream::context::RequestErrorKind::TimedOut)));
        info.map_err(|source| StoreError::Info { stream: self.stream_name().to_owned(), source })
    }

    /// The message at `position`, whatever its subject, opened; `None` when there is none.
    pub async fn get(&self, position: u64) -> Result<Option<Stored>, StoreError> {
        let subject = subject::every_event(&self.namespace);
        let message = match self.stream.raw_message_builder().sequence(position).send().await {
            Ok(message) => message,
            Err(err) if err.kind() == LastRawMessageErrorKind::NoMessageFound => return Ok(None),
            Err(source) => return Err(StoreError::Read { subject, source }),
        };
        let envelope = self.open(&message.payload).await.map_err(|err| match err {
            OpenError::Keys(err) => err,
            OpenError::Wire(source) => StoreError::Corrupt { subject: message.subject.to_string(), position, source },
        })?;
        Ok(Some(Stored { position, envelope }))
    }

    /// Runs a command against one aggregate: `decide` on its history, append what it decided
    /// with the history's last position as the expected one. A lost race reads what was
    /// appended since and decides again; a command id already in the history is answered as the
    /// first time, without deciding again.
    ///
    /// The history is the one this process kept from its last command on the aggregate, none
    /// for an aggregate it has not seen (see [`history`]), brought up to date only when it turns
    /// out stale: by a failed append, or, before a refusal or an answer that changes nothing, by
    /// asking the stream for the aggregate's last position.
    pub async fn execute<F>(
        &self,
        aggregate: &Aggregate,
        meta: Metadata,
        mut decide: F,
    ) -> Result<Result<Recorded, Rejection>, StoreError>
    where
        F: FnMut(&[Stored]) -> Result<Vec<Event>, Rejection>,
    {
        self.execute_with(aggregate, meta, |history| decide(history.messages())).await
    }

    async fn execute_with<F>(
        &self,
        aggregate: &Aggregate,
        meta: Metadata,
        decide: F,
    ) -> Result<Result<Recorded, Rejection>, StoreError>
    where
        F: FnMut(&mut history::History) -> Result<Vec<Event>, Rejection>,
    {
        let subject = self.subject(aggregate);
        let mut turn = self.histories.take(&subject, self.keys.generation()).await;
        let outcome = self.execute_on(aggregate, &subject, &mut turn.history, meta, decide).await;
        if outcome.is_err() {
            // Whatever went wrong, the next command starts from nothing kept.
            turn.history = history::History::default();
        }
        self.histories.give_back(turn);
        outcome
    }

    async fn execute_on<F>(
        &self,
        aggregate: &Aggregate,
        subject: &str,
        history: &mut history::History,
        meta: Metadata,
        mut decide: F,
    ) -> Result<Result<Recorded, Rejection>, StoreError>
    where
        F: FnMut(&mut history::History) -> Result<Vec<Event>, Rejection>,
    {
        let mut confirmed = false;
        for _ in 0..MAX_ATTEMPTS {
            if let Some(earlier) = history.of_command(meta.command_id) {
                let event_ids = earlier.envelope.events.iter().map(|e| e.id).collect();
                return Ok(Ok(Recorded { position: earlier.position, event_ids }));
            }
            let last = history.last_position();
            let events = match decide(history) {
                Ok(events) if !events.is_empty() => events,
                // Nothing is appended, so no server checks the history: make sure it is the latest.
                _ if !confirmed => {
                    confirmed = self.last_position_of(subject).await? == last;
                    if !confirmed {
                        self.catch_up(subject, history).await?;
                    }
                    continue;
                }
                Ok(_) => return Ok(Ok(Recorded { position: last, event_ids: Vec::new() })),
                Err(rejection) => return Ok(Err(rejection)),
            };
            let envelope = Envelope::new(meta.clone(), events);
            match self.append(aggregate, last, &envelope).await {
                Ok(Appended::New(position)) => {
                    let event_ids = envelope.events.iter().map(|e| e.id).collect();
                    // Kept as a read would give it back.
                    match Envelope::try_from(pb::Envelope::from(&envelope)) {
                        Ok(envelope) => history.push(Stored { position, envelope }),
                        Err(_) => *history = history::History::default(),
                    }
                    return Ok(Ok(Recorded { position, event_ids }));
                }
                // The same command id was stored meanwhile (the read finds it), someone else
                // appended first, or (NATS 2.12) our own earlier try was stored.
                Ok(Appended::Duplicate(_)) | Err(StoreError::WrongExpectedPosition { .. }) => {
                    self.catch_up(subject, history).await?;
                    confirmed = false;
                }
                Err(StoreError::ReaderDeleted(_)) => {
                    return Ok(Err(Rejection::new(Code::NotFound, "this account was deleted")));
                }
                Err(err) => return Err(err),
            }
        }
        Err(StoreError::Contention { subject: subject.to_owned() })
    }

    /// Adds what was appended to the subject after the history's last message.
    async fn catch_up(&self, subject: &str, history: &mut history::History) -> Result<(), StoreError> {
        let mut added = Vec::new();
        self.read_after(subject, history.last_position(), &mut added).await?;
        added.into_iter().for_each(|stored| history.push(stored));
        Ok(())
    }

    /// The position of the subject's last message (0 when it has none), asked of the stream
    /// leader, so it counts every acknowledged append.
    async fn last_position_of(&self, subject: &str) -> Result<u64, StoreError> {
        let last = with_tries(|| self.stream.raw_message_builder().last_by_subject(subject).send()).await;
        match last.unwrap_or_else(|| Err(stream::RawMessageError::new(stream::RawMessageErrorKind::Other))) {
            Ok(message) => Ok(message.sequence),
            Err(err) if err.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(0),
            Err(source) => Err(StoreError::Read { subject: subject.to_owned(), source }),
        }
    }

    /// Appends one envelope if the aggregate's last position is still `expected_last` (0: it
    /// has no events), with the command id as `Nats-Msg-Id`.
    pub async fn append(
        &self,
        aggregate: &Aggregate,
        expected_last: u64,
        envelope: &Envelope,
    ) -> Result<Appended, StoreError> {
        let subject = self.subject(aggregate);
        let span = tracing::info_span!("append", subject = %subject, expected_last, position = tracing::field::Empty);
        // The message keeps the appending span's trace context, for the projector to continue.
        let mut headers = async_nats::HeaderMap::new();
        trace_context::inject(&span, &mut headers);
        let publish = jetstream::message::PublishMessage::build()
            .headers(headers)
            .payload(Bytes::from(self.seal(envelope).await?))
            .message_id(envelope.meta.command_id.to_string())
            .expected_last_subject_sequence(expected_last);
        // Sent again, the same message, if a try goes unanswered (`TRY_TIMEOUT`).
        let ack = with_tries(|| async { self.context.send_publish(subject.clone(), publish.clone()).await?.await });
        let ack = ack
            .instrument(span.clone())
            .await
            .unwrap_or_else(|| Err(jetstream::context::PublishError::new(PublishErrorKind::TimedOut)));
        if let Ok(ack) = &ack {
            span.record("position", ack.sequence);
        }
        match ack {
            Ok(ack) if ack.duplicate => Ok(Appended::Duplicate(ack.sequence)),
            Ok(ack) => Ok(Appended::New(ack.sequence)),
            Err(err) if err.kind() == PublishErrorKind::WrongLastSequence => {
                Err(StoreError::WrongExpectedPosition { subject, expected: expected_last })
            }
            Err(source) => Err(StoreError::Append { subject, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_below_2_12_are_refused() {
        assert_eq!(parse_version("2.9.25"), Some((2, 9)));
        assert!(parse_version("2.9.25") < Some(MIN_SERVER_VERSION));
        assert!(parse_version("2.12.8") >= Some(MIN_SERVER_VERSION));
        assert!(parse_version("v2.14.0-beta.1") >= Some(MIN_SERVER_VERSION));
        assert_eq!(parse_version("garbage"), None);
    }

    #[test]
    fn stream_names_are_upper_case() {
        assert_eq!(stream_name("rs"), "RS_EVENTS");
        assert_eq!(stream_name("t-1a2b"), "T_1A2B_EVENTS");
    }
}
