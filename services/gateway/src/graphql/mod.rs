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
pub mod discovery;
pub mod feed;
pub mod fields;
pub mod import;
pub mod lists;
pub mod node;
pub mod notifications;
pub mod operations;
pub mod ratings;
pub mod reading;
pub mod recommendations;
pub mod reviews;
pub mod search;
pub mod shared;
pub mod social;
pub mod visibility;

use std::{
    num::NonZeroUsize,
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::{
    dataloader::DataLoader, parser::types::ExecutableDocument, Executor, MergedObject, MergedSubscription, Request,
    Schema,
};
use futures::{stream::BoxStream, FutureExt as _, StreamExt};
use lru::LruCache;
use readstream_contracts::ReadModel;

use crate::{
    auth::Viewer,
    error::ApiError,
    limits::{ClientAddress, Limits},
    shape::QueryShape,
    AppState,
};
use database::Database;
use readstream_runtime::positions::Positions;

pub type ReadstreamSchema = Schema<Query, Mutation, Subscription>;

#[derive(MergedObject, Default)]
pub struct Query(
    catalog::CatalogQuery,
    catalog::series::SeriesQuery,
    discovery::DiscoveryQuery,
    recommendations::RecommendationsQuery,
    lists::ListsQuery,
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
    catalog::series::SeriesMutation,
    discovery::DiscoveryMutation,
    lists::ListsMutation,
    ratings::RatingsMutation,
    reading::ReadingMutation,
    reviews::ReviewsMutation,
    import::ImportMutation,
    operations::OperationsMutation,
    notifications::NotificationsMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(
    ratings::RatingsSubscription,
    reading::ReadingSubscription,
    reviews::ReviewsSubscription,
    feed::FeedSubscription,
    import::ImportSubscription,
    notifications::NotificationsSubscription,
);

/// Request `extensions` field (and HTTP header) asking to read at least this stream position.
pub const MIN_POSITION: &str = "minPosition";

/// The schema without its data: enough to print the SDL.
pub fn builder() -> async_graphql::SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query::default(), Mutation::default(), Subscription::default())
        .limit_recursive_depth(crate::shape::MAX_TEXT_NESTING)
}

/// The schema and what every request shares around it: parsed queries, the shape limits, the
/// rate limits of operations sent over a WebSocket, the request timeout, the read-your-writes
/// wait, the error codes. The schema has no extensions: with any, async-graphql
/// calls into every extension for every field it resolves (a tenth of the gateway's CPU for a
/// book page, and each push to each subscription pays it again), so their work is done around
/// each request instead, over HTTP (`execute`) and over WebSockets (`Executor`).
#[derive(Clone)]
pub struct Schemas {
    schema: ReadstreamSchema,
    shape: Arc<QueryShape>,
    limits: Arc<Limits>,
    timeout: std::time::Duration,
    positions: Positions,
    parsed: ParsedQueries,
    shared: crate::shared_pushes::SharedExecutions,
}

impl Schemas {
    pub fn new(app: AppState) -> Self {
        let shape = Arc::new(QueryShape::new(&app.limits.config, &sdl()));
        let schema = builder()
            .data(Arc::new(DataLoader::new(Database(app.pool.clone()), tokio::spawn)))
            .data(feed::PushedItems::default())
            .data(reviews::PushedReviews::default())
            .data(app.clone())
            .finish();
        Schemas {
            schema,
            shape,
            timeout: std::time::Duration::from_millis(app.limits.config.request_timeout_ms),
            limits: app.limits.clone(),
            positions: app.positions.clone(),
            parsed: ParsedQueries::new(),
            shared: crate::shared_pushes::SharedExecutions::new(app.limits.config.max_replay_items),
        }
    }

    /// The request parsed (or its parse reused) and held to the shape limits, both in time
    /// linear in its text; then held until the read models reach its `minPosition`. The
    /// refusal otherwise. Returns whether it is a subscription.
    async fn prepare(&self, mut request: Request) -> Result<(Request, bool), async_graphql::Response> {
        let mut subscription = false;
        if let Some(document) = self.parsed.parse(&request.query).map_err(request_error)? {
            self.shape.check(&document, &request.variables).map_err(request_error)?;
            subscription = crate::shape::is_subscription(&document, request.operation_name.as_deref());
            request.set_parsed_query(document);
        }
        wait_for_min_position(&self.positions, &request).await.map_err(request_error)?;
        Ok((request, subscription))
    }

    /// Runs a query or mutation: prepared, executed within the request timeout, every error
    /// coded.
    pub async fn execute(&self, request: Request) -> async_graphql::Response {
        let started = std::time::Instant::now();
        let run = async {
            match self.prepare(request).await {
                Ok((request, _)) => self.schema.execute(request).await,
                Err(refusal) => refusal,
            }
        };
        let mut response =
            tokio::time::timeout(self.timeout, run).await.unwrap_or_else(|_| request_error(deadline_exceeded()));
        code_errors(&mut response);
        let outcome = if response.errors.is_empty() { "ok" } else { "error" };
        metrics::histogram!(readstream_runtime::metrics::GRAPHQL_REQUEST_SECONDS, "outcome" => outcome)
            .record(started.elapsed());
        response
    }
}

