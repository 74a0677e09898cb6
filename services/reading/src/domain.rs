//! The reading decider: one reader's copy of one book, from "want to read" through every
//! read-through to "read" or "did not finish", plus the reader's own named shelves.
//! Pure: no I/O, tested given/when/then.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use readstream_contracts::{Code, Event, Progress, Rejection};
use readstream_eventstore::Stored;
use uuid::Uuid;

pub const MAX_NOTE: usize = 5_000;
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
}

/// Custom shelves match regardless of case.
pub fn shelf_key(name: &str) -> String {
    name.trim().to_lowercase()
}

impl Copy {
    pub fn evolve(mut self, event: &Event) -> Self {
        match event {
            Event::WantToRead { .. } => self.status = Some(Status::WantToRead),
            Event::ReadingStarted { started_on, read_through, resumed, .. } => {
                self.status = Some(Status::CurrentlyReading);
                self.read_throughs = *read_through;
                if !resumed {
                    self.started_on = Some(*started_on);
                    self.finished_on = None;
                    self.progress = None;
                }
            }
            Event::ProgressUpdated { progress, .. } => self.progress = Some(*progress),
            Event::ReadingPaused { .. } => self.status = Some(Status::Paused),
            Event::ReadingFinished { finished_on, started_on, read_through, .. } => {
                self.status = Some(Status::Read);
                self.read_throughs = *read_through;
                self.read_count += 1;
                self.started_on = *started_on;
                self.finished_on = Some(*finished_on);
            }
            Event::ReadingAbandoned { read_through, .. } => {
                self.status = Some(Status::DidNotFinish);
                self.read_throughs = *read_through;
            }
            Event::RemovedFromShelves { .. } => {
                self.status = None;
                self.progress = None;
                self.shelves.clear();
            }
            Event::AddedToShelf { shelf, .. } => {
                self.shelves.insert(shelf_key(shelf), shelf.clone());
            }
            Event::RemovedFromShelf { shelf, .. } => {
                self.shelves.remove(&shelf_key(shelf));
            }
            _ => {}
        }
        self
    }

    pub fn fold(history: &[Stored]) -> Self {
        history.iter().flat_map(|s| &s.envelope.events).fold(Self::default(), |state, e| state.evolve(&e.event))
    }

    fn reading(&self) -> bool {
        matches!(self.status, Some(Status::CurrentlyReading | Status::Paused))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    WantToRead { on: Option<NaiveDate> },
    StartReading { started_on: Option<NaiveDate> },
    UpdateProgress { on: Option<NaiveDate>, page: Option<i32>, percent: Option<i32>, note: String },
    PauseReading { on: Option<NaiveDate> },
    FinishReading { finished_on: Option<NaiveDate> },
    AbandonReading { on: Option<NaiveDate>, note: String },
    RemoveFromShelves,
    AddToShelf { shelf: String },
    RemoveFromShelf { shelf: String },
}

/// What a decision needs besides the copy's own events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    pub reader_id: Uuid,
    pub book_id: Uuid,
    pub today: NaiveDate,
    /// The book's page count, `None` when the catalog has no such book.
    pub pages: Option<u32>,
}

fn day(field: &'static str, date: Option<NaiveDate>, today: NaiveDate) -> Result<NaiveDate, Rejection> {
    let date = date.unwrap_or(today);
    if date > today {
        return Err(Rejection::invalid(field, format!("{field} {date} is in the future")));
    }
    Ok(date)
}

fn note(text: String) -> Result<String, Rejection> {
    if text.chars().count() > MAX_NOTE {
        return Err(Rejection::invalid("note", format!("a note has at most {MAX_NOTE} characters")));
    }
    Ok(text.trim().to_owned())
}

fn not_before_start(field: &'static str, date: NaiveDate, state: &Copy) -> Result<(), Rejection> {
    match state.started_on {
        Some(started_on) if state.reading() && date < started_on => {
            Err(Rejection::invalid(field, format!("{field} {date} is before you started reading on {started_on}")))
        }
        _ => Ok(()),
    }
}

