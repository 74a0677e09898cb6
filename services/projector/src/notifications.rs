//! Notifications: what others did that concerns a reader (`notification_items`, grouped in
//! `notification_groups` by kind and what they are about). A like or a comment on their
//! review, a new follower, a reader they follow reviewing a book on their shelves, a followed
//! author's new book, a role granted, their import finished or failed.
//!
//! Never for the reader's own acts, never for imported or merged history (a job's commands),
//! never for a followed author's back catalog. An unlike, a deleted comment, an unfollow or a
//! withdrawn review takes its items away again. Blocks are applied when read. To know whom an
//! event concerns the projection keeps its own copies of reviews' authors, the follow graph
//! (readers and authors) and who has which book on a shelf, so a rebuild needs no other
//! projection. A batch is folded in memory in stream order over those copies, then written
//! with a few set-based statements; each reader who got something hears so on
//! `<ns>.live.notifications.<reader>`.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use prost::Message;
use readstream_contracts::{
    catalog::BookDetails, proto::live::v1 as live, social, CatalogEvent, Event, GoalEvent, ListEvent, RatingsEvent,
    ReadModel, ReadingEvent, ReviewsEvent, SocialEvent,
};
use readstream_eventstore::Stored;
use readstream_projection::{LiveUpdate, Projection};
use readstream_readmodel::notifications::NotificationKind;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::feed::NEW_BOOK_WITHIN_DAYS;

pub struct Notifications {
    pub namespace: String,
}

/// One notification item to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub reader_id: Uuid,
    pub position: i64,
    pub event_index: i32,
    pub kind: NotificationKind,
    pub about: Uuid,
    pub actor_id: Option<Uuid>,
    pub review_id: Option<Uuid>,
    pub book_id: Option<Uuid>,
    pub detail: String,
    pub occurred_at: DateTime<Utc>,
}

/// An item to take away again: the reader's items of a kind about something, by one actor
/// (and, for a comment, naming it in `detail`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Retraction {
    pub reader_id: Uuid,
    pub kind: NotificationKind,
    pub about: Uuid,
    pub actor_id: Option<Uuid>,
    pub detail: Option<String>,
}

/// What the projection knows before a batch, as far as the batch needs it.
#[derive(Debug, Default, Clone)]
pub struct Known {
    /// Each live review's author and book.
    pub reviews: HashMap<Uuid, (Uuid, Uuid)>,
    /// Who follows each followee (a reader or an author).
    pub followers: HashMap<Uuid, HashSet<Uuid>>,
    /// Who has each book on a shelf.
    pub shelved: HashMap<Uuid, HashSet<Uuid>>,
}

/// What a batch changes.
#[derive(Debug, Default)]
pub struct Folded {
    pub items: Vec<Item>,
    pub retractions: Vec<Retraction>,
    /// Reviews published (author, book) or withdrawn (`None`).
    pub reviews: HashMap<Uuid, Option<(Uuid, Uuid)>>,
    /// (follower, followee) followed or not after the batch.
    pub follows: HashMap<(Uuid, Uuid), bool>,
    /// (reader, book) on a shelf or not after the batch.
    pub shelved: HashMap<(Uuid, Uuid), bool>,
}

