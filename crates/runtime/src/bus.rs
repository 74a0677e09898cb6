//! The command bus: the gateway sends a command as a NATS request on
//! `<ns>.cmd.<service>.<command>`; any replica of the service (one queue group) answers with a
//! `Reply` that either accepts it with the stream position it produced or rejects it with a code.

use std::{
    collections::HashMap,
    future::Future,
    time::{Duration, Instant},
};

use async_nats::jetstream::context::PublishErrorKind;
use bytes::Bytes;
use futures::StreamExt;
use prost::Message;
use readstream_contracts::{
    command::{self, MalformedReply, Routes},
    proto::commands::v1 as pb,
    social::{self, Role, Roles, SocialEvent},
    subject, Code, Command, Recorded, Rejection, Reply, Service,
};
use readstream_eventstore::{EventStore, StoreError};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tracing::Instrument as _;
use uuid::Uuid;

use crate::config::StartError;

pub use readstream_contracts::Sender;

/// Answers service `S`'s commands with `handler`, which routes every one of them (a service
/// that leaves one out does not compile), until `shutdown`; then finishes those in flight and
/// flushes their replies. A subscription that ends by itself (the connection closed for good)
/// is an error, so the process exits non-zero for its supervisor to restart it.
pub async fn answer_commands<S: Service, H: Routes<S>>(
    handler: H,
    client: async_nats::Client,
    namespace: &str,
    shutdown: CancellationToken,
) -> Result<(), StartError> {
    let handle = move |command: String, payload: Bytes| {
        let routed = handler.route(&command, payload);
        async move {
            let started = Instant::now();
            let (command, outcome) = match routed {
                Some((name, answer)) => (name, answer.await),
                None => ("unknown", Err(Rejection::new(Code::InvalidArgument, format!("unknown command {command}")))),
            };
            let outcome_label = match &outcome {
                Ok(accepted) => {
                    metrics::counter!(crate::metrics::EVENTS_APPENDED, "service" => S::NAME)
                        .increment(accepted.event_ids.len() as u64);
                    "accepted"
                }
                Err(_) => "rejected",
            };
            metrics::histogram!(crate::metrics::COMMAND_HANDLE_SECONDS,
                "service" => S::NAME, "command" => command, "outcome" => outcome_label)
            .record(started.elapsed());
            match outcome {
                Ok(accepted) => pb::Reply { outcome: Some(pb::reply::Outcome::Accepted(accepted)) },
                Err(rejection) => pb::Reply { outcome: Some(pb::reply::Outcome::Rejected(rejection.into())) },
            }
        }
    };
    serve(client, namespace, S::NAME, command::every_command::<S>(namespace), handle, shutdown).await
}

async fn serve<H, F>(
    client: async_nats::Client,
    namespace: &str,
    service: &str,
    subject: String,
    handle: H,
    shutdown: CancellationToken,
) -> Result<(), StartError>
where
    H: Fn(String, Bytes) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = pb::Reply> + Send + 'static,
{
    let mut requests = client.queue_subscribe(subject.clone(), format!("{namespace}.{service}")).await?;
    crate::ready::answer_probes(&client, namespace, service, shutdown.clone()).await?;
    tokio::spawn(announce_connects(client.clone(), subject::connected(namespace, service), shutdown.clone()));
    let tasks = TaskTracker::new();
    tracing::info!(service, namespace, "answering commands");
    loop {
        let request = tokio::select! {
            _ = shutdown.cancelled() => break,
            request = requests.next() => match request {
                Some(request) => request,
                None => {
                    tasks.close();
                    tasks.wait().await;
                    return Err(StartError::SubscriptionEnded(subject));
                }
            },
        };
        let Some(reply_to) = request.reply.clone() else {
            continue;
        };
        let command = request.subject.rsplit('.').next().unwrap_or_default().to_owned();
        let (client, handle) = (client.clone(), handle.clone());
        // Continues the trace of the gateway's request, if it sent one.
        let span = readstream_eventstore::trace_context::continued(
            tracing::info_span!("handle command", service, command = %command),
            request.headers.as_ref(),
        );
        tasks.spawn(async move {
            let reply = handle(command, request.payload).instrument(span).await;
            if let Err(err) = client.publish(reply_to, Bytes::from(reply.encode_to_vec())).await {
                tracing::warn!(error = %err, "could not send a command's reply");
            }
        });
    }
    let _ = requests.unsubscribe().await;
    tasks.close();
    tasks.wait().await;
    // The last replies are buffered in the client: send them before the process ends, or a
    // committed command reads as a timeout. A flush waits for a reconnect forever, so bound it.
    let _ = tokio::time::timeout(Duration::from_secs(2), client.flush()).await;
    Ok(())
}

