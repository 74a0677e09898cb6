//! The reading context: a reader's shelves and reading log for a book.

use uuid::Uuid;

use crate::{
    command::{commands, Service},
    subject::Aggregate,
};

/// The command service of shelves and reading progress.
pub struct ReadingService;

impl Service for ReadingService {
    const NAME: &'static str = "reading";
}

commands!(ReadingService {
    WantToRead => "want_to_read",
    StartReading => "start_reading",
    UpdateProgress => "update_progress",
    PauseReading => "pause_reading",
    FinishReading => "finish_reading",
    AbandonReading => "abandon_reading",
    RemoveFromShelves => "remove_from_shelves",
    AddToShelf => "add_to_shelf",
    RemoveFromShelf => "remove_from_shelf",
});

/// One reader's copy of one book: its shelf, read-throughs, progress and custom shelves.
pub fn copy(reader_id: Uuid, book_id: Uuid) -> Aggregate {
    Aggregate::new(format!("reading.{reader_id}.{book_id}"))
}

/// Where a book's new shelf counts are published after each projected change.
pub fn live_book_shelf_counts(namespace: &str, book_id: Uuid) -> String {
    format!("{namespace}.live.book.{book_id}.shelves")
}
