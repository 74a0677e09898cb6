//! Shelves: each reader's copy of a book (`shelf_entries`), its reading log
//! (`reading_timeline`), and each book's counts per shelf (`book_shelf_counts`, in `reading`).

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use chrono::NaiveDate;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::{readers::ReadingVisibility, text_kind, Database, Failure};

/// The built-in shelf a copy is on (`shelf_entries.status`); exactly one holds a shelved book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShelfStatus {
    WantToRead,
    CurrentlyReading,
    Paused,
    Read,
    DidNotFinish,
}

text_kind!(ShelfStatus {
    WantToRead => "want_to_read",
    CurrentlyReading => "currently_reading",
    Paused => "paused",
    Read => "read",
    DidNotFinish => "did_not_finish",
});

/// One step of a reader's reading log (`reading_timeline.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadingStep {
    WantToRead,
    Started,
    Resumed,
    Progress,
    Paused,
    Finished,
    Abandoned,
    Removed,
}

text_kind!(ReadingStep {
    WantToRead => "want_to_read",
    Started => "started",
    Resumed => "resumed",
    Progress => "progress",
    Paused => "paused",
    Finished => "finished",
    Abandoned => "abandoned",
    Removed => "removed",
});

impl ReadingStep {
    /// Where the step leaves a book: on a shelf, off every shelf (`Some(None)`: removed), or
    /// where it was (`None`: progress moves no book). The one mapping of steps to shelves.
    pub fn shelving(self) -> Option<Option<ShelfStatus>> {
        match self {
            ReadingStep::WantToRead => Some(Some(ShelfStatus::WantToRead)),
            ReadingStep::Started | ReadingStep::Resumed => Some(Some(ShelfStatus::CurrentlyReading)),
            ReadingStep::Paused => Some(Some(ShelfStatus::Paused)),
            ReadingStep::Finished => Some(Some(ShelfStatus::Read)),
            ReadingStep::Abandoned => Some(Some(ShelfStatus::DidNotFinish)),
            ReadingStep::Removed => Some(None),
            ReadingStep::Progress => None,
        }
    }
}

/// [`ReadingStep::shelving`] as SQL takes it: the steps that move a book, and beside each where
/// it leaves the book.
fn shelvings() -> (Vec<ReadingStep>, Vec<Option<ShelfStatus>>) {
    ReadingStep::ALL.iter().filter_map(|step| Some((*step, step.shelving()?))).unzip()
}

/// A reader's copy of a book, as a shelf lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRow {
    pub book_id: Uuid,
    pub status: Option<ShelfStatus>,
    pub since: Option<NaiveDate>,
    pub started_on: Option<NaiveDate>,
    pub finished_on: Option<NaiveDate>,
    pub progress_page: Option<i32>,
    pub progress_percent: Option<i32>,
    pub read_count: Option<i64>,
    /// Where it stands in the shelf's order: the position of its last status change.
    pub cursor_position: Option<i64>,
    pub edition_isbn: Option<String>,
}

/// `reader_id`'s copy of `book_id`, if the book is on any of their shelves.
pub async fn entry(db: impl PgExecutor<'_>, reader_id: Uuid, book_id: Uuid) -> Result<Option<EntryRow>, sqlx::Error> {
    sqlx::query_file_as!(EntryRow, "queries/shelves/entry.sql", reader_id, book_id).fetch_optional(db).await
}

/// The built-in shelf a reader has a book on: (reader, book). Absent when the book is on none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShelfOf(pub Uuid, pub Uuid);

/// The shelf a reader has a book on, and whom they share their reading with (everyone for a
/// reader the read model does not have, as `social::reading_visibility`): what a review
/// shows where the stars would be, when the reader lets the viewer see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shelved {
    pub status: ShelfStatus,
    pub sharing: ReadingVisibility,
}

impl Loader<ShelfOf> for Database {
    type Value = Shelved;
    type Error = Failure;

    async fn load(&self, keys: &[ShelfOf]) -> Result<HashMap<ShelfOf, Shelved>, Failure> {
        let (readers, books): (Vec<Uuid>, Vec<Uuid>) = keys.iter().map(|k| (k.0, k.1)).unzip();
        let rows = sqlx::query!(
            r#"SELECT e.reader_id, e.book_id, e.status AS "status!: ShelfStatus",
                      r.reading_visibility AS "sharing?: ReadingVisibility"
               FROM shelf_entries e
               JOIN UNNEST($1::uuid[], $2::uuid[]) AS k(reader_id, book_id)
                 ON e.reader_id = k.reader_id AND e.book_id = k.book_id
               LEFT JOIN readers r ON r.reader_id = e.reader_id
               WHERE e.status IS NOT NULL"#,
            &readers,
            &books
        )
        .fetch_all(&self.0)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    ShelfOf(r.reader_id, r.book_id),
                    Shelved { status: r.status, sharing: r.sharing.unwrap_or(ReadingVisibility::Everyone) },
                )
            })
            .collect())
    }
}