/// How often a connection's count of connects is looked at.
const RECONNECT_CHECK: Duration = Duration::from_millis(50);

/// Publishes on `subject` now and each time the client's connection is made again, until
/// `shutdown`: the commands sent to this service, and its replies, that were on a lost
/// connection (or in a process this one replaces) are gone, and the gateway sends what it
/// still waits for again ([`Reconnects`]).
async fn announce_connects(client: async_nats::Client, subject: String, shutdown: CancellationToken) {
    let statistics = client.statistics();
    let connects = || statistics.connects.load(std::sync::atomic::Ordering::Relaxed);
    let mut announced = None;
    let mut check = tokio::time::interval(RECONNECT_CHECK);
    while shutdown.run_until_cancelled(check.tick()).await.is_some() {
        let now = connects();
        if announced != Some(now) {
            match client.publish(subject.clone(), Bytes::new()).await {
                Ok(()) => announced = Some(now),
                Err(err) => tracing::warn!(error = %err, "could not say the service is connected"),
            }
        }
    }
}

/// Tells the gateway's waiting commands that their request or reply may be lost: the gateway's
/// own connection was made again, or the command service they went to said it connected (on
/// `<ns>.connected.<service>`: started again, or its connection made again). A NATS node or a
/// process that dies takes the messages in its hands with it, and nothing else tells the
/// sender, who would wait out its whole timeout. A command is sent again with the same command
/// id, which its service recognizes and answers as the first time, so it is recorded once.
#[derive(Clone)]
pub struct Reconnects {
    changes: tokio::sync::watch::Receiver<Connects>,
}

/// How often the gateway's connection, and each service, connected.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Connects {
    own: u64,
    services: HashMap<String, u64>,
}

impl Reconnects {
    /// Follows the client's connection and every service's announcements until `shutdown`.
    pub async fn follow(
        client: &async_nats::Client,
        namespace: &str,
        shutdown: CancellationToken,
    ) -> Result<Self, StartError> {
        let mut announcements = client.subscribe(subject::every_connected(namespace)).await?;
        let (changed, changes) = tokio::sync::watch::channel(Connects::default());
        let statistics = client.statistics();
        tokio::spawn(async move {
            let connects = || statistics.connects.load(std::sync::atomic::Ordering::Relaxed);
            let mut seen = connects();
            let mut check = tokio::time::interval(RECONNECT_CHECK);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    announced = announcements.next() => match announced {
                        Some(announced) => {
                            let service = announced.subject.rsplit('.').next().unwrap_or_default().to_owned();
                            changed.send_modify(|connects| *connects.services.entry(service).or_default() += 1);
                        }
                        None => break,
                    },
                    _ = check.tick() => if connects() != seen {
                        seen = connects();
                        changed.send_modify(|connects| connects.own += 1);
                    },
                }
            }
        });
        Ok(Self { changes })
    }

    /// Resolves at the next reconnect, after this call, of the gateway or of `service`.
    async fn next(&self, service: &str) {
        let mut changes = self.changes.clone();
        let seen = |connects: &Connects| (connects.own, connects.services.get(service).copied());
        let before = seen(&changes.borrow_and_update());
        if changes.wait_for(|connects| seen(connects) != before).await.is_err() {
            // No one follows any more (shutdown): nothing will come.
            std::future::pending::<()>().await;
        }
    }
}

