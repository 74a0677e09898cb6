//! The GraphQL object types: books, authors, readers and rating figures.

use async_graphql::{dataloader::DataLoader, ComplexObject, Context, Result, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use async_graphql::connection::Connection;

use super::{
    feed::{self, ActivityKind, FeedItem, FollowedReaderOnBook},
    loaders::{AuthorsOf, Database, RatingsOf},
    reading::{self, CustomShelf, ReadingStats, ShelfCounts, ShelfEntry, ShelfOrder, ShelfStatus, TimelineEntry},
    reviews::{self, Review, ReviewOrder, ReviewsOf},
    social, ListInfo,
};
use crate::error::ApiError;

pub fn loader<'a>(ctx: &'a Context<'_>) -> &'a DataLoader<Database> {
    ctx.data_unchecked::<DataLoader<Database>>()
}

pub fn load_error(err: std::sync::Arc<sqlx::Error>) -> ApiError {
    ApiError::from(err.as_ref())
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct Book {
    #[graphql(skip)]
    pub book_id: Uuid,
    pub title: String,
    /// Empty when the book has none.
    pub subtitle: String,
    pub description: String,
    pub pages: i32,
    /// Hardcover, Paperback, Ebook, …; empty when unknown.
    pub format: String,
    pub first_published: Option<NaiveDate>,
    #[graphql(skip)]
    pub position: i64,
}

#[ComplexObject]
impl Book {
    pub async fn id(&self) -> ID {
        ID(self.book_id.to_string())
    }

    /// In the order the book lists them.
    async fn authors(&self, ctx: &Context<'_>) -> Result<Vec<Author>> {
        Ok(loader(ctx).load_one(AuthorsOf(self.book_id)).await.map_err(load_error)?.unwrap_or_default())
    }

    async fn ratings(&self, ctx: &Context<'_>) -> Result<BookRatings> {
        let counts = loader(ctx).load_one(RatingsOf(self.book_id)).await.map_err(load_error)?;
        Ok(BookRatings::new(self.book_id, counts.unwrap_or_default()))
    }

    /// Its community reviews, keyset-paged; `stars` keeps those whose reviewer gave that many.
    async fn reviews(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
        #[graphql(default)] order_by: ReviewOrder,
        stars: Option<i32>,
    ) -> Result<Connection<String, Review, ListInfo>> {
        Ok(reviews::reviews(ctx, ReviewsOf::Book { book_id: self.book_id, stars }, first, after, order_by).await?)
    }

    /// What the readers the viewer follows did with it: shelf, stars, review.
    async fn followed_readers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, FollowedReaderOnBook, ListInfo>> {
        Ok(feed::followed_readers(ctx, self.book_id, first, after).await?)
    }

    /// How many readers have it on each built-in shelf.
    async fn shelf_counts(&self, ctx: &Context<'_>) -> Result<ShelfCounts> {
        reading::shelf_counts(ctx, self.book_id).await
    }

    /// The viewer's copy: status, dates, progress, read count, custom shelves (null when the
    /// viewer has not shelved it, or is not signed in).
    async fn viewer_shelf(&self, ctx: &Context<'_>) -> Result<Option<ShelfEntry>> {
        let Some(viewer) = ctx.data_opt::<crate::auth::Viewer>() else { return Ok(None) };
        Ok(reading::shelf_entry(ctx, viewer.reader_id, self.book_id).await?)
    }
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct Author {
    #[graphql(skip)]
    pub author_id: Uuid,
    pub name: String,
    pub bio: String,
}

#[ComplexObject]
impl Author {
    pub async fn id(&self) -> ID {
        ID(self.author_id.to_string())
    }
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct Reader {
    #[graphql(skip)]
    pub reader_id: Uuid,
    pub handle: String,
    pub display_name: String,
    pub bio: String,
    pub joined_at: DateTime<Utc>,
}

#[ComplexObject]
impl Reader {
    pub async fn id(&self) -> ID {
        ID(self.reader_id.to_string())
    }

    /// The reader's books, on one built-in shelf (`status`), one custom shelf (`shelf`) or all;
    /// `asOf` shows the built-in shelves as they stood at the end of that day.
    #[allow(clippy::too_many_arguments)]
    async fn shelf(
        &self,
        ctx: &Context<'_>,
        status: Option<ShelfStatus>,
        shelf: Option<String>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
        #[graphql(default)] order_by: ShelfOrder,
        as_of: Option<NaiveDate>,
    ) -> Result<Connection<String, ShelfEntry, ListInfo>> {
        Ok(reading::shelf(ctx, self.reader_id, status, shelf, first, after, order_by, as_of).await?)
    }

    /// What the readers this reader follows did, newest first (the reader's own only; ask
    /// `viewer { feed }`). `kinds` keeps only those activities.
    async fn feed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
        kinds: Option<Vec<ActivityKind>>,
    ) -> Result<Connection<String, FeedItem>> {
        Ok(feed::feed(ctx, self.reader_id, first, after, kinds).await?)
    }

    async fn followers_count(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(social::follow_counts(ctx, self.reader_id).await?.0)
    }

    async fn following_count(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(social::follow_counts(ctx, self.reader_id).await?.1)
    }

    /// Who follows the reader, most recent first.
    async fn followers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Reader, ListInfo>> {
        Ok(social::follow_list(ctx, self.reader_id, social::Direction::Followers, first, after).await?)
    }

    /// Whom the reader follows, most recent first.
    async fn following(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Reader, ListInfo>> {
        Ok(social::follow_list(ctx, self.reader_id, social::Direction::Following, first, after).await?)
    }

    /// Whether the signed-in reader follows this reader (false without a token).
    async fn viewer_follows(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(social::viewer_follows(ctx, self.reader_id).await?)
    }

    /// How many live reviews the reader has written.
    async fn reviews_count(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(reviews::reviews_count(ctx, self.reader_id).await?)
    }

    /// The reader's reviews, newest first.
    async fn reviews(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Review, ListInfo>> {
        Ok(reviews::reviews(ctx, ReviewsOf::Reader(self.reader_id), first, after, ReviewOrder::Newest).await?)
    }

    /// The reader's own named shelves with how many books each holds.
    async fn shelves(&self, ctx: &Context<'_>) -> Result<Vec<CustomShelf>> {
        Ok(reading::custom_shelves(ctx, self.reader_id).await?)
    }

    /// Every reading step, oldest first, straight from the events (the reader's own only).
    async fn reading_timeline(
        &self,
        ctx: &Context<'_>,
        book_id: Option<ID>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, TimelineEntry, ListInfo>> {
        Ok(reading::timeline(ctx, self.reader_id, book_id, from, to, first, after).await?)
    }

    /// Books and pages finished in `year`, by month (the reader's own only).
    async fn reading_stats(&self, ctx: &Context<'_>, year: i32) -> Result<ReadingStats> {
        Ok(reading::stats(ctx, self.reader_id, year).await?)
    }
}

/// A row of `book_ratings`: count, sum and one count per star (1 to 5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BookRatingsRow {
    pub count: u64,
    pub sum: u64,
    pub stars: [u64; 5],
}

/// What readers think of a book.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct BookRatings {
    #[graphql(skip)]
    pub book_id: Uuid,
    /// How many readers rated it.
    pub count: u64,
    /// Mean stars, rounded to two decimals; 0 when nobody rated it.
    pub average: f64,
    /// One bucket per star count, 5 stars first.
    pub histogram: Vec<RatingBucket>,
}

#[ComplexObject]
impl BookRatings {
    /// How many live reviews the book has.
    async fn review_count(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(reviews::book_review_count(ctx, self.book_id).await?)
    }
}

#[derive(Debug, Clone, SimpleObject)]
pub struct RatingBucket {
    pub stars: i32,
    pub count: u64,
    /// `round(100 * count / total)`; 0 when nobody rated the book.
    pub percent: i32,
}

impl BookRatings {
    pub fn new(book_id: Uuid, counts: BookRatingsRow) -> Self {
        let total = counts.count;
        let share = |n: u64| {
            if total == 0 {
                0.0
            } else {
                n as f64 / total as f64
            }
        };
        let histogram = (1..=5)
            .rev()
            .map(|stars| {
                let count = counts.stars[stars as usize - 1];
                RatingBucket { stars, count, percent: (100.0 * share(count)).round() as i32 }
            })
            .collect();
        let average = if total == 0 { 0.0 } else { (100.0 * counts.sum as f64 / total as f64).round() / 100.0 };
        BookRatings { book_id, count: total, average, histogram }
    }
}

/// Pushed to `bookRatingsChanged` subscribers after each projected change.
#[derive(Debug, Clone, SimpleObject)]
pub struct BookRatingsChanged {
    pub book_id: ID,
    /// The stream position these figures include.
    pub position: u64,
    pub ratings: BookRatings,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_pages_figures() {
        // 33 ratings as 11/16/5/1/0 for 5/4/3/2/1 stars.
        let counts = BookRatingsRow { count: 33, sum: 11 * 5 + 16 * 4 + 5 * 3 + 2, stars: [0, 1, 5, 16, 11] };
        let ratings = BookRatings::new(Uuid::nil(), counts);
        assert_eq!(ratings.average, 4.12);
        let percents: Vec<_> = ratings.histogram.iter().map(|b| (b.stars, b.percent)).collect();
        assert_eq!(percents, [(5, 33), (4, 48), (3, 15), (2, 3), (1, 0)]);
    }

    #[test]
    fn an_unrated_book_has_zeros_not_nan() {
        let ratings = BookRatings::new(Uuid::nil(), BookRatingsRow::default());
        assert_eq!(ratings.average, 0.0);
        assert!(ratings.histogram.iter().all(|b| b.percent == 0 && b.count == 0));
    }
}
