//! The reading decider: one reader's copy of one book, from "want to read" through every
//! read-through to "read" or "did not finish", plus the reader's own named shelves.
//! Pure: no I/O, tested given/when/then.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use readstream_contracts::{
    input::{self, Text, EARLIEST_READING_DATE},
    Code, Decider, Isbn, Progress, ReadingEvent, Rejection,
};
use uuid::Uuid;

pub const MAX_NOTE: usize = 5_000;
/// The last page accepted for a book whose page count is unknown.
pub const MAX_UNKNOWN_PAGE: u32 = 100_000;
pub const MAX_SHELF_NAME: usize = 60;
pub const MAX_SHELVES_PER_BOOK: usize = 100;

/// The built-in shelves; exactly one holds a shelved book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    WantToRead,
    CurrentlyReading,
    Paused,
    Read,
    DidNotFinish,
}

impl Status {
    /// The name the read models and the API use.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::WantToRead => "want_to_read",
            Status::CurrentlyReading => "currently_reading",
            Status::Paused => "paused",
            Status::Read => "read",
            Status::DidNotFinish => "did_not_finish",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Status::WantToRead, Status::CurrentlyReading, Status::Paused, Status::Read, Status::DidNotFinish]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// The state of a reader's copy of a book, folded from its events.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Copy {
    pub status: Option<Status>,
    /// Read-throughs begun (or finished or abandoned without a start) so far.
    pub read_throughs: u32,
    /// Times finished.
    pub read_count: u32,
    /// When the current (or last) read-through started, if the reader said.
    pub started_on: Option<NaiveDate>,
    pub finished_on: Option<NaiveDate>,
    /// The latest progress of the current read-through.
    pub progress: Option<Progress>,
    /// Custom shelves by case-folded name, keeping the name as the reader wrote it.
    pub shelves: BTreeMap<String, String>,
    /// The edition the reader holds, if they said.
    pub edition: Option<Isbn>,
}

/// Custom shelves match regardless of case and Unicode form.
pub fn shelf_key(name: &str) -> String {
    input::name_key(name)
}

impl Copy {
    fn reading(&self) -> bool {
        matches!(self.status, Some(Status::CurrentlyReading | Status::Paused))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    WantToRead {
        on: Option<NaiveDate>,
    },
    StartReading {
        started_on: Option<NaiveDate>,
    },
    UpdateProgress {
        on: Option<NaiveDate>,
        page: Option<i32>,
        percent: Option<i32>,
        note: String,
    },
    PauseReading {
        on: Option<NaiveDate>,
    },
    FinishReading {
        finished_on: Option<NaiveDate>,
        /// One more read-through even when the copy is read already (an imported or merged
        /// copy's earlier reads); without it, finishing a read copy changes nothing.
        reread: bool,
    },
    AbandonReading {
        on: Option<NaiveDate>,
        note: String,
    },
    RemoveFromShelves,
    AddToShelf {
        shelf: String,
    },
    RemoveFromShelf {
        shelf: String,
    },
    /// `None` to no longer say.
    ChooseEdition {
        isbn: Option<Isbn>,
    },
    /// The ISBN of the reader's own copy, as their imported library gives it: the catalog's
    /// edition when the catalog lists one of this book with it, the reader's alone when the
    /// catalog lists none (an import never adds an ISBN to the catalog).
    NoteIsbn {
        isbn: Isbn,
    },
}

/// What a decision needs besides the copy's own events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyFacts {
    pub reader_id: Uuid,
    pub book_id: Uuid,
    pub today: NaiveDate,
    /// The book's page count, `None` when the catalog has no such book.
    pub pages: Option<u32>,
    /// For choosing an edition or noting an ISBN: the book the ISBN is an edition of in the
    /// catalog, `None` when no edition has it.
    pub edition_of: Option<Uuid>,
}

/// The day a reading step happened: today when the reader did not say.
fn day(field: &'static str, day: Option<NaiveDate>, today: NaiveDate) -> Result<NaiveDate, Rejection> {
    input::date(field, day.unwrap_or(today), EARLIEST_READING_DATE, today)
}