/// An infrastructure failure as a refusal: logged here, never detailed to the client.
pub fn unavailable(err: &StoreError) -> Rejection {
    tracing::error!(error = %err, "event store failure");
    match err {
        StoreError::Contention { .. } => {
            Rejection::new(Code::Conflict, "too many concurrent changes to this item; try again")
        }
        // The append went out and its ack did not come back: it may have been stored.
        StoreError::Append { source, .. } if source.kind() == PublishErrorKind::TimedOut => Rejection::new(
            Code::DeadlineExceeded,
            "the event store did not confirm in time; send the command again with the same idempotencyKey to learn its outcome",
        ),
        // Trying again reads the same message: say which, for an operator to look at.
        StoreError::Corrupt { position, .. } => Rejection::new(
            Code::Internal,
            format!(
                "stream message {position} of this item's history cannot be read by this version of readstream; \
                 nothing was changed"
            ),
        ),
        _ => Rejection::new(Code::Unavailable, "the event store is unavailable; nothing was changed, try again"),
    }
}

/// A store call's outcome as a command's answer: recorded, refused, or unavailable.
pub fn recorded(outcome: Result<Result<Recorded, Rejection>, StoreError>) -> Result<Recorded, Rejection> {
    outcome.unwrap_or_else(|err| Err(unavailable(&err)))
}

/// Whether `reader_id` holds `role`, folded from their own subject: the log decides, never a
/// token's claims. Every command service that lets a role do more asks this.
pub async fn holds_role(store: &EventStore, reader_id: Uuid, role: Role) -> Result<bool, Rejection> {
    let history = store.load(&social::reader(reader_id)).await.map_err(|err| unavailable(&err))?;
    Ok(Roles::of(readstream_eventstore::context_events::<SocialEvent>(&history)).holds(role))
}

/// Ties idempotency keys to their reader, so two readers' keys never meet.
const IDEMPOTENCY_NAMESPACE: Uuid = Uuid::from_u128(0x6f0e_56c4_2f9b_4c57_9a51_8d7b_3e1a_0c21);

/// The metadata of a command a batch job (`job`: an import, a merge's move) sends for `reader`:
/// its id comes from `key`, the step's content, so the step sent again is the same command;
/// `marked` commands carry the job, and their events reach no feed one by one.
pub fn on_behalf_of(reader: Uuid, job: Uuid, key: &str, marked: bool) -> pb::CommandMeta {
    let command_id = command_id(Some(reader), key);
    pb::CommandMeta {
        command_id: command_id.to_string(),
        actor: reader.to_string(),
        correlation_id: job.to_string(),
        import_job_id: if marked { job.to_string() } else { String::new() },
    }
}

/// The command id a client's idempotency key stands for: the same for every retry by the same
/// reader (`actor`), different for any other reader's same key.
pub fn command_id(actor: Option<Uuid>, idempotency_key: &str) -> Uuid {
    let scope = actor.map(|a| a.to_string()).unwrap_or_default();
    Uuid::new_v5(&IDEMPOTENCY_NAMESPACE, format!("{scope}:{idempotency_key}").as_bytes())
}

/// Why the gateway got no reply to a command.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("no {service} service is running")]
    NoResponders { service: String },
    #[error("the {service} service did not answer in time")]
    TimedOut { service: String },
    #[error("sending the command failed: {0}")]
    Request(async_nats::RequestError),
    #[error("the reply was not a valid Reply: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("the {service} service sent an empty reply to {command}")]
    Empty { service: &'static str, command: &'static str },
    #[error("the {service} service's reply to {command}: {source}")]
    Malformed { service: &'static str, command: &'static str, source: MalformedReply },
}

