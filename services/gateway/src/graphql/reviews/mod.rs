//! Reviews: a book's community reviews (keyset-paged in five orders), likes, comments, and
//! the reviews service's mutations.

use async_graphql::{
    connection::{Connection, Edge},
    ComplexObject, Context, Enum, Object, Result, SimpleObject, Subscription, ID,
};
use chrono::NaiveDate;
use futures::Stream;
use readstream_contracts::{
    proto::{commands::v1 as pb, live::v1 as live},
    review_id,
    reviews::ReviewsService,
    Command, ReadModel, Recorded, Reply,
};
use readstream_readmodel::reviews as reads;
use uuid::Uuid;

use super::{
    shared::{
        app, book_for_command, decode_cursor, encode_cursor, page_size, reached,
        review::{self, comment_node_id, load_review, parse_comment_id, parse_review_id, review_node_id, Review},
        viewer, ListInfo,
    },
    visibility,
};
use crate::{
    commands::{self, parse_id},
    error::ApiError,
    subscriptions::{self, Replay, SharedReads},
};

#[derive(Default)]
pub struct ReviewsQuery;

#[Object]
impl ReviewsQuery {
    /// A review by its id (null once withdrawn).
    async fn review(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Review>> {
        Ok(review::review(ctx, &id).await?)
    }
}

#[derive(Debug, Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum ReviewOrder {
    /// Most recently written first.
    #[default]
    Newest,
    Oldest,
    MostLiked,
    HighestRated,
    LowestRated,
}

impl ReviewOrder {
    /// The read model's order, and the tag of its cursors.
    fn plan(self) -> (reads::ListOrder, &'static str) {
        match self {
            ReviewOrder::Newest => (reads::ListOrder::Newest, "newest"),
            ReviewOrder::Oldest => (reads::ListOrder::Oldest, "oldest"),
            ReviewOrder::MostLiked => (reads::ListOrder::MostLiked, "liked"),
            ReviewOrder::HighestRated => (reads::ListOrder::HighestRated, "highest"),
            ReviewOrder::LowestRated => (reads::ListOrder::LowestRated, "lowest"),
        }
    }
}

/// Which reviews a list holds.
/// `reviews_count` is the owner's count of live reviews when it was read with the owner (the
/// list's total then needs no query of its own).
pub enum ReviewsOf {
    Book { book_id: Uuid, stars: Option<i32>, reviews_count: Option<i64> },
    Reader { reader_id: Uuid, reviews_count: Option<i64> },
}

/// A keyset-paged list of live reviews: never OFFSET, so a page costs the same however deep.
pub async fn reviews(
    ctx: &Context<'_>,
    of: ReviewsOf,
    first: Option<i32>,
    after: Option<String>,
    order: ReviewOrder,
) -> Result<Connection<String, Review, ListInfo>, ApiError> {
    let limit = page_size(first)?;
    let (list_order, tag) = order.plan();
    let list = format!("reviews-{tag}");
    let bad_cursor = || ApiError::invalid("after", "after is not a cursor of this list");
    let after = match after {
        None => None,
        Some(cursor) => {
            let text = decode_cursor(&list, "after", &cursor)?;
            let mut parts = text.split('|');
            let k: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad_cursor)?;
            let written_on: NaiveDate = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad_cursor)?;
            let id = parts.next().and_then(|p| Uuid::parse_str(p).ok()).ok_or_else(bad_cursor)?;
            Some((k, written_on, id))
        }
    };
    let (of, known_count) = match of {
        ReviewsOf::Book { book_id, stars, reviews_count } => {
            if stars.is_some_and(|s| !(1..=5).contains(&s)) {
                return Err(ApiError::invalid("stars", "stars must be from 1 to 5"));
            }
            let stars = stars.map(|s| s as i16);
            // One star count is counted over the index; the book's count is kept.
            (reads::ListOf::Book { book_id, stars }, reviews_count.filter(|_| stars.is_none()))
        }
        ReviewsOf::Reader { reader_id, reviews_count } => (reads::ListOf::Reader(reader_id), reviews_count),
    };
    let viewer = ctx.data_opt::<crate::auth::Viewer>().map_or(Uuid::nil(), |viewer| viewer.reader_id);
    let pool = &app(ctx).pool;
    let mut rows = reads::list(pool, of, list_order, after, limit + 1, viewer).await?;
    let total_count = match known_count {
        Some(count) => count,
        None => reads::list_count(pool, of).await?,
    };
    let has_next = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let mut connection = Connection::with_additional_fields(after.is_some(), has_next, ListInfo { total_count });
    connection.edges.extend(rows.into_iter().map(|review| {
        let k = list_order.key_of(&review);
        let cursor = encode_cursor(&list, &format!("{k}|{}|{}", review.written_on, review.review_id));
        Edge::new(cursor, Review::from(review))
    }));
    Ok(connection)
}

