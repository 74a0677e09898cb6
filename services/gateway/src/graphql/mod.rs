//! The GraphQL schema: queries over the read models, one mutation per command, and live
//! subscriptions fed by the projector through NATS.
//!
//! One folder per context (`catalog`, `ratings`, `reading`, `reviews`, `social`, `feed`,
//! `import`) holds
//! its GraphQL types, queries, mutations and subscriptions, and in `reads` its batched reads,
//! which return rows and know no GraphQL type. Below the slices: `shared` (the objects many of
//! them show, paging, read-your-writes) and `database`. Beside them, `operations` serves admins
//! (dead letters). Above them: `fields` (the fields of
//! `Book`, `Author` and `Reader`, each asking the slice that owns it), `node` and this module,
//! which merges the slices into one schema.

pub mod catalog;
pub mod database;
pub mod feed;
pub mod fields;
pub mod import;
pub mod node;
pub mod operations;
pub mod ratings;
pub mod reading;
pub mod reviews;
pub mod search;
pub mod shared;
pub mod social;

use std::sync::Arc;

use async_graphql::{
    dataloader::DataLoader,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextRequest},
    MergedObject, MergedSubscription, Request, Schema, ServerResult,
};
use readstream_contracts::ReadModel;

use crate::{error::ApiError, limits::QueryWidth, positions::Positions, AppState};
use database::Database;

pub type ReadstreamSchema = Schema<Query, Mutation, Subscription>;

#[derive(MergedObject, Default)]
pub struct Query(
    catalog::CatalogQuery,
    search::SearchQuery,
    social::SocialQuery,
    reviews::ReviewsQuery,
    import::ImportQuery,
    node::NodeQuery,
    operations::OperationsQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    social::SocialMutation,
    catalog::CatalogMutation,
    ratings::RatingsMutation,
    reading::ReadingMutation,
    reviews::ReviewsMutation,
    import::ImportMutation,
    operations::OperationsMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(
    ratings::RatingsSubscription,
    reading::ReadingSubscription,
    reviews::ReviewsSubscription,
    feed::FeedSubscription,
    import::ImportSubscription,
);

/// Request `extensions` field (and HTTP header) asking to read at least this stream position.
pub const MIN_POSITION: &str = "minPosition";

/// The schema without its data: enough to print the SDL.
pub fn builder() -> async_graphql::SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query::default(), Mutation::default(), Subscription::default())
        .limit_depth(16)
        .limit_complexity(5_000)
        .limit_recursive_depth(32)
}

pub fn schema(app: AppState) -> ReadstreamSchema {
    builder()
        .extension(QueryWidth {
            max_root_fields: app.limits.config.max_root_fields,
            max_aliases: app.limits.config.max_aliases,
        })
        .extension(ReadYourWrites(app.positions.clone()))
        .extension(ErrorCodes)
        .data(DataLoader::new(Database(app.pool.clone()), tokio::spawn))
        .data(feed::PushedItems::default())
        .data(app)
        .finish()
}

/// The SDL checked in as `schema/schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// Holds a request until the read models reach the position it asks for, if any.
struct ReadYourWrites(Positions);

impl ExtensionFactory for ReadYourWrites {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ReadYourWritesExtension(self.0.clone()))
    }
}

struct ReadYourWritesExtension(Positions);

#[async_trait::async_trait]
impl Extension for ReadYourWritesExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if let Some(value) = request.extensions.get(MIN_POSITION) {
            let position = match value {
                async_graphql::Value::Number(n) => n.as_u64(),
                async_graphql::Value::String(s) => s.parse().ok(),
                _ => None,
            }
            .ok_or_else(|| ApiError::invalid(MIN_POSITION, "minPosition must be a stream position (a whole number)"))?;
            self.0.wait_for(position, &ReadModel::ALL).await?;
        }
        next.run(ctx, request).await
    }
}

/// Gives every error a code: the ones async-graphql raises itself (a malformed query, a value
/// of the wrong type) carry none, and all of them are the client's to fix.
struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

#[async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> async_graphql::Response {
        let mut response = next.run(ctx).await;
        for error in &mut response.errors {
            let extensions = error.extensions.get_or_insert_with(Default::default);
            if extensions.get("code").is_none() {
                extensions.set("code", readstream_contracts::Code::InvalidArgument.as_str());
            }
        }
        response
    }
}

/// Refusals that happen before any resolver runs (a bad token, a bad header).
pub fn request_error(err: ApiError) -> async_graphql::Response {
    async_graphql::Response::from_errors(vec![err.into()])
}
