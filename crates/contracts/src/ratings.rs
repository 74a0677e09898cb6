//! The ratings context: a reader's stars for a book.

use uuid::Uuid;

use crate::{
    command::{commands, Service},
    subject::Aggregate,
};

/// The command service of ratings.
pub struct RatingsService;

impl Service for RatingsService {
    const NAME: &'static str = "ratings";
}

commands!(RatingsService { RateBook => "rate_book", ClearRating => "clear_rating" });

/// One reader's rating of one book.
pub fn rating(reader_id: Uuid, book_id: Uuid) -> Aggregate {
    Aggregate::new(format!("ratings.{reader_id}.{book_id}"))
}

/// Where a book's new rating figures are published after each projected change.
pub fn live_book_ratings(namespace: &str, book_id: Uuid) -> String {
    format!("{namespace}.live.book.{book_id}.ratings")
}

/// A reader's stars for a book changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RatingsEvent {
    BookRated {
        reader_id: Uuid,
        book_id: Uuid,
        stars: u8,
        /// The rating this one replaces, if the reader had rated the book before.
        previous_stars: Option<u8>,
    },
    RatingCleared {
        reader_id: Uuid,
        book_id: Uuid,
        previous_stars: u8,
    },
}
