//! The reviews context: reviews, their likes and their comments.
//!
//! Likes and comments are aggregates of their own below the review's subject, so readers
//! liking one review at once never contend for one subject.

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

commands!(ReviewsService {
    PublishReview => "publish_review",
    EditReview => "edit_review",
    WithdrawReview => "withdraw_review",
    LikeReview => "like_review",
    UnlikeReview => "unlike_review",
    CommentOnReview => "comment_on_review",
    DeleteComment => "delete_comment",
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