/// The refusal of a request that ran longer than `REQUEST_TIMEOUT_MS`.
pub fn deadline_exceeded() -> ApiError {
    ApiError::new(
        readstream_contracts::Code::DeadlineExceeded,
        "the request ran longer than this gateway allows (REQUEST_TIMEOUT_MS); a mutation in it may have been \
         applied: send it again with the same idempotencyKey to learn its outcome",
    )
}

/// What a WebSocket's operations run on: each counted against its client's and reader's rates
/// as a request over HTTP is, prepared as over HTTP, a query or mutation held to the request
/// timeout, then every response it streams coded.
impl Executor for Schemas {
    async fn execute(&self, request: Request) -> async_graphql::Response {
        Schemas::execute(self, request).await
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<async_graphql::Data>>,
    ) -> BoxStream<'static, async_graphql::Response> {
        let schemas = self.clone();
        let session_data = session_data.unwrap_or_default();
        // One of the socket's places for an operation in flight, taken before it is prepared;
        // a subscription gives it back once prepared (it holds a subscription place instead),
        // a query or mutation once answered.
        let place = match schemas.count_operation(&session_data).and_then(|()| in_flight(&session_data)) {
            Ok(place) => place,
            Err(refused) => {
                let mut refusal = request_error(refused);
                code_errors(&mut refusal);
                return futures::stream::once(std::future::ready(refusal)).boxed();
            }
        };
        // Preparing (the wait for `minPosition` included) and a query's or mutation's answer
        // share the request's time.
        let deadline = tokio::time::Instant::now() + self.timeout;
        // On the heap, as is a query's answer below: the stream keeps room for the future it
        // runs inline for as long as it lives, so every idle subscription would hold room for
        // its own preparing.
        let prepared = async move {
            match tokio::time::timeout_at(deadline, schemas.prepare(request)).await {
                Ok(prepared) => prepared.map(|prepared| (schemas, prepared)),
                Err(_) => Err(request_error(deadline_exceeded())),
            }
        }
        .boxed();
        let mut place = Some(place);
        futures::stream::once(prepared)
            .flat_map(move |prepared| match prepared {
                Ok((schemas, (request, true))) => {
                    drop(place.take());
                    schemas.schema.execute_stream_with_session_data(request, session_data.clone()).left_stream()
                }
                Ok((schemas, (request, false))) => {
                    let (session_data, place) = (session_data.clone(), place.take());
                    let answer = async move {
                        let _place = place;
                        let mut answers = schemas.schema.execute_stream_with_session_data(request, session_data);
                        match tokio::time::timeout_at(deadline, answers.next()).await {
                            Ok(answer) => answer.unwrap_or_default(),
                            Err(_) => request_error(deadline_exceeded()),
                        }
                    };
                    futures::stream::once(answer.boxed()).left_stream().right_stream()
                }
                Err(refusal) => {
                    drop(place.take());
                    futures::stream::once(std::future::ready(refusal)).right_stream().right_stream()
                }
            })
            .map(|mut response| {
                code_errors(&mut response);
                response
            })
            .boxed()
    }
}

/// A place for one query or mutation on the WebSocket `session_data` belongs to; none is needed
/// elsewhere. `LIMIT_EXCEEDED` when every place is taken.
fn in_flight(session_data: &async_graphql::Data) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, ApiError> {
    session_data
        .get(&std::any::TypeId::of::<crate::subscriptions::InFlight>())
        .and_then(|data| data.downcast_ref::<crate::subscriptions::InFlight>())
        .map(crate::subscriptions::InFlight::take)
        .transpose()
}

impl Schemas {
    /// Counts one operation sent over a WebSocket against its client's rate and its reader's.
    fn count_operation(&self, session_data: &async_graphql::Data) -> Result<(), ApiError> {
        let data = |id| session_data.get(&id).map(|data| data.as_ref());
        let client =
            data(std::any::TypeId::of::<ClientAddress>()).and_then(|data| data.downcast_ref::<ClientAddress>());
        let viewer = data(std::any::TypeId::of::<Viewer>()).and_then(|data| data.downcast_ref::<Viewer>());
        self.count(client.copied(), viewer)
    }

    /// Counts one operation against `client`'s rate and `viewer`'s.
    pub(crate) fn count(&self, client: Option<ClientAddress>, viewer: Option<&Viewer>) -> Result<(), ApiError> {
        if let Some(client) = client {
            self.limits.request(client)?;
        }
        if let Some(viewer) = viewer {
            self.limits.reader_request(viewer.reader_id)?;
        }
        Ok(())
    }

