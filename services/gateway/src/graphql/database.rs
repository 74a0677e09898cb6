//! The data layer's one handle: every by-id read of a request goes through one DataLoader over
//! the read models (the read-model crate's [`Database`], whose modules add the loads of their
//! rows), so lookups of the same kind are batched into one query.

use std::sync::Arc;

use async_graphql::{dataloader::DataLoader, Context};
pub use readstream_readmodel::{Database, Failure};

use crate::error::ApiError;

pub fn loader<'a>(ctx: &'a Context<'_>) -> &'a DataLoader<Database> {
    ctx.data_unchecked::<Arc<DataLoader<Database>>>()
}

/// The same loader, held by a live stream for as long as it runs: what its pushes read is
/// batched with every other socket's reads of the same push.
pub fn loader_handle(ctx: &Context<'_>) -> Arc<DataLoader<Database>> {
    ctx.data_unchecked::<Arc<DataLoader<Database>>>().clone()
}

pub fn load_error(err: Failure) -> ApiError {
    ApiError::from(err.as_ref())
}
