//! The ratings service: a reader's 1 to 5 stars for a book. Answers
//! `<ns>.cmd.ratings.rate_book` and `clear_rating`, deciding against
//! `<ns>.events.ratings.<reader_id>.<book_id>`, and `describe_book` (moods, pace, content
//! warnings) against `<ns>.events.ratings.<reader_id>.<book_id>.survey`.

pub mod domain;
pub mod survey;

use readstream_contracts::{
    catalog, input,
    proto::commands::v1 as pb,
    ratings::{self, RatingsRoutes, RatingsService},
    Identified, Rejection, Sender, Service,
};
use readstream_eventstore::EventStore;
use readstream_runtime::{bus, config::StartError, health::HealthConfig, service::CommandService, NatsConfig};
use tokio_util::sync::CancellationToken;

use crate::{
    domain::{Rating, RatingCommand, RatingFacts},
    survey::{Answers, Describe},
};

pub const SERVICE: &str = RatingsService::NAME;

#[derive(Debug, Clone, clap::Parser)]
#[command(name = "readstream-ratings", about = "The ratings command service")]
pub struct Config {
    #[command(flatten)]
    pub nats: NatsConfig,
    #[command(flatten)]
    pub health: HealthConfig,
}

pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    let service = CommandService::start(&config.nats, &config.health, &shutdown).await?;
    let ratings = Ratings { store: service.store.clone() };
    service.answer::<RatingsService, _>(ratings).await
}

#[derive(Clone)]
struct Ratings {
    store: EventStore,
}

impl RatingsRoutes for Ratings {
    async fn rate_book(&self, request: pb::RateBook, sender: Sender) -> Result<Identified, Rejection> {
        let command = match request.quarter_stars {
            0 => RatingCommand::Rate { stars: request.stars },
            quarters => RatingCommand::RateQuarters { quarters },
        };
        self.decide(sender, &request.book_id, command).await
    }

    async fn clear_rating(&self, request: pb::ClearRating, sender: Sender) -> Result<Identified, Rejection> {
        self.decide(sender, &request.book_id, RatingCommand::Clear).await
    }

    async fn describe_book(&self, request: pb::DescribeBook, sender: Sender) -> Result<Identified, Rejection> {
        let Sender { meta, reader_id } = sender;
        let book_id = input::id("bookId", &request.book_id)?;
        let command = Describe { moods: request.moods, pace: request.pace, content_warnings: request.content_warnings };
        let facts = RatingFacts { reader_id, book_id, book_exists: self.book_exists(book_id).await? };
        let outcome = self.store.decide::<Answers>(&ratings::survey(reader_id, book_id), meta, &command, &facts).await;
        Ok(Identified { id: book_id, recorded: bus::recorded(outcome)? })
    }
}

impl Ratings {
    async fn book_exists(&self, book_id: uuid::Uuid) -> Result<bool, Rejection> {
        self.store.exists(&catalog::book(book_id)).await.map_err(|err| bus::unavailable(&err))
    }

    async fn decide(&self, sender: Sender, book_id: &str, command: RatingCommand) -> Result<Identified, Rejection> {
        let Sender { meta, reader_id } = sender;
        let book_id = input::id("bookId", book_id)?;
        let facts = RatingFacts { reader_id, book_id, book_exists: self.book_exists(book_id).await? };
        let outcome = self.store.decide::<Rating>(&ratings::rating(reader_id, book_id), meta, &command, &facts).await;
        Ok(Identified { id: book_id, recorded: bus::recorded(outcome)? })
    }
}
