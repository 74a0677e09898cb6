//! The social reads: readers by id or handle, and how many follow each; who follows each
//! author.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::readers::ReadingVisibility;

use crate::{Database, Failure};

/// A row of `readers`.
#[derive(Debug, Clone)]
pub struct ReaderRow {
    pub reader_id: Uuid,
    pub handle: String,
    pub display_name: String,
    pub bio: String,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReaderKey(pub Uuid);
/// A reader's (followers, following).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FollowCounts(pub Uuid);

impl Loader<ReaderKey> for Database {
    type Value = ReaderRow;
    type Error = Failure;

    async fn load(&self, keys: &[ReaderKey]) -> Result<HashMap<ReaderKey, ReaderRow>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = sqlx::query_as!(
            ReaderRow,
            "SELECT reader_id, handle, display_name, bio, joined_at FROM readers WHERE reader_id = ANY($1)",
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        Ok(rows.into_iter().map(|r| (ReaderKey(r.reader_id), r)).collect())
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

/// The reader with this handle, whatever its case.
pub async fn reader_by_handle(pool: &PgPool, handle: &str) -> Result<Option<ReaderRow>, sqlx::Error> {
    sqlx::query_as!(
        ReaderRow,
        "SELECT reader_id, handle, display_name, bio, joined_at FROM readers
         WHERE lower(handle) = lower($1) ORDER BY position LIMIT 1",
        handle
    )
    .fetch_optional(pool)
    .await
}

/// How many readers follow an author.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuthorFollowersOf(pub Uuid);

impl Loader<AuthorFollowersOf> for Database {
    type Value = i64;
    type Error = Failure;

    async fn load(&self, keys: &[AuthorFollowersOf]) -> Result<HashMap<AuthorFollowersOf, i64>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows =
            sqlx::query!("SELECT author_id, followers FROM author_follower_counts WHERE author_id = ANY($1)", &ids)
                .fetch_all(&self.0)
                .await?;
        Ok(rows.into_iter().map(|row| (AuthorFollowersOf(row.author_id), row.followers)).collect())
    }
}

/// Whether a reader follows an author: (reader, author).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FollowsAuthor(pub Uuid, pub Uuid);

impl Loader<FollowsAuthor> for Database {
    type Value = bool;
    type Error = Failure;

    async fn load(&self, keys: &[FollowsAuthor]) -> Result<HashMap<FollowsAuthor, bool>, Failure> {
        let (readers, authors): (Vec<Uuid>, Vec<Uuid>) = keys.iter().map(|k| (k.0, k.1)).unzip();
        let rows = sqlx::query!(
            "SELECT f.reader_id, f.author_id FROM author_follows f
             JOIN UNNEST($1::uuid[], $2::uuid[]) AS k(reader_id, author_id)
               ON f.reader_id = k.reader_id AND f.author_id = k.author_id",
            &readers,
            &authors
        )
        .fetch_all(&self.0)
        .await?;
        Ok(rows.into_iter().map(|row| (FollowsAuthor(row.reader_id, row.author_id), true)).collect())
    }
}

/// Whether `follower` follows `followee`.
pub async fn follows(db: impl sqlx::PgExecutor<'_>, follower: Uuid, followee: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_file_scalar!("queries/social/follows.sql", follower, followee).fetch_one(db).await
}

/// Who sees `reader_id`'s reading (everyone for a reader the read model does not have).
pub async fn reading_visibility(
    db: impl sqlx::PgExecutor<'_>,
    reader_id: Uuid,
) -> Result<ReadingVisibility, sqlx::Error> {
    let visibility =
        sqlx::query_file_scalar!("queries/social/reading_visibility.sql", reader_id).fetch_optional(db).await?;
    Ok(visibility.unwrap_or(ReadingVisibility::Everyone))
}

/// The roles `reader_id` holds, by their names.
pub async fn roles(db: impl sqlx::PgExecutor<'_>, reader_id: Uuid) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_file_scalar!("queries/social/roles.sql", reader_id).fetch_all(db).await
}

/// Which way along the follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The readers following one.
    Followers,
    /// The readers one follows.
    Following,
}

/// One page of `reader_id`'s followers or followees, most recent first, before the follow
/// position `before`: each one and the follow's position.
pub async fn follows_page(
    db: impl sqlx::PgExecutor<'_>,
    reader_id: Uuid,
    direction: Direction,
    before: i64,
    limit: i64,
) -> Result<Vec<(Uuid, i64)>, sqlx::Error> {
    let rows = match direction {
        Direction::Followers => sqlx::query_file!("queries/social/followers.sql", reader_id, before, limit)
            .fetch_all(db)
            .await?
            .into_iter()
            .map(|row| (row.reader_id, row.position))
            .collect(),
        Direction::Following => sqlx::query_file!("queries/social/following.sql", reader_id, before, limit)
            .fetch_all(db)
            .await?
            .into_iter()
            .map(|row| (row.reader_id, row.position))
            .collect(),
    };
    Ok(rows)
}

/// Whether a block stands between `viewer` and `other` (either way), and whether `viewer`
/// follows `other`.
pub async fn standing(db: impl sqlx::PgExecutor<'_>, viewer: Uuid, other: Uuid) -> Result<(bool, bool), sqlx::Error> {
    let row = sqlx::query_file!("queries/social/standing.sql", viewer, other).fetch_one(db).await?;
    Ok((row.blocked, row.follows))
}

/// Whether `blocker` blocked `blocked` (this way only).
pub async fn blocks(db: impl sqlx::PgExecutor<'_>, blocker: Uuid, blocked: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_file_scalar!("queries/social/blocks.sql", blocker, blocked).fetch_one(db).await
}

/// Whether a block stands between `a` and `b`, either way.
pub async fn blocked_between(db: impl sqlx::PgExecutor<'_>, a: Uuid, b: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_file_scalar!("queries/social/blocked_between.sql", a, b).fetch_one(db).await
}
