//! Commands bound to their services by type: each command message names the one service that
//! answers it and its own name, so the gateway cannot send it elsewhere and a service cannot
//! route a command of another.
//!
//! A command travels as a NATS request on `<ns>.cmd.<service>.<name>`; any replica of the
//! service (one queue group) answers with a `Reply`.

use std::{future::Future, pin::Pin};

use chrono::Utc;
use prost::bytes::Bytes;
use uuid::Uuid;

pub use crate::event::Metadata;
use crate::{proto::commands::v1 as pb, Code, Rejection};

/// A command service, as a type.
pub trait Service: Send + Sync + 'static {
    /// The name it answers under: its subjects' token and its readiness probe's.
    const NAME: &'static str;
}

/// One command message.
pub trait Command: prost::Message + Default + Send + Sync + 'static {
    /// The service that answers it.
    type Service: Service;
    /// What its service answers when it accepts it.
    type Reply: Reply;
    /// Its subject's last token.
    const NAME: &'static str;

    /// Takes the metadata the sender attached (every command message has it).
    fn take_meta(&mut self) -> Option<pb::CommandMeta>;
}

/// Where a command is sent.
pub fn subject<C: Command>(namespace: &str) -> String {
    format!("{namespace}.cmd.{}.{}", C::Service::NAME, C::NAME)
}

/// Every command of a service, what its replicas subscribe to.
pub fn every_command<S: Service>(namespace: &str) -> String {
    every_command_of(namespace, S::NAME)
}

/// Every command of the service named `service` (for tools and tests that stand in for one).
pub fn every_command_of(namespace: &str, service: &str) -> String {
    format!("{namespace}.cmd.{service}.*")
}

/// What an accepted command answers, typed per command; on the wire it is one `Accepted`.
pub trait Reply: Sized + Send + 'static {
    /// The stream position to wait for to read the command's own write.
    fn position(&self) -> u64;
    /// Where the command's events stand, without the rest.
    fn into_recorded(self) -> Recorded;
    fn into_accepted(self) -> pb::Accepted;
    /// The reply read back by the sender; a reply missing what its type promises is an error.
    fn from_accepted(accepted: pb::Accepted) -> Result<Self, MalformedReply>;
}

/// A reply that lacks what its command's reply type promises (a service of another version).
#[derive(Debug, thiserror::Error)]
#[error("the reply lacks {0}")]
pub struct MalformedReply(&'static str);

/// Where a command's events stand: what most commands answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The stream sequence of the message appended (or of the one already there when the
    /// command changed nothing).
    pub position: u64,
    pub event_ids: Vec<Uuid>,
}

/// A command that made or acted on an item whose id the sender may not know (a book added, a
/// comment made): the item's id and where its events stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identified {
    pub id: Uuid,
    pub recorded: Recorded,
}

/// A session opened (a sign-up, a sign-in, a refresh): for whom, the session, and the device
/// token of a sign-up or sign-in.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionOpened {
    pub reader_id: Uuid,
    pub session: pb::Session,
    pub device_token: Option<String>,
    pub recorded: Recorded,
}

/// Sessions a command ended (signing out, a new password, a deleted account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionsEnded {
    pub reader_id: Uuid,
    pub ended: Vec<Uuid>,
    pub recorded: Recorded,
}

fn wire_id(value: &str, what: &'static str) -> Result<Uuid, MalformedReply> {
    Uuid::parse_str(value).map_err(|_| MalformedReply(what))
}

impl Recorded {
    fn into_accepted_with(self, id: Option<Uuid>) -> pb::Accepted {
        pb::Accepted {
            position: self.position,
            event_ids: self.event_ids.iter().map(Uuid::to_string).collect(),
            id: id.map(|id| id.to_string()).unwrap_or_default(),
            ..Default::default()
        }
    }

    fn from_wire(accepted: &pb::Accepted) -> Result<Self, MalformedReply> {
        let event_ids = accepted.event_ids.iter().map(|id| wire_id(id, "valid event ids")).collect::<Result<_, _>>()?;
        Ok(Recorded { position: accepted.position, event_ids })
    }
}

impl Reply for Recorded {
    fn position(&self) -> u64 {
        self.position
    }

