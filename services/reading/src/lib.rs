//! The reading service: a reader's shelves and reading log for each book. Answers
//! `<ns>.cmd.reading.<command>` (want_to_read, start_reading, update_progress, pause_reading,
//! finish_reading, abandon_reading, remove_from_shelves, add_to_shelf, remove_from_shelf),
//! deciding against `<ns>.events.reading.<reader_id>.<book_id>`.

pub mod domain;

use bytes::Bytes;
use chrono::{NaiveDate, Utc};
use readstream_contracts::{catalog, proto::commands::v1 as pb, reading, Code, Event, Rejection};
use readstream_eventstore::EventStore;
use readstream_runtime::{bus, config::StartError, NatsConfig};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::Command;

pub const SERVICE: &str = "reading";

#[derive(Debug, Clone, clap::Parser)]
#[command(name = "readstream-reading", about = "The reading command service")]
pub struct Config {
    #[command(flatten)]
    pub nats: NatsConfig,
}

pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    let (client, store) = config.nats.event_store().await?;
    bus::serve_commands(client, &config.nats.namespace, SERVICE, Reading { store }, shutdown).await
}

fn date(field: &'static str, value: &str) -> Result<Option<NaiveDate>, Rejection> {
    match value {
        "" => Ok(None),
        value => value
            .parse()
            .map(Some)
            .map_err(|_| Rejection::invalid(field, format!("{field} must be a date (YYYY-MM-DD)"))),
    }
}

/// The command a request names, with the fields that command uses.
fn command(name: &str, request: &pb::ReadingCommand) -> Result<Command, Rejection> {
    Ok(match name {
        "want_to_read" => Command::WantToRead { on: date("on", &request.on)? },
        "start_reading" => Command::StartReading { started_on: date("startedOn", &request.on)? },
        "update_progress" => Command::UpdateProgress {
            on: date("on", &request.on)?,
            page: request.page,
            percent: request.percent,
            note: request.note.clone(),
        },
        "pause_reading" => Command::PauseReading { on: date("on", &request.on)? },
        "finish_reading" => Command::FinishReading { finished_on: date("finishedOn", &request.on)? },
        "abandon_reading" => Command::AbandonReading { on: date("on", &request.on)?, note: request.note.clone() },
        "remove_from_shelves" => Command::RemoveFromShelves,
        "add_to_shelf" => Command::AddToShelf { shelf: request.shelf.clone() },
        "remove_from_shelf" => Command::RemoveFromShelf { shelf: request.shelf.clone() },
        _ => return Err(Rejection::new(Code::InvalidArgument, format!("unknown command {name}"))),
    })
}

#[derive(Clone)]
struct Reading {
    store: EventStore,
}

impl bus::CommandHandler for Reading {
    async fn handle(&self, name: &str, payload: Bytes) -> Result<pb::Reply, Rejection> {
        let request: pb::ReadingCommand = bus::decode(&payload)?;
        let command = command(name, &request)?;
        let meta = bus::metadata(request.meta)?;
        let reader_id = bus::require_actor(&meta)?;
        let book_id =
            Uuid::parse_str(&request.book_id).map_err(|_| Rejection::invalid("bookId", "bookId is not a valid id"))?;
        let facts =
            domain::CopyFacts { reader_id, book_id, today: Utc::now().date_naive(), pages: self.pages(book_id).await? };
        let outcome =
            self.store.decide::<domain::Copy>(&reading::copy(reader_id, book_id), meta, &command, &facts).await;
        Ok(bus::reply(outcome, book_id))
    }
}

impl Reading {
    /// The book's page count from the catalog's events, `None` when there is no such book.
    async fn pages(&self, book_id: Uuid) -> Result<Option<u32>, Rejection> {
        let history = self.store.load(&catalog::book(book_id)).await.map_err(|err| bus::unavailable(&err))?;
        Ok(history.iter().flat_map(|s| &s.envelope.events).find_map(|e| match &e.event {
            Event::BookAdded(book) => Some(book.pages),
            _ => None,
        }))
    }
}
