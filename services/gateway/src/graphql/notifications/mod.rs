//! The notifications slice: a reader's notifications, grouped ("Ana and 3 others liked your
//! review"), keyset-paged, with an unread count, marks and mutes, and live.
//!
//! The groups and items are the `notifications` projection's; what the reader did with them
//! (read marks, muted kinds) is a table the gateway owns, not events: it is the reader's view
//! of their inbox, which no other context decides on or reads, and a rebuild of the projection
//! keeps it.

use async_graphql::{
    connection::{Connection, Edge},
    ComplexObject, Context, Enum, Object, Result, SimpleObject, Subscription, ID,
};
use chrono::{DateTime, Utc};
use futures::Stream;
use readstream_contracts::{proto::live::v1 as live, Code};
use readstream_readmodel::notifications::{self as reads, Group};
use uuid::Uuid;

use super::shared::{
    app, decode_cursor, encode_cursor, page_size,
    review::{visible_review, Review},
    viewer, Book, Reader,
};
use crate::{
    error::ApiError,
    subscriptions::{self, Replay},
};

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum NotificationKind {
    /// Readers liked your review.
    ReviewLiked,
    /// Readers commented on your review.
    ReviewCommented,
    /// Readers followed you.
    NewFollower,
    /// A reader you follow reviewed a book on your shelves.
    FolloweeReviewed,
    /// An author you follow has a new book.
    NewBook,
    /// An admin gave you a role.
    RoleGranted,
    /// Your library import finished.
    ImportFinished,
    /// Your library import failed (`importFailure` says why).
    ImportFailed,
}

impl NotificationKind {
    fn contract(self) -> reads::NotificationKind {
        match self {
            NotificationKind::ReviewLiked => reads::NotificationKind::ReviewLiked,
            NotificationKind::ReviewCommented => reads::NotificationKind::ReviewCommented,
            NotificationKind::NewFollower => reads::NotificationKind::NewFollower,
            NotificationKind::FolloweeReviewed => reads::NotificationKind::FolloweeReviewed,
            NotificationKind::NewBook => reads::NotificationKind::NewBook,
            NotificationKind::RoleGranted => reads::NotificationKind::RoleGranted,
            NotificationKind::ImportFinished => reads::NotificationKind::ImportFinished,
            NotificationKind::ImportFailed => reads::NotificationKind::ImportFailed,
        }
    }
}

impl From<reads::NotificationKind> for NotificationKind {
    fn from(kind: reads::NotificationKind) -> Self {
        match kind {
            reads::NotificationKind::ReviewLiked => NotificationKind::ReviewLiked,
            reads::NotificationKind::ReviewCommented => NotificationKind::ReviewCommented,
            reads::NotificationKind::NewFollower => NotificationKind::NewFollower,
            reads::NotificationKind::FolloweeReviewed => NotificationKind::FolloweeReviewed,
            reads::NotificationKind::NewBook => NotificationKind::NewBook,
            reads::NotificationKind::RoleGranted => NotificationKind::RoleGranted,
            reads::NotificationKind::ImportFinished => NotificationKind::ImportFinished,
            reads::NotificationKind::ImportFailed => NotificationKind::ImportFailed,
        }
    }
}

/// One group of notifications: everything of one kind about one thing.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct Notification {
    pub id: ID,
    pub kind: NotificationKind,
    /// When its newest item happened.
    pub at: DateTime<Utc>,
    /// The stream position of its newest item.
    pub position: i64,
    /// Whether it holds something the reader has not marked read.
    pub unread: bool,
    /// How many things it groups (likes, comments, followers…).
    pub count: i64,
    #[graphql(skip)]
    pub actor_ids: Vec<Uuid>,
    #[graphql(skip)]
    pub review_id: Option<Uuid>,
    #[graphql(skip)]
    pub book_id: Option<Uuid>,
    #[graphql(skip)]
    pub detail: String,
}