/// What a review command did, and the review once projected.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ReviewPayload {
    position: u64,
    review_id: ID,
    #[graphql(skip)]
    stored_id: Uuid,
}

#[ComplexObject]
impl ReviewPayload {
    /// The review after this change (null once withdrawn).
    async fn review(&self, ctx: &Context<'_>) -> Result<Option<Review>> {
        reached(ctx, self.position, &[ReadModel::Reviews]).await?;
        Ok(load_review(&app(ctx).pool, self.stored_id).await?)
    }
}

#[derive(SimpleObject)]
pub struct CommentPayload {
    position: u64,
    comment_id: ID,
}

fn review_payload(reply: Recorded, author_id: Uuid, book_id: Uuid) -> ReviewPayload {
    ReviewPayload {
        position: reply.position,
        review_id: review_node_id(author_id, book_id),
        stored_id: review_id(author_id, book_id),
    }
}

/// What every command on an existing review carries: the viewer's metadata and the review's
/// author and book, from its public id.
struct OnReview {
    meta: Option<pb::CommandMeta>,
    author_id: Uuid,
    book_id: Uuid,
}

impl OnReview {
    fn new(ctx: &Context<'_>, review_id: &ID, idempotency_key: Option<String>) -> Result<Self, ApiError> {
        let (author_id, book_id) = parse_review_id(review_id)?;
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        Ok(Self { meta, author_id, book_id })
    }

    /// The review's author and book as the wire has them.
    fn ids(&self) -> (String, String) {
        (self.author_id.to_string(), self.book_id.to_string())
    }

    /// Sends a command about the review; the payload shows the review afterwards.
    async fn send<C: Command<Service = ReviewsService, Reply = Recorded>>(
        &self,
        ctx: &Context<'_>,
        command: &C,
    ) -> Result<ReviewPayload> {
        let accepted = commands::send(app(ctx), command).await?;
        Ok(review_payload(accepted, self.author_id, self.book_id))
    }
}

#[derive(Default)]
pub struct ReviewsMutation;

#[Object]
impl ReviewsMutation {
    /// Reviews a book (one review per reader per book). `writtenOn` dates an imported review.
    async fn publish_review(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        body: String,
        #[graphql(default = false)] contains_spoilers: bool,
        written_on: Option<NaiveDate>,
        idempotency_key: Option<String>,
    ) -> Result<ReviewPayload> {
        let viewer = viewer(ctx)?;
        let book_id = book_for_command(ctx, "bookId", &book_id).await?;
        let command = pb::PublishReview {
            meta: Some(commands::meta(Some(&viewer), idempotency_key)?),
            book_id: book_id.to_string(),
            body,
            contains_spoilers,
            written_on: written_on.map(|d| d.to_string()).unwrap_or_default(),
        };
        let accepted = commands::send(app(ctx), &command).await?;
        Ok(review_payload(accepted, viewer.reader_id, book_id))
    }

    /// Changes the viewer's own review; leave out what stays.
    async fn edit_review(
        &self,
        ctx: &Context<'_>,
        review_id: ID,
        body: Option<String>,
        contains_spoilers: Option<bool>,
        idempotency_key: Option<String>,
    ) -> Result<ReviewPayload> {
        let review = OnReview::new(ctx, &review_id, idempotency_key)?;
        let ((author_id, book_id), meta) = (review.ids(), review.meta.clone());
        review.send(ctx, &pb::EditReview { meta, author_id, book_id, body, contains_spoilers }).await
    }

