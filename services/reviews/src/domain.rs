//! The reviews deciders: a reader's review of a book, each reader's like of it, and each
//! comment on it. Pure: no I/O, tested given/when/then.

use chrono::NaiveDate;
use readstream_contracts::{Code, Event, Rejection};
use readstream_eventstore::Stored;
use uuid::Uuid;

pub const MAX_REVIEW: usize = 20_000;
pub const MAX_COMMENT: usize = 5_000;

fn events(history: &[Stored]) -> impl Iterator<Item = &Event> {
    history.iter().flat_map(|s| &s.envelope.events).map(|e| &e.event)
}

/// Bodies are stored as given (plain text or Markdown, never rendered here); only their
/// length is checked, and a body of nothing but white space is empty.
fn body(field: &'static str, text: &str, max: usize) -> Result<String, Rejection> {
    let length = text.chars().count();
    if text.trim().is_empty() || length > max {
        return Err(Rejection::invalid(field, format!("{field} must have 1 to {max} characters")));
    }
    Ok(text.to_owned())
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
    pub fn evolve(mut self, event: &Event) -> Self {
        match event {
            Event::ReviewPublished { body, contains_spoilers, .. } => {
                self = Review {
                    published: true,
                    withdrawn: false,
                    body: body.clone(),
                    contains_spoilers: *contains_spoilers,
                };
            }
            Event::ReviewEdited { body, contains_spoilers, .. } => {
                self.body = body.clone();
                self.contains_spoilers = *contains_spoilers;
            }
            Event::ReviewWithdrawn { .. } => self.withdrawn = true,
            _ => {}
        }
        self
    }

    pub fn fold(history: &[Stored]) -> Self {
        events(history).fold(Self::default(), Self::evolve)
    }

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewContext {
    pub reader_id: Uuid,
    pub book_id: Uuid,
    pub today: NaiveDate,
    pub book_exists: bool,
}

pub fn decide_review(state: &Review, command: ReviewCommand, ctx: &ReviewContext) -> Result<Vec<Event>, Rejection> {
    let (reader_id, book_id) = (ctx.reader_id, ctx.book_id);
    let review_id = readstream_contracts::review_id(reader_id, book_id);
    match command {
        ReviewCommand::Publish { body: text, contains_spoilers, written_on } => {
            let body = body("body", &text, MAX_REVIEW)?;
            let written_on = written_on.unwrap_or(ctx.today);
            if written_on > ctx.today {
                return Err(Rejection::invalid("writtenOn", "writtenOn must not be in the future"));
            }
            if !ctx.book_exists {
                return Err(Rejection::not_found("bookId", "no book with this id"));
            }
            if state.live() {
                return Err(Rejection::new(
                    Code::AlreadyExists,
                    "you have reviewed this book already; edit that review",
                ));
            }
            Ok(vec![Event::ReviewPublished { review_id, reader_id, book_id, body, contains_spoilers, written_on }])
        }
        ReviewCommand::Edit { body: text, contains_spoilers } => {
            let body = text.map(|text| body("body", &text, MAX_REVIEW)).transpose()?;
            if !state.live() {
                return Err(Rejection::not_found("reviewId", "you have no review of this book"));
            }
            let body = body.unwrap_or_else(|| state.body.clone());
            let contains_spoilers = contains_spoilers.unwrap_or(state.contains_spoilers);
            if body == state.body && contains_spoilers == state.contains_spoilers {
                return Ok(vec![]);
            }
            Ok(vec![Event::ReviewEdited { review_id, reader_id, book_id, body, contains_spoilers }])
        }
        ReviewCommand::Withdraw => match (state.published, state.withdrawn) {
            (true, false) => Ok(vec![Event::ReviewWithdrawn { review_id, reader_id, book_id }]),
            (true, true) => Ok(vec![]),
            (false, _) => Err(Rejection::not_found("reviewId", "you have no review of this book")),
        },
    }
}

/// One reader's like of one review.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Like {
    pub liked: bool,
}

