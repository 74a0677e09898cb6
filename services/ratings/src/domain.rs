//! The ratings decider: one reader's rating of one book. Pure: no I/O, tested given/when/then.

use readstream_contracts::{ClearedStars, Code, Decider, RatingsEvent, Rejection, Stars};
use uuid::Uuid;

/// The reader's current rating of the book, if any.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rating {
    pub stars: Option<Stars>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatingCommand {
    /// As the client sent it; the decider checks it is 1 to 5.
    Rate {
        stars: i32,
    },
    /// In quarter stars, 4 to 20 (`rateBook`'s stars times four, or an imported StoryGraph
    /// rating).
    RateQuarters {
        quarters: i32,
    },
    Clear,
}

/// Whose rating of which book, and whether the catalog has the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatingFacts {
    pub reader_id: Uuid,
    pub book_id: Uuid,
    pub book_exists: bool,
}

impl Decider for Rating {
    type Command = RatingCommand;
    type Facts = RatingFacts;
    type Event = RatingsEvent;
    type Error = Rejection;

    /// Rating again with the same stars changes nothing and appends nothing.
    fn decide(&self, command: &RatingCommand, facts: &RatingFacts) -> Result<Vec<RatingsEvent>, Rejection> {
        let RatingFacts { reader_id, book_id, book_exists } = *facts;
        let rate = |stars: Stars| {
            if !book_exists {
                return Err(Rejection::not_found("bookId", "no book with this id"));
            }
            if self.stars == Some(stars) {
                return Ok(vec![]);
            }
            Ok(vec![RatingsEvent::BookRated { reader_id, book_id, stars, previous_stars: self.stars }])
        };
        match *command {
            RatingCommand::Rate { stars } => match u8::try_from(stars).ok().and_then(Stars::whole) {
                Some(stars) => rate(stars),
                None => Err(Rejection::invalid("stars", "stars must be a whole number from 1 to 5")),
            },
            RatingCommand::RateQuarters { quarters } => {
                match u8::try_from(quarters).ok().and_then(Stars::from_quarters) {
                    Some(stars) => rate(stars),
                    None => Err(Rejection::invalid("stars", "stars must be 1 to 5 in steps of 0.25")),
                }
            }
            RatingCommand::Clear => match self.stars {
                Some(previous) => Ok(vec![RatingsEvent::RatingCleared {
                    reader_id,
                    book_id,
                    previous_stars: ClearedStars::Exact(previous),
                }]),
                None => Err(Rejection {
                    code: Code::NotFound,
                    message: "you have not rated this book".into(),
                    field: Some("bookId"),
                    retry_after_secs: None,
                }),
            },
        }
    }

    fn evolve(self, event: &RatingsEvent) -> Self {
        match event {
            RatingsEvent::BookRated { stars, .. } => Rating { stars: Some(*stars) },
            RatingsEvent::RatingCleared { .. } => Rating { stars: None },
            // On the survey's own subject, never the rating's.
            RatingsEvent::BookDescribed { .. } => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use readstream_testkit::decider::given;

    use super::*;

    const FACTS: RatingFacts = RatingFacts { reader_id: Uuid::nil(), book_id: Uuid::max(), book_exists: true };

    fn rate(stars: i32) -> RatingCommand {
        RatingCommand::Rate { stars }
    }

    fn whole(stars: u8) -> Stars {
        Stars::whole(stars).unwrap_or_else(|| panic!("{stars} stars"))
    }

    fn rated(stars: u8, previous_stars: Option<u8>) -> RatingsEvent {
        RatingsEvent::BookRated {
            reader_id: Uuid::nil(),
            book_id: Uuid::max(),
            stars: whole(stars),
            previous_stars: previous_stars.map(whole),
        }
    }

    fn rated_in_quarters(quarters: u8) -> RatingsEvent {
        let stars = Stars::from_quarters(quarters).unwrap_or_else(|| panic!("{quarters} quarters"));
        RatingsEvent::BookRated { reader_id: Uuid::nil(), book_id: Uuid::max(), stars, previous_stars: None }
    }

    fn cleared(previous_quarters: u8) -> RatingsEvent {
        let previous_stars = ClearedStars::Exact(quarters(previous_quarters));
        RatingsEvent::RatingCleared { reader_id: Uuid::nil(), book_id: Uuid::max(), previous_stars }
    }

    fn quarters(quarters: u8) -> Stars {
        Stars::from_quarters(quarters).unwrap_or_else(|| panic!("{quarters} quarters"))
    }

    #[test]
    fn given_no_rating_when_rated_then_rated_without_previous() {
        given::<Rating>([]).when(rate(4), FACTS).then([rated(4, None)]);
    }

    #[test]
    fn given_a_rating_when_rated_again_then_it_replaces_the_earlier_one() {
        given::<Rating>([rated(4, None)]).when(rate(2), FACTS).then([rated(2, Some(4))]);
    }

    #[test]
    fn given_a_rating_when_rated_the_same_then_nothing_is_appended() {
        given::<Rating>([rated(4, None)]).when(rate(4), FACTS).then([]);
    }

    #[test]
    fn when_stars_are_outside_one_to_five_then_invalid_argument() {
        for stars in [0, 6, -1, 256, i32::MAX] {
            given::<Rating>([]).when(rate(stars), FACTS).then_refused(Code::InvalidArgument, Some("stars"));
        }
    }

    #[test]
    fn when_the_book_is_unknown_then_not_found() {
        let facts = RatingFacts { book_exists: false, ..FACTS };
        given::<Rating>([]).when(rate(3), facts).then_refused(Code::NotFound, Some("bookId"));
    }

    #[test]
    fn given_a_rating_when_cleared_then_cleared_with_the_old_stars() {
        given::<Rating>([rated(4, None), rated(5, Some(4))]).when(RatingCommand::Clear, FACTS).then([cleared(20)]);
    }

    #[test]
    fn given_a_rating_in_quarter_stars_when_rated_in_whole_stars_then_it_is_replaced_exactly() {
        let three_and_three_quarters = Stars::from_quarters(15);
        let replaced = RatingsEvent::BookRated {
            reader_id: Uuid::nil(),
            book_id: Uuid::max(),
            stars: whole(4),
            previous_stars: three_and_three_quarters,
        };
        given::<Rating>([rated_in_quarters(15)]).when(rate(4), FACTS).then([replaced]);
    }

    #[test]
    fn when_rated_in_quarter_stars_then_the_exact_rating_and_outside_4_to_20_refused() {
        let three_and_a_quarter = RatingCommand::RateQuarters { quarters: 13 };
        given::<Rating>([]).when(three_and_a_quarter, FACTS).then([rated_in_quarters(13)]);
        given::<Rating>([rated_in_quarters(13)]).when(three_and_a_quarter, FACTS).then([]);
        for quarters in [0, 3, 21, -4] {
            given::<Rating>([])
                .when(RatingCommand::RateQuarters { quarters }, FACTS)
                .then_refused(Code::InvalidArgument, Some("stars"));
        }
    }

    #[test]
    fn given_a_rating_in_quarter_stars_when_cleared_then_cleared_with_its_exact_stars() {
        given::<Rating>([rated_in_quarters(14)]).when(RatingCommand::Clear, FACTS).then([cleared(14)]);
    }

    #[test]
    fn given_no_rating_when_cleared_then_not_found() {
        for history in [vec![], vec![rated(4, None), cleared(16)]] {
            given::<Rating>(history).when(RatingCommand::Clear, FACTS).then_refused(Code::NotFound, Some("bookId"));
        }
    }
}
