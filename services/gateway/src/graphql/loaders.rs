//! DataLoaders: every by-id lookup of a request is batched into one query.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    reading::ShelfCounts,
    types::{Author, Book, BookRatingsRow, Reader},
};

pub struct Database(pub PgPool);

type Failure = Arc<sqlx::Error>;

impl Loader<BookKey> for Database {
    type Value = Book;
    type Error = Failure;

    async fn load(&self, keys: &[BookKey]) -> Result<HashMap<BookKey, Book>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = sqlx::query_as!(
            Book,
            "SELECT book_id, title, subtitle, description, pages, format, first_published, position
             FROM books WHERE book_id = ANY($1)",
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        Ok(rows.into_iter().map(|b| (BookKey(b.book_id), b)).collect())
    }
}

impl Loader<AuthorsOf> for Database {
    type Value = Vec<Author>;
    type Error = Failure;

    async fn load(&self, keys: &[AuthorsOf]) -> Result<HashMap<AuthorsOf, Vec<Author>>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = sqlx::query!(
            "SELECT ba.book_id, a.author_id, a.name, a.bio
             FROM book_authors ba JOIN authors a USING (author_id)
             WHERE ba.book_id = ANY($1)
             ORDER BY ba.book_id, ba.ordinal",
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        let mut authors: HashMap<AuthorsOf, Vec<Author>> = HashMap::new();
        for row in rows {
            authors.entry(AuthorsOf(row.book_id)).or_default().push(Author {
                author_id: row.author_id,
                name: row.name,
                bio: row.bio,
            });
        }
        Ok(authors)
    }
}

impl Loader<AuthorKey> for Database {
    type Value = Author;
    type Error = Failure;

    async fn load(&self, keys: &[AuthorKey]) -> Result<HashMap<AuthorKey, Author>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = sqlx::query_as!(Author, "SELECT author_id, name, bio FROM authors WHERE author_id = ANY($1)", &ids)
            .fetch_all(&self.0)
            .await?;
        Ok(rows.into_iter().map(|a| (AuthorKey(a.author_id), a)).collect())
    }
}

impl Loader<RatingsOf> for Database {
    type Value = BookRatingsRow;
    type Error = Failure;

    async fn load(&self, keys: &[RatingsOf]) -> Result<HashMap<RatingsOf, BookRatingsRow>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = sqlx::query!(
            "SELECT book_id, ratings_count, ratings_sum, stars_1, stars_2, stars_3, stars_4, stars_5
             FROM book_ratings WHERE book_id = ANY($1)",
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let counts = BookRatingsRow {
                    count: r.ratings_count as u64,
                    sum: r.ratings_sum as u64,
                    stars: [r.stars_1, r.stars_2, r.stars_3, r.stars_4, r.stars_5].map(|n| n as u64),
                };
                (RatingsOf(r.book_id), counts)
            })
            .collect())
    }
}

impl Loader<ReaderKey> for Database {
    type Value = Reader;
    type Error = Failure;

    async fn load(&self, keys: &[ReaderKey]) -> Result<HashMap<ReaderKey, Reader>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = sqlx::query_as!(
            Reader,
            "SELECT reader_id, handle, display_name, bio, joined_at FROM readers WHERE reader_id = ANY($1)",
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        Ok(rows.into_iter().map(|r| (ReaderKey(r.reader_id), r)).collect())
    }
}

impl Loader<ShelfCountsOf> for Database {
    type Value = ShelfCounts;
    type Error = Failure;

    async fn load(&self, keys: &[ShelfCountsOf]) -> Result<HashMap<ShelfCountsOf, ShelfCounts>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = sqlx::query!(
            "SELECT book_id, want_to_read, currently_reading, paused, read, did_not_finish
             FROM book_shelf_counts WHERE book_id = ANY($1)",
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let counts = ShelfCounts {
                    want_to_read: r.want_to_read,
                    currently_reading: r.currently_reading,
                    read: r.read,
                    did_not_finish: r.did_not_finish,
                    paused: r.paused,
                };
                (ShelfCountsOf(r.book_id), counts)
            })
            .collect())
    }
}

impl Loader<CustomShelvesOf> for Database {
    type Value = Vec<String>;
    type Error = Failure;

    async fn load(&self, keys: &[CustomShelvesOf]) -> Result<HashMap<CustomShelvesOf, Vec<String>>, Failure> {
        let (readers, books): (Vec<Uuid>, Vec<Uuid>) = keys.iter().map(|k| (k.0, k.1)).unzip();
        let rows = sqlx::query!(
            "SELECT c.reader_id, c.book_id, c.shelf
             FROM custom_shelf_entries c JOIN UNNEST($1::uuid[], $2::uuid[]) AS k(reader_id, book_id)
                  ON c.reader_id = k.reader_id AND c.book_id = k.book_id
             ORDER BY c.shelf_key",
            &readers,
            &books
        )
        .fetch_all(&self.0)
        .await?;
        let mut shelves: HashMap<CustomShelvesOf, Vec<String>> = HashMap::new();
        for row in rows {
            shelves.entry(CustomShelvesOf(row.reader_id, row.book_id)).or_default().push(row.shelf);
        }
        Ok(shelves)
    }
}

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

impl Loader<FollowCounts> for Database {
    /// (followers, following)
    type Value = (i64, i64);
    type Error = Failure;

    async fn load(&self, keys: &[FollowCounts]) -> Result<HashMap<FollowCounts, (i64, i64)>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = sqlx::query!(
            "SELECT reader_id, followers, following FROM reader_follow_counts WHERE reader_id = ANY($1)",
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        Ok(rows.into_iter().map(|r| (FollowCounts(r.reader_id), (r.followers, r.following))).collect())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BookKey(pub Uuid);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuthorsOf(pub Uuid);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuthorKey(pub Uuid);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RatingsOf(pub Uuid);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReaderKey(pub Uuid);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShelfCountsOf(pub Uuid);
/// A reader's custom shelves holding a book: (reader, book).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CustomShelvesOf(pub Uuid, pub Uuid);
/// Whether a reader likes a review: (review, reader).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LikedBy(pub Uuid, pub Uuid);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReaderReviewCount(pub Uuid);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BookReviewCount(pub Uuid);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FollowCounts(pub Uuid);