    async fn withdraw_review(
        &self,
        ctx: &Context<'_>,
        review_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<ReviewPayload> {
        let review = OnReview::new(ctx, &review_id, idempotency_key)?;
        let ((author_id, book_id), meta) = (review.ids(), review.meta.clone());
        review.send(ctx, &pb::WithdrawReview { meta, author_id, book_id }).await
    }

    /// Once per reader; a second like is refused with `ALREADY_EXISTS`.
    async fn like_review(
        &self,
        ctx: &Context<'_>,
        review_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<ReviewPayload> {
        let review = OnReview::new(ctx, &review_id, idempotency_key)?;
        let ((author_id, book_id), meta) = (review.ids(), review.meta.clone());
        review.send(ctx, &pb::LikeReview { meta, author_id, book_id }).await
    }

    async fn unlike_review(
        &self,
        ctx: &Context<'_>,
        review_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<ReviewPayload> {
        let review = OnReview::new(ctx, &review_id, idempotency_key)?;
        let ((author_id, book_id), meta) = (review.ids(), review.meta.clone());
        review.send(ctx, &pb::UnlikeReview { meta, author_id, book_id }).await
    }

    async fn comment_on_review(
        &self,
        ctx: &Context<'_>,
        review_id: ID,
        body: String,
        idempotency_key: Option<String>,
    ) -> Result<CommentPayload> {
        let review = OnReview::new(ctx, &review_id, idempotency_key)?;
        let ((author_id, book_id), meta) = (review.ids(), review.meta);
        let accepted = commands::send(app(ctx), &pb::CommentOnReview { meta, author_id, book_id, body }).await?;
        let comment_id = comment_node_id((review.author_id, review.book_id), accepted.id);
        Ok(CommentPayload { position: accepted.position(), comment_id })
    }

    /// Deletes one of the viewer's own comments.
    async fn delete_comment(
        &self,
        ctx: &Context<'_>,
        comment_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<CommentPayload> {
        let viewer = viewer(ctx)?;
        let (author_id, book_id, comment) = parse_comment_id(&comment_id)?;
        let command = pb::DeleteComment {
            meta: Some(commands::meta(Some(&viewer), idempotency_key)?),
            author_id: author_id.to_string(),
            book_id: book_id.to_string(),
            comment_id: comment.to_string(),
        };
        let accepted = commands::send(app(ctx), &command).await?;
        Ok(CommentPayload { position: accepted.position, comment_id })
    }
}

/// The reviews pushed live, by id and position (an edit is another), each read once per
/// gateway for every subscriber of its book.
pub type PushedReviews = SharedReads<(Uuid, u64), Option<Review>>;

#[derive(Default)]
pub struct ReviewsSubscription;

#[Subscription]
impl ReviewsSubscription {
    /// Each review published on a book, once projected, but for those of a reader the viewer
    /// blocked or who blocked the viewer. With `since` (a stream position) it
    /// first sends the book's reviews published or edited after it, so a client that reconnects
    /// misses nothing.
    async fn book_review_added(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        since: Option<u64>,
    ) -> Result<impl Stream<Item = Result<Review>>> {
        subscriptions::opened(async move {
            let id = parse_id("bookId", &book_id)?;
            let app = app(ctx);
            let viewer = ctx.data_opt::<crate::auth::Viewer>().map(|viewer| viewer.reader_id);
            let live =
                subscriptions::subscribe(ctx, [readstream_contracts::reviews::live_book_reviews(&app.namespace, id)])
                    .await?;
            let mut seen = None;
            let mut missed = Replay::of(Vec::new(), 0);
            if let Some(since) = since {
                let max = app.limits.config.max_replay_items;
                let viewer = viewer.unwrap_or_default();
                let rows = reads::added_since(&app.pool, id, since as i64, max as i64 + 1, viewer)
                    .await
                    .map_err(ApiError::from)?;
                missed = Replay::of(rows.into_iter().map(Review::from).collect(), max);
                seen = Some(missed.items.last().map_or(since, |review| review.position as u64));
            }
            let (pool, pushed) = (app.pool.clone(), ctx.data_unchecked::<PushedReviews>().clone());
            let position = |added: &live::ReviewAdded| added.position;
            Ok(live.after(missed, seen, position, move |added| {
                let (pool, pushed) = (pool.clone(), pushed.clone());
                async move {
                    let review_id = Uuid::parse_str(&added.review_id).ok()?;
                    // Read once for every subscriber of the book here; the block, per viewer.
                    let read = || load_review(&pool, review_id);
                    let review = pushed.get_or_read((review_id, added.position), read).await.ok().flatten()?;
                    // Not pushed across a block, either way.
                    let blocked = visibility::blocked_between(&pool, viewer, review.reader_id).await.unwrap_or(true);
                    (!blocked).then_some(review)
                }
            }))
        })
        .await
    }
}
