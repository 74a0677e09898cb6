//! The reviews service: reviews, likes and comments. Answers `<ns>.cmd.reviews.<command>`
//! (publish_review, edit_review, withdraw_review, like_review, unlike_review,
//! comment_on_review, delete_comment), deciding against `<ns>.events.reviews.<author>.<book>`
//! and, for likes and comments, the subjects below it; and readers' lists (create_list, …),
//! against `<ns>.events.lists.<list_id>` and each vote's subject below it.

pub mod domain;
pub mod lists;

use std::collections::HashSet;

use chrono::Utc;
use readstream_contracts::{
    catalog, input,
    lists::{list as list_subject, vote as vote_subject},
    proto::commands::v1 as pb,
    review_id, reviews,
    reviews::{ReviewsRoutes, ReviewsService},
    social::{self, Role},
    Code, Identified, Recorded, Rejection, Sender, Service, SocialEvent,
};
use readstream_eventstore::{context_events, EventStore};
use readstream_runtime::{bus, config::StartError, health::HealthConfig, service::CommandService, NatsConfig};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    domain::{Comment, CommentCommand, CommentFacts, Like, LikeCommand, LikeFacts, Review, ReviewCommand, ReviewFacts},
    lists::{List, ListCommand, ListFacts, Vote, VoteCommand, VoteFacts},
};

pub const SERVICE: &str = ReviewsService::NAME;

#[derive(Debug, Clone, clap::Parser)]
#[command(name = "readstream-reviews", about = "The reviews command service")]
pub struct Config {
    #[command(flatten)]
    pub nats: NatsConfig,
    #[command(flatten)]
    pub health: HealthConfig,
}

pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    let service = CommandService::start(&config.nats, &config.health, &shutdown).await?;
    let reviews = Reviews { store: service.store.clone() };
    service.answer::<ReviewsService, _>(reviews).await
}

#[derive(Clone)]
struct Reviews {
    store: EventStore,
}

impl Reviews {
    /// Publish, edit or withdraw the actor's own review; `author_id` is who the client thinks
    /// wrote it (none for a new one).
    async fn review(
        &self,
        sender: Sender,
        author_id: Option<&str>,
        book_id: &str,
        command: ReviewCommand,
    ) -> Result<Recorded, Rejection> {
        let Sender { meta, reader_id } = sender;
        let book_id = input::id("bookId", book_id)?;
        if let Some(author_id) = author_id {
            if input::id("reviewId", author_id)? != reader_id {
                return Err(Rejection::new(Code::PermissionDenied, "only its author can change a review"));
            }
        }
        let book_exists = self.store.exists(&catalog::book(book_id)).await.map_err(|e| bus::unavailable(&e))?;
        let facts = ReviewFacts { reader_id, book_id, today: Utc::now().date_naive(), book_exists };
        let outcome = self.store.decide::<Review>(&reviews::review(reader_id, book_id), meta, &command, &facts).await;
        bus::recorded(outcome)
    }

    /// Whether the review is published and not withdrawn, as likes and comments need.
    async fn live(&self, author_id: Uuid, book_id: Uuid) -> Result<bool, Rejection> {
        let review: Review =
            self.store.state(&reviews::review(author_id, book_id)).await.map_err(|e| bus::unavailable(&e))?;
        Ok(review.live())
    }

    /// Whether either reader blocked the other: the social context's events of the pair.
    async fn blocked(&self, reader: Uuid, other: Uuid) -> Result<bool, Rejection> {
        if reader == other {
            return Ok(false);
        }
        let history = self.store.load(&social::link(reader, other)).await.map_err(|e| bus::unavailable(&e))?;
        let mut blocks = HashSet::new();
        for event in context_events::<SocialEvent>(&history) {
            match *event {
                SocialEvent::ReaderBlocked { blocker_id, blocked_id } => blocks.insert((blocker_id, blocked_id)),
                SocialEvent::ReaderUnblocked { blocker_id, blocked_id } => blocks.remove(&(blocker_id, blocked_id)),
                _ => false,
            };
        }
        Ok(!blocks.is_empty())
    }

    async fn like(
        &self,
        sender: Sender,
        author_id: &str,
        book_id: &str,
        command: LikeCommand,
    ) -> Result<Recorded, Rejection> {
        let Sender { meta, reader_id: liker_id } = sender;
        let (author_id, book_id) = (input::id("reviewId", author_id)?, input::id("bookId", book_id)?);
        let review_id = review_id(author_id, book_id);
        let review_live = self.live(author_id, book_id).await?;
        let blocked = self.blocked(liker_id, author_id).await?;
        let facts = LikeFacts { review_id, author_id, liker_id, review_live, blocked };
        let like = reviews::like(author_id, book_id, liker_id);
        bus::recorded(self.store.decide::<Like>(&like, meta, &command, &facts).await)
    }

