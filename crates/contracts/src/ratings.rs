//! The ratings context: a reader's stars for a book, and what they say it is (its moods, pace
//! and content warnings).

use uuid::Uuid;

use crate::{
    command::{commands, Service},
    subject::Aggregate,
    survey::Survey,
};

/// The command service of ratings.
pub struct RatingsService;

impl Service for RatingsService {
    const NAME: &'static str = "ratings";
}

commands!(RatingsService, RatingsRoutes {
    RateBook => rate_book(Sender) -> Identified,
    ClearRating => clear_rating(Sender) -> Identified,
    DescribeBook => describe_book(Sender) -> Identified,
});

/// One reader's rating of one book.
pub fn rating(reader_id: Uuid, book_id: Uuid) -> Aggregate {
    Aggregate::new(format!("ratings.{reader_id}.{book_id}"))
}

/// One reader's answers about one book's moods, pace and content warnings.
pub fn survey(reader_id: Uuid, book_id: Uuid) -> Aggregate {
    Aggregate::new(format!("ratings.{reader_id}.{book_id}.survey"))
}

/// Where a book's new rating figures are published after each projected change.
pub fn live_book_ratings(namespace: &str, book_id: Uuid) -> String {
    format!("{namespace}.live.book.{book_id}.ratings")
}

/// A rating, in quarter stars from 1 to 5: the precision StoryGraph's ratings carry, and what
/// `rateBook` takes. Averages and sums count it exactly; the histogram's five buckets, and the
/// whole-star fields kept for older clients, count it [`Stars::rounded`] half up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stars(u8);

impl Stars {
    /// Whole stars, 1 to 5.
    pub fn whole(stars: u8) -> Option<Self> {
        matches!(stars, 1..=5).then_some(Stars(stars * 4))
    }

    /// Quarter stars, 4 (one star) to 20 (five).
    pub fn from_quarters(quarters: u8) -> Option<Self> {
        matches!(quarters, 4..=20).then_some(Stars(quarters))
    }

    pub fn quarters(self) -> u8 {
        self.0
    }

    /// To the nearest whole star, half up: 3.5 is 4, 3.25 is 3.
    pub fn rounded(self) -> u8 {
        (self.0 + 2) / 4
    }
}

/// Written as stars with their quarters: `4.25`.
impl serde::Serialize for Stars {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(f64::from(self.0) / 4.0)
    }
}

/// A reader's stars for a book changed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type")]
pub enum RatingsEvent {
    BookRated {
        reader_id: Uuid,
        book_id: Uuid,
        stars: Stars,
        /// The rating this one replaces, if the reader had rated the book before.
        previous_stars: Option<Stars>,
    },
    RatingCleared {
        reader_id: Uuid,
        book_id: Uuid,
        previous_stars: ClearedStars,
    },
    /// The reader's answers about the book from now on (all empty: taken back).
    BookDescribed {
        reader_id: Uuid,
        book_id: Uuid,
        survey: Survey,
    },
}

/// What a cleared rating was, as its event recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum ClearedStars {
    /// The rating itself (`RatingClearedV2`, written from quarter-star ratings on).
    Exact(Stars),
    /// Version 1 recorded whole stars, rounded half up from a rating that may have had quarters:
    /// the exact value is the one the projection that kept the reader's rating holds.
    Rounded(u8),
}

#[cfg(test)]
mod tests {
    use super::Stars;

    #[test]
    fn stars_round_half_up_to_whole_stars() {
        let rounded: Vec<u8> = (4..=20).filter_map(Stars::from_quarters).map(Stars::rounded).collect();
        assert_eq!(rounded, [1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5]);
        assert_eq!(Stars::whole(3).map(Stars::quarters), Some(12));
        assert_eq!([0, 6].map(Stars::whole), [None, None]);
        assert_eq!([0, 3, 21].map(Stars::from_quarters), [None, None, None]);
    }
}
