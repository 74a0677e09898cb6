//! The ratings service: a reader's 1 to 5 stars for a book. Answers
//! `<ns>.cmd.ratings.rate_book` and `clear_rating`, deciding against
//! `<ns>.events.ratings.<reader_id>.<book_id>`.

pub mod domain;

use bytes::Bytes;
use readstream_contracts::{catalog, proto::commands::v1 as pb, ratings, Code, Rejection};
use readstream_eventstore::EventStore;
use readstream_runtime::{bus, config::StartError, NatsConfig};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const SERVICE: &str = "ratings";

#[derive(Debug, Clone, clap::Parser)]
#[command(name = "readstream-ratings", about = "The ratings command service")]
pub struct Config {
    #[command(flatten)]
    pub nats: NatsConfig,
}

pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    let (client, store) = config.nats.event_store().await?;
    bus::serve_commands(client, &config.nats.namespace, SERVICE, Ratings { store }, shutdown).await
}

fn parse_book_id(value: &str) -> Result<Uuid, Rejection> {
    Uuid::parse_str(value).map_err(|_| Rejection::invalid("bookId", "bookId is not a valid id"))
}

#[derive(Clone)]
struct Ratings {
    store: EventStore,
}

impl bus::CommandHandler for Ratings {
    async fn handle(&self, command: &str, payload: Bytes) -> Result<pb::Reply, Rejection> {
        match command {
            "rate_book" => self.rate_book(payload).await,
            "clear_rating" => self.clear_rating(payload).await,
            _ => Err(Rejection::new(Code::InvalidArgument, format!("unknown command {command}"))),
        }
    }
}

impl Ratings {
    async fn rate_book(&self, payload: Bytes) -> Result<pb::Reply, Rejection> {
        let request: pb::RateBook = bus::decode(&payload)?;
        let meta = bus::metadata(request.meta)?;
        let reader_id = bus::require_actor(&meta)?;
        let book_id = parse_book_id(&request.book_id)?;
        let book_exists = self.store.exists(&catalog::book(book_id)).await.map_err(|err| bus::unavailable(&err))?;
        let command = domain::RateBook { reader_id, book_id, stars: request.stars, book_exists };
        let outcome = self
            .store
            .execute(&ratings::rating(reader_id, book_id), meta, |history| {
                domain::rate_book(&domain::Rating::fold(history), command)
            })
            .await;
        Ok(bus::reply(outcome, book_id))
    }

    async fn clear_rating(&self, payload: Bytes) -> Result<pb::Reply, Rejection> {
        let request: pb::ClearRating = bus::decode(&payload)?;
        let meta = bus::metadata(request.meta)?;
        let reader_id = bus::require_actor(&meta)?;
        let book_id = parse_book_id(&request.book_id)?;
        let command = domain::ClearRating { reader_id, book_id };
        let outcome = self
            .store
            .execute(&ratings::rating(reader_id, book_id), meta, |history| {
                domain::clear_rating(&domain::Rating::fold(history), command)
            })
            .await;
        Ok(bus::reply(outcome, book_id))
    }
}