    /// Writes a new comment (`comment_id` none: its id comes from the command's) or deletes one.
    async fn comment(
        &self,
        sender: Sender,
        author_id: &str,
        book_id: &str,
        comment_id: Option<Uuid>,
        command: CommentCommand,
    ) -> Result<Identified, Rejection> {
        let Sender { meta, reader_id } = sender;
        let (author_id, book_id) = (input::id("reviewId", author_id)?, input::id("bookId", book_id)?);
        let comment_id = comment_id.unwrap_or_else(|| Uuid::new_v5(&meta.command_id, b"comment"));
        let review_id = review_id(author_id, book_id);
        let review_live = self.live(author_id, book_id).await?;
        let blocked = self.blocked(reader_id, author_id).await?;
        let facts = CommentFacts { review_id, review_author: author_id, comment_id, reader_id, review_live, blocked };
        let comment = reviews::comment(author_id, book_id, comment_id);
        let recorded = bus::recorded(self.store.decide::<Comment>(&comment, meta, &command, &facts).await)?;
        Ok(Identified { id: comment_id, recorded })
    }
}

impl Reviews {
    /// A command on a list, decided on the list's subject.
    async fn list(&self, sender: Sender, list_id: Uuid, command: ListCommand) -> Result<Identified, Rejection> {
        let Sender { meta, reader_id } = sender;
        let subject = list_subject(list_id);
        let list: List = self.store.state(&subject).await.map_err(|e| bus::unavailable(&e))?;
        let librarian = match command {
            ListCommand::Create { .. } | ListCommand::Edit { .. } | ListCommand::AddBook { .. } => false,
            ListCommand::Delete | ListCommand::Hide { .. } | ListCommand::RemoveBook { .. } => {
                bus::holds_role(&self.store, reader_id, Role::Librarian).await?
            }
        };
        let (book_exists, blocked) = match (&command, list.owner_id) {
            (ListCommand::AddBook { book_id }, Some(owner)) => (
                self.store.exists(&catalog::book(*book_id)).await.map_err(|e| bus::unavailable(&e))?,
                self.blocked(reader_id, owner).await?,
            ),
            _ => (false, false),
        };
        let facts = ListFacts { list_id, reader_id, librarian, book_exists, blocked };
        let recorded = bus::recorded(self.store.decide::<List>(&subject, meta, &command, &facts).await)?;
        Ok(Identified { id: list_id, recorded })
    }

    /// A reader's vote for a book of a list, decided on the vote's own subject.
    async fn vote(
        &self,
        sender: Sender,
        list_id: Uuid,
        book_id: Uuid,
        command: VoteCommand,
    ) -> Result<Identified, Rejection> {
        let Sender { meta, reader_id } = sender;
        let list: List = self.store.state(&list_subject(list_id)).await.map_err(|e| bus::unavailable(&e))?;
        let blocked = match list.owner_id {
            Some(owner) if command == VoteCommand::Cast => self.blocked(reader_id, owner).await?,
            _ => false,
        };
        let facts = VoteFacts {
            list_id,
            book_id,
            reader_id,
            list_visible: list.visible_to(reader_id),
            book_listed: list.books.contains(&book_id),
            blocked,
        };
        let subject = vote_subject(list_id, book_id, reader_id);
        let recorded = bus::recorded(self.store.decide::<Vote>(&subject, meta, &command, &facts).await)?;
        Ok(Identified { id: list_id, recorded })
    }
}

impl ReviewsRoutes for Reviews {
    async fn publish_review(&self, r: pb::PublishReview, sender: Sender) -> Result<Recorded, Rejection> {
        let written_on = input::parse_date("writtenOn", &r.written_on)?;
        let command = ReviewCommand::Publish { body: r.body, contains_spoilers: r.contains_spoilers, written_on };
        self.review(sender, None, &r.book_id, command).await
    }

    async fn edit_review(&self, r: pb::EditReview, sender: Sender) -> Result<Recorded, Rejection> {
        let command = ReviewCommand::Edit { body: r.body, contains_spoilers: r.contains_spoilers };
        self.review(sender, Some(&r.author_id), &r.book_id, command).await
    }