/// The reviews, followees and books whose state the batch needs from before it.
pub fn needs(batch: &[Stored]) -> (Vec<Uuid>, Vec<Uuid>, Vec<Uuid>) {
    let (mut reviews, mut followees, mut books) = (HashSet::new(), HashSet::new(), HashSet::new());
    for event in batch.iter().flat_map(|s| &s.envelope.events).map(|e| &e.event) {
        match event {
            Event::Reviews(
                ReviewsEvent::ReviewLiked { review_id, .. }
                | ReviewsEvent::ReviewUnliked { review_id, .. }
                | ReviewsEvent::ReviewCommented { review_id, .. }
                | ReviewsEvent::CommentDeleted { review_id, .. }
                | ReviewsEvent::ReviewWithdrawn { review_id, .. },
            ) => {
                reviews.insert(*review_id);
            }
            Event::Reviews(ReviewsEvent::ReviewPublished { reader_id, book_id, .. }) => {
                followees.insert(*reader_id);
                books.insert(*book_id);
            }
            Event::Catalog(CatalogEvent::BookAdded(BookDetails { author_ids, .. })) => {
                followees.extend(author_ids.iter().copied());
            }
            // Whose state these need is in the event itself, or nothing of it is needed.
            Event::Reviews(ReviewsEvent::ReviewEdited { .. })
            | Event::Catalog(
                CatalogEvent::AuthorAdded { .. }
                | CatalogEvent::EditionAdded(_)
                | CatalogEvent::AuthorEdited { .. }
                | CatalogEvent::BookEdited(_)
                | CatalogEvent::AuthorProfileLinked { .. }
                | CatalogEvent::AuthorProfileUnlinked { .. }
                | CatalogEvent::BookMerged { .. }
                | CatalogEvent::AuthorMerged { .. }
                | CatalogEvent::BookCoverChanged { .. }
                | CatalogEvent::AuthorPhotoChanged { .. }
                | CatalogEvent::SeriesAdded { .. }
                | CatalogEvent::SeriesEdited { .. }
                | CatalogEvent::BookPlacedInSeries { .. }
                | CatalogEvent::BookRemovedFromSeries { .. },
            )
            | Event::Social(
                SocialEvent::ReaderRegistered { .. }
                | SocialEvent::ProfileUpdated { .. }
                | SocialEvent::AvatarChanged { .. }
                | SocialEvent::ReaderFollowed { .. }
                | SocialEvent::ReaderUnfollowed { .. }
                | SocialEvent::ReaderBlocked { .. }
                | SocialEvent::ReaderUnblocked { .. }
                | SocialEvent::RoleGranted { .. }
                | SocialEvent::RoleRevoked { .. }
                | SocialEvent::ReadingVisibilityChanged { .. }
                | SocialEvent::TimeZoneChanged { .. }
                | SocialEvent::ReaderDeleted { .. }
                | SocialEvent::SignUpExpired { .. }
                | SocialEvent::AuthorFollowed { .. }
                | SocialEvent::AuthorUnfollowed { .. }
                | SocialEvent::LibraryImported { .. }
                | SocialEvent::LibraryImportFailed { .. },
            )
            | Event::Ratings(
                RatingsEvent::BookRated { .. }
                | RatingsEvent::RatingCleared { .. }
                | RatingsEvent::BookDescribed { .. },
            )
            | Event::Reading(_)
            | Event::Goals(GoalEvent::ReadingGoalSet { .. } | GoalEvent::ReadingGoalRemoved { .. })
            | Event::Lists(
                ListEvent::ListCreated { .. }
                | ListEvent::ListEdited { .. }
                | ListEvent::ListDeleted { .. }
                | ListEvent::ListHidden { .. }
                | ListEvent::BookListed { .. }
                | ListEvent::BookUnlisted { .. }
                | ListEvent::ListVoteCast { .. }
                | ListEvent::ListVoteWithdrawn { .. },
            ) => {}
        }
    }
    (reviews.into_iter().collect(), followees.into_iter().collect(), books.into_iter().collect())
}

