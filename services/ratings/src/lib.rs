//! The ratings service: a reader's 1 to 5 stars for a book. Answers
//! `<ns>.cmd.ratings.rate_book` and `clear_rating`, deciding against
//! `<ns>.events.ratings.<reader_id>.<book_id>`.

pub mod domain;

use readstream_contracts::{catalog, proto::commands::v1 as pb, ratings, ratings::RatingsService, Rejection, Service};
use readstream_eventstore::EventStore;
use readstream_runtime::{
    bus::{self, Sender},
    config::StartError,
    health::{Health, HealthConfig},
    NatsConfig,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::{Rating, RatingCommand, RatingFacts};

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
    let health = Health::new(false);
    health.serve(&config.health, shutdown.clone()).await?;
    let (client, store) = config.nats.event_store(&shutdown).await?;
    health.connected_to_nats(&client);
    bus::Commands::<RatingsService, _>::new(Ratings { store })
        .on(|ratings, request: pb::RateBook, sender| async move {
            let command = match request.quarter_stars {
                0 => RatingCommand::Rate { stars: request.stars },
                quarters => RatingCommand::RateQuarters { quarters },
            };
            ratings.decide(sender, &request.book_id, command).await
        })
        .on(|ratings, request: pb::ClearRating, sender| async move {
            ratings.decide(sender, &request.book_id, RatingCommand::Clear).await
        })
        .serve(client, &config.nats.namespace, shutdown)
        .await
}

fn parse_book_id(value: &str) -> Result<Uuid, Rejection> {
    Uuid::parse_str(value).map_err(|_| Rejection::invalid("bookId", "bookId is not a valid id"))
}

#[derive(Clone)]
struct Ratings {
    store: EventStore,
}

impl Ratings {
    async fn decide(&self, sender: Sender, book_id: &str, command: RatingCommand) -> Result<pb::Reply, Rejection> {
        let Sender { meta, reader_id } = sender;
        let book_id = parse_book_id(book_id)?;
        let book_exists = self.store.exists(&catalog::book(book_id)).await.map_err(|err| bus::unavailable(&err))?;
        let facts = RatingFacts { reader_id, book_id, book_exists };
        let outcome = self.store.decide::<Rating>(&ratings::rating(reader_id, book_id), meta, &command, &facts).await;
        Ok(bus::reply(outcome, book_id))
    }
}