/// Which books of a shelf, in which order, from where.
#[derive(Debug, Clone, Copy)]
pub struct ShelfPage<'a> {
    /// `None`: every shelved book (on a built-in shelf or a custom one).
    pub status: Option<ShelfStatus>,
    /// A custom shelf's key (its name, trimmed and lower-cased).
    pub custom_shelf: Option<&'a str>,
    /// The cursor: the last entry's position.
    pub after: Option<i64>,
    pub newest_first: bool,
    pub limit: i64,
}

/// One page of `reader_id`'s shelf now, and how many books it lists in all.
pub async fn page(
    db: &sqlx::PgPool,
    reader_id: Uuid,
    page: ShelfPage<'_>,
) -> Result<(Vec<EntryRow>, i64), sqlx::Error> {
    let ShelfPage { status, custom_shelf, after, newest_first, limit } = page;
    let rows = sqlx::query_file_as!(
        EntryRow,
        "queries/shelves/page.sql",
        reader_id,
        status as _,
        custom_shelf,
        after,
        newest_first,
        limit
    )
    .fetch_all(db)
    .await?;
    let total = sqlx::query_file_scalar!("queries/shelves/page_count.sql", reader_id, status as _, custom_shelf)
        .fetch_one(db)
        .await?;
    Ok((rows, total))
}

/// One page of `reader_id`'s shelf as it stood at the end of `day` (built-in shelves only: the
/// reading log does not keep custom shelves), and how many books it listed in all.
pub async fn page_as_of(
    db: &sqlx::PgPool,
    reader_id: Uuid,
    day: NaiveDate,
    page: ShelfPage<'_>,
) -> Result<(Vec<EntryRow>, i64), sqlx::Error> {
    let ShelfPage { status, after, newest_first, limit, .. } = page;
    let (steps, shelves) = shelvings();
    let rows = sqlx::query_file_as!(
        EntryRow,
        "queries/shelves/page_as_of.sql",
        reader_id,
        day,
        status as _,
        after,
        newest_first,
        limit,
        &steps as _,
        &shelves as _,
        ReadingStep::Started as _
    )
    .fetch_all(db)
    .await?;
    let total = sqlx::query_file_scalar!(
        "queries/shelves/page_as_of_count.sql",
        reader_id,
        day,
        status as _,
        &steps as _,
        &shelves as _
    )
    .fetch_one(db)
    .await?;
    Ok((rows, total))
}

/// `reader_id`'s custom shelves, alphabetically: each one's name and how many books it holds.
pub async fn custom_shelves(db: impl PgExecutor<'_>, reader_id: Uuid) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query_file!("queries/shelves/custom_shelves.sql", reader_id).fetch_all(db).await?;
    Ok(rows.into_iter().map(|r| (r.name, r.count)).collect())
}

/// One step of a reading log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRow {
    pub book_id: Uuid,
    pub kind: ReadingStep,
    pub on_date: NaiveDate,
    pub page: Option<i32>,
    pub percent: Option<i32>,
    pub note: String,
    pub read_through: i32,
    pub position: i64,
    pub event_index: i32,
}

/// Which steps of a reading log, from where.
#[derive(Debug, Clone, Copy)]
pub struct TimelinePage {
    pub book_id: Option<Uuid>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// The cursor: the last step's day, position and index.
    pub after: Option<(NaiveDate, i64, i32)>,
    pub limit: i64,
}

/// One page of `reader_id`'s reading log, oldest first, and how many steps it holds in all.
pub async fn timeline(
    db: &sqlx::PgPool,
    reader_id: Uuid,
    page: TimelinePage,
) -> Result<(Vec<StepRow>, i64), sqlx::Error> {
    let TimelinePage { book_id, from, to, after, limit } = page;
    let rows = sqlx::query_file_as!(
        StepRow,
        "queries/shelves/timeline.sql",
        reader_id,
        book_id,
        from,
        to,
        after.map(|a| a.0),
        after.map_or(0, |a| a.1),
        after.map_or(0, |a| a.2),
        limit
    )
    .fetch_all(db)
    .await?;
    let total = sqlx::query_file_scalar!("queries/shelves/timeline_count.sql", reader_id, book_id, from, to)
        .fetch_one(db)
        .await?;
    Ok((rows, total))
}