#[ComplexObject]
impl Notification {
    /// Who did it, newest first, at most three (`count` says how many in all).
    async fn actors(&self, ctx: &Context<'_>) -> Result<Vec<Reader>> {
        let mut found = Reader::load_many(ctx, &self.actor_ids).await?;
        Ok(self.actor_ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// The review it is about (liked, commented on, or written by a reader you follow).
    async fn review(&self, ctx: &Context<'_>) -> Result<Option<Review>> {
        match self.review_id {
            Some(review_id) => Ok(visible_review(ctx, review_id).await?),
            None => Ok(None),
        }
    }

    /// The book it is about: the review's, or the new book.
    async fn book(&self, ctx: &Context<'_>) -> Result<Option<Book>> {
        match self.book_id {
            Some(book_id) => Ok(Book::load(ctx, book_id).await?),
            None => Ok(None),
        }
    }

    /// For `ROLE_GRANTED`: the role (`LIBRARIAN`, `ADMIN`).
    async fn role(&self) -> Option<&str> {
        (self.kind == NotificationKind::RoleGranted).then_some(self.detail.as_str())
    }

    /// For `IMPORT_FINISHED`: how many books the import brought in.
    async fn imported_books(&self) -> Option<i64> {
        (self.kind == NotificationKind::ImportFinished).then(|| self.detail.parse().ok()).flatten()
    }

    /// For `IMPORT_FAILED`: why, as the job recorded it.
    async fn import_failure(&self) -> Option<&str> {
        (self.kind == NotificationKind::ImportFailed).then_some(self.detail.as_str())
    }

    /// One line to show: "Ana and 3 others liked your review".
    async fn summary(&self, ctx: &Context<'_>) -> Result<String> {
        let found = Reader::load_many(ctx, &self.actor_ids).await?;
        let first = match self.actor_ids.first().and_then(|id| found.get(id)) {
            Some(reader) => Some(reader.profile_text(ctx, |row| &row.display_name).await?.into_owned()),
            None => None,
        };
        let who = match (first, self.count) {
            (None, _) => String::new(),
            (Some(name), 1) => name,
            (Some(name), 2) => format!("{name} and 1 other"),
            (Some(name), n) => format!("{name} and {} others", n - 1),
        };
        Ok(match self.kind {
            NotificationKind::ReviewLiked => format!("{who} liked your review"),
            NotificationKind::ReviewCommented => format!("{who} commented on your review"),
            NotificationKind::NewFollower => format!("{who} followed you"),
            NotificationKind::FolloweeReviewed => format!("{who} reviewed a book on your shelves"),
            NotificationKind::NewBook => "An author you follow has a new book".to_owned(),
            NotificationKind::RoleGranted => format!("You are now {}", self.detail.to_lowercase()),
            NotificationKind::ImportFinished => format!("Your import finished: {} books", self.detail),
            NotificationKind::ImportFailed => format!("Your import failed: {}", self.detail),
        })
    }
}

const NOTIFICATION_ID: &str = "notification";

impl From<Group> for Notification {
    fn from(group: Group) -> Self {
        Notification {
            id: ID(encode_cursor(NOTIFICATION_ID, &format!("{}:{}", group.kind.as_str(), group.about))),
            kind: group.kind.into(),
            at: group.latest_at,
            position: group.latest_position,
            unread: group.unread,
            count: group.items,
            actor_ids: group.actors,
            review_id: group.review_id,
            book_id: group.book_id,
            detail: group.detail,
        }
    }
}

/// A notification's kind and what it is about, from its id.
fn parse_notification_id(id: &str) -> Result<(reads::NotificationKind, Uuid), ApiError> {
    let invalid = || ApiError::invalid("id", "id is not a notification's id");
    let text = decode_cursor(NOTIFICATION_ID, "id", id).map_err(|_| invalid())?;
    let (kind, about) = text.split_once(':').ok_or_else(invalid)?;
    Ok((reads::NotificationKind::from_text(kind).ok_or_else(invalid)?, Uuid::parse_str(about).map_err(|_| invalid())?))
}

const NOTIFICATIONS_CURSOR: &str = "notifications";

fn only_own(ctx: &Context<'_>, reader_id: Uuid) -> Result<(), ApiError> {
    if viewer(ctx)?.reader_id != reader_id {
        return Err(ApiError::new(Code::PermissionDenied, "a reader's notifications are theirs alone"));
    }
    Ok(())
}

/// One page of `reader_id`'s notifications, newest first (the reader's own only).
pub async fn notifications(
    ctx: &Context<'_>,
    reader_id: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Connection<String, Notification>, ApiError> {
    only_own(ctx, reader_id)?;
    let limit = page_size(first)?;
    let before = match after.as_deref() {
        None => i64::MAX,
        Some(cursor) => decode_cursor(NOTIFICATIONS_CURSOR, "after", cursor)?
            .parse::<i64>()
            .map_err(|_| ApiError::invalid("after", "after is not a cursor of this list"))?,
    };
    let mut groups = reads::page(&app(ctx).pool, reader_id, before, limit + 1).await?;
    let has_next = groups.len() as i64 > limit;
    groups.truncate(limit as usize);
    let mut connection = Connection::new(after.is_some(), has_next);
    connection.edges.extend(groups.into_iter().map(|group| {
        let cursor = encode_cursor(NOTIFICATIONS_CURSOR, &group.sort_position.to_string());
        Edge::new(cursor, Notification::from(group))
    }));
    Ok(connection)
}

/// How many things `reader_id` has not marked read (the reader's own only).
pub async fn unread_count(ctx: &Context<'_>, reader_id: Uuid) -> Result<i64, ApiError> {
    only_own(ctx, reader_id)?;
    Ok(reads::unread_count(&app(ctx).pool, reader_id).await?)
}

/// The kinds `reader_id` muted (the reader's own only).
pub async fn muted(ctx: &Context<'_>, reader_id: Uuid) -> Result<Vec<NotificationKind>, ApiError> {
    only_own(ctx, reader_id)?;
    Ok(reads::muted(&app(ctx).pool, reader_id).await?.into_iter().map(Into::into).collect())
}

/// Where the viewer's notifications stand after a mark or a mute.
#[derive(SimpleObject)]
pub struct NotificationsPayload {
    pub unread_count: i64,
    pub muted_kinds: Vec<NotificationKind>,
}

async fn payload(ctx: &Context<'_>, reader_id: Uuid) -> Result<NotificationsPayload, ApiError> {
    let pool = &app(ctx).pool;
    Ok(NotificationsPayload {
        unread_count: reads::unread_count(pool, reader_id).await?,
        muted_kinds: reads::muted(pool, reader_id).await?.into_iter().map(Into::into).collect(),
    })
}

#[derive(Default)]
pub struct NotificationsMutation;

#[Object]
impl NotificationsMutation {
    /// Marks one notification read, up to what it holds now (`NOT_FOUND` for an id that is not
    /// one of the viewer's).
    async fn mark_notification_read(&self, ctx: &Context<'_>, id: ID) -> Result<NotificationsPayload> {
        let reader_id = viewer(ctx)?.reader_id;
        let (kind, about) = parse_notification_id(&id)?;
        if !reads::mark_read(&app(ctx).pool, reader_id, kind, about).await.map_err(ApiError::from)? {
            let mut missing = ApiError::new(Code::NotFound, "you have no such notification");
            missing.field = Some("id".to_owned());
            return Err(missing.into());
        }
        Ok(payload(ctx, reader_id).await?)
    }

    /// Marks everything the viewer has been notified of so far read.
    async fn mark_all_notifications_read(&self, ctx: &Context<'_>) -> Result<NotificationsPayload> {
        let reader_id = viewer(ctx)?.reader_id;
        reads::mark_all_read(&app(ctx).pool, reader_id).await.map_err(ApiError::from)?;
        Ok(payload(ctx, reader_id).await?)
    }

    /// Mutes one kind of notification (or unmutes it, `muted: false`): a muted kind is left out
    /// of the list and the unread count, and comes back when unmuted.
    async fn set_notification_muted(
        &self,
        ctx: &Context<'_>,
        kind: NotificationKind,
        muted: bool,
    ) -> Result<NotificationsPayload> {
        let reader_id = viewer(ctx)?.reader_id;
        reads::set_muted(&app(ctx).pool, reader_id, kind.contract(), muted).await.map_err(ApiError::from)?;
        Ok(payload(ctx, reader_id).await?)
    }
}

/// Pushed to `notificationsChanged` subscribers.
#[derive(Debug, Clone, SimpleObject)]
pub struct NotificationsChanged {
    pub unread_count: i64,
    /// The newest notification.
    pub latest: Option<Notification>,
}

async fn now(pool: &sqlx::PgPool, reader_id: Uuid) -> Result<NotificationsChanged, ApiError> {
    let unread_count = reads::unread_count(pool, reader_id).await?;
    let latest = reads::page(pool, reader_id, i64::MAX, 1).await?.into_iter().next().map(Notification::from);
    Ok(NotificationsChanged { unread_count, latest })
}

#[derive(Default)]
pub struct NotificationsSubscription;

#[Subscription]
impl NotificationsSubscription {
    /// The viewer's unread count and newest notification: first as they are now, then whenever
    /// something new reaches them.
    async fn notifications_changed(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<NotificationsChanged>>> {
        subscriptions::opened(async move {
            let reader_id = viewer(ctx)?.reader_id;
            let app = app(ctx);
            let subject = readstream_contracts::social::live_notifications(&app.namespace, reader_id);
            let live = subscriptions::subscribe(ctx, [subject]).await?;
            let first = now(&app.pool, reader_id).await?;
            let pool = app.pool.clone();
            let position = |update: &live::NotificationsChanged| update.position;
            Ok(live.after(Replay::now(first), None, position, move |_| {
                let pool = pool.clone();
                async move {
                    match now(&pool, reader_id).await {
                        Ok(changed) => Some(changed),
                        Err(err) => {
                            tracing::warn!(error = %err.message, "could not read notifications to push; the next change sends them");
                            None
                        }
                    }
                }
            }))
        })
        .await
    }
}
