//! Sending commands to the command services and turning their replies into results.

use readstream_contracts::{proto::commands::v1 as pb, Command};
use readstream_runtime::bus::{self, command_id};
use uuid::Uuid;

use crate::{auth::Viewer, error::ApiError, AppState};

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

/// Sends a command to the service its type names: its typed reply, or the refusal as its coded
/// error.
pub async fn send<C: Command>(app: &AppState, command: &C) -> Result<C::Reply, ApiError> {
    let answered = bus::send(&app.nats, &app.reconnects, &app.namespace, command, app.command_timeout).await?;
    answered.map_err(ApiError::from)
}

pub fn parse_id(field: &str, id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::invalid(field, format!("{field} is not a valid id")))
}
