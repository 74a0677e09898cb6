//! The GraphQL object types: books, authors, readers and rating figures.

use async_graphql::{dataloader::DataLoader, ComplexObject, Context, Result, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::loaders::{AuthorsOf, Database, RatingsOf};
use crate::error::ApiError;

pub fn loader<'a>(ctx: &'a Context<'_>) -> &'a DataLoader<Database> {
    ctx.data_unchecked::<DataLoader<Database>>()
}

pub fn load_error(err: std::sync::Arc<sqlx::Error>) -> ApiError {
    ApiError::internal(err)
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
    async fn id(&self) -> ID {
        ID(self.book_id.to_string())
    }

    /// In the order the book lists them.
    async fn authors(&self, ctx: &Context<'_>) -> Result<Vec<Author>> {
        Ok(loader(ctx)
            .load_one(AuthorsOf(self.book_id))
            .await
            .map_err(load_error)?
            .unwrap_or_default())
    }

    async fn ratings(&self, ctx: &Context<'_>) -> Result<BookRatings> {
        let counts = loader(ctx)
            .load_one(RatingsOf(self.book_id))
            .await
            .map_err(load_error)?;
        Ok(BookRatings::from(counts.unwrap_or_default()))
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
    async fn id(&self) -> ID {
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
    pub joined_at: DateTime<Utc>,
}

#[ComplexObject]
impl Reader {
    async fn id(&self) -> ID {
        ID(self.reader_id.to_string())
    }
}

/// A book's rating figures as stored: count, sum and one count per star (1 to 5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RatingCounts {
    pub count: u64,
    pub sum: u64,
    pub stars: [u64; 5],
}

/// What readers think of a book.
#[derive(Debug, Clone, SimpleObject)]
pub struct BookRatings {
    /// How many readers rated it.
    pub count: u64,
    /// Mean stars, rounded to two decimals; 0 when nobody rated it.
    pub average: f64,
    /// One bucket per star count, 5 stars first.
    pub histogram: Vec<RatingBucket>,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct RatingBucket {
    pub stars: i32,
    pub count: u64,
    /// `round(100 * count / total)`; 0 when nobody rated the book.
    pub percent: i32,
}

impl From<RatingCounts> for BookRatings {
    fn from(counts: RatingCounts) -> Self {
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
                RatingBucket {
                    stars,
                    count,
                    percent: (100.0 * share(count)).round() as i32,
                }
            })
            .collect();
        let average = if total == 0 {
            0.0
        } else {
            (100.0 * counts.sum as f64 / total as f64).round() / 100.0
        };
        BookRatings {
            count: total,
            average,
            histogram,
        }
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
        let counts = RatingCounts {
            count: 33,
            sum: 11 * 5 + 16 * 4 + 5 * 3 + 2,
            stars: [0, 1, 5, 16, 11],
        };
        let ratings = BookRatings::from(counts);
        assert_eq!(ratings.average, 4.12);
        let percents: Vec<_> = ratings
            .histogram
            .iter()
            .map(|b| (b.stars, b.percent))
            .collect();
        assert_eq!(percents, [(5, 33), (4, 48), (3, 15), (2, 3), (1, 0)]);
    }

    #[test]
    fn an_unrated_book_has_zeros_not_nan() {
        let ratings = BookRatings::from(RatingCounts::default());
        assert_eq!(ratings.average, 0.0);
        assert!(ratings
            .histogram
            .iter()
            .all(|b| b.percent == 0 && b.count == 0));
    }
}
