//! The GraphQL schema: queries over the read models, one mutation per command, and live
//! subscriptions fed by the projector through NATS.

pub mod feed;
pub mod loaders;
pub mod node;
pub mod reading;
pub mod reviews;
pub mod social;
pub mod types;

use std::sync::Arc;

use async_graphql::{
    connection::{Connection, Edge},
    dataloader::DataLoader,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextRequest},
    Context, InputObject, Object, Request, Result, Schema, ServerResult, SimpleObject, Subscription, ID,
};
use base64::Engine;
use futures::Stream;
use readstream_contracts::{
    proto::{commands::v1 as pb, live::v1 as live},
    ReadModel,
};

use crate::{
    auth::Viewer,
    commands::{self, parse_id},
    error::ApiError,
    positions::Positions,
    subscriptions, AppState,
};
use loaders::{AuthorKey, BookKey, Database, ReaderKey};
use types::{load_error, loader, Author, Book, BookRatings, BookRatingsChanged, BookRatingsRow, Reader};

pub type ReadstreamSchema = Schema<Query, Mutation, Subscription>;

#[derive(async_graphql::MergedObject, Default)]
pub struct Mutation(CoreMutation, social::SocialMutation, reading::ReadingMutation, reviews::ReviewsMutation);

#[derive(async_graphql::MergedSubscription, Default)]
pub struct Subscription(
    CoreSubscription,
    reading::ReadingSubscription,
    reviews::ReviewsSubscription,
    feed::FeedSubscription,
);

/// Request `extensions` field (and HTTP header) asking to read at least this stream position.
pub const MIN_POSITION: &str = "minPosition";
pub const MAX_PAGE: i32 = 100;
pub const DEFAULT_PAGE: i32 = 20;

/// The schema without its data: enough to print the SDL.
pub fn builder() -> async_graphql::SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query, Mutation::default(), Subscription::default())
        .limit_depth(16)
        .limit_complexity(5_000)
        .limit_recursive_depth(32)
}

pub fn schema(app: AppState) -> ReadstreamSchema {
    builder()
        .extension(ReadYourWrites(app.positions.clone()))
        .extension(ErrorCodes)
        .data(DataLoader::new(Database(app.pool.clone()), tokio::spawn))
        .data(app)
        .finish()
}

/// The SDL checked in as `schema/schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}

fn app<'a>(ctx: &'a Context<'_>) -> &'a AppState {
    ctx.data_unchecked::<AppState>()
}

fn viewer(ctx: &Context<'_>) -> Result<Viewer, ApiError> {
    ctx.data_opt::<Viewer>().copied().ok_or_else(ApiError::unauthenticated)
}

/// Waits until the read models a field reads include `position`: how a mutation's payload shows
/// its own write without waiting for projections it does not read.
async fn reached(ctx: &Context<'_>, position: u64, reads: &[ReadModel]) -> Result<(), ApiError> {
    app(ctx).positions.wait_for(position, reads).await
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

const BOOKS_CURSOR: &str = "books";

/// An opaque cursor: the list's name and a key, base64url-encoded.
fn encode_cursor(list: &str, key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{list}:{key}"))
}

/// The key of a cursor of `list`; anything else is refused as `INVALID_ARGUMENT`.
fn decode_cursor(list: &str, field: &str, cursor: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix(list).and_then(|rest| rest.strip_prefix(':')).map(str::to_owned))
        .ok_or_else(|| ApiError::invalid(field, format!("{field} is not a cursor of this list")))
}

fn books_cursor(position: i64) -> String {
    encode_cursor(BOOKS_CURSOR, &position.to_string())
}

fn parse_books_cursor(cursor: &str) -> Result<i64, ApiError> {
    decode_cursor(BOOKS_CURSOR, "after", cursor)?
        .parse()
        .map_err(|_| ApiError::invalid("after", "after is not a cursor of this list"))
}

fn page_size(first: Option<i32>) -> Result<i64, ApiError> {
    match first.unwrap_or(DEFAULT_PAGE) {
        n @ 1..=MAX_PAGE => Ok(i64::from(n)),
        _ => Err(ApiError::invalid("first", format!("first must be between 1 and {MAX_PAGE}"))),
    }
}

#[derive(SimpleObject)]
pub struct ListInfo {
    /// How many items the whole list has.
    total_count: i64,
}

pub struct Query;

