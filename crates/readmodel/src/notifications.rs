//! A reader's notifications: the `notifications` projection's groups and items, read with the
//! reader's blocks and mutes applied, and the read marks and mutes the gateway keeps.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

/// What a notification is about (`notification_items.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NotificationKind {
    /// Someone liked the reader's review (grouped by review).
    ReviewLiked,
    /// Someone commented on the reader's review (grouped by review).
    ReviewCommented,
    /// Someone followed the reader (one group).
    NewFollower,
    /// A reader they follow reviewed a book on their shelves (grouped by review).
    FolloweeReviewed,
    /// An author they follow has a new book (grouped by book).
    NewBook,
    /// An admin gave them a role (one group).
    RoleGranted,
    /// Their library import finished (grouped by job).
    ImportFinished,
    /// Their library import failed (grouped by job).
    ImportFailed,
}

crate::text_kind!(NotificationKind {
    ReviewLiked => "review_liked",
    ReviewCommented => "review_commented",
    NewFollower => "new_follower",
    FolloweeReviewed => "followee_reviewed",
    NewBook => "new_book",
    RoleGranted => "role_granted",
    ImportFinished => "import_finished",
    ImportFailed => "import_failed",
});

/// One group of a reader's notifications, as their list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub kind: NotificationKind,
    pub about: Uuid,
    /// Where the group sorts: its newest item's position, blocked ones included (the cursor).
    pub sort_position: i64,
    /// Its newest visible item's position and time.
    pub latest_position: i64,
    pub latest_at: DateTime<Utc>,
    /// How many items it holds that the reader may see.
    pub items: i64,
    /// The newest items' actors, newest first, at most three.
    pub actors: Vec<Uuid>,
    pub review_id: Option<Uuid>,
    pub book_id: Option<Uuid>,
    /// The newest item's detail (a role's name, an import's book count or failure).
    pub detail: String,
    /// Whether it holds an item newer than the reader's marks.
    pub unread: bool,
}

/// One keyset page of `reader_id`'s groups, newest first, before `before` (a group's latest
/// position): items from readers they blocked or who blocked them left out (and groups with
/// none left), muted kinds left out.
pub async fn page(
    db: impl PgExecutor<'_>,
    reader_id: Uuid,
    before: i64,
    limit: i64,
) -> Result<Vec<Group>, sqlx::Error> {
    let rows = sqlx::query_file!("queries/notifications/page.sql", reader_id, before, limit).fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Group {
                kind: NotificationKind::from_text(&r.kind)?,
                about: r.about,
                sort_position: r.sort_position,
                latest_position: r.latest_position,
                latest_at: r.latest_at,
                items: r.items,
                actors: r.actors,
                review_id: r.review_id,
                book_id: r.book_id,
                detail: r.detail,
                unread: r.unread,
            })
        })
        .collect())
}

/// How many items `reader_id` has not read (blocks and mutes applied as in [`page`]).
pub async fn unread_count(db: impl PgExecutor<'_>, reader_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_file_scalar!("queries/notifications/unread_count.sql", reader_id).fetch_one(db).await
}

/// Marks one group read up to its newest item now; `false` when the reader has no such group.
pub async fn mark_read(
    db: impl PgExecutor<'_>,
    reader_id: Uuid,
    kind: NotificationKind,
    about: Uuid,
) -> Result<bool, sqlx::Error> {
    let marked = sqlx::query!(
        "INSERT INTO notification_group_marks (reader_id, kind, about, read_through)
         SELECT reader_id, kind, about, latest_position FROM notification_groups
         WHERE reader_id = $1 AND kind = $2 AND about = $3
         ON CONFLICT (reader_id, kind, about) DO UPDATE SET read_through = EXCLUDED.read_through",
        reader_id,
        kind.as_str(),
        about
    )
    .execute(db)
    .await?;
    Ok(marked.rows_affected() > 0)
}

/// Marks everything `reader_id` has been notified of so far read.
pub async fn mark_all_read(db: impl PgExecutor<'_>, reader_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO notification_marks (reader_id, read_through)
         SELECT $1, coalesce(max(latest_position), 0) FROM notification_groups WHERE reader_id = $1
         ON CONFLICT (reader_id) DO UPDATE SET read_through = GREATEST(notification_marks.read_through, EXCLUDED.read_through)",
        reader_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The kinds `reader_id` muted.
pub async fn muted(db: impl PgExecutor<'_>, reader_id: Uuid) -> Result<Vec<NotificationKind>, sqlx::Error> {
    let kinds =
        sqlx::query_scalar!("SELECT kind FROM notification_mutes WHERE reader_id = $1 ORDER BY kind", reader_id)
            .fetch_all(db)
            .await?;
    Ok(kinds.iter().filter_map(|kind| NotificationKind::from_text(kind)).collect())
}

/// Mutes (or unmutes) one kind for `reader_id`.
pub async fn set_muted(
    db: impl PgExecutor<'_>,
    reader_id: Uuid,
    kind: NotificationKind,
    muted: bool,
) -> Result<(), sqlx::Error> {
    if muted {
        sqlx::query!(
            "INSERT INTO notification_mutes (reader_id, kind) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            reader_id,
            kind.as_str()
        )
        .execute(db)
        .await?;
    } else {
        sqlx::query!("DELETE FROM notification_mutes WHERE reader_id = $1 AND kind = $2", reader_id, kind.as_str())
            .execute(db)
            .await?;
    }
    Ok(())
}