impl Like {
    pub fn fold(history: &[Stored]) -> Self {
        events(history).fold(Self::default(), |state, event| match event {
            Event::ReviewLiked { .. } => Like { liked: true },
            Event::ReviewUnliked { .. } => Like { liked: false },
            _ => state,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LikeContext {
    pub review_id: Uuid,
    pub author_id: Uuid,
    pub liker_id: Uuid,
    /// Whether the review is published and not withdrawn.
    pub review_live: bool,
}

/// A like is once per reader; a second one is refused.
pub fn like(state: &Like, ctx: &LikeContext) -> Result<Vec<Event>, Rejection> {
    if !ctx.review_live {
        return Err(Rejection::not_found("reviewId", "no such review (it may have been withdrawn)"));
    }
    if ctx.liker_id == ctx.author_id {
        return Err(Rejection::invalid("reviewId", "you cannot like your own review"));
    }
    if state.liked {
        return Err(Rejection::new(Code::AlreadyExists, "you like this review already"));
    }
    Ok(vec![Event::ReviewLiked { review_id: ctx.review_id, liker_id: ctx.liker_id }])
}

pub fn unlike(state: &Like, ctx: &LikeContext) -> Result<Vec<Event>, Rejection> {
    if !state.liked {
        return Err(Rejection::not_found("reviewId", "you do not like this review"));
    }
    Ok(vec![Event::ReviewUnliked { review_id: ctx.review_id, liker_id: ctx.liker_id }])
}

/// One comment on a review.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Comment {
    pub commenter_id: Option<Uuid>,
    pub deleted: bool,
}

impl Comment {
    pub fn fold(history: &[Stored]) -> Self {
        events(history).fold(Self::default(), |state, event| match event {
            Event::ReviewCommented { commenter_id, .. } => {
                Comment { commenter_id: Some(*commenter_id), deleted: false }
            }
            Event::CommentDeleted { .. } => Comment { deleted: true, ..state },
            _ => state,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommentContext {
    pub review_id: Uuid,
    pub comment_id: Uuid,
    pub reader_id: Uuid,
    pub review_live: bool,
}

pub fn comment(state: &Comment, text: &str, ctx: &CommentContext) -> Result<Vec<Event>, Rejection> {
    let body = body("body", text, MAX_COMMENT)?;
    if !ctx.review_live {
        return Err(Rejection::not_found("reviewId", "no such review (it may have been withdrawn)"));
    }
    if state.commenter_id.is_some() {
        return Err(Rejection::new(Code::AlreadyExists, "this comment exists already"));
    }
    Ok(vec![Event::ReviewCommented {
        review_id: ctx.review_id,
        comment_id: ctx.comment_id,
        commenter_id: ctx.reader_id,
        body,
    }])
}

/// Only its author deletes a comment.
pub fn delete_comment(state: &Comment, ctx: &CommentContext) -> Result<Vec<Event>, Rejection> {
    match state.commenter_id {
        None => Err(Rejection::not_found("commentId", "no such comment")),
        Some(commenter) if commenter != ctx.reader_id => {
            Err(Rejection::new(Code::PermissionDenied, "only its author can delete a comment"))
        }
        Some(_) if state.deleted => Ok(vec![]),
        Some(commenter_id) => {
            Ok(vec![Event::CommentDeleted { review_id: ctx.review_id, comment_id: ctx.comment_id, commenter_id }])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ReviewContext {
        ReviewContext {
            reader_id: Uuid::nil(),
            book_id: Uuid::max(),
            today: "2026-11-26".parse().unwrap(),
            book_exists: true,
        }
    }

    fn publish(body: &str) -> ReviewCommand {
        ReviewCommand::Publish { body: body.into(), contains_spoilers: false, written_on: None }
    }

    fn given(commands: Vec<ReviewCommand>) -> Review {
        commands.into_iter().fold(Review::default(), |state, command| {
            let events = decide_review(&state, command, &ctx()).unwrap();
            events.iter().fold(state, Review::evolve)
        })
    }

    fn code(result: Result<Vec<Event>, Rejection>) -> Option<Code> {
        result.err().map(|r| r.code)
    }

    #[test]
    fn a_review_is_stored_as_given_and_sorted_by_the_day_it_was_written() {
        let command = ReviewCommand::Publish {
            body: "**Gripping**, <b>not</b> rendered".into(),
            contains_spoilers: true,
            written_on: Some("2018-07-29".parse().unwrap()),
        };
        let events = decide_review(&Review::default(), command, &ctx()).unwrap();
        assert!(matches!(
            &events[..],
            [Event::ReviewPublished { body, contains_spoilers: true, written_on, .. }]
                if body == "**Gripping**, <b>not</b> rendered" && written_on.to_string() == "2018-07-29"
        ));
    }

    #[test]
    fn bodies_have_1_to_20000_characters_and_dates_are_not_in_the_future() {
        assert_eq!(code(decide_review(&Review::default(), publish(" \n "), &ctx())), Some(Code::InvalidArgument));
        assert_eq!(
            code(decide_review(&Review::default(), publish(&"x".repeat(20_001)), &ctx())),
            Some(Code::InvalidArgument)
        );
        assert!(decide_review(&Review::default(), publish(&"é".repeat(20_000)), &ctx()).is_ok());
        let future = ReviewCommand::Publish {
            body: "b".into(),
            contains_spoilers: false,
            written_on: Some("2027-01-01".parse().unwrap()),
        };
        assert_eq!(code(decide_review(&Review::default(), future, &ctx())), Some(Code::InvalidArgument));
    }

    #[test]
    fn one_review_per_reader_per_book_and_a_withdrawn_one_can_be_written_again() {
        let state = given(vec![publish("first")]);
        assert_eq!(code(decide_review(&state, publish("second"), &ctx())), Some(Code::AlreadyExists));
        let state = given(vec![publish("first"), ReviewCommand::Withdraw]);
        assert!(!state.live());
        assert!(decide_review(&state, publish("again"), &ctx()).is_ok());
        assert_eq!(decide_review(&state, ReviewCommand::Withdraw, &ctx()), Ok(vec![]));
    }

    #[test]
    fn editing_needs_a_live_review_and_an_unchanged_edit_appends_nothing() {
        let edit = |body: &str| ReviewCommand::Edit { body: Some(body.into()), contains_spoilers: None };
        assert_eq!(code(decide_review(&Review::default(), edit("x"), &ctx())), Some(Code::NotFound));
        let state = given(vec![publish("first")]);
        assert_eq!(decide_review(&state, edit("first"), &ctx()), Ok(vec![]));
        assert!(
            matches!(&decide_review(&state, edit("better"), &ctx()).unwrap()[..], [Event::ReviewEdited { body, .. }] if body == "better")
        );
        let withdrawn = given(vec![publish("first"), ReviewCommand::Withdraw]);
        assert_eq!(code(decide_review(&withdrawn, edit("x"), &ctx())), Some(Code::NotFound));
    }

    fn like_ctx(review_live: bool) -> LikeContext {
        LikeContext { review_id: Uuid::max(), author_id: Uuid::nil(), liker_id: Uuid::from_u128(7), review_live }
    }

    #[test]
    fn a_like_is_once_per_reader_and_never_on_a_withdrawn_or_own_review() {
        assert!(like(&Like::default(), &like_ctx(true)).is_ok());
        assert_eq!(code(like(&Like { liked: true }, &like_ctx(true))), Some(Code::AlreadyExists));
        assert_eq!(code(like(&Like::default(), &like_ctx(false))), Some(Code::NotFound));
        let own = LikeContext { liker_id: Uuid::nil(), ..like_ctx(true) };
        assert_eq!(code(like(&Like::default(), &own)), Some(Code::InvalidArgument));
        assert_eq!(code(unlike(&Like::default(), &like_ctx(true))), Some(Code::NotFound));
    }

    #[test]
    fn only_its_author_deletes_a_comment() {
        let ctx = CommentContext {
            review_id: Uuid::max(),
            comment_id: Uuid::from_u128(1),
            reader_id: Uuid::from_u128(2),
            review_live: true,
        };
        let events = comment(&Comment::default(), "Agreed", &ctx).unwrap();
        let state = Comment { commenter_id: Some(Uuid::from_u128(2)), deleted: false };
        assert!(matches!(&events[..], [Event::ReviewCommented { .. }]));
        let stranger = CommentContext { reader_id: Uuid::from_u128(3), ..ctx };
        assert_eq!(code(delete_comment(&state, &stranger)), Some(Code::PermissionDenied));
        assert!(matches!(&delete_comment(&state, &ctx).unwrap()[..], [Event::CommentDeleted { .. }]));
        assert_eq!(code(comment(&Comment::default(), "", &ctx)), Some(Code::InvalidArgument));
        assert_eq!(code(comment(&Comment::default(), &"x".repeat(5_001), &ctx)), Some(Code::InvalidArgument));
    }
}