/// Folds a batch, in stream order, over what was `known` before it.
pub fn fold(batch: &[Stored], mut known: Known) -> Folded {
    let mut folded = Folded::default();
    for stored in batch {
        let meta = &stored.envelope.meta;
        // A job's commands (an import's rows, a merge's moves) are history, not news.
        let news = meta.import_job.is_none();
        for (index, recorded) in stored.envelope.events.iter().enumerate() {
            let item = |reader_id, kind, about, actor_id: Option<Uuid>| Item {
                reader_id,
                position: stored.position as i64,
                event_index: index as i32,
                kind,
                about,
                actor_id,
                review_id: None,
                book_id: None,
                detail: String::new(),
                occurred_at: meta.occurred_at,
            };
            match &recorded.event {
                Event::Reviews(ReviewsEvent::ReviewPublished { review_id, reader_id, book_id, .. }) => {
                    known.reviews.insert(*review_id, (*reader_id, *book_id));
                    folded.reviews.insert(*review_id, Some((*reader_id, *book_id)));
                    if !news {
                        continue;
                    }
                    let followers = known.followers.get(reader_id).cloned().unwrap_or_default();
                    let shelved = known.shelved.get(book_id).cloned().unwrap_or_default();
                    let mut recipients: Vec<Uuid> =
                        followers.intersection(&shelved).copied().filter(|r| r != reader_id).collect();
                    recipients.sort_unstable();
                    for recipient in recipients {
                        let mut reviewed =
                            item(recipient, NotificationKind::FolloweeReviewed, *review_id, Some(*reader_id));
                        (reviewed.review_id, reviewed.book_id) = (Some(*review_id), Some(*book_id));
                        folded.items.push(reviewed);
                    }
                }
                Event::Reviews(ReviewsEvent::ReviewWithdrawn { review_id, .. }) => {
                    known.reviews.remove(review_id);
                    folded.reviews.insert(*review_id, None);
                    // Everything about it goes: likes, comments and the followers' news of it.
                    folded.items.retain(|i| i.review_id != Some(*review_id));
                    folded.retractions.push(Retraction {
                        reader_id: Uuid::nil(),
                        kind: NotificationKind::FolloweeReviewed,
                        about: *review_id,
                        actor_id: None,
                        detail: None,
                    });
                }
                Event::Reviews(ReviewsEvent::ReviewLiked { review_id, liker_id }) if news => {
                    if let Some(&(author, book)) = known.reviews.get(review_id).filter(|(a, _)| a != liker_id) {
                        let mut liked = item(author, NotificationKind::ReviewLiked, *review_id, Some(*liker_id));
                        (liked.review_id, liked.book_id) = (Some(*review_id), Some(book));
                        folded.items.push(liked);
                    }
                }
                Event::Reviews(ReviewsEvent::ReviewUnliked { review_id, liker_id }) => {
                    if let Some(&(author, _)) = known.reviews.get(review_id) {
                        retract(&mut folded, author, NotificationKind::ReviewLiked, *review_id, *liker_id, None);
                    }
                }
                Event::Reviews(ReviewsEvent::ReviewCommented { review_id, comment_id, commenter_id, .. }) if news => {
                    if let Some(&(author, book)) = known.reviews.get(review_id).filter(|(a, _)| a != commenter_id) {
                        let mut commented =
                            item(author, NotificationKind::ReviewCommented, *review_id, Some(*commenter_id));
                        (commented.review_id, commented.book_id) = (Some(*review_id), Some(book));
                        commented.detail = comment_id.to_string();
                        folded.items.push(commented);
                    }
                }
                Event::Reviews(ReviewsEvent::CommentDeleted { review_id, comment_id, commenter_id }) => {
                    if let Some(&(author, _)) = known.reviews.get(review_id) {
                        let comment = Some(comment_id.to_string());
                        let kind = NotificationKind::ReviewCommented;
                        retract(&mut folded, author, kind, *review_id, *commenter_id, comment);
                    }
                }
                Event::Social(SocialEvent::ReaderFollowed { follower_id, followee_id }) => {
                    known.followers.entry(*followee_id).or_default().insert(*follower_id);
                    folded.follows.insert((*follower_id, *followee_id), true);
                    if news && follower_id != followee_id {
                        let kind = NotificationKind::NewFollower;
                        folded.items.push(item(*followee_id, kind, *followee_id, Some(*follower_id)));
                    }
                }
                Event::Social(SocialEvent::ReaderUnfollowed { follower_id, followee_id }) => {
                    if let Some(followers) = known.followers.get_mut(followee_id) {
                        followers.remove(follower_id);
                    }
                    folded.follows.insert((*follower_id, *followee_id), false);
                    retract(&mut folded, *followee_id, NotificationKind::NewFollower, *followee_id, *follower_id, None);
                }
                Event::Social(SocialEvent::AuthorFollowed { reader_id, author_id }) => {
                    known.followers.entry(*author_id).or_default().insert(*reader_id);
                    folded.follows.insert((*reader_id, *author_id), true);
                }
                Event::Social(SocialEvent::AuthorUnfollowed { reader_id, author_id }) => {
                    if let Some(followers) = known.followers.get_mut(author_id) {
                        followers.remove(reader_id);
                    }
                    folded.follows.insert((*reader_id, *author_id), false);
                }
                Event::Catalog(CatalogEvent::BookAdded(BookDetails {
                    book_id, author_ids, first_published, ..
                })) if news => {
                    // A book first published long before it was added is the back catalog.
                    let cutoff = (meta.occurred_at - Duration::days(NEW_BOOK_WITHIN_DAYS)).date_naive();
                    if first_published.is_some_and(|day| day < cutoff) {
                        continue;
                    }
                    let mut recipients: Vec<Uuid> = author_ids
                        .iter()
                        .flat_map(|author| known.followers.get(author).into_iter().flatten().copied())
                        .collect::<HashSet<_>>()
                        .into_iter()
                        .collect();
                    recipients.sort_unstable();
                    for recipient in recipients {
                        let mut added = item(recipient, NotificationKind::NewBook, *book_id, None);
                        added.book_id = Some(*book_id);
                        folded.items.push(added);
                    }
                }
                // An admin granting themselves a role tells nobody anything new.
                Event::Social(SocialEvent::RoleGranted { reader_id, role })
                    if news && meta.actor != Some(*reader_id) =>
                {
                    let mut granted = item(*reader_id, NotificationKind::RoleGranted, *reader_id, meta.actor);
                    granted.detail = role.name().to_owned();
                    folded.items.push(granted);
                }
                // The import's own summary, sent for the reader: news to them, whoever acted.
                Event::Social(SocialEvent::LibraryImported { reader_id, job_id, books, .. }) => {
                    let mut finished = item(*reader_id, NotificationKind::ImportFinished, *job_id, None);
                    finished.detail = books.to_string();
                    folded.items.push(finished);
                }
                Event::Social(SocialEvent::LibraryImportFailed { reader_id, job_id, reason }) => {
                    let mut failed = item(*reader_id, NotificationKind::ImportFailed, *job_id, None);
                    failed.detail = reason.clone();
                    folded.items.push(failed);
                }
                Event::Reading(event) => {
                    let (reader_id, book_id) = event.copy();
                    let on_a_shelf = !matches!(event, ReadingEvent::RemovedFromShelves { .. });
                    let readers = known.shelved.entry(book_id).or_default();
                    if on_a_shelf {
                        readers.insert(reader_id);
                    } else {
                        readers.remove(&reader_id);
                    }
                    folded.shelved.insert((reader_id, book_id), on_a_shelf);
                }
                // Nobody else's news: a job's likes, comments, books and grants (above, when
                // news), and everything below.
                Event::Reviews(
                    ReviewsEvent::ReviewLiked { .. }
                    | ReviewsEvent::ReviewCommented { .. }
                    | ReviewsEvent::ReviewEdited { .. },
                )
                | Event::Catalog(
                    CatalogEvent::BookAdded(_)
                    | CatalogEvent::AuthorAdded { .. }
                    | CatalogEvent::EditionAdded(_)
                    | CatalogEvent::AuthorEdited { .. }
                    | CatalogEvent::BookEdited(_)
                    | CatalogEvent::AuthorProfileLinked { .. }
                    | CatalogEvent::AuthorProfileUnlinked { .. }
                    | CatalogEvent::BookMerged { .. }
                    | CatalogEvent::AuthorMerged { .. }
                    | CatalogEvent::BookCoverChanged { .. }
                    | CatalogEvent::AuthorPhotoChanged { .. }
                    | CatalogEvent::SeriesAdded { .. }
                    | CatalogEvent::SeriesEdited { .. }
                    | CatalogEvent::BookPlacedInSeries { .. }
                    | CatalogEvent::BookRemovedFromSeries { .. },
                )
                | Event::Social(
                    SocialEvent::RoleGranted { .. }
                    | SocialEvent::ReaderRegistered { .. }
                    | SocialEvent::ProfileUpdated { .. }
                    | SocialEvent::AvatarChanged { .. }
                    | SocialEvent::ReaderBlocked { .. }
                    | SocialEvent::ReaderUnblocked { .. }
                    | SocialEvent::RoleRevoked { .. }
                    | SocialEvent::ReadingVisibilityChanged { .. }
                    | SocialEvent::TimeZoneChanged { .. }
                    | SocialEvent::ReaderDeleted { .. }
                    | SocialEvent::SignUpExpired { .. },
                )
                | Event::Ratings(
                    RatingsEvent::BookRated { .. }
                    | RatingsEvent::RatingCleared { .. }
                    | RatingsEvent::BookDescribed { .. },
                )
                | Event::Goals(GoalEvent::ReadingGoalSet { .. } | GoalEvent::ReadingGoalRemoved { .. })
                | Event::Lists(
                    ListEvent::ListCreated { .. }
                    | ListEvent::ListEdited { .. }
                    | ListEvent::ListDeleted { .. }
                    | ListEvent::ListHidden { .. }
                    | ListEvent::BookListed { .. }
                    | ListEvent::BookUnlisted { .. }
                    | ListEvent::ListVoteCast { .. }
                    | ListEvent::ListVoteWithdrawn { .. },
                ) => {}
            }
        }
    }
    folded
}