    async fn withdraw_review(&self, r: pb::WithdrawReview, sender: Sender) -> Result<Recorded, Rejection> {
        self.review(sender, Some(&r.author_id), &r.book_id, ReviewCommand::Withdraw).await
    }

    async fn like_review(&self, r: pb::LikeReview, sender: Sender) -> Result<Recorded, Rejection> {
        self.like(sender, &r.author_id, &r.book_id, LikeCommand::Like).await
    }

    async fn unlike_review(&self, r: pb::UnlikeReview, sender: Sender) -> Result<Recorded, Rejection> {
        self.like(sender, &r.author_id, &r.book_id, LikeCommand::Unlike).await
    }

    async fn comment_on_review(&self, r: pb::CommentOnReview, sender: Sender) -> Result<Identified, Rejection> {
        self.comment(sender, &r.author_id, &r.book_id, None, CommentCommand::Write { body: r.body }).await
    }

    async fn delete_comment(&self, r: pb::DeleteComment, sender: Sender) -> Result<Recorded, Rejection> {
        let comment_id = input::id("commentId", &r.comment_id)?;
        let deleted = self.comment(sender, &r.author_id, &r.book_id, Some(comment_id), CommentCommand::Delete).await?;
        Ok(deleted.recorded)
    }

    async fn create_list(&self, r: pb::CreateList, sender: Sender) -> Result<Identified, Rejection> {
        let list_id = Uuid::new_v5(&sender.meta.command_id, b"list");
        let command = ListCommand::Create { title: r.title, description: r.description };
        self.list(sender, list_id, command).await
    }

    async fn edit_list(&self, r: pb::EditList, sender: Sender) -> Result<Identified, Rejection> {
        let command = ListCommand::Edit { title: r.title, description: r.description };
        self.list(sender, input::id("listId", &r.list_id)?, command).await
    }

    async fn delete_list(&self, r: pb::DeleteList, sender: Sender) -> Result<Identified, Rejection> {
        self.list(sender, input::id("listId", &r.list_id)?, ListCommand::Delete).await
    }

    async fn hide_list(&self, r: pb::HideList, sender: Sender) -> Result<Identified, Rejection> {
        self.list(sender, input::id("listId", &r.list_id)?, ListCommand::Hide { hidden: r.hidden }).await
    }

    /// Lists the book (if the list lacks it), then records the sender's vote for it: two
    /// subjects, each step's command id derived from the command's, so a retry redoes neither.
    async fn add_book_to_list(&self, r: pb::AddBookToList, sender: Sender) -> Result<Identified, Rejection> {
        let (list_id, book_id) = (input::id("listId", &r.list_id)?, input::id("bookId", &r.book_id)?);
        let step = |what: &[u8]| readstream_contracts::Metadata {
            command_id: Uuid::new_v5(&sender.meta.command_id, what),
            ..sender.meta.clone()
        };
        let listing = Sender { meta: step(b"list"), reader_id: sender.reader_id };
        let listed = self.list(listing, list_id, ListCommand::AddBook { book_id }).await?;
        let voting = Sender { meta: step(b"vote"), reader_id: sender.reader_id };
        let voted = self.vote(voting, list_id, book_id, VoteCommand::Cast).await?;
        let mut recorded = listed.recorded;
        recorded.position = recorded.position.max(voted.recorded.position);
        recorded.event_ids.extend(voted.recorded.event_ids);
        Ok(Identified { id: list_id, recorded })
    }

    async fn remove_book_from_list(&self, r: pb::RemoveBookFromList, sender: Sender) -> Result<Identified, Rejection> {
        let (list_id, book_id) = (input::id("listId", &r.list_id)?, input::id("bookId", &r.book_id)?);
        self.list(sender, list_id, ListCommand::RemoveBook { book_id }).await
    }

    async fn vote_on_list(&self, r: pb::VoteOnList, sender: Sender) -> Result<Identified, Rejection> {
        let (list_id, book_id) = (input::id("listId", &r.list_id)?, input::id("bookId", &r.book_id)?);
        self.vote(sender, list_id, book_id, VoteCommand::Cast).await
    }

    async fn withdraw_list_vote(&self, r: pb::WithdrawListVote, sender: Sender) -> Result<Identified, Rejection> {
        let (list_id, book_id) = (input::id("listId", &r.list_id)?, input::id("bookId", &r.book_id)?);
        self.vote(sender, list_id, book_id, VoteCommand::Withdraw).await
    }
}
