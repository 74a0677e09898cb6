//! The ratings' reads: a book's rating figures from `book_ratings`.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{Database, Failure};

/// A row of `book_ratings`: count, sum in quarter stars and one count per whole star (1 to 5,
/// quarters rounded half up).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BookRatingsRow {
    pub count: u64,
    pub quarter_stars_sum: u64,
    pub stars: [u64; 5],
}

impl BookRatingsRow {
    /// From `book_ratings`' columns (non-negative by the table's checks).
    pub fn from_columns(count: i64, quarter_stars_sum: i64, stars: [i64; 5]) -> Self {
        Self { count: count as u64, quarter_stars_sum: quarter_stars_sum as u64, stars: stars.map(|n| n as u64) }
    }

    /// The exact mean in stars, 0 when nobody rated the book.
    pub fn average(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        self.quarter_stars_sum as f64 / 4.0 / self.count as f64
    }
}

/// A book's rating figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RatingsOf(pub Uuid);

impl Loader<RatingsOf> for Database {
    type Value = BookRatingsRow;
    type Error = Failure;

    async fn load(&self, keys: &[RatingsOf]) -> Result<HashMap<RatingsOf, BookRatingsRow>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = sqlx::query!(
            "SELECT book_id, ratings_count, quarter_stars_sum, stars_1, stars_2, stars_3, stars_4, stars_5
             FROM book_ratings WHERE book_id = ANY($1)",
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let stars = [r.stars_1, r.stars_2, r.stars_3, r.stars_4, r.stars_5];
                (RatingsOf(r.book_id), BookRatingsRow::from_columns(r.ratings_count, r.quarter_stars_sum, stars))
            })
            .collect())
    }
}

/// A reader's stars for a book, in quarter stars: (reader, book). Absent when they have not
/// rated it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RatingBy(pub Uuid, pub Uuid);

impl Loader<RatingBy> for Database {
    type Value = i16;
    type Error = Failure;

    async fn load(&self, keys: &[RatingBy]) -> Result<HashMap<RatingBy, i16>, Failure> {
        let (readers, books): (Vec<Uuid>, Vec<Uuid>) = keys.iter().map(|k| (k.0, k.1)).unzip();
        let rows = sqlx::query!(
            "SELECT r.reader_id, r.book_id, r.quarter_stars FROM ratings r
             JOIN UNNEST($1::uuid[], $2::uuid[]) AS k(reader_id, book_id)
               ON r.reader_id = k.reader_id AND r.book_id = k.book_id",
            &readers,
            &books
        )
        .fetch_all(&self.0)
        .await?;
        Ok(rows.into_iter().map(|r| (RatingBy(r.reader_id, r.book_id), r.quarter_stars)).collect())
    }
}

/// A book's figures now and the stream position they include (zeros at 0 when unrated).
pub async fn book_ratings_now(pool: &PgPool, book_id: Uuid) -> Result<(BookRatingsRow, u64), sqlx::Error> {
    let row = sqlx::query!(
        "SELECT ratings_count, quarter_stars_sum, stars_1, stars_2, stars_3, stars_4, stars_5, position
         FROM book_ratings WHERE book_id = $1",
        book_id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map_or((BookRatingsRow::default(), 0), |r| {
        let stars = [r.stars_1, r.stars_2, r.stars_3, r.stars_4, r.stars_5];
        (BookRatingsRow::from_columns(r.ratings_count, r.quarter_stars_sum, stars), r.position as u64)
    }))
}
