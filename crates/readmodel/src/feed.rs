//! The feed: what readers did (`activities`), each reader's feed fanned out on write
//! (`feed_items`), the feed's own follow graph (`feed_follows`, `feed_follower_counts`), and what
//! the readers one follows did with a book.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::{readers::ReadingVisibility, shelves::ShelfStatus, text_kind, Database, Failure};

/// What an activity is (`activities.kind`, `feed_items.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivityKind {
    StartedReading,
    FinishedReading,
    DidNotFinish,
    WantToRead,
    Rated,
    Reviewed,
    LikedReview,
    Followed,
    /// A followed author's new book.
    NewBook,
    /// A library brought from Goodreads or StoryGraph (`books` says how many).
    Imported,
}

text_kind!(ActivityKind {
    StartedReading => "started_reading",
    FinishedReading => "finished_reading",
    DidNotFinish => "did_not_finish",
    WantToRead => "want_to_read",
    Rated => "rated",
    Reviewed => "reviewed",
    LikedReview => "liked_review",
    Followed => "followed",
    NewBook => "new_book",
    Imported => "imported",
});

impl ActivityKind {
    /// The kinds that tell a reader's reading, which a reader who keeps it to themselves
    /// ([`ReadingVisibility::OnlyMe`]) shows nobody.
    pub const READING: &'static [ActivityKind] = &[
        ActivityKind::StartedReading,
        ActivityKind::FinishedReading,
        ActivityKind::DidNotFinish,
        ActivityKind::WantToRead,
    ];
}

/// The reading visibility that hides a reader's reading activities from every feed.
const HIDDEN: ReadingVisibility = ReadingVisibility::OnlyMe;

/// One activity, as a feed shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub position: i64,
    pub event_index: i32,
    pub actor_id: Uuid,
    pub kind: ActivityKind,
    pub book_id: Option<Uuid>,
    pub review_id: Option<Uuid>,
    /// A rating's quarter stars.
    pub quarter_stars: Option<i16>,
    pub followee_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub books: Option<i32>,
}

/// One page of `reader_id`'s feed, newest first, before `before` (position, event index): at
/// most `limit` activities, of `kinds` only when given.
pub async fn page(
    db: impl PgExecutor<'_>,
    reader_id: Uuid,
    kinds: Option<&[ActivityKind]>,
    before: (i64, i32),
    limit: i64,
) -> Result<Vec<Activity>, sqlx::Error> {
    sqlx::query_file_as!(
        Activity,
        "queries/feed/page.sql",
        reader_id,
        kinds as _,
        before.0,
        before.1,
        limit,
        ActivityKind::READING as _,
        HIDDEN as _
    )
    .fetch_all(db)
    .await
}

/// `reader_id`'s feed after stream position `since`, oldest first, at most `limit` activities.
pub async fn since(
    db: impl PgExecutor<'_>,
    reader_id: Uuid,
    since: i64,
    limit: i64,
) -> Result<Vec<Activity>, sqlx::Error> {
    sqlx::query_file_as!(
        Activity,
        "queries/feed/since.sql",
        reader_id,
        since,
        limit,
        ActivityKind::READING as _,
        HIDDEN as _
    )
    .fetch_all(db)
    .await
}

/// The activity at `position` and `event_index`, unless its reader keeps it to themselves.
pub async fn item(db: impl PgExecutor<'_>, position: i64, event_index: i32) -> Result<Option<Activity>, sqlx::Error> {
    sqlx::query_file_as!(
        Activity,
        "queries/feed/item.sql",
        position,
        event_index,
        ActivityKind::READING as _,
        HIDDEN as _
    )
    .fetch_optional(db)
    .await
}

/// Whether a reader follows another now, as the feed's own graph has it: (follower, followee).
/// Loaded in batches, so the many live feeds that ask it of one push ask Postgres a few times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StillFollows(pub Uuid, pub Uuid);

impl Loader<StillFollows> for Database {
    type Value = bool;
    type Error = Failure;

    async fn load(&self, keys: &[StillFollows]) -> Result<HashMap<StillFollows, bool>, Failure> {
        let (followers, followees): (Vec<Uuid>, Vec<Uuid>) = keys.iter().map(|k| (k.0, k.1)).unzip();
        let rows =
            sqlx::query_file!("queries/feed/still_follows.sql", &followers, &followees).fetch_all(&self.0).await?;
        Ok(rows.into_iter().map(|row| (StillFollows(row.follower_id, row.followee_id), true)).collect())
    }
}

/// The accounts `reader_id` follows whose activities are merged into feeds on read.
pub async fn merged_followees(db: impl PgExecutor<'_>, reader_id: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_file_scalar!("queries/feed/merged_followees.sql", reader_id).fetch_all(db).await
}

/// What a reader one follows did with a book: their shelf (if they share their reading), their
/// stars, their review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowedOnBook {
    pub reader_id: Uuid,
    /// The follow's position: the list's order and cursor.
    pub position: i64,
    pub status: Option<ShelfStatus>,
    pub quarter_stars: Option<i16>,
    pub review_id: Option<Uuid>,
}

/// One page of the readers `follower` follows who shelved, rated or reviewed `book_id`, most
/// recently followed first, before the follow position `before`.
pub async fn followed_on_book(
    db: impl PgExecutor<'_>,
    follower: Uuid,
    book_id: Uuid,
    before: i64,
    limit: i64,
) -> Result<Vec<FollowedOnBook>, sqlx::Error> {
    sqlx::query_file_as!(
        FollowedOnBook,
        "queries/feed/followed_on_book.sql",
        follower,
        book_id,
        before,
        limit,
        HIDDEN as _
    )
    .fetch_all(db)
    .await
}

/// How many readers [`followed_on_book`] lists in all.
pub async fn followed_on_book_count(
    db: impl PgExecutor<'_>,
    follower: Uuid,
    book_id: Uuid,
) -> Result<i64, sqlx::Error> {
    sqlx::query_file_scalar!("queries/feed/followed_on_book_count.sql", follower, book_id, HIDDEN as _)
        .fetch_one(db)
        .await
}