/// Takes an item away: from the batch's own if it is there, else from the table.
fn retract(
    folded: &mut Folded,
    reader_id: Uuid,
    kind: NotificationKind,
    about: Uuid,
    actor: Uuid,
    detail: Option<String>,
) {
    let before = folded.items.len();
    folded.items.retain(|i| {
        !(i.reader_id == reader_id
            && i.kind == kind
            && i.about == about
            && i.actor_id == Some(actor)
            && detail.as_ref().is_none_or(|d| *d == i.detail))
    });
    if folded.items.len() == before {
        folded.retractions.push(Retraction { reader_id, kind, about, actor_id: Some(actor), detail });
    }
}

impl Projection for Notifications {
    fn read_model(&self) -> ReadModel {
        ReadModel::Notifications
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "notification_items",
            "notification_groups",
            "notification_reviews",
            "notification_follows",
            "notification_shelved",
        ]
    }

    /// Their notifications go, and every item they were the actor of (their groups shrink,
    /// or go when empty); so do their reviews, follows and shelves in the copies.
    async fn forget_reader(&self, tx: &mut PgConnection, reader_id: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "WITH mine AS (DELETE FROM notification_items WHERE reader_id = $1),
                  reviews AS (DELETE FROM notification_reviews WHERE reader_id = $1),
                  follows AS (DELETE FROM notification_follows WHERE follower_id = $1 OR followee_id = $1),
                  shelved AS (DELETE FROM notification_shelved WHERE reader_id = $1)
             DELETE FROM notification_groups WHERE reader_id = $1",
            reader_id
        )
        .execute(&mut *tx)
        .await?;
        let acted = sqlx::query!(
            "DELETE FROM notification_items WHERE actor_id = $1 RETURNING reader_id, kind, about",
            reader_id
        )
        .fetch_all(&mut *tx)
        .await?;
        let touched = acted.into_iter().map(|r| (r.reader_id, r.kind, r.about)).collect();
        settle_groups(tx, touched).await
    }

    async fn apply(&self, tx: &mut PgConnection, batch: &[Stored]) -> Result<Vec<LiveUpdate>, sqlx::Error> {
        let known = known(tx, batch).await?;
        let folded = fold(batch, known);
        write_copies(tx, &folded).await?;
        let touched = retract_items(tx, &folded.retractions).await?;
        write_items(tx, &folded.items).await?;
        settle_groups(tx, touched).await?;
        let Some(last) = batch.last() else { return Ok(Vec::new()) };
        let readers: HashSet<Uuid> = folded.items.iter().map(|item| item.reader_id).collect();
        let payload = Bytes::from(live::NotificationsChanged { position: last.position }.encode_to_vec());
        Ok(readers
            .into_iter()
            .map(|reader_id| LiveUpdate {
                subject: social::live_notifications(&self.namespace, reader_id),
                payload: payload.clone(),
            })
            .collect())
    }
}

