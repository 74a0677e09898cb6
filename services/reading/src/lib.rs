//! The reading service: a reader's shelves and reading log for each book. Answers
//! `<ns>.cmd.reading.<command>` (want_to_read, start_reading, update_progress, pause_reading,
//! finish_reading, abandon_reading, remove_from_shelves, add_to_shelf, remove_from_shelf,
//! choose_edition, note_isbn),
//! deciding against `<ns>.events.reading.<reader_id>.<book_id>`.

pub mod domain;

use chrono::Utc;
use readstream_contracts::{
    catalog, input, proto::commands::v1 as pb, reading, reading::ReadingService, CatalogEvent, Event, Isbn, Rejection,
    Service,
};
use readstream_eventstore::EventStore;
use readstream_runtime::{
    bus::{self, Sender},
    config::StartError,
    health::{Health, HealthConfig},
    NatsConfig,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::Command;

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
    let health = Health::new(false);
    health.serve(&config.health, shutdown.clone()).await?;
    let (client, store) = config.nats.event_store(&shutdown).await?;
    health.connected_to_nats(&client);
    bus::Commands::<ReadingService, _>::new(Reading { store })
        .on(|reading, r: pb::WantToRead, sender| async move {
            reading.decide(sender, &r.book_id, Command::WantToRead { on: input::parse_date("on", &r.on)? }).await
        })
        .on(|reading, r: pb::StartReading, sender| async move {
            let command = Command::StartReading { started_on: input::parse_date("startedOn", &r.started_on)? };
            reading.decide(sender, &r.book_id, command).await
        })
        .on(|reading, r: pb::UpdateProgress, sender| async move {
            let command = Command::UpdateProgress {
                on: input::parse_date("on", &r.on)?,
                page: r.page,
                percent: r.percent,
                note: r.note,
            };
            reading.decide(sender, &r.book_id, command).await
        })
        .on(|reading, r: pb::PauseReading, sender| async move {
            reading.decide(sender, &r.book_id, Command::PauseReading { on: input::parse_date("on", &r.on)? }).await
        })
        .on(|reading, r: pb::FinishReading, sender| async move {
            let command = Command::FinishReading { finished_on: input::parse_date("finishedOn", &r.finished_on)? };
            reading.decide(sender, &r.book_id, command).await
        })
        .on(|reading, r: pb::AbandonReading, sender| async move {
            let command = Command::AbandonReading { on: input::parse_date("on", &r.on)?, note: r.note };
            reading.decide(sender, &r.book_id, command).await
        })
        .on(|reading, r: pb::RemoveFromShelves, sender| async move {
            reading.decide(sender, &r.book_id, Command::RemoveFromShelves).await
        })
        .on(|reading, r: pb::AddToShelf, sender| async move {
            reading.decide(sender, &r.book_id, Command::AddToShelf { shelf: r.shelf }).await
        })
        .on(|reading, r: pb::RemoveFromShelf, sender| async move {
            reading.decide(sender, &r.book_id, Command::RemoveFromShelf { shelf: r.shelf }).await
        })
        .on(|reading, r: pb::ChooseEdition, sender| async move {
            let isbn = match r.isbn.trim() {
                "" => None,
                isbn => Some(Isbn::parse("isbn", isbn)?),
            };
            reading.decide(sender, &r.book_id, Command::ChooseEdition { isbn }).await
        })
        .on(|reading, r: pb::NoteIsbn, sender| async move {
            let isbn = Isbn::parse("isbn", r.isbn.trim())?;
            reading.decide(sender, &r.book_id, Command::NoteIsbn { isbn }).await
        })
        .serve(client, &config.nats.namespace, shutdown)
        .await
}

#[derive(Clone)]
struct Reading {
    store: EventStore,
}

impl Reading {
    async fn decide(&self, sender: Sender, book_id: &str, command: Command) -> Result<pb::Reply, Rejection> {
        let Sender { meta, reader_id } = sender;
        let book_id = Uuid::parse_str(book_id).map_err(|_| Rejection::invalid("bookId", "bookId is not a valid id"))?;
        let edition_of = match &command {
            Command::ChooseEdition { isbn: Some(isbn) } | Command::NoteIsbn { isbn } => self.edition_of(*isbn).await?,
            _ => None,
        };
        let today = Utc::now().date_naive();
        let facts = domain::CopyFacts { reader_id, book_id, today, pages: self.pages(book_id).await?, edition_of };
        let outcome =
            self.store.decide::<domain::Copy>(&reading::copy(reader_id, book_id), meta, &command, &facts).await;
        Ok(bus::reply(outcome, book_id))
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