fn note(note: &str) -> Result<String, Rejection> {
    input::text("note", note, Text::Long, 0, MAX_NOTE)
}

fn not_before_start(field: &'static str, date: NaiveDate, state: &Copy) -> Result<(), Rejection> {
    match state.started_on {
        Some(started_on) if state.reading() && date < started_on => {
            Err(Rejection::invalid(field, format!("{field} {date} is before you started reading on {started_on}")))
        }
        _ => Ok(()),
    }
}

impl Decider for Copy {
    type Command = Command;
    type Facts = CopyFacts;
    type Event = ReadingEvent;
    type Error = Rejection;

    /// Repeating a command that changes nothing is accepted and appends nothing.
    fn decide(&self, command: &Command, facts: &CopyFacts) -> Result<Vec<ReadingEvent>, Rejection> {
        let state = self;
        let Some(pages) = facts.pages else {
            return Err(Rejection::not_found("bookId", "no book with this id"));
        };
        let (reader_id, book_id) = (facts.reader_id, facts.book_id);
        let resume_or_start = |started_on: NaiveDate| match state.status {
            Some(Status::Paused) => ReadingEvent::ReadingStarted {
                reader_id,
                book_id,
                started_on: state.started_on.unwrap_or(started_on),
                read_through: state.read_throughs,
                resumed: true,
            },
            _ => ReadingEvent::ReadingStarted {
                reader_id,
                book_id,
                started_on,
                read_through: state.read_throughs + 1,
                resumed: false,
            },
        };
        // A step outside an active read-through (a "did not finish" or a "read" without a start)
        // is a read-through of its own.
        let read_through = if state.reading() { state.read_throughs } else { state.read_throughs + 1 };
        match command.clone() {
            Command::WantToRead { on } => {
                let on = day("on", on, facts.today)?;
                if state.status == Some(Status::WantToRead) {
                    return Ok(vec![]);
                }
                Ok(vec![ReadingEvent::WantToRead { reader_id, book_id, on }])
            }
            Command::StartReading { started_on } => {
                let started_on = day("startedOn", started_on, facts.today)?;
                if state.status == Some(Status::CurrentlyReading) {
                    return Ok(vec![]);
                }
                Ok(vec![resume_or_start(started_on)])
            }
            Command::UpdateProgress { on, page, percent, note: text } => {
                let on = day("on", on, facts.today)?;
                let progress = match (page, percent) {
                    (Some(page), None) => match u32::try_from(page) {
                        // 0: an imported book whose page count is unknown.
                        Ok(page) if page <= pages || (pages == 0 && page <= MAX_UNKNOWN_PAGE) => Progress::Page(page),
                        _ => {
                            return Err(Rejection::invalid(
                                "page",
                                format!("page must be between 0 and {pages}, the book's last page"),
                            ))
                        }
                    },
                    (None, Some(percent)) => match u32::try_from(percent) {
                        Ok(percent) if percent <= 100 => Progress::Percent(percent),
                        _ => return Err(Rejection::invalid("percent", "percent must be between 0 and 100")),
                    },
                    _ => return Err(Rejection::invalid("page", "give either a page or a percent")),
                };
                let note = note(&text)?;
                not_before_start("on", on, state)?;
                if state.status == Some(Status::CurrentlyReading) && state.progress == Some(progress) && note.is_empty()
                {
                    return Ok(vec![]);
                }
                let mut events = Vec::new();
                let mut read_through = state.read_throughs;
                if state.status != Some(Status::CurrentlyReading) {
                    let start = resume_or_start(on);
                    if let ReadingEvent::ReadingStarted { read_through: started, .. } = start {
                        read_through = started;
                    }
                    events.push(start);
                }
                events.push(ReadingEvent::ProgressUpdated { reader_id, book_id, on, progress, note, read_through });
                Ok(events)
            }
            Command::PauseReading { on } => {
                let on = day("on", on, facts.today)?;
                match state.status {
                    Some(Status::Paused) => Ok(vec![]),
                    Some(Status::CurrentlyReading) => {
                        not_before_start("on", on, state)?;
                        Ok(vec![ReadingEvent::ReadingPaused {
                            reader_id,
                            book_id,
                            on,
                            read_through: state.read_throughs,
                        }])
                    }
                    _ => Err(Rejection::new(Code::Conflict, "you are not reading this book, so it cannot be paused")),
                }
            }
            Command::FinishReading { finished_on, reread } => {
                let finished_on = day("finishedOn", finished_on, facts.today)?;
                if state.status == Some(Status::Read) && !reread {
                    return Ok(vec![]);
                }
                not_before_start("finishedOn", finished_on, state)?;
                let started_on = if state.reading() { state.started_on } else { None };
                Ok(vec![ReadingEvent::ReadingFinished { reader_id, book_id, finished_on, started_on, read_through }])
            }
            Command::AbandonReading { on, note: text } => {
                let on = day("on", on, facts.today)?;
                let note = note(&text)?;
                if state.status == Some(Status::DidNotFinish) {
                    return Ok(vec![]);
                }
                not_before_start("on", on, state)?;
                Ok(vec![ReadingEvent::ReadingAbandoned { reader_id, book_id, on, note, read_through }])
            }
            Command::RemoveFromShelves => {
                if state.status.is_none() && state.shelves.is_empty() {
                    return Ok(vec![]);
                }
                Ok(vec![ReadingEvent::RemovedFromShelves { reader_id, book_id, on: facts.today }])
            }
            Command::AddToShelf { shelf } => {
                let shelf = input::text("name", &shelf, Text::Name, 1, MAX_SHELF_NAME)?;
                let key = shelf_key(&shelf);
                if Status::parse(&key.replace(['-', ' '], "_")).is_some() {
                    return Err(Rejection::invalid(
                        "name",
                        format!("\"{shelf}\" is a built-in shelf; use its own mutation"),
                    ));
                }
                if state.shelves.contains_key(&key) {
                    return Ok(vec![]);
                }
                if state.shelves.len() >= MAX_SHELVES_PER_BOOK {
                    return Err(Rejection::invalid(
                        "name",
                        format!("a book can be on at most {MAX_SHELVES_PER_BOOK} of your shelves"),
                    ));
                }
                Ok(vec![ReadingEvent::AddedToShelf { reader_id, book_id, shelf }])
            }
            Command::ChooseEdition { isbn } => {
                if state.status.is_none() {
                    return Err(Rejection::new(Code::Conflict, "put the book on a shelf before naming its edition"));
                }
                if let Some(isbn) = isbn {
                    if facts.edition_of != Some(book_id) {
                        return Err(Rejection::not_found("isbn", format!("this book has no edition with ISBN {isbn}")));
                    }
                }
                if state.edition == isbn {
                    return Ok(vec![]);
                }
                Ok(vec![ReadingEvent::EditionChosen { reader_id, book_id, isbn }])
            }
            Command::NoteIsbn { isbn } => {
                if state.status.is_none() {
                    return Err(Rejection::new(Code::Conflict, "put the book on a shelf before naming its edition"));
                }
                if facts.edition_of.is_some_and(|book| book != book_id) {
                    return Err(Rejection::not_found("isbn", format!("ISBN {isbn} is another book's edition")));
                }
                if state.edition == Some(isbn) {
                    return Ok(vec![]);
                }
                Ok(vec![ReadingEvent::EditionChosen { reader_id, book_id, isbn: Some(isbn) }])
            }
            Command::RemoveFromShelf { shelf } => match state.shelves.get(&shelf_key(&shelf)) {
                Some(name) => Ok(vec![ReadingEvent::RemovedFromShelf { reader_id, book_id, shelf: name.clone() }]),
                None => Ok(vec![]),
            },
        }
    }