/// What the batch needs to know from before it, read from the projection's copies.
async fn known(tx: &mut PgConnection, batch: &[Stored]) -> Result<Known, sqlx::Error> {
    let (reviews, followees, books) = needs(batch);
    let mut known = Known::default();
    if !reviews.is_empty() {
        for r in sqlx::query!(
            "SELECT review_id, reader_id, book_id FROM notification_reviews WHERE review_id = ANY($1)",
            &reviews
        )
        .fetch_all(&mut *tx)
        .await?
        {
            known.reviews.insert(r.review_id, (r.reader_id, r.book_id));
        }
    }
    if !followees.is_empty() {
        for r in sqlx::query!(
            "SELECT followee_id, follower_id FROM notification_follows WHERE followee_id = ANY($1)",
            &followees
        )
        .fetch_all(&mut *tx)
        .await?
        {
            known.followers.entry(r.followee_id).or_default().insert(r.follower_id);
        }
    }
    if !books.is_empty() {
        for r in sqlx::query!("SELECT book_id, reader_id FROM notification_shelved WHERE book_id = ANY($1)", &books)
            .fetch_all(&mut *tx)
            .await?
        {
            known.shelved.entry(r.book_id).or_default().insert(r.reader_id);
        }
    }
    Ok(known)
}

/// The batch's last word on reviews, follows and shelves, into the copies.
async fn write_copies(tx: &mut PgConnection, folded: &Folded) -> Result<(), sqlx::Error> {
    let (mut published, mut withdrawn) = ((vec![], vec![], vec![]), vec![]);
    for (review_id, state) in &folded.reviews {
        match state {
            Some((reader_id, book_id)) => {
                published.0.push(*review_id);
                published.1.push(*reader_id);
                published.2.push(*book_id);
            }
            None => withdrawn.push(*review_id),
        }
    }
    if !published.0.is_empty() {
        sqlx::query!(
            "INSERT INTO notification_reviews (review_id, reader_id, book_id)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[]) ON CONFLICT (review_id) DO NOTHING",
            &published.0,
            &published.1,
            &published.2
        )
        .execute(&mut *tx)
        .await?;
    }
    if !withdrawn.is_empty() {
        sqlx::query!("DELETE FROM notification_reviews WHERE review_id = ANY($1)", &withdrawn)
            .execute(&mut *tx)
            .await?;
    }
    let pairs = |changes: &HashMap<(Uuid, Uuid), bool>, wanted: bool| -> (Vec<Uuid>, Vec<Uuid>) {
        changes.iter().filter(|(_, on)| **on == wanted).map(|(pair, _)| *pair).unzip()
    };
    let (followers, followees) = pairs(&folded.follows, true);
    if !followers.is_empty() {
        sqlx::query!(
            "INSERT INTO notification_follows (follower_id, followee_id)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[]) ON CONFLICT DO NOTHING",
            &followers,
            &followees
        )
        .execute(&mut *tx)
        .await?;
    }
    let (followers, followees) = pairs(&folded.follows, false);
    if !followers.is_empty() {
        sqlx::query!(
            "DELETE FROM notification_follows f USING UNNEST($1::uuid[], $2::uuid[]) AS u(follower_id, followee_id)
             WHERE f.follower_id = u.follower_id AND f.followee_id = u.followee_id",
            &followers,
            &followees
        )
        .execute(&mut *tx)
        .await?;
    }
    let (readers, books) = pairs(&folded.shelved, true);
    if !readers.is_empty() {
        sqlx::query!(
            "INSERT INTO notification_shelved (reader_id, book_id)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[]) ON CONFLICT DO NOTHING",
            &readers,
            &books
        )
        .execute(&mut *tx)
        .await?;
    }
    let (readers, books) = pairs(&folded.shelved, false);
    if !readers.is_empty() {
        sqlx::query!(
            "DELETE FROM notification_shelved s USING UNNEST($1::uuid[], $2::uuid[]) AS u(reader_id, book_id)
             WHERE s.reader_id = u.reader_id AND s.book_id = u.book_id",
            &readers,
            &books
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// A group items were taken from: (reader, kind, about).
type Touched = HashSet<(Uuid, String, Uuid)>;

/// Deletes the items taken back; returns their groups, to settle once the batch's items are in.
async fn retract_items(tx: &mut PgConnection, retractions: &[Retraction]) -> Result<Touched, sqlx::Error> {
    let mut touched = Touched::new();
    for retraction in retractions {
        // A withdrawn review: every reader's items about it (nil reader): its likes, its comments
        // and its news to the author's followers are all about the review.
        let gone = if retraction.reader_id.is_nil() {
            sqlx::query!(
                "DELETE FROM notification_items WHERE about = $1 RETURNING reader_id, kind, about",
                retraction.about
            )
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|r| (r.reader_id, r.kind, r.about))
            .collect::<Vec<_>>()
        } else {
            sqlx::query!(
                "DELETE FROM notification_items
                 WHERE reader_id = $1 AND kind = $2 AND about = $3 AND actor_id = $4 AND ($5::text IS NULL OR detail = $5)
                 RETURNING reader_id, kind, about",
                retraction.reader_id,
                retraction.kind.as_str(),
                retraction.about,
                retraction.actor_id,
                retraction.detail.as_deref()
            )
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|r| (r.reader_id, r.kind, r.about))
            .collect()
        };
        touched.extend(gone);
    }
    Ok(touched)
}

/// Writes the batch's items and moves their groups to their newest.
async fn write_items(tx: &mut PgConnection, items: &[Item]) -> Result<(), sqlx::Error> {
    if items.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "INSERT INTO notification_items (reader_id, position, event_index, kind, about, actor_id, review_id, book_id,
                                         detail, occurred_at)
         SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::int[], $4::text[], $5::uuid[], $6::uuid[], $7::uuid[],
                              $8::uuid[], $9::text[], $10::timestamptz[])
         ON CONFLICT DO NOTHING",
        &items.iter().map(|i| i.reader_id).collect::<Vec<_>>(),
        &items.iter().map(|i| i.position).collect::<Vec<_>>(),
        &items.iter().map(|i| i.event_index).collect::<Vec<_>>(),
        &items.iter().map(|i| i.kind.as_str()).collect::<Vec<_>>() as &[&str],
        &items.iter().map(|i| i.about).collect::<Vec<_>>(),
        &items.iter().map(|i| i.actor_id).collect::<Vec<_>>() as &[Option<Uuid>],
        &items.iter().map(|i| i.review_id).collect::<Vec<_>>() as &[Option<Uuid>],
        &items.iter().map(|i| i.book_id).collect::<Vec<_>>() as &[Option<Uuid>],
        &items.iter().map(|i| i.detail.clone()).collect::<Vec<_>>(),
        &items.iter().map(|i| i.occurred_at).collect::<Vec<_>>(),
    )
    .execute(&mut *tx)
    .await?;
    // One row per group, its newest item of the batch (items come in stream order).
    let mut newest: HashMap<(Uuid, NotificationKind, Uuid), &Item> = HashMap::new();
    for item in items {
        newest.insert((item.reader_id, item.kind, item.about), item);
    }
    let groups: Vec<&Item> = newest.into_values().collect();
    sqlx::query!(
        "INSERT INTO notification_groups (reader_id, kind, about, latest_position, latest_at)
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::bigint[], $5::timestamptz[])
         ON CONFLICT (reader_id, kind, about) DO UPDATE
         SET latest_position = GREATEST(notification_groups.latest_position, EXCLUDED.latest_position),
             latest_at = GREATEST(notification_groups.latest_at, EXCLUDED.latest_at)",
        &groups.iter().map(|i| i.reader_id).collect::<Vec<_>>(),
        &groups.iter().map(|i| i.kind.as_str()).collect::<Vec<_>>() as &[&str],
        &groups.iter().map(|i| i.about).collect::<Vec<_>>(),
        &groups.iter().map(|i| i.position).collect::<Vec<_>>(),
        &groups.iter().map(|i| i.occurred_at).collect::<Vec<_>>(),
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The groups items were taken from: each moves back to its newest remaining item, or goes
/// when none remains.
async fn settle_groups(tx: &mut PgConnection, touched: Touched) -> Result<(), sqlx::Error> {
    if touched.is_empty() {
        return Ok(());
    }
    let (mut readers, mut kinds, mut abouts) = (Vec::new(), Vec::new(), Vec::new());
    for (reader_id, kind, about) in touched {
        readers.push(reader_id);
        kinds.push(kind);
        abouts.push(about);
    }
    sqlx::query!(
        "WITH remaining AS (
                  SELECT t.reader_id, t.kind, t.about, max(i.position) AS latest_position, max(i.occurred_at) AS latest_at
                  FROM UNNEST($1::uuid[], $2::text[], $3::uuid[]) AS t(reader_id, kind, about)
                  LEFT JOIN notification_items i ON i.reader_id = t.reader_id AND i.kind = t.kind AND i.about = t.about
                  GROUP BY t.reader_id, t.kind, t.about),
              emptied AS (
                  DELETE FROM notification_groups g USING remaining r
                  WHERE g.reader_id = r.reader_id AND g.kind = r.kind AND g.about = r.about AND r.latest_position IS NULL)
         UPDATE notification_groups g SET latest_position = r.latest_position, latest_at = r.latest_at
         FROM remaining r
         WHERE g.reader_id = r.reader_id AND g.kind = r.kind AND g.about = r.about AND r.latest_position IS NOT NULL",
        &readers,
        &kinds,
        &abouts
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use readstream_contracts::{social::Role, Envelope, Metadata};

    use super::*;

    fn stored(position: u64, actor: Uuid, import_job: Option<Uuid>, events: Vec<Event>) -> Stored {
        let meta = Metadata {
            occurred_at: Utc::now(),
            actor: Some(actor),
            command_id: Uuid::new_v4(),
            correlation_id: Uuid::new_v4(),
            import_job,
        };
        Stored { position, envelope: Envelope::new(meta, events) }
    }

    fn kinds(folded: &Folded) -> Vec<(Uuid, NotificationKind, Option<Uuid>)> {
        folded.items.iter().map(|i| (i.reader_id, i.kind, i.actor_id)).collect()
    }

    #[test]
    fn likes_comments_and_follows_reach_the_reader_they_concern_never_their_own() {
        let (ana, ben, cy, book) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let review = readstream_contracts::reviews::review_id(ana, book);
        let known = Known { reviews: HashMap::from([(review, (ana, book))]), ..Known::default() };
        let comment = Uuid::now_v7();
        let batch = vec![
            stored(1, ben, None, vec![Event::Reviews(ReviewsEvent::ReviewLiked { review_id: review, liker_id: ben })]),
            stored(2, ana, None, vec![Event::Reviews(ReviewsEvent::ReviewLiked { review_id: review, liker_id: ana })]),
            stored(
                3,
                cy,
                None,
                vec![Event::Reviews(ReviewsEvent::ReviewCommented {
                    review_id: review,
                    comment_id: comment,
                    commenter_id: cy,
                    body: "Yes.".into(),
                })],
            ),
            stored(4, cy, None, vec![Event::Social(SocialEvent::ReaderFollowed { follower_id: cy, followee_id: ana })]),
            stored(5, ana, None, vec![Event::Social(SocialEvent::RoleGranted { reader_id: ana, role: Role::Admin })]),
            stored(
                6,
                ben,
                None,
                vec![Event::Social(SocialEvent::RoleGranted { reader_id: ana, role: Role::Librarian })],
            ),
        ];
        let folded = fold(&batch, known);
        assert_eq!(
            kinds(&folded),
            [
                (ana, NotificationKind::ReviewLiked, Some(ben)),
                (ana, NotificationKind::ReviewCommented, Some(cy)),
                (ana, NotificationKind::NewFollower, Some(cy)),
                (ana, NotificationKind::RoleGranted, Some(ben)),
            ]
        );
        assert!(folded.follows[&(cy, ana)]);
    }

    #[test]
    fn an_unlike_in_the_same_batch_takes_the_like_back_and_a_later_one_is_retracted() {
        let (ana, ben, book) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let review = readstream_contracts::reviews::review_id(ana, book);
        let known = Known { reviews: HashMap::from([(review, (ana, book))]), ..Known::default() };
        let liked = Event::Reviews(ReviewsEvent::ReviewLiked { review_id: review, liker_id: ben });
        let unliked = Event::Reviews(ReviewsEvent::ReviewUnliked { review_id: review, liker_id: ben });
        let folded =
            fold(&[stored(1, ben, None, vec![liked]), stored(2, ben, None, vec![unliked.clone()])], known.clone());
        assert!(folded.items.is_empty() && folded.retractions.is_empty(), "{folded:?}");
        let folded = fold(&[stored(3, ben, None, vec![unliked])], known);
        let expected = Retraction {
            reader_id: ana,
            kind: NotificationKind::ReviewLiked,
            about: review,
            actor_id: Some(ben),
            detail: None,
        };
        assert_eq!(folded.retractions, [expected]);
    }

    #[test]
    fn a_followed_readers_review_reaches_followers_with_the_book_on_a_shelf_and_no_import_reaches_anyone() {
        let (ana, ben, cy, book) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let review = readstream_contracts::reviews::review_id(ana, book);
        let known = Known {
            followers: HashMap::from([(ana, HashSet::from([ben, cy]))]),
            shelved: HashMap::from([(book, HashSet::from([cy]))]),
            ..Known::default()
        };
        let published = Event::Reviews(ReviewsEvent::ReviewPublished {
            review_id: review,
            reader_id: ana,
            book_id: book,
            body: "Vivid.".into(),
            contains_spoilers: false,
            written_on: Utc::now().date_naive(),
        });
        // Ben shelves the book in the same batch, before the review: he hears of it too.
        let shelved =
            Event::Reading(ReadingEvent::WantToRead { reader_id: ben, book_id: book, on: Utc::now().date_naive() });
        let folded =
            fold(&[stored(1, ben, None, vec![shelved]), stored(2, ana, None, vec![published.clone()])], known.clone());
        let mut got = kinds(&folded);
        got.sort();
        let mut expected = vec![
            (ben, NotificationKind::FolloweeReviewed, Some(ana)),
            (cy, NotificationKind::FolloweeReviewed, Some(ana)),
        ];
        expected.sort();
        assert_eq!(got, expected);
        let imported = fold(&[stored(1, ana, Some(Uuid::now_v7()), vec![published])], known);
        assert!(imported.items.is_empty(), "an import's review is history, not news");
    }

    #[test]
    fn a_followed_authors_new_book_reaches_their_followers_once_and_the_back_catalog_reaches_nobody() {
        let (ana, librarian, author, other_author) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let known = Known {
            followers: HashMap::from([(author, HashSet::from([ana])), (other_author, HashSet::from([ana]))]),
            ..Known::default()
        };
        let book = |first_published| {
            Event::Catalog(CatalogEvent::BookAdded(BookDetails {
                book_id: Uuid::now_v7(),
                title: "New".into(),
                subtitle: String::new(),
                description: String::new(),
                pages: 100,
                format: String::new(),
                first_published,
                author_ids: vec![author, other_author],
            }))
        };
        let folded = fold(&[stored(1, librarian, None, vec![book(None)])], known.clone());
        assert_eq!(kinds(&folded), [(ana, NotificationKind::NewBook, None)]);
        let old = chrono::NaiveDate::from_ymd_opt(1956, 1, 1);
        assert!(fold(&[stored(1, librarian, None, vec![book(old)])], known).items.is_empty());
    }
}
