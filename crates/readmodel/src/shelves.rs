//! Shelves: each reader's copy of a book (`shelf_entries`), its reading log
//! (`reading_timeline`), and each book's counts per shelf (`book_shelf_counts`).

use crate::text_kind;

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