#[Object]
impl Query {
    /// Every book, in the order they were added.
    async fn books(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Book, ListInfo>> {
        let limit = page_size(first)?;
        let after = after.as_deref().map(parse_books_cursor).transpose()?.unwrap_or(0);
        let pool = &app(ctx).pool;
        let mut rows = sqlx::query_as!(
            Book,
            "SELECT book_id, title, subtitle, description, pages, format, first_published, position
             FROM books WHERE position > $1 ORDER BY position LIMIT $2",
            after,
            limit + 1
        )
        .fetch_all(pool)
        .await
        .map_err(ApiError::from)?;
        let total_count = sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM books"#)
            .fetch_one(pool)
            .await
            .map_err(ApiError::from)?;
        let has_next = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let mut connection = Connection::with_additional_fields(after > 0, has_next, ListInfo { total_count });
        connection.edges.extend(rows.into_iter().map(|book| Edge::new(books_cursor(book.position), book)));
        Ok(connection)
    }

    async fn book(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Book>> {
        let book_id = parse_id("id", &id)?;
        Ok(loader(ctx).load_one(BookKey(book_id)).await.map_err(load_error)?)
    }

    async fn author(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Author>> {
        let author_id = parse_id("id", &id)?;
        Ok(loader(ctx).load_one(AuthorKey(author_id)).await.map_err(load_error)?)
    }

    /// Any object by its global id (Relay's object identification): a book, author, reader,
    /// review or comment; null when there is none.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<node::Node>> {
        Ok(node::node(ctx, &id).await?)
    }

    /// A review by its id (null once withdrawn).
    async fn review(&self, ctx: &Context<'_>, id: ID) -> Result<Option<reviews::Review>> {
        Ok(reviews::review(ctx, &id).await?)
    }

    /// A reader by handle (any case).
    async fn reader(&self, ctx: &Context<'_>, handle: String) -> Result<Option<Reader>> {
        let reader = sqlx::query_as!(
            Reader,
            "SELECT reader_id, handle, display_name, bio, joined_at FROM readers
             WHERE lower(handle) = lower($1) ORDER BY position LIMIT 1",
            handle
        )
        .fetch_optional(&app(ctx).pool)
        .await
        .map_err(ApiError::from)?;
        Ok(reader)
    }

    /// The signed-in reader; null without a token.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Option<Reader>> {
        let Some(viewer) = ctx.data_opt::<Viewer>() else {
            return Ok(None);
        };
        Ok(loader(ctx).load_one(ReaderKey(viewer.reader_id)).await.map_err(load_error)?)
    }
}

#[derive(InputObject)]
pub struct SignUpInput {
    /// 3 to 30 letters, digits or `_`; unique regardless of case.
    handle: String,
    display_name: String,
    /// 8 to 1024 characters; stored only as an argon2id hash.
    password: String,
}

#[derive(InputObject)]
pub struct AddBookInput {
    title: String,
    #[graphql(default)]
    subtitle: String,
    #[graphql(default)]
    description: String,
    pages: i32,
    #[graphql(default)]
    format: String,
    first_published: Option<chrono::NaiveDate>,
    author_ids: Vec<ID>,
}

#[derive(InputObject)]
pub struct AddAuthorInput {
    name: String,
    #[graphql(default)]
    bio: String,
}

/// A signed-in session.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AuthPayload {
    /// Send as `Authorization: Bearer <token>`.
    token: String,
    reader_id: ID,
    /// The stream position of the sign-up (0 for a sign-in).
    position: u64,
}

#[async_graphql::ComplexObject]
impl AuthPayload {
    async fn reader(&self, ctx: &Context<'_>) -> Result<Option<Reader>> {
        reached(ctx, self.position, &[ReadModel::Readers]).await?;
        let reader_id = parse_id("readerId", &self.reader_id)?;
        Ok(loader(ctx).load_one(ReaderKey(reader_id)).await.map_err(load_error)?)
    }
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AddAuthorPayload {
    position: u64,
    author_id: ID,
}

#[async_graphql::ComplexObject]
impl AddAuthorPayload {
    /// The new author, read once the read models include it.
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<Author>> {
        reached(ctx, self.position, &[ReadModel::Catalog]).await?;
        let author_id = parse_id("authorId", &self.author_id)?;
        Ok(loader(ctx).load_one(AuthorKey(author_id)).await.map_err(load_error)?)
    }
}

/// What a book command did: the stream position to read it at, and the book as it now is.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct BookPayload {
    position: u64,
    book_id: ID,
    /// The read models that show the change.
    #[graphql(skip)]
    shows: &'static [ReadModel],
}

#[async_graphql::ComplexObject]
impl BookPayload {
    /// The book, read once the read models include this change.
    async fn book(&self, ctx: &Context<'_>) -> Result<Option<Book>> {
        reached(ctx, self.position, self.shows).await?;
        let book_id = parse_id("bookId", &self.book_id)?;
        Ok(loader(ctx).load_one(BookKey(book_id)).await.map_err(load_error)?)
    }
}

fn book_payload(accepted: pb::Accepted, shows: &'static [ReadModel]) -> BookPayload {
    BookPayload { position: accepted.position, book_id: ID(accepted.id), shows }
}

/// Accounts, the catalog and ratings.
#[derive(Default)]
pub struct CoreMutation;

#[Object]
impl CoreMutation {
    async fn sign_up(
        &self,
        ctx: &Context<'_>,
        input: SignUpInput,
        idempotency_key: Option<String>,
    ) -> Result<AuthPayload> {
        let request = pb::SignUp {
            meta: Some(commands::meta(None, idempotency_key)?),
            handle: input.handle,
            display_name: input.display_name,
            password: input.password,
        };
        let accepted = commands::send(app(ctx), &request).await?;
        let reader_id = parse_id("readerId", &accepted.id)?;
        Ok(AuthPayload {
            token: app(ctx).tokens.issue(reader_id)?,
            reader_id: ID(accepted.id),
            position: accepted.position,
        })
    }