    fn into_recorded(self) -> Recorded {
        self
    }

    fn into_accepted(self) -> pb::Accepted {
        self.into_accepted_with(None)
    }

    fn from_accepted(accepted: pb::Accepted) -> Result<Self, MalformedReply> {
        Recorded::from_wire(&accepted)
    }
}

impl Reply for Identified {
    fn position(&self) -> u64 {
        self.recorded.position
    }

    fn into_recorded(self) -> Recorded {
        self.recorded
    }

    fn into_accepted(self) -> pb::Accepted {
        self.recorded.into_accepted_with(Some(self.id))
    }

    fn from_accepted(accepted: pb::Accepted) -> Result<Self, MalformedReply> {
        Ok(Identified { id: wire_id(&accepted.id, "the item's id")?, recorded: Recorded::from_wire(&accepted)? })
    }
}

impl Reply for SessionOpened {
    fn position(&self) -> u64 {
        self.recorded.position
    }

    fn into_recorded(self) -> Recorded {
        self.recorded
    }

    fn into_accepted(self) -> pb::Accepted {
        pb::Accepted {
            session: Some(self.session),
            device_token: self.device_token.unwrap_or_default(),
            ..self.recorded.into_accepted_with(Some(self.reader_id))
        }
    }

    fn from_accepted(accepted: pb::Accepted) -> Result<Self, MalformedReply> {
        Ok(SessionOpened {
            reader_id: wire_id(&accepted.id, "the reader's id")?,
            recorded: Recorded::from_wire(&accepted)?,
            device_token: Some(accepted.device_token).filter(|token| !token.is_empty()),
            session: accepted.session.ok_or(MalformedReply("the session opened"))?,
        })
    }
}

impl Reply for SessionsEnded {
    fn position(&self) -> u64 {
        self.recorded.position
    }

    fn into_recorded(self) -> Recorded {
        self.recorded
    }

    fn into_accepted(self) -> pb::Accepted {
        pb::Accepted {
            ended_session_ids: self.ended.iter().map(Uuid::to_string).collect(),
            ..self.recorded.into_accepted_with(Some(self.reader_id))
        }
    }

    fn from_accepted(accepted: pb::Accepted) -> Result<Self, MalformedReply> {
        let ended =
            accepted.ended_session_ids.iter().map(|id| wire_id(id, "valid session ids")).collect::<Result<_, _>>()?;
        Ok(SessionsEnded {
            reader_id: wire_id(&accepted.id, "the reader's id")?,
            ended,
            recorded: Recorded::from_wire(&accepted)?,
        })
    }
}

/// Who sent a command that needs a signed-in reader: the metadata its events are recorded
/// with, and the reader it acts for.
#[derive(Debug, Clone)]
pub struct Sender {
    pub meta: Metadata,
    pub reader_id: Uuid,
}

/// Who may send a command: anyone ([`Metadata`] alone: signing up or in) or a signed-in
/// reader ([`Sender`]).
pub trait Caller: Sized + Send + 'static {
    fn from_metadata(meta: Metadata) -> Result<Self, Rejection>;
}

impl Caller for Metadata {
    fn from_metadata(meta: Metadata) -> Result<Self, Rejection> {
        Ok(meta)
    }
}

impl Caller for Sender {
    fn from_metadata(meta: Metadata) -> Result<Self, Rejection> {
        let reader_id = meta.actor.ok_or_else(|| Rejection::new(Code::Unauthenticated, "sign in first"))?;
        Ok(Sender { meta, reader_id })
    }
}

/// A command being answered: its reply, or why it was refused.
pub type Answer = Pin<Box<dyn Future<Output = Result<pb::Accepted, Rejection>> + Send>>;

/// A service's commands, each routed to the function that answers it. Implemented for every
/// type that implements the service's routes trait (made by `commands!`), which has one
/// function per command: a service that leaves one out does not compile.
pub trait Routes<S: Service>: Clone + Send + Sync + 'static {
    /// The command named `name` (its subject's last token) answered; `None` when the service
    /// has no command of that name.
    fn route(&self, name: &str, payload: Bytes) -> Option<(&'static str, Answer)>;
}

