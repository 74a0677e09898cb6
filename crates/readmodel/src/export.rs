//! What a reader takes with them: their library as a Goodreads export writes it, and where in
//! the stream their own events are.

use chrono::{DateTime, NaiveDate, Utc};
use futures::stream::BoxStream;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use crate::shelves::ShelfStatus;

/// One book of the reader's library, as the read models hold it.
pub struct LibraryRow {
    pub book_id: Uuid,
    pub title: String,
    pub subtitle: String,
    pub pages: i32,
    pub format: String,
    pub first_published: Option<NaiveDate>,
    pub authors: Option<Vec<String>>,
    pub isbn: Option<String>,
    pub publisher: Option<String>,
    pub edition_format: Option<String>,
    pub edition_pages: Option<i32>,
    pub published_on: Option<NaiveDate>,
    pub quarter_stars: Option<i16>,
    pub rated_at: Option<DateTime<Utc>>,
    pub quarter_stars_sum: Option<i64>,
    pub ratings_count: Option<i64>,
    pub status: Option<ShelfStatus>,
    pub finished_on: Option<NaiveDate>,
    pub read_count: Option<i32>,
    pub first_day: Option<NaiveDate>,
    pub review: Option<String>,
    pub spoilers: Option<bool>,
    pub written_on: Option<NaiveDate>,
    pub shelves: Option<Vec<String>>,
}

/// `reader_id`'s library, book by book as it is read, in the catalog's order.
pub fn library(pool: &PgPool, reader_id: Uuid) -> BoxStream<'_, Result<LibraryRow, sqlx::Error>> {
    sqlx::query_file_as!(LibraryRow, "queries/export/library.sql", reader_id).fetch(pool)
}

/// The stream positions of the messages `reader_id` acted in, oldest first.
pub async fn actor_positions(db: impl PgExecutor<'_>, reader_id: Uuid) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_file_scalar!("queries/export/actor_positions.sql", reader_id).fetch_all(db).await
}
