//! The reviews context: reviews, their likes and their comments; and readers' lists
//! (`crate::lists`), decided by the same service.
//!
//! Likes and comments are aggregates of their own below the review's subject, so readers
//! liking one review at once never contend for one subject.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::{
    command::{commands, Service},
    subject::Aggregate,
};

/// The command service of reviews, likes and comments.
pub struct ReviewsService;

impl Service for ReviewsService {
    const NAME: &'static str = "reviews";
}

commands!(ReviewsService, ReviewsRoutes {
    PublishReview => publish_review(Sender) -> Recorded,
    EditReview => edit_review(Sender) -> Recorded,
    WithdrawReview => withdraw_review(Sender) -> Recorded,
    LikeReview => like_review(Sender) -> Recorded,
    UnlikeReview => unlike_review(Sender) -> Recorded,
    CommentOnReview => comment_on_review(Sender) -> Identified,
    DeleteComment => delete_comment(Sender) -> Recorded,
    CreateList => create_list(Sender) -> Identified,
    EditList => edit_list(Sender) -> Identified,
    DeleteList => delete_list(Sender) -> Identified,
    HideList => hide_list(Sender) -> Identified,
    AddBookToList => add_book_to_list(Sender) -> Identified,
    RemoveBookFromList => remove_book_from_list(Sender) -> Identified,
    VoteOnList => vote_on_list(Sender) -> Identified,
    WithdrawListVote => withdraw_list_vote(Sender) -> Identified,
});

/// One reader's review of one book.
pub fn review(author_id: Uuid, book_id: Uuid) -> Aggregate {
    Aggregate::new(format!("reviews.{author_id}.{book_id}"))
}

/// One reader's like of a review.
pub fn like(author_id: Uuid, book_id: Uuid, liker_id: Uuid) -> Aggregate {
    Aggregate::new(format!("reviews.{author_id}.{book_id}.like.{liker_id}"))
}

/// One comment on a review.
pub fn comment(author_id: Uuid, book_id: Uuid, comment_id: Uuid) -> Aggregate {
    Aggregate::new(format!("reviews.{author_id}.{book_id}.comment.{comment_id}"))
}

/// Where a book's newly published reviews are announced.
pub fn live_book_reviews(namespace: &str, book_id: Uuid) -> String {
    format!("{namespace}.live.book.{book_id}.reviews")
}

/// What happened to a review, its likes and its comments.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type")]
pub enum ReviewsEvent {
    ReviewPublished {
        review_id: Uuid,
        reader_id: Uuid,
        book_id: Uuid,
        body: String,
        contains_spoilers: bool,
        written_on: NaiveDate,
    },
    ReviewEdited {
        review_id: Uuid,
        reader_id: Uuid,
        book_id: Uuid,
        body: String,
        contains_spoilers: bool,
    },
    ReviewWithdrawn {
        review_id: Uuid,
        reader_id: Uuid,
        book_id: Uuid,
    },
    ReviewLiked {
        review_id: Uuid,
        liker_id: Uuid,
    },
    ReviewUnliked {
        review_id: Uuid,
        liker_id: Uuid,
    },
    ReviewCommented {
        review_id: Uuid,
        comment_id: Uuid,
        commenter_id: Uuid,
        body: String,
    },
    CommentDeleted {
        review_id: Uuid,
        comment_id: Uuid,
        commenter_id: Uuid,
    },
}

/// Ties review ids to their author and book: one review per reader per book.
const REVIEW_NAMESPACE: Uuid = Uuid::from_u128(0x2b7c_41d0_9e3a_4f6b_8c1d_5a0e_7f92_b4c3);

/// The id of `reader_id`'s review of `book_id`.
pub fn review_id(reader_id: Uuid, book_id: Uuid) -> Uuid {
    Uuid::new_v5(&REVIEW_NAMESPACE, format!("{reader_id}:{book_id}").as_bytes())
}

impl ReviewsEvent {
    /// The review this event happened to (or to one of its likes or comments).
    pub fn review_id(&self) -> Uuid {
        match *self {
            ReviewsEvent::ReviewPublished { review_id, .. }
            | ReviewsEvent::ReviewEdited { review_id, .. }
            | ReviewsEvent::ReviewWithdrawn { review_id, .. }
            | ReviewsEvent::ReviewLiked { review_id, .. }
            | ReviewsEvent::ReviewUnliked { review_id, .. }
            | ReviewsEvent::ReviewCommented { review_id, .. }
            | ReviewsEvent::CommentDeleted { review_id, .. } => review_id,
        }
    }
}
