//! The reading context: a reader's shelves and reading log for a book.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::{
    command::{commands, Service},
    subject::Aggregate,
    Isbn,
};

/// The command service of shelves and reading progress.
pub struct ReadingService;

impl Service for ReadingService {
    const NAME: &'static str = "reading";
}

commands!(ReadingService, ReadingRoutes {
    WantToRead => want_to_read(Sender) -> Identified,
    StartReading => start_reading(Sender) -> Identified,
    UpdateProgress => update_progress(Sender) -> Identified,
    PauseReading => pause_reading(Sender) -> Identified,
    FinishReading => finish_reading(Sender) -> Identified,
    AbandonReading => abandon_reading(Sender) -> Identified,
    RemoveFromShelves => remove_from_shelves(Sender) -> Identified,
    AddToShelf => add_to_shelf(Sender) -> Identified,
    RemoveFromShelf => remove_from_shelf(Sender) -> Identified,
    ChooseEdition => choose_edition(Sender) -> Identified,
    NoteIsbn => note_isbn(Sender) -> Identified,
    SetReadingGoal => set_reading_goal(Sender) -> Identified,
    RemoveReadingGoal => remove_reading_goal(Sender) -> Identified,
});

/// The most books a yearly goal may ask for.
pub const MAX_GOAL_BOOKS: u32 = 10_000;
/// The last year a goal may be set for (the reading log's dates go no further).
pub const MAX_GOAL_YEAR: i32 = 9999;

/// One reader's reading goal for one year.
pub fn goal(reader_id: Uuid, year: i32) -> Aggregate {
    Aggregate::new(format!("goals.{reader_id}.{year}"))
}

/// Where the shelves projection says that what a reader finished, or their goals, changed.
pub fn live_reading_year(namespace: &str, reader_id: Uuid) -> String {
    format!("{namespace}.live.reading.{reader_id}")
}

/// What happened to a reader's goal for a year.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type")]
pub enum GoalEvent {
    /// `books` to finish in `year`, replacing any earlier target.
    ReadingGoalSet {
        reader_id: Uuid,
        year: i32,
        books: u32,
    },
    ReadingGoalRemoved {
        reader_id: Uuid,
        year: i32,
    },
}

/// One reader's copy of one book: its shelf, read-throughs, progress and custom shelves.
pub fn copy(reader_id: Uuid, book_id: Uuid) -> Aggregate {
    Aggregate::new(format!("reading.{reader_id}.{book_id}"))
}

/// Where a book's new shelf counts are published after each projected change.
pub fn live_book_shelf_counts(namespace: &str, book_id: Uuid) -> String {
    format!("{namespace}.live.book.{book_id}.shelves")
}

/// What happened to one reader's copy of one book.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type")]
pub enum ReadingEvent {
    WantToRead {
        reader_id: Uuid,
        book_id: Uuid,
        on: NaiveDate,
    },
    ReadingStarted {
        reader_id: Uuid,
        book_id: Uuid,
        started_on: NaiveDate,
        /// 1 for the first read-through, 2 for the first reread, …
        read_through: u32,
        /// Picked up again after a pause: the same read-through goes on.
        resumed: bool,
    },
    ProgressUpdated {
        reader_id: Uuid,
        book_id: Uuid,
        on: NaiveDate,
        progress: Progress,
        note: String,
        read_through: u32,
    },
    ReadingPaused {
        reader_id: Uuid,
        book_id: Uuid,
        on: NaiveDate,
        read_through: u32,
    },
    ReadingFinished {
        reader_id: Uuid,
        book_id: Uuid,
        finished_on: NaiveDate,
        /// `None` when the reader never said when they started.
        started_on: Option<NaiveDate>,
        read_through: u32,
    },
    /// Did not finish.
    ReadingAbandoned {
        reader_id: Uuid,
        book_id: Uuid,
        on: NaiveDate,
        note: String,
        read_through: u32,
    },
    RemovedFromShelves {
        reader_id: Uuid,
        book_id: Uuid,
        on: NaiveDate,
    },
    AddedToShelf {
        reader_id: Uuid,
        book_id: Uuid,
        shelf: String,
    },
    RemovedFromShelf {
        reader_id: Uuid,
        book_id: Uuid,
        shelf: String,
    },
    /// The edition the reader holds, by ISBN-13, `None` when they no longer say. One the reader
    /// chose is the catalog's; one their import gave may be listed by no edition of the catalog.
    EditionChosen {
        reader_id: Uuid,
        book_id: Uuid,
        isbn: Option<Isbn>,
    },
}

/// How far into a book a reader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    Page(u32),
    Percent(u32),
}

impl ReadingEvent {
    /// The reader and the book of the copy this event happened to.
    pub fn copy(&self) -> (Uuid, Uuid) {
        match *self {
            ReadingEvent::WantToRead { reader_id, book_id, .. }
            | ReadingEvent::ReadingStarted { reader_id, book_id, .. }
            | ReadingEvent::ProgressUpdated { reader_id, book_id, .. }
            | ReadingEvent::ReadingPaused { reader_id, book_id, .. }
            | ReadingEvent::ReadingFinished { reader_id, book_id, .. }
            | ReadingEvent::ReadingAbandoned { reader_id, book_id, .. }
            | ReadingEvent::RemovedFromShelves { reader_id, book_id, .. }
            | ReadingEvent::AddedToShelf { reader_id, book_id, .. }
            | ReadingEvent::RemovedFromShelf { reader_id, book_id, .. }
            | ReadingEvent::EditionChosen { reader_id, book_id, .. } => (reader_id, book_id),
        }
    }
}