    async fn sign_in(&self, ctx: &Context<'_>, handle: String, password: String) -> Result<AuthPayload> {
        let accepted =
            commands::send(app(ctx), &pb::SignIn { handle, password, meta: Some(commands::meta(None, None)?) }).await?;
        let reader_id = parse_id("readerId", &accepted.id)?;
        Ok(AuthPayload { token: app(ctx).tokens.issue(reader_id)?, reader_id: ID(accepted.id), position: 0 })
    }

    async fn add_author(
        &self,
        ctx: &Context<'_>,
        input: AddAuthorInput,
        idempotency_key: Option<String>,
    ) -> Result<AddAuthorPayload> {
        let viewer = viewer(ctx)?;
        let request = pb::AddAuthor {
            meta: Some(commands::meta(Some(&viewer), idempotency_key)?),
            name: input.name,
            bio: input.bio,
        };
        let accepted = commands::send(app(ctx), &request).await?;
        Ok(AddAuthorPayload { position: accepted.position, author_id: ID(accepted.id) })
    }

    async fn add_book(
        &self,
        ctx: &Context<'_>,
        input: AddBookInput,
        idempotency_key: Option<String>,
    ) -> Result<BookPayload> {
        let viewer = viewer(ctx)?;
        let author_ids = input
            .author_ids
            .iter()
            .map(|id| parse_id("authorIds", id).map(|id| id.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let request = pb::AddBook {
            meta: Some(commands::meta(Some(&viewer), idempotency_key)?),
            title: input.title,
            subtitle: input.subtitle,
            description: input.description,
            pages: input.pages,
            format: input.format,
            first_published: input.first_published.map(|d| d.to_string()).unwrap_or_default(),
            author_ids,
        };
        Ok(book_payload(commands::send(app(ctx), &request).await?, &[ReadModel::Catalog]))
    }

    /// Rates a book 1 to 5 stars, replacing the viewer's earlier rating of it.
    async fn rate_book(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        stars: i32,
        idempotency_key: Option<String>,
    ) -> Result<BookPayload> {
        let viewer = viewer(ctx)?;
        let request = pb::RateBook {
            meta: Some(commands::meta(Some(&viewer), idempotency_key)?),
            book_id: parse_id("bookId", &book_id)?.to_string(),
            stars,
        };
        let accepted = commands::send(app(ctx), &request).await?;
        Ok(book_payload(accepted, &[ReadModel::Catalog, ReadModel::Ratings]))
    }

    /// Withdraws the viewer's rating of a book.
    async fn clear_rating(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<BookPayload> {
        let viewer = viewer(ctx)?;
        let request = pb::ClearRating {
            meta: Some(commands::meta(Some(&viewer), idempotency_key)?),
            book_id: parse_id("bookId", &book_id)?.to_string(),
        };
        let accepted = commands::send(app(ctx), &request).await?;
        Ok(book_payload(accepted, &[ReadModel::Catalog, ReadModel::Ratings]))
    }
}

#[derive(Default)]
pub struct CoreSubscription;

#[Subscription]
impl CoreSubscription {
    /// A book's rating figures: first as they are now, then after each projected change.
    async fn book_ratings_changed(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
    ) -> Result<impl Stream<Item = BookRatingsChanged>> {
        let id = parse_id("bookId", &book_id)?;
        let app = app(ctx);
        let live =
            subscriptions::subscribe(app, [readstream_contracts::ratings::live_book_ratings(&app.namespace, id)])
                .await?;
        let row = sqlx::query!(
            "SELECT ratings_count, ratings_sum, stars_1, stars_2, stars_3, stars_4, stars_5, position
             FROM book_ratings WHERE book_id = $1",
            id
        )
        .fetch_optional(&app.pool)
        .await
        .map_err(ApiError::from)?;
        let (counts, seen) = row.map_or((BookRatingsRow::default(), 0), |r| {
            let stars = [r.stars_1, r.stars_2, r.stars_3, r.stars_4, r.stars_5].map(|n| n as u64);
            (BookRatingsRow { count: r.ratings_count as u64, sum: r.ratings_sum as u64, stars }, r.position as u64)
        });
        let now =
            BookRatingsChanged { book_id: book_id.clone(), position: seen, ratings: BookRatings::new(id, counts) };
        let position = |update: &live::BookRatingsChanged| update.position;
        Ok(live.after(vec![now], Some(seen), position, move |update| {
            let book_id = book_id.clone();
            async move {
                let stars: [u64; 5] = update.stars.try_into().ok()?;
                let counts = BookRatingsRow { count: update.count, sum: update.sum, stars };
                Some(BookRatingsChanged { book_id, position: update.position, ratings: BookRatings::new(id, counts) })
            }
        }))
    }
}

/// Refusals that happen before any resolver runs (a bad token, a bad header).
pub fn request_error(err: ApiError) -> async_graphql::Response {
    async_graphql::Response::from_errors(vec![err.into()])
}
