//! The reviews' batched reads: who likes which review, and review counts per reader and book.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::{Database, Failure};

/// Whether a reader likes a review: (review, reader).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LikedBy(pub Uuid, pub Uuid);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReaderReviewCount(pub Uuid);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BookReviewCount(pub Uuid);

impl Loader<LikedBy> for Database {
    type Value = bool;
    type Error = Failure;

    /// Present (true) for each review the reader likes; absent keys are not liked.
    async fn load(&self, keys: &[LikedBy]) -> Result<HashMap<LikedBy, bool>, Failure> {
        let (reviews, likers): (Vec<Uuid>, Vec<Uuid>) = keys.iter().map(|k| (k.0, k.1)).unzip();
        let rows = sqlx::query!(
            "SELECT l.review_id, l.liker_id FROM review_likes l
             JOIN UNNEST($1::uuid[], $2::uuid[]) AS k(review_id, liker_id)
               ON l.review_id = k.review_id AND l.liker_id = k.liker_id",
            &reviews,
            &likers
        )
        .fetch_all(&self.0)
        .await?;
        Ok(rows.into_iter().map(|r| (LikedBy(r.review_id, r.liker_id), true)).collect())
    }
}

impl Loader<ReaderReviewCount> for Database {
    type Value = i64;
    type Error = Failure;

    async fn load(&self, keys: &[ReaderReviewCount]) -> Result<HashMap<ReaderReviewCount, i64>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows =
            sqlx::query!("SELECT reader_id, reviews_count FROM reader_review_counts WHERE reader_id = ANY($1)", &ids)
                .fetch_all(&self.0)
                .await?;
        Ok(rows.into_iter().map(|r| (ReaderReviewCount(r.reader_id), r.reviews_count)).collect())
    }
}

impl Loader<BookReviewCount> for Database {
    type Value = i64;
    type Error = Failure;

    async fn load(&self, keys: &[BookReviewCount]) -> Result<HashMap<BookReviewCount, i64>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = sqlx::query!("SELECT book_id, reviews_count FROM book_review_counts WHERE book_id = ANY($1)", &ids)
            .fetch_all(&self.0)
            .await?;
        Ok(rows.into_iter().map(|r| (BookReviewCount(r.book_id), r.reviews_count)).collect())
    }
}
