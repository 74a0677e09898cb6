//! The data layer's one handle: every by-id read of a request goes through one DataLoader over
//! the read models (the read-model crate's [`Database`], whose modules add the loads of their
//! rows), so lookups of the same kind are batched into one query.

use async_graphql::{dataloader::DataLoader, Context};
pub use readstream_readmodel::{Database, Failure};

use crate::error::ApiError;

pub fn loader<'a>(ctx: &'a Context<'_>) -> &'a DataLoader<Database> {
    ctx.data_unchecked::<DataLoader<Database>>()
}

pub fn load_error(err: Failure) -> ApiError {
    ApiError::from(err.as_ref())
}