impl From<BusError> for Rejection {
    /// What the sender is told. Whether the command could have been applied decides the code:
    /// a client retries an `UNAVAILABLE` freely, a `DEADLINE_EXCEEDED` only with the same
    /// idempotency key. Internal detail is logged, never told.
    fn from(err: BusError) -> Self {
        match err {
            BusError::TimedOut { service } => {
                tracing::warn!(service, "a command service did not answer in time");
                Rejection::new(
                    Code::DeadlineExceeded,
                    format!(
                        "the {service} service did not answer in time; the command may have been applied: \
                         send it again with the same idempotencyKey to learn its outcome"
                    ),
                )
            }
            BusError::NoResponders { service } => {
                tracing::warn!(service, "no command service is running");
                Rejection::new(
                    Code::Unavailable,
                    format!("no {service} service is running; nothing was changed, try again"),
                )
            }
            BusError::Request(err) => {
                tracing::warn!(error = %err, "sending a command failed");
                Rejection::new(Code::Unavailable, "a service is unavailable; try again")
            }
            err @ (BusError::Decode(_) | BusError::Empty { .. } | BusError::Malformed { .. }) => {
                tracing::error!(error = %err, "internal error");
                Rejection::new(Code::Internal, "internal error")
            }
        }
    }
}

/// Sends a command to its service and waits, up to `timeout`, for its reply: the command's
/// typed reply, or the service's refusal. Sends it again whenever `reconnects` says the request
/// or its reply may have been lost.
pub async fn send<C: Command>(
    client: &async_nats::Client,
    reconnects: &Reconnects,
    namespace: &str,
    command: &C,
    timeout: Duration,
) -> Result<Result<C::Reply, pb::Rejected>, BusError> {
    use async_nats::RequestErrorKind;
    let service = C::Service::NAME;
    let subject = command::subject::<C>(namespace);
    let span = tracing::info_span!("send command", service, command = C::NAME);
    let mut headers = async_nats::HeaderMap::new();
    readstream_eventstore::trace_context::inject(&span, &mut headers);
    let payload = Bytes::from(command.encode_to_vec());
    let started = Instant::now();
    let deadline = started + timeout;
    let answered = async {
        loop {
            let request = async_nats::Request::new()
                .payload(payload.clone())
                .headers(headers.clone())
                .timeout(Some(deadline.saturating_duration_since(Instant::now())));
            tokio::select! {
                answered = client.send_request(subject.clone(), request) => break answered,
                _ = reconnects.next(service) => {
                    tracing::info!(service, "a connection was made again; sending the command again");
                }
            }
        }
    };
    let reply = match answered.instrument(span).await {
        Ok(response) => pb::Reply::decode(response.payload).map_err(BusError::from),
        Err(err) => Err(match err.kind() {
            RequestErrorKind::NoResponders => BusError::NoResponders { service: service.to_owned() },
            RequestErrorKind::TimedOut => BusError::TimedOut { service: service.to_owned() },
            _ => BusError::Request(err),
        }),
    };
    let outcome = match &reply {
        Ok(pb::Reply { outcome: Some(pb::reply::Outcome::Accepted(_)) }) => "accepted",
        Ok(_) => "rejected",
        Err(_) => "failed",
    };
    metrics::histogram!(crate::metrics::COMMAND_REQUEST_SECONDS,
        "service" => service, "command" => C::NAME, "outcome" => outcome)
    .record(started.elapsed());
    match reply?.outcome {
        Some(pb::reply::Outcome::Accepted(accepted)) => Ok(Ok(C::Reply::from_accepted(accepted)
            .map_err(|source| BusError::Malformed { service, command: C::NAME, source })?)),
        Some(pb::reply::Outcome::Rejected(rejected)) => Ok(Err(rejected)),
        None => Err(BusError::Empty { service, command: C::NAME }),
    }
}
