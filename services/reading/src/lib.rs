//! The reading service: a reader's shelves and reading log for each book. Answers
//! `<ns>.cmd.reading.<command>` (want_to_read, start_reading, update_progress, pause_reading,
//! finish_reading, abandon_reading, remove_from_shelves, add_to_shelf, remove_from_shelf,
//! choose_edition, note_isbn),
//! deciding against `<ns>.events.reading.<reader_id>.<book_id>`; and `set_reading_goal`,
//! `remove_reading_goal`, against `<ns>.events.goals.<reader_id>.<year>`.

pub mod domain;
pub mod goal;

use chrono::Utc;
use readstream_contracts::{
    catalog, input,
    proto::commands::v1 as pb,
    reading::{self, ReadingRoutes, ReadingService},
    CatalogEvent, Event, Identified, Isbn, Rejection, Sender, Service,
};
use readstream_eventstore::EventStore;
use readstream_runtime::{bus, config::StartError, health::HealthConfig, service::CommandService, NatsConfig};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    domain::Command,
    goal::{Goal, GoalCommand, GoalFacts},
};

pub const SERVICE: &str = ReadingService::NAME;

#[derive(Debug, Clone, clap::Parser)]
#[command(name = "readstream-reading", about = "The reading command service")]
pub struct Config {
    #[command(flatten)]
    pub nats: NatsConfig,
    #[command(flatten)]
    pub health: HealthConfig,
}

pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    let service = CommandService::start(&config.nats, &config.health, &shutdown).await?;
    let reading = Reading { store: service.store.clone() };
    service.answer::<ReadingService, _>(reading).await
}

#[derive(Clone)]
struct Reading {
    store: EventStore,
}

impl Reading {
    async fn decide(&self, sender: Sender, book_id: &str, command: Command) -> Result<Identified, Rejection> {
        let Sender { meta, reader_id } = sender;
        let book_id = input::id("bookId", book_id)?;
        let edition_of = match &command {
            Command::ChooseEdition { isbn: Some(isbn) } | Command::NoteIsbn { isbn } => self.edition_of(*isbn).await?,
            _ => None,
        };
        let today = Utc::now().date_naive();
        let facts = domain::CopyFacts { reader_id, book_id, today, pages: self.pages(book_id).await?, edition_of };
        let outcome =
            self.store.decide::<domain::Copy>(&reading::copy(reader_id, book_id), meta, &command, &facts).await;
        Ok(Identified { id: book_id, recorded: bus::recorded(outcome)? })
    }

    /// Decides a command of the sender's goal for `year`.
    async fn decide_goal(&self, sender: Sender, year: i32, command: GoalCommand) -> Result<Identified, Rejection> {
        let Sender { meta, reader_id } = sender;
        let year = goal::valid_year(year)?;
        let facts = GoalFacts { reader_id, year };
        let outcome = self.store.decide::<Goal>(&reading::goal(reader_id, year), meta, &command, &facts).await;
        Ok(Identified { id: reader_id, recorded: bus::recorded(outcome)? })
    }

    /// The book an ISBN is an edition of, from the edition's own subject.
    async fn edition_of(&self, isbn: Isbn) -> Result<Option<Uuid>, Rejection> {
        let history = self.store.load(&catalog::edition(isbn)).await.map_err(|err| bus::unavailable(&err))?;
        Ok(history.iter().flat_map(|s| &s.envelope.events).find_map(|e| match &e.event {
            Event::Catalog(CatalogEvent::EditionAdded(edition)) => Some(edition.book_id),
            _ => None,
        }))
    }

    /// The book's page count from the catalog's events (as added, or after its last edit),
    /// `None` when there is no such book.
    async fn pages(&self, book_id: Uuid) -> Result<Option<u32>, Rejection> {
        let history = self.store.load(&catalog::book(book_id)).await.map_err(|err| bus::unavailable(&err))?;
        Ok(history.iter().flat_map(|s| &s.envelope.events).fold(None, |pages, e| match &e.event {
            Event::Catalog(CatalogEvent::BookAdded(book) | CatalogEvent::BookEdited(book)) => Some(book.pages),
            _ => pages,
        }))
    }
}

impl ReadingRoutes for Reading {
    async fn want_to_read(&self, r: pb::WantToRead, sender: Sender) -> Result<Identified, Rejection> {
        self.decide(sender, &r.book_id, Command::WantToRead { on: input::parse_date("on", &r.on)? }).await
    }

    async fn start_reading(&self, r: pb::StartReading, sender: Sender) -> Result<Identified, Rejection> {
        let command = Command::StartReading { started_on: input::parse_date("startedOn", &r.started_on)? };
        self.decide(sender, &r.book_id, command).await
    }

    async fn update_progress(&self, r: pb::UpdateProgress, sender: Sender) -> Result<Identified, Rejection> {
        let command = Command::UpdateProgress {
            on: input::parse_date("on", &r.on)?,
            page: r.page,
            percent: r.percent,
            note: r.note,
        };
        self.decide(sender, &r.book_id, command).await
    }

    async fn pause_reading(&self, r: pb::PauseReading, sender: Sender) -> Result<Identified, Rejection> {
        self.decide(sender, &r.book_id, Command::PauseReading { on: input::parse_date("on", &r.on)? }).await
    }

    async fn finish_reading(&self, r: pb::FinishReading, sender: Sender) -> Result<Identified, Rejection> {
        let finished_on = input::parse_date("finishedOn", &r.finished_on)?;
        let command = Command::FinishReading { finished_on, reread: r.reread };
        self.decide(sender, &r.book_id, command).await
    }

    async fn abandon_reading(&self, r: pb::AbandonReading, sender: Sender) -> Result<Identified, Rejection> {
        let command = Command::AbandonReading { on: input::parse_date("on", &r.on)?, note: r.note };
        self.decide(sender, &r.book_id, command).await
    }

    async fn remove_from_shelves(&self, r: pb::RemoveFromShelves, sender: Sender) -> Result<Identified, Rejection> {
        self.decide(sender, &r.book_id, Command::RemoveFromShelves).await
    }

    async fn add_to_shelf(&self, r: pb::AddToShelf, sender: Sender) -> Result<Identified, Rejection> {
        self.decide(sender, &r.book_id, Command::AddToShelf { shelf: r.shelf }).await
    }

    async fn remove_from_shelf(&self, r: pb::RemoveFromShelf, sender: Sender) -> Result<Identified, Rejection> {
        self.decide(sender, &r.book_id, Command::RemoveFromShelf { shelf: r.shelf }).await
    }

    async fn choose_edition(&self, r: pb::ChooseEdition, sender: Sender) -> Result<Identified, Rejection> {
        let isbn = match r.isbn.trim() {
            "" => None,
            isbn => Some(Isbn::parse("isbn", isbn)?),
        };
        self.decide(sender, &r.book_id, Command::ChooseEdition { isbn }).await
    }

    async fn note_isbn(&self, r: pb::NoteIsbn, sender: Sender) -> Result<Identified, Rejection> {
        let isbn = Isbn::parse("isbn", r.isbn.trim())?;
        self.decide(sender, &r.book_id, Command::NoteIsbn { isbn }).await
    }

    async fn set_reading_goal(&self, r: pb::SetReadingGoal, sender: Sender) -> Result<Identified, Rejection> {
        self.decide_goal(sender, r.year, GoalCommand::Set { books: r.books }).await
    }

    async fn remove_reading_goal(&self, r: pb::RemoveReadingGoal, sender: Sender) -> Result<Identified, Rejection> {
        self.decide_goal(sender, r.year, GoalCommand::Remove).await
    }
}
