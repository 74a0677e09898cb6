//! Sending commands to the command services and turning their replies into results.

use readstream_contracts::{proto::commands::v1 as pb, Command};
use readstream_runtime::bus;
use uuid::Uuid;

use crate::{auth::Viewer, error::ApiError, AppState};

/// Ties idempotency keys to their reader, so two readers' keys never meet.
const IDEMPOTENCY_NAMESPACE: Uuid = Uuid::from_u128(0x6f0e_56c4_2f9b_4c57_9a51_8d7b_3e1a_0c21);
pub const MAX_IDEMPOTENCY_KEY: usize = 128;

/// A command's metadata; a client idempotency key becomes a stable command id.
pub fn meta(viewer: Option<&Viewer>, idempotency_key: Option<String>) -> Result<pb::CommandMeta, ApiError> {
    let actor = viewer.map(|v| v.reader_id);
    let command_id = match idempotency_key {
        Some(key) if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY => {
            return Err(ApiError::invalid(
                "idempotencyKey",
                format!("an idempotency key has 1 to {MAX_IDEMPOTENCY_KEY} characters"),
            ));
        }
        Some(key) => command_id(actor, &key),
        None => Uuid::now_v7(),
    };
    Ok(pb::CommandMeta {
        command_id: command_id.to_string(),
        actor: actor.map(|a| a.to_string()).unwrap_or_default(),
        correlation_id: command_id.to_string(),
        import_job_id: String::new(),
    })
}

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

/// Sends a command to the service its type names: its typed reply, or the refusal as its coded
/// error.
pub async fn send<C: Command>(app: &AppState, command: &C) -> Result<C::Reply, ApiError> {
    let answered = bus::send(&app.nats, &app.reconnects, &app.namespace, command, app.command_timeout).await?;
    answered.map_err(ApiError::from)
}

pub fn parse_id(field: &str, id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::invalid(field, format!("{field} is not a valid id")))
}
