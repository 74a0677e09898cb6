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

use crate::domain::{Rating, RatingCommand, RatingFacts};

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
        let command = RatingCommand::Rate { stars: request.stars };
        self.decide(request.meta, &request.book_id, command).await
    }

    async fn clear_rating(&self, payload: Bytes) -> Result<pb::Reply, Rejection> {
        let request: pb::ClearRating = bus::decode(&payload)?;
        self.decide(request.meta, &request.book_id, RatingCommand::Clear).await
    }

    async fn decide(
        &self,
        meta: Option<pb::CommandMeta>,
        book_id: &str,
        command: RatingCommand,
    ) -> Result<pb::Reply, Rejection> {
        let meta = bus::metadata(meta)?;
        let reader_id = bus::require_actor(&meta)?;
        let book_id = parse_book_id(book_id)?;
        let book_exists = self.store.exists(&catalog::book(book_id)).await.map_err(|err| bus::unavailable(&err))?;
        let facts = RatingFacts { reader_id, book_id, book_exists };
        let outcome = self.store.decide::<Rating>(&ratings::rating(reader_id, book_id), meta, &command, &facts).await;
        Ok(bus::reply(outcome, book_id))
    }
}
