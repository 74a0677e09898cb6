//! The reviews deciders: a reader's review of a book, each reader's like of it, and each
//! comment on it. Pure: no I/O, tested given/when/then.

use chrono::NaiveDate;
use readstream_contracts::{
    input::{self, Text, EARLIEST_READING_DATE},
    Code, Decider, Rejection, ReviewsEvent,
};
use uuid::Uuid;

pub const MAX_REVIEW: usize = 20_000;
pub const MAX_COMMENT: usize = 5_000;

/// Bodies are stored as given (plain text or Markdown, never rendered here): their length and
/// characters are checked, and a body of nothing but white space is empty.
fn body(field: &'static str, text: &str, max: usize) -> Result<String, Rejection> {
    input::text(field, text, Text::Long, 1, max)
}

/// A reader's review of a book.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Review {
    pub published: bool,
    pub withdrawn: bool,
    pub body: String,
    pub contains_spoilers: bool,
}

impl Review {
    /// Published and not withdrawn: what others can see, like and comment on.
    pub fn live(&self) -> bool {
        self.published && !self.withdrawn
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewCommand {
    Publish { body: String, contains_spoilers: bool, written_on: Option<NaiveDate> },
    Edit { body: Option<String>, contains_spoilers: Option<bool> },
    Withdraw,
}

/// Whose review of which book, today's date, and whether the catalog has the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewFacts {
    pub reader_id: Uuid,
    pub book_id: Uuid,
    pub today: NaiveDate,
    pub book_exists: bool,
}

impl Decider for Review {
    type Command = ReviewCommand;
    type Facts = ReviewFacts;
    type Event = ReviewsEvent;
    type Error = Rejection;

    fn decide(&self, command: &ReviewCommand, facts: &ReviewFacts) -> Result<Vec<ReviewsEvent>, Rejection> {
        let (reader_id, book_id) = (facts.reader_id, facts.book_id);
        let review_id = readstream_contracts::review_id(reader_id, book_id);
        match command {
            ReviewCommand::Publish { body: text, contains_spoilers, written_on } => {
                let body = body("body", text, MAX_REVIEW)?;
                let written_on =
                    input::date("writtenOn", written_on.unwrap_or(facts.today), EARLIEST_READING_DATE, facts.today)?;
                if !facts.book_exists {
                    return Err(Rejection::not_found("bookId", "no book with this id"));
                }
                if self.live() {
                    return Err(Rejection::new(
                        Code::AlreadyExists,
                        "you have reviewed this book already; edit that review",
                    ));
                }
                let contains_spoilers = *contains_spoilers;
                Ok(vec![ReviewsEvent::ReviewPublished {
                    review_id,
                    reader_id,
                    book_id,
                    body,
                    contains_spoilers,
                    written_on,
                }])
            }
            ReviewCommand::Edit { body: text, contains_spoilers } => {
                let body = text.as_deref().map(|text| body("body", text, MAX_REVIEW)).transpose()?;
                if !self.live() {
                    return Err(Rejection::not_found("reviewId", "you have no review of this book"));
                }
                let body = body.unwrap_or_else(|| self.body.clone());
                let contains_spoilers = contains_spoilers.unwrap_or(self.contains_spoilers);
                if body == self.body && contains_spoilers == self.contains_spoilers {
                    return Ok(vec![]);
                }
                Ok(vec![ReviewsEvent::ReviewEdited { review_id, reader_id, book_id, body, contains_spoilers }])
            }
            ReviewCommand::Withdraw => match (self.published, self.withdrawn) {
                (true, false) => Ok(vec![ReviewsEvent::ReviewWithdrawn { review_id, reader_id, book_id }]),
                (true, true) => Ok(vec![]),
                (false, _) => Err(Rejection::not_found("reviewId", "you have no review of this book")),
            },
        }
    }

