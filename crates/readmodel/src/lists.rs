//! Readers' lists: a list as a viewer may see it, its books by votes, the lists a book is on,
//! the newest lists, and which books of a list the viewer voted for. A list is seen when it is
//! shown (not hidden by a librarian) or the viewer's own, and neither the viewer nor its owner
//! blocked the other.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// A row of `lists`.
#[derive(Debug, Clone)]
pub struct ListRow {
    pub list_id: Uuid,
    /// None once the owner deleted their account.
    pub owner_id: Option<Uuid>,
    pub title: String,
    pub description: String,
    pub hidden: bool,
    pub created_at: DateTime<Utc>,
    pub position: i64,
    pub books: i32,
    pub votes: i32,
}

/// A book of a list, with its votes; `position` and the votes are the key of a page.
#[derive(Debug, Clone)]
pub struct ListedBook {
    pub book_id: Uuid,
    pub votes: i32,
    pub position: i64,
}

/// The list, if `viewer` (none: nobody signed in) may see it.
pub async fn list(pool: &PgPool, list_id: Uuid, viewer: Option<Uuid>) -> Result<Option<ListRow>, sqlx::Error> {
    let viewer = viewer.unwrap_or_else(Uuid::nil);
    sqlx::query_as!(
        ListRow,
        "SELECT l.list_id, l.owner_id, l.title, l.description, l.hidden, l.created_at, l.position, l.books, l.votes
         FROM lists l
         WHERE l.list_id = $1 AND (NOT l.hidden OR l.owner_id = $2)
           AND NOT EXISTS (SELECT 1 FROM blocks k WHERE (k.blocker_id = $2 AND k.blocked_id = l.owner_id)
                                                     OR (k.blocker_id = l.owner_id AND k.blocked_id = $2))",
        list_id,
        viewer
    )
    .fetch_optional(pool)
    .await
}

/// Up to `limit` of a list's books after `after` (votes, position, book), the most voted first.
pub async fn books(
    pool: &PgPool,
    list_id: Uuid,
    after: (i32, i64, Uuid),
    limit: i64,
) -> Result<Vec<ListedBook>, sqlx::Error> {
    sqlx::query_file_as!(ListedBook, "queries/lists/books.sql", list_id, after.0, after.1, after.2, limit)
        .fetch_all(pool)
        .await
}

/// Up to `limit` lists `book_id` is on that `viewer` may see, where it has the most votes first.
pub async fn of_book(
    pool: &PgPool,
    book_id: Uuid,
    viewer: Option<Uuid>,
    limit: i64,
) -> Result<Vec<ListRow>, sqlx::Error> {
    let viewer = viewer.unwrap_or_else(Uuid::nil);
    sqlx::query_file_as!(ListRow, "queries/lists/of_book.sql", book_id, viewer, limit).fetch_all(pool).await
}

/// Up to `limit` of the newest lists `viewer` may see, created before `before`.
pub async fn newest(pool: &PgPool, viewer: Option<Uuid>, before: i64, limit: i64) -> Result<Vec<ListRow>, sqlx::Error> {
    let viewer = viewer.unwrap_or_else(Uuid::nil);
    sqlx::query_file_as!(ListRow, "queries/lists/newest.sql", viewer, before, limit).fetch_all(pool).await
}

/// Which of `books` of the list `reader_id` voted for.
pub async fn voted(
    pool: &PgPool,
    list_id: Uuid,
    reader_id: Uuid,
    books: &[Uuid],
) -> Result<HashSet<Uuid>, sqlx::Error> {
    let rows = sqlx::query_scalar!(
        "SELECT book_id FROM list_votes WHERE list_id = $1 AND reader_id = $2 AND book_id = ANY($3)",
        list_id,
        reader_id,
        books
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}