    fn evolve(mut self, event: &ReadingEvent) -> Self {
        match event {
            ReadingEvent::WantToRead { .. } => self.status = Some(Status::WantToRead),
            ReadingEvent::ReadingStarted { started_on, read_through, resumed, .. } => {
                self.status = Some(Status::CurrentlyReading);
                self.read_throughs = *read_through;
                if !resumed {
                    self.started_on = Some(*started_on);
                    self.finished_on = None;
                    self.progress = None;
                }
            }
            ReadingEvent::ProgressUpdated { progress, .. } => self.progress = Some(*progress),
            ReadingEvent::ReadingPaused { .. } => self.status = Some(Status::Paused),
            ReadingEvent::ReadingFinished { finished_on, started_on, read_through, .. } => {
                self.status = Some(Status::Read);
                self.read_throughs = *read_through;
                self.read_count += 1;
                self.started_on = *started_on;
                self.finished_on = Some(*finished_on);
            }
            ReadingEvent::ReadingAbandoned { read_through, .. } => {
                self.status = Some(Status::DidNotFinish);
                self.read_throughs = *read_through;
            }
            ReadingEvent::RemovedFromShelves { .. } => {
                self.status = None;
                self.progress = None;
                self.shelves.clear();
                self.edition = None;
            }
            ReadingEvent::EditionChosen { isbn, .. } => self.edition = *isbn,
            ReadingEvent::AddedToShelf { shelf, .. } => {
                self.shelves.insert(shelf_key(shelf), shelf.clone());
            }
            ReadingEvent::RemovedFromShelf { shelf, .. } => {
                self.shelves.remove(&shelf_key(shelf));
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use readstream_testkit::decider::given;

    use super::*;

    const ANA: Uuid = Uuid::nil();
    const BOOK: Uuid = Uuid::max();

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn facts() -> CopyFacts {
        CopyFacts { reader_id: ANA, book_id: BOOK, today: date("2026-11-26"), pages: Some(400), edition_of: None }
    }

    fn start(on: &str) -> Command {
        Command::StartReading { started_on: Some(date(on)) }
    }

    fn finish(on: &str) -> Command {
        Command::FinishReading { finished_on: Some(date(on)), reread: false }
    }

    fn page(page: i32) -> Command {
        Command::UpdateProgress { on: None, page: Some(page), percent: None, note: String::new() }
    }

    fn wanted() -> ReadingEvent {
        ReadingEvent::WantToRead { reader_id: ANA, book_id: BOOK, on: date("2026-01-01") }
    }

    fn started(on: &str, read_through: u32) -> ReadingEvent {
        ReadingEvent::ReadingStarted {
            reader_id: ANA,
            book_id: BOOK,
            started_on: date(on),
            read_through,
            resumed: false,
        }
    }

    fn resumed(on: &str, read_through: u32) -> ReadingEvent {
        ReadingEvent::ReadingStarted {
            reader_id: ANA,
            book_id: BOOK,
            started_on: date(on),
            read_through,
            resumed: true,
        }
    }

    fn progressed(page: u32, read_through: u32) -> ReadingEvent {
        let (on, progress, note) = (date("2026-11-26"), Progress::Page(page), String::new());
        ReadingEvent::ProgressUpdated { reader_id: ANA, book_id: BOOK, on, progress, note, read_through }
    }

    fn paused(read_through: u32) -> ReadingEvent {
        ReadingEvent::ReadingPaused { reader_id: ANA, book_id: BOOK, on: date("2026-11-26"), read_through }
    }

    fn finished(on: &str, started_on: Option<&str>, read_through: u32) -> ReadingEvent {
        let (finished_on, started_on) = (date(on), started_on.map(date));
        ReadingEvent::ReadingFinished { reader_id: ANA, book_id: BOOK, finished_on, started_on, read_through }
    }

    fn abandoned(read_through: u32) -> ReadingEvent {
        let (on, note) = (date("2026-11-26"), String::new());
        ReadingEvent::ReadingAbandoned { reader_id: ANA, book_id: BOOK, on, note, read_through }
    }

    fn removed() -> ReadingEvent {
        ReadingEvent::RemovedFromShelves { reader_id: ANA, book_id: BOOK, on: date("2026-11-26") }
    }

    fn shelved(shelf: &str) -> ReadingEvent {
        ReadingEvent::AddedToShelf { reader_id: ANA, book_id: BOOK, shelf: shelf.into() }
    }

    #[test]
    fn the_built_in_statuses_are_exclusive() {
        let status = |history: Vec<ReadingEvent>| given::<Copy>(history).state().status;
        assert_eq!(status(vec![wanted()]), Some(Status::WantToRead));
        assert_eq!(status(vec![wanted(), started("2026-01-01", 1)]), Some(Status::CurrentlyReading));
        assert_eq!(status(vec![started("2026-01-01", 1), paused(1)]), Some(Status::Paused));
        assert_eq!(status(vec![started("2026-01-01", 1), abandoned(1)]), Some(Status::DidNotFinish));
        assert_eq!(status(vec![started("2026-01-01", 1), removed()]), None);
    }

    #[test]
    fn given_a_read_book_when_started_again_then_a_new_read_through_raises_the_read_count() {
        let read_once = [started("2025-01-01", 1), finished("2025-02-01", Some("2025-01-01"), 1)];
        let state = given::<Copy>(read_once.clone());
        assert_eq!((state.state().read_count, state.state().read_throughs), (1, 1));
        state.when(start("2026-03-01"), facts()).then([started("2026-03-01", 2)]);
        let read_twice =
            [read_once.as_slice(), &[started("2026-03-01", 2), finished("2026-04-01", Some("2026-03-01"), 2)]];
        let state = given::<Copy>(read_twice.concat());
        assert_eq!(
            (state.state().read_count, state.state().read_throughs, state.state().status),
            (2, 2, Some(Status::Read))
        );
    }

    #[test]
    fn given_a_read_book_when_a_reread_is_finished_then_it_is_one_more_read_through_without_a_start() {
        let reread = |on: &str| Command::FinishReading { finished_on: Some(date(on)), reread: true };
        let read_once = given::<Copy>([finished("2025-02-01", None, 1)]);
        read_once.when(reread("2025-06-01"), facts()).then([finished("2025-06-01", None, 2)]);
        // Without `reread`, finishing a read book again changes nothing (a client's retry).
        given::<Copy>([finished("2025-02-01", None, 1)]).when(finish("2025-06-01"), facts()).then([]);
        let read_thrice = given::<Copy>([
            finished("2025-02-01", None, 1),
            finished("2025-06-01", None, 2),
            finished("2025-09-01", None, 3),
        ]);
        assert_eq!((read_thrice.state().read_count, read_thrice.state().status), (3, Some(Status::Read)));
    }

    #[test]
    fn given_a_paused_book_when_progress_is_updated_then_it_resumes_the_same_read_through() {
        given::<Copy>([started("2026-01-01", 1), progressed(50, 1), paused(1)])
            .when(page(60), facts())
            .then([resumed("2026-01-01", 1), progressed(60, 1)]);
    }

    #[test]
    fn given_want_to_read_when_progress_is_updated_then_reading_starts() {
        given::<Copy>([wanted()]).when(page(10), facts()).then([started("2026-11-26", 1), progressed(10, 1)]);
    }

    #[test]
    fn repeating_a_command_that_changes_nothing_appends_nothing() {
        let cases = vec![
            (vec![wanted()], Command::WantToRead { on: None }),
            (vec![started("2026-01-01", 1)], start("2026-01-01")),
            (vec![started("2026-01-01", 1), progressed(10, 1)], page(10)),
            (vec![started("2026-01-01", 1), paused(1)], Command::PauseReading { on: None }),
            (vec![finished("2026-01-01", None, 1)], finish("2026-01-02")),
            (vec![abandoned(1)], Command::AbandonReading { on: None, note: String::new() }),
            (vec![], Command::RemoveFromShelves),
            (vec![shelved("Russia")], Command::AddToShelf { shelf: " russia ".into() }),
            (vec![], Command::RemoveFromShelf { shelf: "russia".into() }),
        ];
        for (history, command) in cases {
            given::<Copy>(history).when(command, facts()).then([]);
        }
    }

    #[test]
    fn progress_stays_within_the_book() {
        let reading = || given::<Copy>([started("2026-01-01", 1)]);
        reading().when(page(401), facts()).then_refused(Code::InvalidArgument, Some("page"));
        reading().when(page(-1), facts()).then_refused(Code::InvalidArgument, Some("page"));
        let percent = |p| Command::UpdateProgress { on: None, page: None, percent: Some(p), note: String::new() };
        reading().when(percent(101), facts()).then_refused(Code::InvalidArgument, Some("percent"));
        let both = Command::UpdateProgress { on: None, page: Some(1), percent: Some(1), note: String::new() };
        reading().when(both, facts()).then_refused(Code::InvalidArgument, Some("page"));
        reading().when(page(400), facts()).then([progressed(400, 1)]);
        let all = ReadingEvent::ProgressUpdated {
            reader_id: ANA,
            book_id: BOOK,
            on: date("2026-11-26"),
            progress: Progress::Percent(100),
            note: String::new(),
            read_through: 1,
        };
        reading().when(percent(100), facts()).then([all]);
    }

    #[test]
    fn dates_are_not_in_the_future_and_a_finish_is_not_before_its_start() {
        given::<Copy>([]).when(start("2027-01-01"), facts()).then_refused(Code::InvalidArgument, Some("startedOn"));
        let reading = || given::<Copy>([started("2026-05-01", 1)]);
        reading().when(finish("2026-04-30"), facts()).then_refused(Code::InvalidArgument, Some("finishedOn"));
        reading().when(finish("2026-12-01"), facts()).then_refused(Code::InvalidArgument, Some("finishedOn"));
        reading().when(finish("2026-05-01"), facts()).then([finished("2026-05-01", Some("2026-05-01"), 1)]);
        for ancient in ["1899-12-31", "-5000-01-01"] {
            given::<Copy>([]).when(start(ancient), facts()).then_refused(Code::InvalidArgument, Some("startedOn"));
        }
    }

    #[test]
    fn notes_and_shelf_names_that_could_not_be_stored_are_refused() {
        let progress =
            |note: &str| Command::UpdateProgress { on: None, page: Some(10), percent: None, note: note.into() };
        let reading = || given::<Copy>([started("2026-05-01", 1)]);
        reading().when(progress("a\u{0}b"), facts()).then_refused(Code::InvalidArgument, Some("note"));
        reading().when(progress("\u{1b}[2J"), facts()).then_refused(Code::InvalidArgument, Some("note"));
        let abandon = Command::AbandonReading { on: None, note: "\u{FDD0}".into() };
        reading().when(abandon, facts()).then_refused(Code::InvalidArgument, Some("note"));
        for shelf in ["a\u{0}b", "rus\u{200D}sia", "\u{202E}aissur", "two\nlines"] {
            given::<Copy>([])
                .when(Command::AddToShelf { shelf: shelf.into() }, facts())
                .then_refused(Code::InvalidArgument, Some("name"));
        }
    }

    #[test]
    fn an_unknown_book_is_not_found_and_pausing_an_unread_book_conflicts() {
        let unknown = CopyFacts { pages: None, ..facts() };
        given::<Copy>([]).when(start("2026-01-01"), unknown).then_refused(Code::NotFound, Some("bookId"));
        given::<Copy>([]).when(Command::PauseReading { on: None }, facts()).then_refused(Code::Conflict, None);
    }

    #[test]
    fn custom_shelves_match_regardless_of_case_and_built_in_names_are_reserved() {
        let shelved = || given::<Copy>([shelved("Soviet History")]);
        shelved()
            .when(Command::RemoveFromShelf { shelf: "soviet history".into() }, facts())
            .then([ReadingEvent::RemovedFromShelf { reader_id: ANA, book_id: BOOK, shelf: "Soviet History".into() }]);
        shelved()
            .when(Command::AddToShelf { shelf: "Currently-Reading".into() }, facts())
            .then_refused(Code::InvalidArgument, Some("name"));
        shelved()
            .when(Command::AddToShelf { shelf: "  ".into() }, facts())
            .then_refused(Code::InvalidArgument, Some("name"));
    }

    #[test]
    fn a_shelved_copy_names_an_edition_of_its_own_book_once_and_can_stop_saying() {
        let penguin = Isbn::parse("isbn", "0140449132").unwrap_or_else(|err| panic!("{}", err.message));
        let of_this_book = CopyFacts { edition_of: Some(BOOK), ..facts() };
        let wanted = ReadingEvent::WantToRead { reader_id: ANA, book_id: BOOK, on: date("2026-11-01") };
        let chosen = ReadingEvent::EditionChosen { reader_id: ANA, book_id: BOOK, isbn: Some(penguin) };
        let choose = |isbn| Command::ChooseEdition { isbn };
        given::<Copy>([wanted.clone()]).when(choose(Some(penguin)), of_this_book).then([chosen.clone()]);
        given::<Copy>([wanted.clone(), chosen.clone()]).when(choose(Some(penguin)), of_this_book).then([]);
        given::<Copy>([wanted.clone(), chosen.clone()])
            .when(choose(None), facts())
            .then([ReadingEvent::EditionChosen { reader_id: ANA, book_id: BOOK, isbn: None }]);
        let of_another_book = CopyFacts { edition_of: Some(Uuid::from_u128(7)), ..facts() };
        given::<Copy>([wanted.clone()])
            .when(choose(Some(penguin)), of_another_book)
            .then_refused(Code::NotFound, Some("isbn"));
        given::<Copy>([wanted.clone()]).when(choose(Some(penguin)), facts()).then_refused(Code::NotFound, Some("isbn"));
        given::<Copy>([]).when(choose(Some(penguin)), of_this_book).then_refused(Code::Conflict, None);
        // Off every shelf, the copy names no edition any more.
        let removed = ReadingEvent::RemovedFromShelves { reader_id: ANA, book_id: BOOK, on: date("2026-11-02") };
        given::<Copy>([wanted.clone(), chosen, removed, wanted])
            .when(choose(Some(penguin)), of_this_book)
            .then([ReadingEvent::EditionChosen { reader_id: ANA, book_id: BOOK, isbn: Some(penguin) }]);
    }

    #[test]
    fn an_imported_isbn_stays_with_the_copy_whether_or_not_the_catalog_lists_it() {
        let penguin = Isbn::parse("isbn", "0140449132").unwrap_or_else(|err| panic!("{}", err.message));
        let wanted = ReadingEvent::WantToRead { reader_id: ANA, book_id: BOOK, on: date("2026-11-01") };
        let noted = ReadingEvent::EditionChosen { reader_id: ANA, book_id: BOOK, isbn: Some(penguin) };
        let note = Command::NoteIsbn { isbn: penguin };
        // Listed by no edition: the copy keeps it, the catalog is not asked to.
        given::<Copy>([wanted.clone()]).when(note.clone(), facts()).then([noted.clone()]);
        given::<Copy>([wanted.clone()])
            .when(note.clone(), CopyFacts { edition_of: Some(BOOK), ..facts() })
            .then([noted.clone()]);
        given::<Copy>([wanted.clone(), noted]).when(note.clone(), facts()).then([]);
        given::<Copy>([wanted])
            .when(note.clone(), CopyFacts { edition_of: Some(Uuid::from_u128(7)), ..facts() })
            .then_refused(Code::NotFound, Some("isbn"));
        given::<Copy>([]).when(note, facts()).then_refused(Code::Conflict, None);
    }
}
