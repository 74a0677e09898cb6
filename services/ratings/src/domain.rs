//! The ratings decider: one reader's rating of one book. Pure: no I/O, tested given/when/then.

use readstream_contracts::{Code, Event, Rejection};
use readstream_eventstore::Stored;
use uuid::Uuid;

/// The reader's current rating of the book, if any.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rating {
    pub stars: Option<u8>,
}

impl Rating {
    pub fn evolve(self, event: &Event) -> Self {
        match event {
            Event::BookRated { stars, .. } => Rating { stars: Some(*stars) },
            Event::RatingCleared { .. } => Rating { stars: None },
            _ => self,
        }
    }

    pub fn fold(history: &[Stored]) -> Self {
        history.iter().flat_map(|s| &s.envelope.events).fold(Self::default(), |state, e| state.evolve(&e.event))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateBook {
    pub reader_id: Uuid,
    pub book_id: Uuid,
    /// As the client sent it; the decider checks it is 1 to 5.
    pub stars: i32,
    /// Whether the catalog has the book (looked up by the service before deciding).
    pub book_exists: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClearRating {
    pub reader_id: Uuid,
    pub book_id: Uuid,
}

/// Rating again with the same stars changes nothing and appends nothing.
pub fn rate_book(state: &Rating, command: RateBook) -> Result<Vec<Event>, Rejection> {
    let stars = match u8::try_from(command.stars) {
        Ok(stars @ 1..=5) => stars,
        _ => return Err(Rejection::invalid("stars", "stars must be a whole number from 1 to 5")),
    };
    if !command.book_exists {
        return Err(Rejection::not_found("bookId", "no book with this id"));
    }
    if state.stars == Some(stars) {
        return Ok(vec![]);
    }
    Ok(vec![Event::BookRated {
        reader_id: command.reader_id,
        book_id: command.book_id,
        stars,
        previous_stars: state.stars,
    }])
}

pub fn clear_rating(state: &Rating, command: ClearRating) -> Result<Vec<Event>, Rejection> {
    match state.stars {
        Some(previous_stars) => {
            Ok(vec![Event::RatingCleared { reader_id: command.reader_id, book_id: command.book_id, previous_stars }])
        }
        None => Err(Rejection {
            code: Code::NotFound,
            message: "you have not rated this book".into(),
            field: Some("bookId"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(events: &[Event]) -> Rating {
        events.iter().fold(Rating::default(), |state, e| state.evolve(e))
    }

    fn rate(stars: i32) -> RateBook {
        RateBook { reader_id: Uuid::nil(), book_id: Uuid::max(), stars, book_exists: true }
    }

    fn rated(stars: u8, previous_stars: Option<u8>) -> Event {
        Event::BookRated { reader_id: Uuid::nil(), book_id: Uuid::max(), stars, previous_stars }
    }

    #[test]
    fn given_no_rating_when_rated_then_rated_without_previous() {
        assert_eq!(rate_book(&given(&[]), rate(4)), Ok(vec![rated(4, None)]));
    }

    #[test]
    fn given_a_rating_when_rated_again_then_it_replaces_the_earlier_one() {
        let state = given(&[rated(4, None)]);
        assert_eq!(rate_book(&state, rate(2)), Ok(vec![rated(2, Some(4))]));
    }

    #[test]
    fn given_a_rating_when_rated_the_same_then_nothing_is_appended() {
        let state = given(&[rated(4, None)]);
        assert_eq!(rate_book(&state, rate(4)), Ok(vec![]));
    }

    #[test]
    fn when_stars_are_outside_one_to_five_then_invalid_argument() {
        for stars in [0, 6, -1, 256, i32::MAX] {
            let refusal = rate_book(&given(&[]), rate(stars)).err();
            assert_eq!(refusal.map(|r| (r.code, r.field)), Some((Code::InvalidArgument, Some("stars"))));
        }
    }

    #[test]
    fn when_the_book_is_unknown_then_not_found() {
        let command = RateBook { book_exists: false, ..rate(3) };
        let refusal = rate_book(&given(&[]), command).err();
        assert_eq!(refusal.map(|r| r.code), Some(Code::NotFound));
    }

    #[test]
    fn given_a_rating_when_cleared_then_cleared_with_the_old_stars() {
        let state = given(&[rated(4, None), rated(5, Some(4))]);
        let command = ClearRating { reader_id: Uuid::nil(), book_id: Uuid::max() };
        assert_eq!(
            clear_rating(&state, command),
            Ok(vec![Event::RatingCleared { reader_id: Uuid::nil(), book_id: Uuid::max(), previous_stars: 5 }])
        );
    }

    #[test]
    fn given_no_rating_when_cleared_then_not_found() {
        let cleared = Event::RatingCleared { reader_id: Uuid::nil(), book_id: Uuid::max(), previous_stars: 4 };
        let command = ClearRating { reader_id: Uuid::nil(), book_id: Uuid::max() };
        for history in [vec![], vec![rated(4, None), cleared]] {
            let refusal = clear_rating(&given(&history), command).err();
            assert_eq!(refusal.map(|r| r.code), Some(Code::NotFound));
        }
    }
}
