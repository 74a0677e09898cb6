//! What readers say books are: genres (from the names of their shelves), moods, pace and
//! content warnings (from the survey), each word with how many readers say it and their share;
//! and the books a word lists, by popularity, rating or date.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use chrono::NaiveDate;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{Database, Failure};

/// A word is shown on a book, and lists the book, once this many distinct readers say it: one
/// reader's shelf name is theirs, three readers' is the book's. (The partial indexes of
/// `book_tags` say the same number.)
pub const MIN_READERS: i32 = 3;

/// What a word says of a book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TagKind {
    /// From readers' shelf names, folded (`contracts::survey::genre`).
    Genre,
    /// From the survey: `contracts::Mood`.
    Mood,
    /// From the survey: `contracts::Pace`.
    Pace,
    /// From the survey: `contracts::ContentWarning`.
    ContentWarning,
}

crate::text_kind!(TagKind {
    Genre => "genre",
    Mood => "mood",
    Pace => "pace",
    ContentWarning => "content_warning",
});

/// A word said of a book: how many readers say it, and of how many who said any word of its
/// kind about the book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookTag {
    pub tag: String,
    pub readers: i32,
    pub respondents: i32,
}

/// A book's words of one kind, the most said first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TagsOf(pub Uuid, pub TagKind);

impl Loader<TagsOf> for Database {
    type Value = Vec<BookTag>;
    type Error = Failure;

    async fn load(&self, keys: &[TagsOf]) -> Result<HashMap<TagsOf, Vec<BookTag>>, Failure> {
        let (books, kinds): (Vec<Uuid>, Vec<TagKind>) = keys.iter().map(|key| (key.0, key.1)).unzip();
        let rows = sqlx::query!(
            r#"SELECT bt.book_id, bt.kind AS "kind: TagKind", bt.tag, bt.readers, r.readers AS respondents
               FROM UNNEST($1::uuid[], $2::text[]) AS k(book_id, kind)
               JOIN book_tag_respondents r ON r.book_id = k.book_id AND r.kind = k.kind
               JOIN book_tags bt ON bt.book_id = k.book_id AND bt.kind = k.kind
               WHERE bt.readers > 0
               ORDER BY bt.book_id, bt.kind, bt.readers DESC, bt.tag"#,
            &books,
            &kinds as &[TagKind]
        )
        .fetch_all(&self.0)
        .await?;
        let mut tags: HashMap<TagsOf, Vec<BookTag>> = HashMap::new();
        for row in rows {
            let tag = BookTag { tag: row.tag, readers: row.readers, respondents: row.respondents };
            tags.entry(TagsOf(row.book_id, row.kind)).or_default().push(tag);
        }
        Ok(tags)
    }
}

/// What one reader said of one book with the survey: their words of each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SurveyOf(pub Uuid, pub Uuid);

impl Loader<SurveyOf> for Database {
    type Value = Vec<(TagKind, String)>;
    type Error = Failure;

    async fn load(&self, keys: &[SurveyOf]) -> Result<HashMap<SurveyOf, Vec<(TagKind, String)>>, Failure> {
        let (readers, books): (Vec<Uuid>, Vec<Uuid>) = keys.iter().map(|key| (key.0, key.1)).unzip();
        let rows = sqlx::query!(
            r#"SELECT v.reader_id, v.book_id, v.kind AS "kind: TagKind", v.tag
               FROM UNNEST($1::uuid[], $2::uuid[]) AS k(reader_id, book_id)
               JOIN tag_votes v ON v.reader_id = k.reader_id AND v.book_id = k.book_id
               WHERE v.kind <> $3
               ORDER BY v.reader_id, v.book_id, v.kind, v.tag"#,
            &readers,
            &books,
            TagKind::Genre as TagKind
        )
        .fetch_all(&self.0)
        .await?;
        let mut answers: HashMap<SurveyOf, Vec<(TagKind, String)>> = HashMap::new();
        for row in rows {
            answers.entry(SurveyOf(row.reader_id, row.book_id)).or_default().push((row.kind, row.tag));
        }
        Ok(answers)
    }
}

/// The order of a word's books.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaggedOrder {
    /// The most readers saying the word first.
    Popular,
    /// The best rated first (unrated last).
    Rated,
    /// The latest first published first (undated last).
    Newest,
}

/// Where a page of a word's books starts: after this key and book, in the list's order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TaggedAfter {
    Popular(i64, Uuid),
    Rated(f64, Uuid),
    Newest(NaiveDate, Uuid),
}

impl TaggedAfter {
    /// Before the first book of a list in `order`.
    pub fn start(order: TaggedOrder) -> Self {
        match order {
            TaggedOrder::Popular => TaggedAfter::Popular(i64::MAX, Uuid::max()),
            TaggedOrder::Rated => TaggedAfter::Rated(f64::MAX, Uuid::max()),
            TaggedOrder::Newest => TaggedAfter::Newest(NaiveDate::MAX, Uuid::max()),
        }
    }
}

/// Up to `limit` books a word lists after `after`, each with the key the next page starts from.
pub async fn tagged(
    pool: &PgPool,
    kind: TagKind,
    tag: &str,
    after: TaggedAfter,
    limit: i64,
) -> Result<Vec<(Uuid, TaggedAfter)>, sqlx::Error> {
    Ok(match after {
        TaggedAfter::Popular(readers, book) => {
            sqlx::query_file!("queries/discovery/tagged_popular.sql", kind as TagKind, tag, readers, book, limit)
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(|row| (row.book_id, TaggedAfter::Popular(row.key, row.book_id)))
                .collect()
        }
        TaggedAfter::Rated(average, book) => {
            sqlx::query_file!("queries/discovery/tagged_rated.sql", kind as TagKind, tag, average, book, limit)
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(|row| (row.book_id, TaggedAfter::Rated(row.key, row.book_id)))
                .collect()
        }
        TaggedAfter::Newest(published, book) => {
            sqlx::query_file!("queries/discovery/tagged_newest.sql", kind as TagKind, tag, published, book, limit)
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(|row| (row.book_id, TaggedAfter::Newest(row.key, row.book_id)))
                .collect()
        }
    })
}