/// Decides a command. Repeating one that changes nothing is accepted and appends nothing.
pub fn decide(state: &Copy, command: Command, ctx: &Context) -> Result<Vec<Event>, Rejection> {
    let Some(pages) = ctx.pages else {
        return Err(Rejection::not_found("bookId", "no book with this id"));
    };
    let (reader_id, book_id) = (ctx.reader_id, ctx.book_id);
    let resume_or_start = |started_on: NaiveDate| match state.status {
        Some(Status::Paused) => Event::ReadingStarted {
            reader_id,
            book_id,
            started_on: state.started_on.unwrap_or(started_on),
            read_through: state.read_throughs,
            resumed: true,
        },
        _ => Event::ReadingStarted {
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
    match command {
        Command::WantToRead { on } => {
            let on = day("on", on, ctx.today)?;
            if state.status == Some(Status::WantToRead) {
                return Ok(vec![]);
            }
            Ok(vec![Event::WantToRead { reader_id, book_id, on }])
        }
        Command::StartReading { started_on } => {
            let started_on = day("startedOn", started_on, ctx.today)?;
            if state.status == Some(Status::CurrentlyReading) {
                return Ok(vec![]);
            }
            Ok(vec![resume_or_start(started_on)])
        }
        Command::UpdateProgress { on, page, percent, note: text } => {
            let on = day("on", on, ctx.today)?;
            let progress = match (page, percent) {
                (Some(page), None) => match u32::try_from(page) {
                    Ok(page) if page <= pages => Progress::Page(page),
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
            let note = note(text)?;
            not_before_start("on", on, state)?;
            if state.status == Some(Status::CurrentlyReading) && state.progress == Some(progress) && note.is_empty() {
                return Ok(vec![]);
            }
            let mut events = Vec::new();
            let mut read_through = state.read_throughs;
            if state.status != Some(Status::CurrentlyReading) {
                let start = resume_or_start(on);
                if let Event::ReadingStarted { read_through: started, .. } = start {
                    read_through = started;
                }
                events.push(start);
            }
            events.push(Event::ProgressUpdated { reader_id, book_id, on, progress, note, read_through });
            Ok(events)
        }
        Command::PauseReading { on } => {
            let on = day("on", on, ctx.today)?;
            match state.status {
                Some(Status::Paused) => Ok(vec![]),
                Some(Status::CurrentlyReading) => {
                    not_before_start("on", on, state)?;
                    Ok(vec![Event::ReadingPaused { reader_id, book_id, on, read_through: state.read_throughs }])
                }
                _ => Err(Rejection::new(Code::Conflict, "you are not reading this book, so it cannot be paused")),
            }
        }
        Command::FinishReading { finished_on } => {
            let finished_on = day("finishedOn", finished_on, ctx.today)?;
            if state.status == Some(Status::Read) {
                return Ok(vec![]);
            }
            not_before_start("finishedOn", finished_on, state)?;
            let started_on = if state.reading() { state.started_on } else { None };
            Ok(vec![Event::ReadingFinished { reader_id, book_id, finished_on, started_on, read_through }])
        }
        Command::AbandonReading { on, note: text } => {
            let on = day("on", on, ctx.today)?;
            let note = note(text)?;
            if state.status == Some(Status::DidNotFinish) {
                return Ok(vec![]);
            }
            not_before_start("on", on, state)?;
            Ok(vec![Event::ReadingAbandoned { reader_id, book_id, on, note, read_through }])
        }
        Command::RemoveFromShelves => {
            if state.status.is_none() && state.shelves.is_empty() {
                return Ok(vec![]);
            }
            Ok(vec![Event::RemovedFromShelves { reader_id, book_id, on: ctx.today }])
        }
        Command::AddToShelf { shelf } => {
            let shelf = shelf.trim().to_owned();
            let length = shelf.chars().count();
            if length == 0 || length > MAX_SHELF_NAME || shelf.chars().any(char::is_control) {
                return Err(Rejection::invalid(
                    "name",
                    format!("a shelf name has 1 to {MAX_SHELF_NAME} printable characters"),
                ));
            }
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
            Ok(vec![Event::AddedToShelf { reader_id, book_id, shelf }])
        }
        Command::RemoveFromShelf { shelf } => match state.shelves.get(&shelf_key(&shelf)) {
            Some(name) => Ok(vec![Event::RemovedFromShelf { reader_id, book_id, shelf: name.clone() }]),
            None => Ok(vec![]),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn ctx() -> Context {
        Context { reader_id: Uuid::nil(), book_id: Uuid::max(), today: date("2026-11-26"), pages: Some(400) }
    }

    /// Given these commands (each must be accepted), when this one, then what it decides.
    fn given(commands: Vec<Command>) -> Copy {
        commands.into_iter().fold(Copy::default(), |state, command| {
            let events = decide(&state, command.clone(), &ctx()).unwrap_or_else(|r| panic!("{command:?} refused: {r}"));
            events.iter().fold(state, Copy::evolve)
        })
    }

    fn start(on: &str) -> Command {
        Command::StartReading { started_on: Some(date(on)) }
    }

    fn finish(on: &str) -> Command {
        Command::FinishReading { finished_on: Some(date(on)) }
    }

    fn page(page: i32) -> Command {
        Command::UpdateProgress { on: None, page: Some(page), percent: None, note: String::new() }
    }

    fn refusal(state: &Copy, command: Command) -> (Code, Option<&'static str>) {
        match decide(state, command, &ctx()) {
            Err(r) => (r.code, r.field),
            Ok(events) => panic!("expected a refusal, got {events:?}"),
        }
    }

    #[test]
    fn the_built_in_statuses_are_exclusive() {
        let state = given(vec![Command::WantToRead { on: None }]);
        assert_eq!(state.status, Some(Status::WantToRead));
        let state = given(vec![Command::WantToRead { on: None }, start("2026-01-01")]);
        assert_eq!(state.status, Some(Status::CurrentlyReading));
        let state = given(vec![start("2026-01-01"), Command::PauseReading { on: None }]);
        assert_eq!(state.status, Some(Status::Paused));
        let state = given(vec![start("2026-01-01"), Command::AbandonReading { on: None, note: String::new() }]);
        assert_eq!(state.status, Some(Status::DidNotFinish));
        let state = given(vec![start("2026-01-01"), Command::RemoveFromShelves]);
        assert_eq!(state.status, None);
    }

    #[test]
    fn given_a_read_book_when_started_again_then_a_new_read_through_raises_the_read_count() {
        let state = given(vec![start("2025-01-01"), finish("2025-02-01")]);
        assert_eq!((state.read_count, state.read_throughs), (1, 1));
        let events = decide(&state, start("2026-03-01"), &ctx()).unwrap();
        assert_eq!(
            events,
            vec![Event::ReadingStarted {
                reader_id: Uuid::nil(),
                book_id: Uuid::max(),
                started_on: date("2026-03-01"),
                read_through: 2,
                resumed: false
            }]
        );
        let state = given(vec![start("2025-01-01"), finish("2025-02-01"), start("2026-03-01"), finish("2026-04-01")]);
        assert_eq!((state.read_count, state.read_throughs, state.status), (2, 2, Some(Status::Read)));
    }

    #[test]
    fn given_a_paused_book_when_progress_is_updated_then_it_resumes_the_same_read_through() {
        let state = given(vec![start("2026-01-01"), page(50), Command::PauseReading { on: None }]);
        let events = decide(&state, page(60), &ctx()).unwrap();
        assert!(matches!(
            events.as_slice(),
            [
                Event::ReadingStarted { resumed: true, read_through: 1, .. },
                Event::ProgressUpdated { progress: Progress::Page(60), read_through: 1, .. }
            ]
        ));
    }

    #[test]
    fn given_want_to_read_when_progress_is_updated_then_reading_starts() {
        let state = given(vec![Command::WantToRead { on: None }]);
        let events = decide(&state, page(10), &ctx()).unwrap();
        assert!(matches!(
            events.as_slice(),
            [Event::ReadingStarted { resumed: false, read_through: 1, .. }, Event::ProgressUpdated { .. }]
        ));
    }

    #[test]
    fn repeating_a_command_that_changes_nothing_appends_nothing() {
        let cases = vec![
            (vec![Command::WantToRead { on: None }], Command::WantToRead { on: None }),
            (vec![start("2026-01-01")], start("2026-01-01")),
            (vec![start("2026-01-01"), page(10)], page(10)),
            (vec![start("2026-01-01"), Command::PauseReading { on: None }], Command::PauseReading { on: None }),
            (vec![finish("2026-01-01")], finish("2026-01-02")),
            (
                vec![Command::AbandonReading { on: None, note: String::new() }],
                Command::AbandonReading { on: None, note: String::new() },
            ),
            (vec![], Command::RemoveFromShelves),
            (vec![Command::AddToShelf { shelf: "Russia".into() }], Command::AddToShelf { shelf: " russia ".into() }),
            (vec![], Command::RemoveFromShelf { shelf: "russia".into() }),
        ];
        for (history, command) in cases {
            let state = given(history);
            assert_eq!(decide(&state, command.clone(), &ctx()), Ok(vec![]), "{command:?}");
        }
    }

    #[test]
    fn progress_stays_within_the_book() {
        let state = given(vec![start("2026-01-01")]);
        assert_eq!(refusal(&state, page(401)), (Code::InvalidArgument, Some("page")));
        assert_eq!(refusal(&state, page(-1)), (Code::InvalidArgument, Some("page")));
        let percent = |p| Command::UpdateProgress { on: None, page: None, percent: Some(p), note: String::new() };
        assert_eq!(refusal(&state, percent(101)), (Code::InvalidArgument, Some("percent")));
        let both = Command::UpdateProgress { on: None, page: Some(1), percent: Some(1), note: String::new() };
        assert_eq!(refusal(&state, both), (Code::InvalidArgument, Some("page")));
        assert!(decide(&state, page(400), &ctx()).is_ok());
        assert!(decide(&state, percent(100), &ctx()).is_ok());
    }

    #[test]
    fn dates_are_not_in_the_future_and_a_finish_is_not_before_its_start() {
        assert_eq!(refusal(&Copy::default(), start("2027-01-01")), (Code::InvalidArgument, Some("startedOn")));
        let state = given(vec![start("2026-05-01")]);
        assert_eq!(refusal(&state, finish("2026-04-30")), (Code::InvalidArgument, Some("finishedOn")));
        assert_eq!(refusal(&state, finish("2026-12-01")), (Code::InvalidArgument, Some("finishedOn")));
        assert!(decide(&state, finish("2026-05-01"), &ctx()).is_ok());
    }

    #[test]
    fn an_unknown_book_is_not_found_and_pausing_an_unread_book_conflicts() {
        let unknown = Context { pages: None, ..ctx() };
        assert_eq!(decide(&Copy::default(), start("2026-01-01"), &unknown).map_err(|r| r.code), Err(Code::NotFound));
        assert_eq!(refusal(&Copy::default(), Command::PauseReading { on: None }).0, Code::Conflict);
    }

    #[test]
    fn custom_shelves_match_regardless_of_case_and_built_in_names_are_reserved() {
        let state = given(vec![Command::AddToShelf { shelf: "Soviet History".into() }]);
        let events = decide(&state, Command::RemoveFromShelf { shelf: "soviet history".into() }, &ctx()).unwrap();
        assert!(matches!(events.as_slice(), [Event::RemovedFromShelf { shelf, .. }] if shelf == "Soviet History"));
        assert_eq!(
            refusal(&state, Command::AddToShelf { shelf: "Currently-Reading".into() }),
            (Code::InvalidArgument, Some("name"))
        );
        assert_eq!(refusal(&state, Command::AddToShelf { shelf: "  ".into() }), (Code::InvalidArgument, Some("name")));
    }
}
