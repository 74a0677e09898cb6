//! The recommendations slice: "readers also enjoyed" on a book, and "for you" from the viewer's
//! own ratings and shelves, each with its reason. Computed in Postgres from the
//! `recommendations` read model; nothing leaves the system.

use async_graphql::{Context, Enum, Object, Result};
use readstream_readmodel::recommendations as reads;
use uuid::Uuid;

use super::shared::{app, exact_stars, viewer, Book};
use crate::error::ApiError;

/// The most books one list of recommendations gives.
const MAX_RECOMMENDED: i32 = 50;

fn limit(first: i32) -> Result<i64, ApiError> {
    if !(1..=MAX_RECOMMENDED).contains(&first) {
        return Err(ApiError::invalid("first", format!("first must be between 1 and {MAX_RECOMMENDED}")));
    }
    Ok(i64::from(first))
}

/// A book readers who enjoyed another also enjoyed.
pub struct AlsoEnjoyed(reads::AlsoEnjoyed, Book);

#[Object]
impl AlsoEnjoyed {
    async fn book(&self) -> &Book {
        &self.1
    }

    /// How many readers enjoyed both (rated them 3.5 stars or more, or shelved them without
    /// rating either lower), as far as the two were paired.
    async fn readers(&self) -> i32 {
        self.0.readers
    }

    /// How alike the two books' readers are, 0 to 1.
    async fn score(&self) -> f64 {
        self.0.score
    }
}

/// Books whose readers enjoyed `book_id`, the most alike first; for a signed-in viewer, none
/// they rated or shelved.
pub async fn also_enjoyed(ctx: &Context<'_>, book_id: Uuid, first: i32) -> Result<Vec<AlsoEnjoyed>, ApiError> {
    let viewer = ctx.data_opt::<crate::auth::Viewer>().map(|viewer| viewer.reader_id);
    let rows = reads::also_enjoyed(&app(ctx).pool, book_id, viewer, limit(first)?).await?;
    let ids: Vec<Uuid> = rows.iter().map(|row| row.book_id).collect();
    let mut books = Book::load_many(ctx, &ids).await?;
    Ok(rows.into_iter().filter_map(|row| books.remove(&row.book_id).map(|book| AlsoEnjoyed(row, book))).collect())
}

/// What of the viewer's made a book their recommendation.
#[derive(Debug, Enum, Copy, Clone, Eq, PartialEq)]
pub enum RecommendationReason {
    /// They rated `because` 3.5 stars or more.
    Rated,
    /// They shelved `because` (to read, reading, read) without rating it.
    Shelved,
}

/// A book for the viewer, and why.
pub struct Recommendation {
    book: Book,
    score: f64,
    because: Book,
    because_stars: Option<f64>,
}

#[Object]
impl Recommendation {
    async fn book(&self) -> &Book {
        &self.book
    }

    /// How strongly the viewer's books point to it.
    async fn score(&self) -> f64 {
        self.score
    }

    /// The viewer's book that counted most for it.
    async fn because(&self) -> &Book {
        &self.because
    }

    async fn reason(&self) -> RecommendationReason {
        if self.because_stars.is_some() {
            RecommendationReason::Rated
        } else {
            RecommendationReason::Shelved
        }
    }

    /// The viewer's stars for `because`, when they rated it.
    async fn because_stars(&self) -> Option<f64> {
        self.because_stars
    }

    /// The reason in words: "Because you rated Dune 4.5 stars".
    async fn summary(&self) -> String {
        match self.because_stars {
            Some(stars) => format!("Because you rated {} {stars} stars", self.because.0.title),
            None => format!("Because you shelved {}", self.because.0.title),
        }
    }
}

#[derive(Default)]
pub struct RecommendationsQuery;

#[Object]
impl RecommendationsQuery {
    /// Books for the signed-in viewer, from what they rated and shelved (the most alike to
    /// their 40 newest books first), none they already rated or shelved, each with its reason.
    async fn recommended_books(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "1 to 50.")] first: i32,
    ) -> Result<Vec<Recommendation>> {
        let viewer = viewer(ctx)?;
        let pool = &app(ctx).pool;
        let rows = reads::for_reader(pool, viewer.reader_id, limit(first)?).await.map_err(ApiError::from)?;
        let mut ids: Vec<Uuid> = rows.iter().flat_map(|row| [row.book_id, row.because]).collect();
        ids.sort_unstable();
        ids.dedup();
        let books = Book::load_many(ctx, &ids).await?;
        let because: Vec<Uuid> = rows.iter().map(|row| row.because).collect();
        let holdings = reads::holdings(pool, viewer.reader_id, &because).await.map_err(ApiError::from)?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let because_stars = holdings.get(&row.because).and_then(|held| held.quarter_stars).map(exact_stars);
                Some(Recommendation {
                    book: books.get(&row.book_id)?.clone(),
                    score: row.score,
                    because: books.get(&row.because)?.clone(),
                    because_stars,
                })
            })
            .collect())
    }
}
