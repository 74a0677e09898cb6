//! A review and its comments: the objects the reviews slice, the feed, `node(id:)` and a book's
//! and a reader's fields show, with their public ids and the loads that apply the viewer's
//! blocks (`visibility`).

use async_graphql::{
    connection::{Connection, Edge},
    ComplexObject, Context, Object, Result, SimpleObject, ID,
};
use chrono::{DateTime, NaiveDate, Utc};
use readstream_contracts::review_id;
use readstream_readmodel::reviews as reads;
use sqlx::PgPool;
use uuid::Uuid;

use super::{app, decode_cursor, encode_cursor, page_size, Book, ListInfo, Reader, ShelfStatus};
use crate::{
    error::ApiError,
    graphql::{
        database::{load_error, loader},
        visibility,
    },
};
use reads::{BookReviewCount, LikedBy, ReaderReviewCount};
use readstream_readmodel::shelves::ShelfOf;

/// A review as stored; its body is handed out only through `body(revealSpoilers:)`.
#[derive(Debug, Clone)]
pub struct Review(reads::ReviewRow);

impl From<reads::ReviewRow> for Review {
    fn from(row: reads::ReviewRow) -> Self {
        Review(row)
    }
}

impl std::ops::Deref for Review {
    type Target = reads::ReviewRow;

    fn deref(&self) -> &reads::ReviewRow {
        &self.0
    }
}

const REVIEW_ID: &str = "review";
const COMMENT_ID: &str = "comment";

/// A review's public id names its author and book, as the event log does.
pub fn review_node_id(reader_id: Uuid, book_id: Uuid) -> ID {
    ID(encode_cursor(REVIEW_ID, &format!("{reader_id}:{book_id}")))
}

/// A comment's public id names its review and itself.
pub fn comment_node_id((author_id, book_id): (Uuid, Uuid), comment_id: Uuid) -> ID {
    ID(encode_cursor(COMMENT_ID, &format!("{author_id}:{book_id}:{comment_id}")))
}

pub fn parse_review_id(id: &str) -> Result<(Uuid, Uuid), ApiError> {
    let invalid = || ApiError::invalid("reviewId", "reviewId is not a review's id");
    let text = decode_cursor(REVIEW_ID, "reviewId", id).map_err(|_| invalid())?;
    let (reader, book) = text.split_once(':').ok_or_else(invalid)?;
    Ok((Uuid::parse_str(reader).map_err(|_| invalid())?, Uuid::parse_str(book).map_err(|_| invalid())?))
}

pub fn parse_comment_id(id: &str) -> Result<(Uuid, Uuid, Uuid), ApiError> {
    let invalid = || ApiError::invalid("commentId", "commentId is not a comment's id");
    let text = decode_cursor(COMMENT_ID, "commentId", id).map_err(|_| invalid())?;
    let mut parts = text.split(':').map(Uuid::parse_str);
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(Ok(author)), Some(Ok(book)), Some(Ok(comment)), None) => Ok((author, book, comment)),
        _ => Err(invalid()),
    }
}

pub async fn load_review(pool: &PgPool, id: Uuid) -> Result<Option<Review>, ApiError> {
    Ok(reads::review(pool, id).await?.map(Review::from))
}

#[Object]
impl Review {
    pub async fn id(&self) -> ID {
        review_node_id(self.reader_id, self.book_id)
    }

    async fn book(&self, ctx: &Context<'_>) -> Result<Option<Book>> {
        Ok(Book::load(ctx, self.book_id).await?)
    }

    async fn reviewer(&self, ctx: &Context<'_>) -> Result<Option<Reader>> {
        Ok(Reader::load_with_counts(ctx, self.reader_id).await?)
    }

    /// The reviewer's rating of the book in whole stars (quarters rounded half up), if they
    /// rated it.
    async fn stars(&self) -> Option<i32> {
        self.quarter_stars.map(super::whole_stars)
    }

    /// The reviewer's rating as they gave it, in steps of 0.25, if they rated it.
    async fn exact_stars(&self) -> Option<f64> {
        self.quarter_stars.map(super::exact_stars)
    }

    /// The shelf the reviewer has the book on ("Read" where a page shows stars when they did
    /// not rate it): null when it is on none, or the reviewer does not share their reading
    /// with the viewer (`Reader.readingVisibility`).
    async fn reviewer_shelf(&self, ctx: &Context<'_>) -> Result<Option<ShelfStatus>> {
        let shelved = loader(ctx).load_one(ShelfOf(self.reader_id, self.book_id)).await.map_err(load_error)?;
        let Some(shelved) = shelved else { return Ok(None) };
        let standing = visibility::standing(ctx, self.reader_id).await?;
        Ok(standing.sees_reading(shelved.sharing).then(|| shelved.status.into()))
    }

    /// The day it was written (earlier than `publishedAt` for an imported review).
    async fn written_on(&self) -> NaiveDate {
        self.written_on
    }

    async fn published_at(&self) -> DateTime<Utc> {
        self.published_at
    }

    async fn edited_at(&self) -> Option<DateTime<Utc>> {
        self.edited_at
    }

