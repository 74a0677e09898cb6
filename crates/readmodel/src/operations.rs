//! What an operator reads: the projections' dead letters (`dead_letters`).

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

/// A message a projection could not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterRow {
    pub projection: String,
    pub position: i64,
    pub subject: String,
    pub error: String,
    pub failed_at: DateTime<Utc>,
    pub attempts: i32,
}

/// The dead letters of every projection (or of `projection`), oldest first, at most `limit`.
pub async fn dead_letters(
    db: impl PgExecutor<'_>,
    projection: Option<&str>,
    limit: i64,
) -> Result<Vec<DeadLetterRow>, sqlx::Error> {
    sqlx::query_file_as!(DeadLetterRow, "queries/operations/dead_letters.sql", projection, limit).fetch_all(db).await
}

/// How many dead letters there are, in all.
pub async fn dead_letters_count(db: impl PgExecutor<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_file_scalar!("queries/operations/dead_letters_count.sql").fetch_one(db).await
}