    fn evolve(mut self, event: &ReviewsEvent) -> Self {
        match event {
            ReviewsEvent::ReviewPublished { body, contains_spoilers, .. } => {
                self = Review {
                    published: true,
                    withdrawn: false,
                    body: body.clone(),
                    contains_spoilers: *contains_spoilers,
                };
            }
            ReviewsEvent::ReviewEdited { body, contains_spoilers, .. } => {
                self.body = body.clone();
                self.contains_spoilers = *contains_spoilers;
            }
            ReviewsEvent::ReviewWithdrawn { .. } => self.withdrawn = true,
            // Likes and comments are aggregates of their own.
            ReviewsEvent::ReviewLiked { .. }
            | ReviewsEvent::ReviewUnliked { .. }
            | ReviewsEvent::ReviewCommented { .. }
            | ReviewsEvent::CommentDeleted { .. } => {}
        }
        self
    }
}

/// One reader's like of one review.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Like {
    pub liked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LikeCommand {
    Like,
    Unlike,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LikeFacts {
    pub review_id: Uuid,
    pub author_id: Uuid,
    pub liker_id: Uuid,
    /// Whether the review is published and not withdrawn.
    pub review_live: bool,
    /// Whether the liker and the review's author blocked each other (either way).
    pub blocked: bool,
}

/// Refused between two readers one of whom blocked the other.
fn not_between_blocked(blocked: bool) -> Result<(), Rejection> {
    if blocked {
        return Err(Rejection::new(Code::PermissionDenied, "you cannot do this: one of you blocked the other"));
    }
    Ok(())
}

impl Decider for Like {
    type Command = LikeCommand;
    type Facts = LikeFacts;
    type Event = ReviewsEvent;
    type Error = Rejection;

    /// A like is once per reader; a second one is refused.
    fn decide(&self, command: &LikeCommand, facts: &LikeFacts) -> Result<Vec<ReviewsEvent>, Rejection> {
        let (review_id, liker_id) = (facts.review_id, facts.liker_id);
        match command {
            LikeCommand::Like => {
                if !facts.review_live {
                    return Err(Rejection::not_found("reviewId", "no such review (it may have been withdrawn)"));
                }
                if liker_id == facts.author_id {
                    return Err(Rejection::invalid("reviewId", "you cannot like your own review"));
                }
                not_between_blocked(facts.blocked)?;
                if self.liked {
                    return Err(Rejection::new(Code::AlreadyExists, "you like this review already"));
                }
                Ok(vec![ReviewsEvent::ReviewLiked { review_id, liker_id }])
            }
            LikeCommand::Unlike => {
                if !self.liked {
                    return Err(Rejection::not_found("reviewId", "you do not like this review"));
                }
                Ok(vec![ReviewsEvent::ReviewUnliked { review_id, liker_id }])
            }
        }
    }

    fn evolve(self, event: &ReviewsEvent) -> Self {
        match event {
            ReviewsEvent::ReviewLiked { .. } => Like { liked: true },
            ReviewsEvent::ReviewUnliked { .. } => Like { liked: false },
            // A like's subject holds only its own events.
            ReviewsEvent::ReviewPublished { .. }
            | ReviewsEvent::ReviewEdited { .. }
            | ReviewsEvent::ReviewWithdrawn { .. }
            | ReviewsEvent::ReviewCommented { .. }
            | ReviewsEvent::CommentDeleted { .. } => self,
        }
    }
}

/// One comment on a review.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Comment {
    pub commenter_id: Option<Uuid>,
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentCommand {
    Write {
        body: String,
    },
    /// Its author or the review's author deletes a comment.
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommentFacts {
    pub review_id: Uuid,
    /// Who wrote the review: they may delete any comment on it.
    pub review_author: Uuid,
    pub comment_id: Uuid,
    pub reader_id: Uuid,
    pub review_live: bool,
    /// Whether the commenter and the review's author blocked each other (either way).
    pub blocked: bool,
}

impl Decider for Comment {
    type Command = CommentCommand;
    type Facts = CommentFacts;
    type Event = ReviewsEvent;
    type Error = Rejection;

    fn decide(&self, command: &CommentCommand, facts: &CommentFacts) -> Result<Vec<ReviewsEvent>, Rejection> {
        let (review_id, comment_id) = (facts.review_id, facts.comment_id);
        match command {
            CommentCommand::Write { body: text } => {
                let body = body("body", text, MAX_COMMENT)?;
                if !facts.review_live {
                    return Err(Rejection::not_found("reviewId", "no such review (it may have been withdrawn)"));
                }
                not_between_blocked(facts.blocked)?;
                if self.commenter_id.is_some() {
                    return Err(Rejection::new(Code::AlreadyExists, "this comment exists already"));
                }
                Ok(vec![ReviewsEvent::ReviewCommented { review_id, comment_id, commenter_id: facts.reader_id, body }])
            }
            CommentCommand::Delete => match self.commenter_id {
                None => Err(Rejection::not_found("commentId", "no such comment")),
                Some(commenter) if commenter != facts.reader_id && facts.review_author != facts.reader_id => {
                    Err(Rejection::new(
                        Code::PermissionDenied,
                        "only its author or the review's author can delete a comment",
                    ))
                }
                Some(_) if self.deleted => Ok(vec![]),
                Some(commenter_id) => Ok(vec![ReviewsEvent::CommentDeleted { review_id, comment_id, commenter_id }]),
            },
        }
    }

    fn evolve(self, event: &ReviewsEvent) -> Self {
        match event {
            ReviewsEvent::ReviewCommented { commenter_id, .. } => {
                Comment { commenter_id: Some(*commenter_id), deleted: false }
            }
            ReviewsEvent::CommentDeleted { .. } => Comment { deleted: true, ..self },
            // A comment's subject holds only its own events.
            ReviewsEvent::ReviewPublished { .. }
            | ReviewsEvent::ReviewEdited { .. }
            | ReviewsEvent::ReviewWithdrawn { .. }
            | ReviewsEvent::ReviewLiked { .. }
            | ReviewsEvent::ReviewUnliked { .. } => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use readstream_testkit::decider::given;

    use super::*;

    const ANA: Uuid = Uuid::from_u128(1);
    const BEN: Uuid = Uuid::from_u128(2);
    const BOOK: Uuid = Uuid::max();

    fn facts() -> ReviewFacts {
        ReviewFacts { reader_id: ANA, book_id: BOOK, today: "2026-11-26".parse().unwrap(), book_exists: true }
    }

    fn review_id() -> Uuid {
        readstream_contracts::review_id(ANA, BOOK)
    }

    fn publish(body: &str) -> ReviewCommand {
        ReviewCommand::Publish { body: body.into(), contains_spoilers: false, written_on: None }
    }

    fn published(body: &str) -> ReviewsEvent {
        ReviewsEvent::ReviewPublished {
            review_id: review_id(),
            reader_id: ANA,
            book_id: BOOK,
            body: body.into(),
            contains_spoilers: false,
            written_on: "2026-11-26".parse().unwrap(),
        }
    }

    fn withdrawn() -> ReviewsEvent {
        ReviewsEvent::ReviewWithdrawn { review_id: review_id(), reader_id: ANA, book_id: BOOK }
    }

    #[test]
    fn a_review_is_stored_as_given_and_sorted_by_the_day_it_was_written() {
        let command = ReviewCommand::Publish {
            body: "**Gripping**, <b>not</b> rendered".into(),
            contains_spoilers: true,
            written_on: Some("2018-07-29".parse().unwrap()),
        };
        given::<Review>([]).when(command, facts()).then([ReviewsEvent::ReviewPublished {
            review_id: review_id(),
            reader_id: ANA,
            book_id: BOOK,
            body: "**Gripping**, <b>not</b> rendered".into(),
            contains_spoilers: true,
            written_on: "2018-07-29".parse().unwrap(),
        }]);
    }

    #[test]
    fn bodies_have_1_to_20000_characters_and_dates_are_not_in_the_future() {
        given::<Review>([]).when(publish(" \n "), facts()).then_refused(Code::InvalidArgument, Some("body"));
        given::<Review>([])
            .when(publish(&"x".repeat(20_001)), facts())
            .then_refused(Code::InvalidArgument, Some("body"));
        given::<Review>([]).when(publish(&"é".repeat(20_000)), facts()).then([published(&"é".repeat(20_000))]);
        let future = ReviewCommand::Publish {
            body: "b".into(),
            contains_spoilers: false,
            written_on: Some("2027-01-01".parse().unwrap()),
        };
        given::<Review>([]).when(future, facts()).then_refused(Code::InvalidArgument, Some("writtenOn"));
        let ancient = ReviewCommand::Publish {
            body: "b".into(),
            contains_spoilers: false,
            written_on: NaiveDate::from_ymd_opt(-5000, 1, 1),
        };
        given::<Review>([]).when(ancient, facts()).then_refused(Code::InvalidArgument, Some("writtenOn"));
        given::<Review>([]).when(publish("a\u{0}b"), facts()).then_refused(Code::InvalidArgument, Some("body"));
        given::<Review>([]).when(publish("\u{7}"), facts()).then_refused(Code::InvalidArgument, Some("body"));
    }

    #[test]
    fn a_review_needs_a_book_of_the_catalog() {
        let facts = ReviewFacts { book_exists: false, ..facts() };
        given::<Review>([]).when(publish("first"), facts).then_refused(Code::NotFound, Some("bookId"));
    }

    #[test]
    fn one_review_per_reader_per_book_and_a_withdrawn_one_can_be_written_again() {
        given::<Review>([published("first")]).when(publish("second"), facts()).then_refused(Code::AlreadyExists, None);
        given::<Review>([published("first")]).when(ReviewCommand::Withdraw, facts()).then([withdrawn()]);
        let gone = [published("first"), withdrawn()];
        given::<Review>(gone.clone()).when(publish("again"), facts()).then([published("again")]);
        given::<Review>(gone).when(ReviewCommand::Withdraw, facts()).then([]);
    }

    #[test]
    fn editing_needs_a_live_review_and_an_unchanged_edit_appends_nothing() {
        let edit = |body: &str| ReviewCommand::Edit { body: Some(body.into()), contains_spoilers: None };
        given::<Review>([]).when(edit("x"), facts()).then_refused(Code::NotFound, Some("reviewId"));
        given::<Review>([published("first")]).when(edit("first"), facts()).then([]);
        given::<Review>([published("first")]).when(edit("better"), facts()).then([ReviewsEvent::ReviewEdited {
            review_id: review_id(),
            reader_id: ANA,
            book_id: BOOK,
            body: "better".into(),
            contains_spoilers: false,
        }]);
        given::<Review>([published("first"), withdrawn()])
            .when(edit("x"), facts())
            .then_refused(Code::NotFound, Some("reviewId"));
    }

    fn like_facts(liker_id: Uuid, review_live: bool) -> LikeFacts {
        LikeFacts { review_id: review_id(), author_id: ANA, liker_id, review_live, blocked: false }
    }

    #[test]
    fn a_like_is_once_per_reader_and_never_on_a_withdrawn_or_own_review() {
        let liked = ReviewsEvent::ReviewLiked { review_id: review_id(), liker_id: BEN };
        given::<Like>([]).when(LikeCommand::Like, like_facts(BEN, true)).then([liked.clone()]);
        given::<Like>([liked.clone()])
            .when(LikeCommand::Like, like_facts(BEN, true))
            .then_refused(Code::AlreadyExists, None);
        given::<Like>([])
            .when(LikeCommand::Like, like_facts(BEN, false))
            .then_refused(Code::NotFound, Some("reviewId"));
        given::<Like>([])
            .when(LikeCommand::Like, like_facts(ANA, true))
            .then_refused(Code::InvalidArgument, Some("reviewId"));
        given::<Like>([])
            .when(LikeCommand::Unlike, like_facts(BEN, true))
            .then_refused(Code::NotFound, Some("reviewId"));
        given::<Like>([liked])
            .when(LikeCommand::Unlike, like_facts(BEN, true))
            .then([ReviewsEvent::ReviewUnliked { review_id: review_id(), liker_id: BEN }]);
    }

    #[test]
    fn readers_who_blocked_each_other_neither_like_nor_comment_on_each_others_reviews() {
        let blocked = LikeFacts { blocked: true, ..like_facts(BEN, true) };
        given::<Like>([]).when(LikeCommand::Like, blocked).then_refused(Code::PermissionDenied, None);
        let facts = CommentFacts {
            review_id: review_id(),
            review_author: ANA,
            comment_id: Uuid::from_u128(9),
            reader_id: BEN,
            review_live: true,
            blocked: true,
        };
        given::<Comment>([])
            .when(CommentCommand::Write { body: "Hi".into() }, facts)
            .then_refused(Code::PermissionDenied, None);
    }

    #[test]
    fn a_comment_is_deleted_by_its_author_or_the_reviews_author_only() {
        const CY: Uuid = Uuid::from_u128(3);
        let comment_id = Uuid::from_u128(9);
        let facts = |reader_id| CommentFacts {
            review_id: review_id(),
            review_author: ANA,
            comment_id,
            reader_id,
            review_live: true,
            blocked: false,
        };
        let write = |body: &str| CommentCommand::Write { body: body.into() };
        let commented = ReviewsEvent::ReviewCommented {
            review_id: review_id(),
            comment_id,
            commenter_id: BEN,
            body: "Agreed".into(),
        };
        given::<Comment>([]).when(write("Agreed"), facts(BEN)).then([commented.clone()]);
        given::<Comment>([]).when(write(""), facts(BEN)).then_refused(Code::InvalidArgument, Some("body"));
        given::<Comment>([])
            .when(write(&"x".repeat(5_001)), facts(BEN))
            .then_refused(Code::InvalidArgument, Some("body"));
        let gone = CommentFacts { review_live: false, ..facts(BEN) };
        given::<Comment>([]).when(write("Agreed"), gone).then_refused(Code::NotFound, Some("reviewId"));
        given::<Comment>([commented.clone()])
            .when(CommentCommand::Delete, facts(CY))
            .then_refused(Code::PermissionDenied, None);
        let deleted = ReviewsEvent::CommentDeleted { review_id: review_id(), comment_id, commenter_id: BEN };
        given::<Comment>([commented.clone()]).when(CommentCommand::Delete, facts(ANA)).then([deleted.clone()]);
        given::<Comment>([commented.clone()]).when(CommentCommand::Delete, facts(BEN)).then([deleted.clone()]);
        given::<Comment>([commented, deleted]).when(CommentCommand::Delete, facts(BEN)).then([]);
        given::<Comment>([]).when(CommentCommand::Delete, facts(BEN)).then_refused(Code::NotFound, Some("commentId"));
    }
}