    /// `prepare` within the request timeout; only a subscription passes.
    pub(crate) async fn prepare_within_timeout(&self, request: Request) -> Result<Request, async_graphql::Response> {
        match tokio::time::timeout(self.timeout, self.prepare(request)).await {
            Ok(Ok((request, true))) => Ok(request),
            Ok(Ok((_, false))) => {
                Err(request_error(ApiError::invalid("query", "this operation is not a subscription")))
            }
            Ok(Err(refusal)) => Err(refusal),
            Err(_) => Err(request_error(deadline_exceeded())),
        }
    }

    /// Whether `request` is a subscription that runs once for all who send it alike (and are
    /// `signed_in` or not), and if so what a subscriber joining a running execution gets first.
    pub(crate) fn sharing(&self, request: &Request, signed_in: bool) -> Option<crate::shared_pushes::CatchUp> {
        match self.parsed.parse(&request.query) {
            Ok(Some(document)) => crate::shared_pushes::sharing(&document, request, signed_in),
            _ => None,
        }
    }

    /// The executions subscriptions share.
    pub(crate) fn shared(&self) -> &crate::shared_pushes::SharedExecutions {
        &self.shared
    }

    /// A prepared subscription executed for no one in particular: what everyone may see.
    pub(crate) fn execute_anonymous_stream(&self, request: Request) -> BoxStream<'static, async_graphql::Response> {
        self.schema.execute_stream_with_session_data(request, Arc::default()).boxed()
    }
}

/// Parsed queries by their text, the most recently used kept: an app sends the same few
/// queries again and again, and parsing one is a tenth of the CPU a book page costs.
#[derive(Clone)]
struct ParsedQueries(Arc<Mutex<LruCache<String, ExecutableDocument>>>);

/// How many parsed queries a gateway keeps, and the longest query text it keeps one for.
const PARSED_QUERIES_KEPT: NonZeroUsize = NonZeroUsize::MIN.saturating_add(255);
const PARSED_QUERY_MAX_BYTES: usize = 8 << 10;

impl ParsedQueries {
    fn new() -> Self {
        Self(Arc::new(Mutex::new(LruCache::new(PARSED_QUERIES_KEPT))))
    }

    /// The query parsed, `None` if it does not parse (the schema then answers why); refused
    /// when its text nests too deep to parse safely.
    fn parse(&self, query: &str) -> Result<Option<ExecutableDocument>, ApiError> {
        let kept = || self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(document) = kept().get(query) {
            return Ok(Some(document.clone()));
        }
        QueryShape::check_text(query)?;
        let Ok(document) = async_graphql::parser::parse_query(query) else { return Ok(None) };
        if query.len() <= PARSED_QUERY_MAX_BYTES {
            kept().put(query.to_owned(), document.clone());
        }
        Ok(Some(document))
    }
}

/// The SDL checked in as `schema/schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// Holds a request until the read models reach the position it asks for in its
/// `minPosition` extension, if any.
async fn wait_for_min_position(positions: &Positions, request: &Request) -> Result<(), ApiError> {
    let Some(value) = request.extensions.get(MIN_POSITION) else { return Ok(()) };
    let position = match value {
        async_graphql::Value::Number(n) => n.as_u64(),
        async_graphql::Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| ApiError::invalid(MIN_POSITION, "minPosition must be a stream position (a whole number)"))?;
    Ok(positions.wait_for(position, &ReadModel::ALL).await?)
}

/// Gives every error a code: the ones async-graphql raises itself (a malformed query, a value
/// of the wrong type) carry none, and all of them are the client's to fix.
pub(crate) fn code_errors(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", readstream_contracts::Code::InvalidArgument.as_str());
        }
    }
}

/// Refusals that happen before any resolver runs (a bad token, a bad header).
pub fn request_error(err: ApiError) -> async_graphql::Response {
    async_graphql::Response::from_errors(vec![err.into()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_kept_parsed_unless_it_does_not_parse_or_is_long() {
        let parsed = ParsedQueries::new();
        let kept = || parsed.0.lock().map(|kept| kept.len()).unwrap_or_default();
        assert!(parsed.parse("{ book(").is_ok_and(|parsed| parsed.is_none()));
        assert_eq!(kept(), 0);
        assert!(parsed.parse("{ __typename }").is_ok_and(|parsed| parsed.is_some()));
        assert!(parsed.parse("{ __typename }").is_ok_and(|parsed| parsed.is_some()));
        assert_eq!(kept(), 1);
        let long = format!("{{ {} }}", "__typename ".repeat(PARSED_QUERY_MAX_BYTES / 10));
        assert!(parsed.parse(&long).is_ok_and(|parsed| parsed.is_some()));
        assert_eq!(kept(), 1);
    }
}