/// Decodes a command's payload and reads its metadata, refusing bad wire data with
/// `INVALID_ARGUMENT` and a command that needs a signed-in reader without one with
/// `UNAUTHENTICATED`.
pub fn open<C: Command, Who: Caller>(payload: &[u8]) -> Result<(C, Who), Rejection> {
    let mut command = decode::<C>(payload)?;
    let meta = metadata(command.take_meta())?;
    Ok((command, Who::from_metadata(meta)?))
}

/// Decodes a message, refusing bad wire data with `INVALID_ARGUMENT`.
pub fn decode<M: prost::Message + Default>(payload: &[u8]) -> Result<M, Rejection> {
    M::decode(payload).map_err(|_| Rejection::new(Code::InvalidArgument, "malformed command"))
}

/// The command's metadata as the event store records it; the command id must be a UUID.
fn metadata(meta: Option<pb::CommandMeta>) -> Result<Metadata, Rejection> {
    let meta = meta.unwrap_or_default();
    let uuid = |value: &str, field: &'static str| {
        Uuid::parse_str(value).map_err(|_| Rejection::invalid(field, format!("{field} is not a UUID")))
    };
    let command_id = uuid(&meta.command_id, "commandId")?;
    let actor = match meta.actor.as_str() {
        "" => None,
        actor => Some(uuid(actor, "actor")?),
    };
    let correlation_id = match meta.correlation_id.as_str() {
        "" => command_id,
        id => uuid(id, "correlationId")?,
    };
    let import_job = match meta.import_job_id.as_str() {
        "" => None,
        job => Some(uuid(job, "importJobId")?),
    };
    Ok(Metadata { occurred_at: Utc::now(), actor, command_id, correlation_id, import_job })
}

/// Binds command messages to a service, their names, who may send them and their replies, and
/// makes the service's routes trait: one function per command, so a service that does not
/// answer one of its commands does not compile.
///
/// `commands!(Service, ServiceRoutes { Message => name(Caller) -> Reply, … })`
macro_rules! commands {
    ($service:ident, $routes:ident { $($command:ident => $name:ident($caller:ident) -> $reply:ident),+ $(,)? }) => {
        $(impl $crate::command::Command for $crate::proto::commands::v1::$command {
            type Service = $service;
            type Reply = $crate::command::$reply;
            const NAME: &'static str = stringify!($name);

            fn take_meta(&mut self) -> Option<$crate::proto::commands::v1::CommandMeta> {
                self.meta.take()
            }
        })+

        #[doc = concat!("How the ", stringify!($service), " answers each of its commands.")]
        pub trait $routes: Clone + Send + Sync + 'static {
            $(fn $name(
                &self,
                command: $crate::proto::commands::v1::$command,
                caller: $crate::command::$caller,
            ) -> impl std::future::Future<Output = Result<$crate::command::$reply, $crate::Rejection>> + Send;)+
        }

        impl<H: $routes> $crate::command::Routes<$service> for H {
            fn route(
                &self,
                name: &str,
                payload: prost::bytes::Bytes,
            ) -> Option<(&'static str, $crate::command::Answer)> {
                match name {
                    $(stringify!($name) => {
                        let handler = self.clone();
                        Some((stringify!($name), Box::pin(async move {
                            let (command, caller) = $crate::command::open::<
                                $crate::proto::commands::v1::$command,
                                $crate::command::$caller,
                            >(&payload)?;
                            let reply = handler.$name(command, caller).await?;
                            Ok($crate::command::Reply::into_accepted(reply))
                        })))
                    })+
                    _ => None,
                }
            }
        }
    };
}
pub(crate) use commands;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{proto::commands::v1 as pb, ratings::RatingsService, reading::ReadingService};

    #[test]
    fn a_command_is_sent_on_its_services_subject_under_its_name() {
        assert_eq!(subject::<pb::RateBook>("rs"), "rs.cmd.ratings.rate_book");
        assert_eq!(subject::<pb::RemoveFromShelf>("rs"), "rs.cmd.reading.remove_from_shelf");
        assert_eq!(every_command::<RatingsService>("rs"), "rs.cmd.ratings.*");
        assert_eq!(every_command::<ReadingService>("rs"), every_command_of("rs", "reading"));
    }
}