    /// The stream position of its last change: `bookReviewAdded(since:)` resumes after it.
    async fn position(&self) -> u64 {
        self.position as u64
    }

    async fn contains_spoilers(&self) -> bool {
        self.contains_spoilers
    }

    /// The text as the reviewer wrote it (plain text or Markdown; render it safely). A review
    /// with spoilers gives its body only when asked to reveal them, so no client leaks one by
    /// accident.
    async fn body(&self, #[graphql(default = false)] reveal_spoilers: bool) -> Option<&str> {
        (!self.contains_spoilers || reveal_spoilers).then_some(self.body.as_str())
    }

    async fn likes_count(&self) -> i64 {
        self.likes_count
    }

    async fn comments_count(&self) -> i64 {
        self.comments_count
    }

    /// Whether the signed-in reader likes it (false without a token).
    async fn liked_by_viewer(&self, ctx: &Context<'_>) -> Result<bool> {
        let Some(viewer) = ctx.data_opt::<crate::auth::Viewer>() else { return Ok(false) };
        let liked = loader(ctx).load_one(LikedBy(self.review_id, viewer.reader_id)).await.map_err(load_error)?;
        Ok(liked.unwrap_or(false))
    }

    /// Oldest first.
    async fn comments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Comment, ListInfo>> {
        let limit = page_size(first)?;
        let after = after
            .as_deref()
            .map(|c| {
                decode_cursor(COMMENT_ID, "after", c)?
                    .parse::<i64>()
                    .map_err(|_| ApiError::invalid("after", "after is not a cursor of this list"))
            })
            .transpose()?;
        // Comments by a reader the viewer blocked, or who blocked the viewer, are not shown.
        let viewer = ctx.data_opt::<crate::auth::Viewer>().map_or(Uuid::nil(), |viewer| viewer.reader_id);
        let mut rows = reads::comments(&app(ctx).pool, self.review_id, after.unwrap_or(0), limit + 1, viewer)
            .await
            .map_err(ApiError::from)?;
        let has_next = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let mut connection = Connection::with_additional_fields(
            after.is_some(),
            has_next,
            ListInfo { total_count: self.comments_count },
        );
        connection.edges.extend(rows.into_iter().map(|row| {
            let comment = Comment {
                review: (self.reader_id, self.book_id),
                comment_id: row.comment_id,
                commenter_id: row.commenter_id,
                body: row.body,
                commented_at: row.commented_at,
            };
            Edge::new(encode_cursor(COMMENT_ID, &row.position.to_string()), comment)
        }));
        Ok(connection)
    }
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct Comment {
    /// The review's author and book.
    #[graphql(skip)]
    pub review: (Uuid, Uuid),
    #[graphql(skip)]
    pub comment_id: Uuid,
    #[graphql(skip)]
    pub commenter_id: Uuid,
    pub body: String,
    pub commented_at: DateTime<Utc>,
}

#[ComplexObject]
impl Comment {
    pub async fn id(&self) -> ID {
        comment_node_id(self.review, self.comment_id)
    }

    async fn commenter(&self, ctx: &Context<'_>) -> Result<Option<Reader>> {
        Ok(Reader::load(ctx, self.commenter_id).await?)
    }
}

/// A review by its id: null when withdrawn, or when a block stands between its author and
/// the viewer.
pub async fn review(ctx: &Context<'_>, id: &ID) -> Result<Option<Review>, ApiError> {
    let (author_id, book_id) = parse_review_id(id)?;
    visible_review(ctx, review_id(author_id, book_id)).await
}

/// A review by its stored id, as the viewer may see it (`visibility`).
pub async fn visible_review(ctx: &Context<'_>, id: Uuid) -> Result<Option<Review>, ApiError> {
    match load_review(&app(ctx).pool, id).await? {
        Some(review) if visibility::sees_words_of(ctx, review.reader_id).await? => Ok(Some(review)),
        _ => Ok(None),
    }
}

/// A comment by its id (null once deleted, or once its review is withdrawn).
pub async fn comment(ctx: &Context<'_>, id: &ID) -> Result<Option<Comment>, ApiError> {
    let (author_id, book_id, comment_id) = parse_comment_id(id)?;
    let row = reads::comment(&app(ctx).pool, comment_id, review_id(author_id, book_id)).await?;
    let Some(row) = row else { return Ok(None) };
    if !visibility::sees_words_of(ctx, author_id).await? || !visibility::sees_words_of(ctx, row.commenter_id).await? {
        return Ok(None);
    }
    Ok(Some(row).map(|row| Comment {
        review: (author_id, book_id),
        comment_id,
        commenter_id: row.commenter_id,
        body: row.body,
        commented_at: row.commented_at,
    }))
}

pub async fn reviews_count(ctx: &Context<'_>, reader_id: Uuid) -> Result<i64, ApiError> {
    Ok(loader(ctx).load_one(ReaderReviewCount(reader_id)).await.map_err(load_error)?.unwrap_or(0))
}

pub async fn book_review_count(ctx: &Context<'_>, book_id: Uuid) -> Result<i64, ApiError> {
    Ok(loader(ctx).load_one(BookReviewCount(book_id)).await.map_err(load_error)?.unwrap_or(0))
}
