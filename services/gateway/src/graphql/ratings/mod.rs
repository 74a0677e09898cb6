//! The ratings slice: a book's rating figures, rating and clearing, and live figures.

use async_graphql::{ComplexObject, Context, Object, Result, SimpleObject, Subscription, ID};
use futures::Stream;
use readstream_contracts::{
    proto::{commands::v1 as pb, live::v1 as live},
    ReadModel,
};
use readstream_readmodel::ratings as reads;
use uuid::Uuid;

use super::{
    database::{load_error, loader},
    shared::{app, book_for_command, review, viewer, BookPayload},
};
use crate::{
    commands::{self, parse_id},
    error::ApiError,
    subscriptions::{self, Replay},
};
use reads::{BookRatingsRow, RatingsOf};

/// A book's rating figures as they are now.
pub async fn book_ratings(ctx: &Context<'_>, book_id: Uuid) -> Result<BookRatings, ApiError> {
    let counts = loader(ctx).load_one(RatingsOf(book_id)).await.map_err(load_error)?;
    Ok(BookRatings::new(book_id, counts.unwrap_or_default()))
}

/// What readers think of a book.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct BookRatings {
    #[graphql(skip)]
    pub book_id: Uuid,
    /// How many readers rated it.
    pub count: u64,
    /// Every rating added up, in stars: exact, as ratings are in steps of 0.25.
    pub sum: f64,
    /// Mean stars, rounded to two decimals; 0 when nobody rated it.
    pub average: f64,
    /// Mean stars unrounded (`sum / count`); 0 when nobody rated it.
    pub exact_average: f64,
    /// One bucket per whole star, 5 stars first; a rating in quarters counts in the bucket it
    /// rounds to, half up (3.5 is a 4, 3.25 a 3).
    pub histogram: Vec<RatingBucket>,
}

#[ComplexObject]
impl BookRatings {
    /// How many live reviews the book has.
    async fn review_count(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(review::book_review_count(ctx, self.book_id).await?)
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
        let exact_average = counts.average();
        let average = (100.0 * exact_average).round() / 100.0;
        let sum = counts.quarter_stars_sum as f64 / 4.0;
        BookRatings { book_id, count: total, sum, average, exact_average, histogram }
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

#[derive(Default)]
pub struct RatingsMutation;

#[Object]
impl RatingsMutation {
    /// Rates a book 1 to 5 stars in steps of 0.25 (`4`, `3.75`), replacing the viewer's
    /// earlier rating of it.
    async fn rate_book(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        stars: f64,
        idempotency_key: Option<String>,
    ) -> Result<BookPayload> {
        let viewer = viewer(ctx)?;
        let quarter_stars = quarters("stars", stars)?;
        let request = pb::RateBook {
            meta: Some(commands::meta(Some(&viewer), idempotency_key)?),
            book_id: book_for_command(ctx, "bookId", &book_id).await?.to_string(),
            stars: 0,
            quarter_stars,
        };
        let accepted = commands::send(app(ctx), &request).await?;
        Ok(BookPayload::new(accepted, &[ReadModel::Catalog, ReadModel::Ratings]))
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
            book_id: book_for_command(ctx, "bookId", &book_id).await?.to_string(),
        };
        let accepted = commands::send(app(ctx), &request).await?;
        Ok(BookPayload::new(accepted, &[ReadModel::Catalog, ReadModel::Ratings]))
    }
}

/// Stars from 1 to 5 in steps of 0.25, in quarters (4 to 20).
fn quarters(field: &str, stars: f64) -> Result<i32, ApiError> {
    let quarters = stars * 4.0;
    if quarters.fract() != 0.0 || !(4.0..=20.0).contains(&quarters) {
        return Err(ApiError::invalid(field, "stars must be 1 to 5 in steps of 0.25"));
    }
    Ok(quarters as i32)
}

#[derive(Default)]
pub struct RatingsSubscription;

#[Subscription]
impl RatingsSubscription {
    /// A book's rating figures: first as they are now, then after each projected change.
    async fn book_ratings_changed(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
    ) -> Result<impl Stream<Item = Result<BookRatingsChanged>>> {
        subscriptions::opened(async move {
            let id = parse_id("bookId", &book_id)?;
            let app = app(ctx);
            let live =
                subscriptions::subscribe(ctx, [readstream_contracts::ratings::live_book_ratings(&app.namespace, id)])
                    .await?;
            let (counts, seen) = reads::book_ratings_now(&app.pool, id).await.map_err(ApiError::from)?;
            let now =
                BookRatingsChanged { book_id: book_id.clone(), position: seen, ratings: BookRatings::new(id, counts) };
            let position = |update: &live::BookRatingsChanged| update.position;
            Ok(live.after(Replay::now(now), Some(seen), position, move |update| {
                let book_id = book_id.clone();
                async move {
                    let stars: [u64; 5] = update.stars.try_into().ok()?;
                    let counts =
                        BookRatingsRow { count: update.count, quarter_stars_sum: update.quarter_stars_sum, stars };
                    Some(BookRatingsChanged {
                        book_id,
                        position: update.position,
                        ratings: BookRatings::new(id, counts),
                    })
                }
            }))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_pages_figures() {
        // 33 ratings as 11/16/5/1/0 for 5/4/3/2/1 stars.
        let quarter_stars_sum = 4 * (11 * 5 + 16 * 4 + 5 * 3 + 2);
        let counts = BookRatingsRow { count: 33, quarter_stars_sum, stars: [0, 1, 5, 16, 11] };
        let ratings = BookRatings::new(Uuid::nil(), counts);
        assert_eq!((ratings.average, ratings.sum), (4.12, 136.0));
        let percents: Vec<_> = ratings.histogram.iter().map(|b| (b.stars, b.percent)).collect();
        assert_eq!(percents, [(5, 33), (4, 48), (3, 15), (2, 3), (1, 0)]);
    }

    #[test]
    fn stars_are_taken_in_steps_of_a_quarter_from_one_to_five() {
        let taken: Vec<_> = [1.0, 3.25, 3.75, 5.0].into_iter().map(|stars| quarters("stars", stars).ok()).collect();
        assert_eq!(taken, [Some(4), Some(13), Some(15), Some(20)]);
        for refused in [0.0, 0.75, 3.3, 5.25, -4.0, f64::NAN, f64::INFINITY, 1e300, f64::MIN_POSITIVE] {
            assert!(quarters("stars", refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn an_unrated_book_has_zeros_not_nan() {
        let ratings = BookRatings::new(Uuid::nil(), BookRatingsRow::default());
        assert_eq!(ratings.average, 0.0);
        assert!(ratings.histogram.iter().all(|b| b.percent == 0 && b.count == 0));
    }
}
