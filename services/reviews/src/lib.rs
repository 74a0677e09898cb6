//! The reviews service: reviews, likes and comments. Answers `<ns>.cmd.reviews.<command>`
//! (publish_review, edit_review, withdraw_review, like_review, unlike_review,
//! comment_on_review, delete_comment), deciding against `<ns>.events.reviews.<author>.<book>`
//! and, for likes and comments, the subjects below it.

pub mod domain;

use bytes::Bytes;
use chrono::Utc;
use readstream_contracts::{catalog, proto::commands::v1 as pb, review_id, reviews, Code, Rejection};
use readstream_eventstore::EventStore;
use readstream_runtime::{bus, config::StartError, NatsConfig};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::{
    Comment, CommentCommand, CommentFacts, Like, LikeCommand, LikeFacts, Review, ReviewCommand, ReviewFacts,
};

pub const SERVICE: &str = "reviews";

#[derive(Debug, Clone, clap::Parser)]
#[command(name = "readstream-reviews", about = "The reviews command service")]
pub struct Config {
    #[command(flatten)]
    pub nats: NatsConfig,
}

pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    let (client, store) = config.nats.event_store().await?;
    bus::serve_commands(client, &config.nats.namespace, SERVICE, Reviews { store }, shutdown).await
}

fn id(field: &'static str, value: &str) -> Result<Uuid, Rejection> {
    Uuid::parse_str(value).map_err(|_| Rejection::invalid(field, format!("{field} is not a valid id")))
}

#[derive(Clone)]
struct Reviews {
    store: EventStore,
}

impl bus::CommandHandler for Reviews {
    async fn handle(&self, name: &str, payload: Bytes) -> Result<pb::Reply, Rejection> {
        let request: pb::ReviewCommand = bus::decode(&payload)?;
        let meta = bus::metadata(request.meta.clone())?;
        let reader_id = bus::require_actor(&meta)?;
        let book_id = id("bookId", &request.book_id)?;
        let review = match name {
            "publish_review" => Some(ReviewCommand::Publish {
                body: request.body.clone().unwrap_or_default(),
                contains_spoilers: request.contains_spoilers.unwrap_or(false),
                written_on: match request.written_on.as_str() {
                    "" => None,
                    date => Some(
                        date.parse()
                            .map_err(|_| Rejection::invalid("writtenOn", "writtenOn must be a date (YYYY-MM-DD)"))?,
                    ),
                },
            }),
            "edit_review" => {
                Some(ReviewCommand::Edit { body: request.body.clone(), contains_spoilers: request.contains_spoilers })
            }
            "withdraw_review" => Some(ReviewCommand::Withdraw),
            _ => None,
        };
        if let Some(command) = review {
            // Only its author edits or withdraws a review.
            if !request.author_id.is_empty() && id("reviewId", &request.author_id)? != reader_id {
                return Err(Rejection::new(Code::PermissionDenied, "only its author can change a review"));
            }
            let book_exists = self.store.exists(&catalog::book(book_id)).await.map_err(|e| bus::unavailable(&e))?;
            let facts = ReviewFacts { reader_id, book_id, today: Utc::now().date_naive(), book_exists };
            let outcome =
                self.store.decide::<Review>(&reviews::review(reader_id, book_id), meta, &command, &facts).await;
            return Ok(bus::reply(outcome, review_id(reader_id, book_id)));
        }

        let author_id = id("reviewId", &request.author_id)?;
        let review: Review =
            self.store.state(&reviews::review(author_id, book_id)).await.map_err(|e| bus::unavailable(&e))?;
        let review_live = review.live();
        let review_id = review_id(author_id, book_id);
        let outcome = match name {
            "like_review" | "unlike_review" => {
                let command = if name == "like_review" { LikeCommand::Like } else { LikeCommand::Unlike };
                let facts = LikeFacts { review_id, author_id, liker_id: reader_id, review_live };
                let like = reviews::like(author_id, book_id, reader_id);
                self.store.decide::<Like>(&like, meta, &command, &facts).await
            }
            "comment_on_review" | "delete_comment" => {
                let (command, comment_id) = match name {
                    "comment_on_review" => (
                        CommentCommand::Write { body: request.body.clone().unwrap_or_default() },
                        Uuid::new_v5(&meta.command_id, b"comment"),
                    ),
                    _ => (CommentCommand::Delete, id("commentId", &request.comment_id)?),
                };
                let facts = CommentFacts { review_id, comment_id, reader_id, review_live };
                let comment = reviews::comment(author_id, book_id, comment_id);
                let outcome = self.store.decide::<Comment>(&comment, meta, &command, &facts).await;
                return Ok(bus::reply(outcome, comment_id));
            }
            _ => return Err(Rejection::new(Code::InvalidArgument, format!("unknown command {name}"))),
        };
        Ok(bus::reply(outcome, review_id))
    }
}
