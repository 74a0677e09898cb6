//! Recommendations, computed in Postgres from the `recommendations` projection's tables:
//! "readers also enjoyed" for a book and "for you" for a reader (item-to-item cosine
//! similarity over readers' taste; see `services/projector/src/recommendations.rs`).

use sqlx::PgPool;
use uuid::Uuid;

/// A book like another, and how many readers enjoyed both.
#[derive(Debug, Clone, PartialEq)]
pub struct AlsoEnjoyed {
    pub book_id: Uuid,
    pub readers: i32,
    pub score: f64,
}

/// A book for a reader, and the one of theirs that counted most for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ForReader {
    pub book_id: Uuid,
    pub score: f64,
    pub because: Uuid,
}

/// Why a book counted: how the reader holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holding {
    /// Their rating in quarter stars.
    pub quarter_stars: Option<i16>,
}

/// Up to `limit` books readers who enjoyed `book_id` also enjoyed, leaving out what `viewer`
/// (if any) rated or shelved.
pub async fn also_enjoyed(
    pool: &PgPool,
    book_id: Uuid,
    viewer: Option<Uuid>,
    limit: i64,
) -> Result<Vec<AlsoEnjoyed>, sqlx::Error> {
    let viewer = viewer.unwrap_or_else(Uuid::nil);
    let rows =
        sqlx::query_file!("queries/recommendations/also_enjoyed.sql", book_id, viewer, limit).fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|row| AlsoEnjoyed { book_id: row.book_id, readers: row.readers, score: row.score })
        .collect())
}

/// Up to `limit` books for `reader_id`, none they rated or shelved.
pub async fn for_reader(pool: &PgPool, reader_id: Uuid, limit: i64) -> Result<Vec<ForReader>, sqlx::Error> {
    let rows = sqlx::query_file!("queries/recommendations/for_reader.sql", reader_id, limit).fetch_all(pool).await?;
    Ok(rows.into_iter().map(|row| ForReader { book_id: row.book_id, score: row.score, because: row.because }).collect())
}

/// How `reader_id` holds each of `books`: their rating, if they gave one.
pub async fn holdings(
    pool: &PgPool,
    reader_id: Uuid,
    books: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Holding>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT book_id, quarter_stars FROM rec_known WHERE reader_id = $1 AND book_id = ANY($2)",
        reader_id,
        books
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|row| (row.book_id, Holding { quarter_stars: row.quarter_stars })).collect())
}
