//! The reading context: a reader's shelves and reading log for a book.

use uuid::Uuid;

use crate::subject::Aggregate;

/// One reader's copy of one book: its shelf, read-throughs, progress and custom shelves.
pub fn copy(reader_id: Uuid, book_id: Uuid) -> Aggregate {
    Aggregate::new(format!("reading.{reader_id}.{book_id}"))
}

/// Where a book's new shelf counts are published after each projected change.
pub fn live_book_shelf_counts(namespace: &str, book_id: Uuid) -> String {
    format!("{namespace}.live.book.{book_id}.shelves")
}
