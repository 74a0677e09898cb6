//! The operations slice, for admins: the dead letters projections set aside (messages they
//! could not read or apply) and the request to apply them again once the cause is fixed.

use std::time::Duration;

use async_graphql::{Context, Object, Result, SimpleObject};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use readstream_contracts::{Code, ReadModel};

use super::{
    shared::{app, viewer},
    social::roles,
};
use crate::{error::ApiError, graphql::social::Role};

/// The most dead letters one query lists.
const MAX_DEAD_LETTERS: i64 = 100;

/// How long `retryDeadLetters` waits for the projector to apply them.
const RETRY_TIMEOUT: Duration = Duration::from_secs(60);

/// A stream message a projection set aside: it could not be read or applied, or it waits
/// behind one on the same subject (its aggregate) that could not.
#[derive(SimpleObject)]
pub struct DeadLetter {
    /// The read model that set it aside.
    projection: String,
    /// Its stream position: the projection's checkpoint has moved past it.
    position: u64,
    /// Its aggregate's subject.
    subject: String,
    /// Why it was set aside, as the projection last saw it.
    error: String,
    failed_at: DateTime<Utc>,
    /// How many times applying it has failed.
    attempts: i32,
}

#[derive(SimpleObject)]
pub struct DeadLettersRetried {
    /// How many dead letters were applied and left the list.
    applied: u64,
    /// How many remain (each failed again, or waits behind one that did).
    remaining: i64,
}

/// Refuses anyone but an admin.
async fn admin(ctx: &Context<'_>) -> Result<(), ApiError> {
    let viewer = viewer(ctx)?;
    if roles(ctx, viewer.reader_id).await?.contains(&Role::Admin) {
        return Ok(());
    }
    Err(ApiError::new(Code::PermissionDenied, "only an admin sees and retries dead letters"))
}

#[derive(Default)]
pub struct OperationsQuery;

#[Object]
impl OperationsQuery {
    /// The dead letters of every projection (or of one), oldest first; admins only.
    async fn dead_letters(
        &self,
        ctx: &Context<'_>,
        projection: Option<String>,
        #[graphql(default = 50)] first: i32,
    ) -> Result<Vec<DeadLetter>> {
        admin(ctx).await?;
        let projection = match projection {
            Some(name) => Some(ReadModel::from_name(&name).map(ReadModel::name).ok_or_else(|| {
                let names: Vec<&str> = ReadModel::ALL.iter().map(|model| model.name()).collect();
                ApiError::invalid("projection", format!("no projection is called that; there are {}", names.join(", ")))
            })?),
            None => None,
        };
        let first = i64::from(first).clamp(0, MAX_DEAD_LETTERS);
        let rows = readstream_readmodel::operations::dead_letters(&app(ctx).pool, projection, first)
            .await
            .map_err(ApiError::from)?;
        Ok(rows
            .into_iter()
            .map(|row| DeadLetter {
                projection: row.projection,
                position: row.position as u64,
                subject: row.subject,
                error: row.error,
                failed_at: row.failed_at,
                attempts: row.attempts,
            })
            .collect())
    }
}

/// How many dead letters there are, in all: what `/readyz` reports.
pub async fn dead_letters_count(pool: &sqlx::PgPool) -> Result<i64, sqlx::Error> {
    readstream_readmodel::operations::dead_letters_count(pool).await
}

#[derive(Default)]
pub struct OperationsMutation;

#[Object]
impl OperationsMutation {
    /// Applies every projection's dead letters again, oldest first, once their cause is fixed;
    /// admins only. One that fails again stays, with its new error, and so does every later
    /// one on its subject.
    async fn retry_dead_letters(&self, ctx: &Context<'_>) -> Result<DeadLettersRetried> {
        admin(ctx).await?;
        let app = app(ctx);
        let subject = readstream_contracts::subject::retry_dead_letters(&app.namespace);
        let request = async_nats::Request::new().payload(Bytes::new()).timeout(Some(RETRY_TIMEOUT));
        let unavailable =
            || ApiError::new(Code::Unavailable, "the projector could not retry its dead letters now; try again");
        let reply = app.nats.send_request(subject, request).await.map_err(|err| {
            tracing::warn!(error = %err, "no answer to a request to retry dead letters");
            unavailable()
        })?;
        let applied = std::str::from_utf8(&reply.payload).ok().and_then(|n| n.parse().ok()).ok_or_else(unavailable)?;
        let remaining = dead_letters_count(&app.pool).await.map_err(ApiError::from)?;
        Ok(DeadLettersRetried { applied, remaining })
    }
}
