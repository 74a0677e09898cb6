//! Reviews: each review (`reviews`), its likes and comments, and the counts per reader and
//! book; the keyset-paged lists in every order.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::{Database, Failure};

/// Whether a reader likes a review: (review, reader).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LikedBy(pub Uuid, pub Uuid);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReaderReviewCount(pub Uuid);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BookReviewCount(pub Uuid);

impl Loader<LikedBy> for Database {
    type Value = bool;
    type Error = Failure;

    /// Present (true) for each review the reader likes; absent keys are not liked.
    async fn load(&self, keys: &[LikedBy]) -> Result<HashMap<LikedBy, bool>, Failure> {
        let (reviews, likers): (Vec<Uuid>, Vec<Uuid>) = keys.iter().map(|k| (k.0, k.1)).unzip();
        let rows = sqlx::query!(
            "SELECT l.review_id, l.liker_id FROM review_likes l
             JOIN UNNEST($1::uuid[], $2::uuid[]) AS k(review_id, liker_id)
               ON l.review_id = k.review_id AND l.liker_id = k.liker_id",
            &reviews,
            &likers
        )
        .fetch_all(&self.0)
        .await?;
        Ok(rows.into_iter().map(|r| (LikedBy(r.review_id, r.liker_id), true)).collect())
    }
}

impl Loader<ReaderReviewCount> for Database {
    type Value = i64;
    type Error = Failure;

    async fn load(&self, keys: &[ReaderReviewCount]) -> Result<HashMap<ReaderReviewCount, i64>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows =
            sqlx::query!("SELECT reader_id, reviews_count FROM reader_review_counts WHERE reader_id = ANY($1)", &ids)
                .fetch_all(&self.0)
                .await?;
        Ok(rows.into_iter().map(|r| (ReaderReviewCount(r.reader_id), r.reviews_count)).collect())
    }
}

impl Loader<BookReviewCount> for Database {
    type Value = i64;
    type Error = Failure;

    async fn load(&self, keys: &[BookReviewCount]) -> Result<HashMap<BookReviewCount, i64>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = sqlx::query!("SELECT book_id, reviews_count FROM book_review_counts WHERE book_id = ANY($1)", &ids)
            .fetch_all(&self.0)
            .await?;
        Ok(rows.into_iter().map(|r| (BookReviewCount(r.book_id), r.reviews_count)).collect())
    }
}

/// A review as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReviewRow {
    pub review_id: Uuid,
    pub reader_id: Uuid,
    pub book_id: Uuid,
    pub body: String,
    pub contains_spoilers: bool,
    pub written_on: NaiveDate,
    pub published_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    /// The reviewer's rating, in quarter stars.
    pub quarter_stars: Option<i16>,
    pub likes_count: i64,
    pub comments_count: i64,
    pub position: i64,
}

/// A live review by its stored id.
pub async fn review(db: impl PgExecutor<'_>, review_id: Uuid) -> Result<Option<ReviewRow>, sqlx::Error> {
    sqlx::query_file_as!(ReviewRow, "queries/reviews/review.sql", review_id).fetch_optional(db).await
}

/// `book_id`'s live reviews recorded after stream position `since`, oldest first, at most
/// `limit`, none across a block with `viewer` (either way).
pub async fn added_since(
    db: impl PgExecutor<'_>,
    book_id: Uuid,
    since: i64,
    limit: i64,
    viewer: Uuid,
) -> Result<Vec<ReviewRow>, sqlx::Error> {
    sqlx::query_file_as!(ReviewRow, "queries/reviews/added_since.sql", book_id, since, limit, viewer)
        .fetch_all(db)
        .await
}

/// A comment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentRow {
    pub commenter_id: Uuid,
    pub body: String,
    pub commented_at: DateTime<Utc>,
}

/// Comment `comment_id` on review `review_id`, unless deleted or its review withdrawn.
pub async fn comment(
    db: impl PgExecutor<'_>,
    comment_id: Uuid,
    review_id: Uuid,
) -> Result<Option<CommentRow>, sqlx::Error> {
    sqlx::query_file_as!(CommentRow, "queries/reviews/comment.sql", comment_id, review_id).fetch_optional(db).await
}

/// Whose reviews a list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOf {
    /// A book's, of one whole-star rating if given (quarters rounded half up).
    Book {
        book_id: Uuid,
        stars: Option<i16>,
    },
    Reader(Uuid),
}

/// The orders a list of reviews comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder {
    Newest,
    Oldest,
    MostLiked,
    HighestRated,
    LowestRated,
}

impl ListOrder {
    pub const ALL: [ListOrder; 5] =
        [ListOrder::Newest, ListOrder::Oldest, ListOrder::MostLiked, ListOrder::HighestRated, ListOrder::LowestRated];

    /// The sort key before (written_on, review_id), whether it descends.
    fn key(self) -> (Option<&'static str>, bool) {
        match self {
            ListOrder::Newest => (None, true),
            ListOrder::Oldest => (None, false),
            ListOrder::MostLiked => (Some("likes_count"), true),
            // As the reviews' indexes list them: a review without stars sorts last either way.
            ListOrder::HighestRated => (Some("coalesce(quarter_stars, 0)"), true),
            ListOrder::LowestRated => (Some("coalesce(quarter_stars, 21)"), false),
        }
    }

