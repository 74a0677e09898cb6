//! The data layer's one handle: every by-id read of a request goes through one DataLoader over
//! the read models, so lookups of the same kind are batched into one query. Each slice's
//! `reads` module adds the loads of its own rows; none of them knows a GraphQL type.

use std::sync::Arc;

use async_graphql::{dataloader::DataLoader, Context};
use sqlx::PgPool;

use crate::error::ApiError;

pub struct Database(pub PgPool);

/// A batched load's failure, shared by every field that waited on the batch.
pub type Failure = Arc<sqlx::Error>;

pub fn loader<'a>(ctx: &'a Context<'_>) -> &'a DataLoader<Database> {
    ctx.data_unchecked::<DataLoader<Database>>()
}

pub fn load_error(err: Failure) -> ApiError {
    ApiError::from(err.as_ref())
}