    /// A review's value of the leading sort key, as a cursor holds it (0 without one).
    pub fn key_of(self, review: &ReviewRow) -> i64 {
        match self {
            ListOrder::MostLiked => review.likes_count,
            ListOrder::HighestRated => i64::from(review.quarter_stars.unwrap_or(0)),
            ListOrder::LowestRated => i64::from(review.quarter_stars.unwrap_or(21)),
            ListOrder::Newest | ListOrder::Oldest => 0,
        }
    }
}

/// The statement of a list of `of`'s kind in `order`: one of ten shapes, built from constants
/// only; every value is a bound parameter. Parameters: the owner ($1), the stars or null ($2),
/// the leading key's value when the order has one, the day written and the review id after
/// which the page starts, whether it is the first page, the limit and the viewer.
pub fn list_statement(of: ListOf, order: ListOrder) -> String {
    let filter = match of {
        ListOf::Book { .. } => {
            "book_id = $1 AND ($2::smallint IS NULL OR quarter_stars BETWEEN $2 * 4 - 2 AND $2 * 4 + 1)"
        }
        ListOf::Reader(_) => "reader_id = $1 AND $2::smallint IS NULL",
    };
    let (key, descending) = order.key();
    let (direction, compare) = if descending { ("DESC", "<") } else { ("ASC", ">") };
    // With a leading sort key its value is $3 and the rest move up by one.
    let (keyset, sort, first_page, limit_at) = match key {
        Some(key) => (
            format!("({key}, written_on, review_id) {compare} ($3, $4, $5)"),
            format!("{key} {direction}, written_on {direction}, review_id {direction}"),
            6,
            7,
        ),
        None => (
            format!("(written_on, review_id) {compare} ($3, $4)"),
            format!("written_on {direction}, review_id {direction}"),
            5,
            6,
        ),
    };
    let viewer_at = limit_at + 1;
    format!(
        "SELECT review_id, reader_id, book_id, body, contains_spoilers, written_on, published_at, edited_at, quarter_stars,
                likes_count, comments_count, position
         FROM reviews
         WHERE {filter} AND NOT withdrawn AND (${first_page} OR {keyset})
           AND NOT EXISTS (SELECT 1 FROM blocks WHERE blocker_id = ${viewer_at} AND blocked_id = reviews.reader_id)
           AND NOT EXISTS (SELECT 1 FROM blocks WHERE blocker_id = reviews.reader_id AND blocked_id = ${viewer_at})
         ORDER BY {sort} LIMIT ${limit_at}"
    )
}

/// One keyset page of live reviews (never OFFSET, so a page costs the same however deep):
/// after `after` (the leading key's value, the day written, the review id) when given, at most
/// `limit`, none across a block with `viewer` (either way; the book's count stays the book's).
pub async fn list(
    db: impl PgExecutor<'_>,
    of: ListOf,
    order: ListOrder,
    after: Option<(i64, NaiveDate, Uuid)>,
    limit: i64,
    viewer: Uuid,
) -> Result<Vec<ReviewRow>, sqlx::Error> {
    let (owner, stars) = match of {
        ListOf::Book { book_id, stars } => (book_id, stars),
        ListOf::Reader(reader_id) => (reader_id, None),
    };
    // Unused on the first page, but bound all the same.
    let (k, written_on, id) = after.unwrap_or((0, NaiveDate::default(), Uuid::nil()));
    let sql = list_statement(of, order);
    let query = sqlx::query_as::<_, ReviewRow>(&sql).bind(owner).bind(stars);
    // The leading key's type: stars are smallint, likes bigint.
    let query = match order {
        ListOrder::HighestRated | ListOrder::LowestRated => query.bind(k as i16),
        ListOrder::MostLiked => query.bind(k),
        ListOrder::Newest | ListOrder::Oldest => query,
    };
    query.bind(written_on).bind(id).bind(after.is_none()).bind(limit).bind(viewer).fetch_all(db).await
}

/// How many live reviews a list holds in all: the maintained counters, or (for one star count)
/// a count over the index.
pub async fn list_count(db: impl PgExecutor<'_>, of: ListOf) -> Result<i64, sqlx::Error> {
    Ok(match of {
        ListOf::Book { book_id, stars: None } => {
            sqlx::query_file_scalar!("queries/reviews/book_count.sql", book_id).fetch_optional(db).await?.unwrap_or(0)
        }
        ListOf::Book { book_id, stars: Some(stars) } => {
            sqlx::query_file_scalar!("queries/reviews/book_stars_count.sql", book_id, stars).fetch_one(db).await?
        }
        ListOf::Reader(reader_id) => sqlx::query_file_scalar!("queries/reviews/reader_count.sql", reader_id)
            .fetch_optional(db)
            .await?
            .unwrap_or(0),
    })
}

/// A comment in a review's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedComment {
    pub comment_id: Uuid,
    pub commenter_id: Uuid,
    pub body: String,
    pub commented_at: DateTime<Utc>,
    pub position: i64,
}

/// One page of `review_id`'s comments, oldest first, after position `after` (0 for the first
/// page), at most `limit`, none across a block with `viewer` (either way).
pub async fn comments(
    db: impl PgExecutor<'_>,
    review_id: Uuid,
    after: i64,
    limit: i64,
    viewer: Uuid,
) -> Result<Vec<ListedComment>, sqlx::Error> {
    sqlx::query_file_as!(ListedComment, "queries/reviews/comments.sql", review_id, after, limit, viewer)
        .fetch_all(db)
        .await
}
