//! Activity feeds. Each activity (started, finished, did not finish, want to read, rated,
//! reviewed, liked a review, followed someone, an author's new book, and the summary of a library
//! import, whose rows reach no feed one by one) is written once to
//! `activities`; for an actor
//! with at most `fanout_limit` followers it is also written into each follower's
//! `feed_items` (fan-out on write). Above the limit it is not: the gateway merges such actors'
//! activities into their followers' feeds when they read them, so one rating by an account
//! with a million followers writes one row. Backdated activities (an import of past reading)
//! are kept but reach no feed.
//!
//! Fan-out follows the stream's order exactly: the batch is folded in memory over this
//! projection's own copy of the follow graph, so a rebuild writes the same feeds.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use prost::Message;
use readstream_contracts::{
    proto::live::v1 as live, social, BookDetails, CatalogEvent, Event, ListEvent, RatingsEvent, ReadModel,
    ReadingEvent, ReviewsEvent, SocialEvent,
};
use readstream_eventstore::Stored;
use readstream_projection::{LiveUpdate, Projection};
use readstream_readmodel::feed::ActivityKind;
use sqlx::PgConnection;
use uuid::Uuid;

/// Activities dated further back than this before they were recorded reach no feed.
pub const BACKDATED_AFTER_DAYS: i64 = 7;
/// A book added to the catalog reaches its authors' followers when it was first published at
/// most this long before (or its date is unknown): a new release, not the back catalog a
/// librarian fills in.
pub const NEW_BOOK_WITHIN_DAYS: i64 = 90;

/// The most activities fanned out in one transaction.
const FANOUT_BATCH: usize = 2_000;

pub struct Feed {
    pub namespace: String,
    /// The most followers an account may have for its activities to be fanned out on write.
    pub fanout_limit: u64,
}

struct Activity {
    position: i64,
    event_index: i32,
    actor_id: Uuid,
    kind: ActivityKind,
    book_id: Option<Uuid>,
    review_id: Option<Uuid>,
    quarter_stars: Option<i16>,
    followee_id: Option<Uuid>,
    books: Option<i32>,
    occurred_at: DateTime<Utc>,
    backdated: bool,
    fanned_out: bool,
}

/// What an event is as an activity, and the day it happened in the reader's life.
struct Deed {
    actor_id: Uuid,
    kind: ActivityKind,
    book_id: Option<Uuid>,
    review_id: Option<Uuid>,
    quarter_stars: Option<i16>,
    followee_id: Option<Uuid>,
    books: Option<i32>,
    day: Option<NaiveDate>,
}

impl Deed {
    fn on_book(actor_id: Uuid, kind: ActivityKind, book_id: Uuid, day: Option<NaiveDate>) -> Self {
        Deed {
            actor_id,
            kind,
            book_id: Some(book_id),
            review_id: None,
            quarter_stars: None,
            followee_id: None,
            books: None,
            day,
        }
    }

    fn of(actor_id: Uuid, kind: ActivityKind) -> Self {
        Deed {
            actor_id,
            kind,
            book_id: None,
            review_id: None,
            quarter_stars: None,
            followee_id: None,
            books: None,
            day: None,
        }
    }
}

fn activity(event: &Event) -> Option<Deed> {
    Some(match *event {
        Event::Reading(ReadingEvent::ReadingStarted { reader_id, book_id, started_on, resumed: false, .. }) => {
            Deed::on_book(reader_id, ActivityKind::StartedReading, book_id, Some(started_on))
        }
        Event::Reading(ReadingEvent::ReadingFinished { reader_id, book_id, finished_on, .. }) => {
            Deed::on_book(reader_id, ActivityKind::FinishedReading, book_id, Some(finished_on))
        }
        Event::Reading(ReadingEvent::ReadingAbandoned { reader_id, book_id, on, .. }) => {
            Deed::on_book(reader_id, ActivityKind::DidNotFinish, book_id, Some(on))
        }
        Event::Reading(ReadingEvent::WantToRead { reader_id, book_id, on }) => {
            Deed::on_book(reader_id, ActivityKind::WantToRead, book_id, Some(on))
        }
        Event::Ratings(RatingsEvent::BookRated { reader_id, book_id, stars, .. }) => Deed {
            quarter_stars: Some(i16::from(stars.quarters())),
            ..Deed::on_book(reader_id, ActivityKind::Rated, book_id, None)
        },
        Event::Reviews(ReviewsEvent::ReviewPublished { review_id, reader_id, book_id, written_on, .. }) => Deed {
            review_id: Some(review_id),
            ..Deed::on_book(reader_id, ActivityKind::Reviewed, book_id, Some(written_on))
        },
        Event::Reviews(ReviewsEvent::ReviewLiked { review_id, liker_id }) => {
            Deed { review_id: Some(review_id), ..Deed::of(liker_id, ActivityKind::LikedReview) }
        }
        Event::Social(SocialEvent::ReaderFollowed { follower_id, followee_id }) => {
            Deed { followee_id: Some(followee_id), ..Deed::of(follower_id, ActivityKind::Followed) }
        }
        Event::Social(SocialEvent::LibraryImported { reader_id, books, .. }) => {
            Deed { books: Some(books as i32), ..Deed::of(reader_id, ActivityKind::Imported) }
        }
        // The first author is the activity's actor; the followers of every author get it.
        Event::Catalog(CatalogEvent::BookAdded(BookDetails { book_id, ref author_ids, first_published, .. })) => {
            Deed::on_book(*author_ids.first()?, ActivityKind::NewBook, book_id, first_published)
        }
        Event::Catalog(
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
            // A failed import is news to its reader alone (a notification), not to followers.
            | SocialEvent::LibraryImportFailed { .. },
        )
        | Event::Ratings(RatingsEvent::RatingCleared { .. } | RatingsEvent::BookDescribed { .. })
        | Event::Reading(
            // A resumed reading is not news: its start was.
            ReadingEvent::ReadingStarted { resumed: true, .. }
            | ReadingEvent::ProgressUpdated { .. }
            | ReadingEvent::ReadingPaused { .. }
            | ReadingEvent::RemovedFromShelves { .. }
            | ReadingEvent::AddedToShelf { .. }
            | ReadingEvent::RemovedFromShelf { .. }
            | ReadingEvent::EditionChosen { .. },
        )
        | Event::Reviews(
            ReviewsEvent::ReviewEdited { .. }
            | ReviewsEvent::ReviewWithdrawn { .. }
            | ReviewsEvent::ReviewUnliked { .. }
            | ReviewsEvent::ReviewCommented { .. }
            | ReviewsEvent::CommentDeleted { .. },
        )
        | Event::Goals(_)

        | Event::Lists(

            ListEvent::ListCreated { .. }

            | ListEvent::ListEdited { .. }

            | ListEvent::ListDeleted { .. }

            | ListEvent::ListHidden { .. }

            | ListEvent::BookListed { .. }

            | ListEvent::BookUnlisted { .. }

            | ListEvent::ListVoteCast { .. }

            | ListEvent::ListVoteWithdrawn { .. },

        ) => return None,
    })
}

/// Whose followers see an activity: its actor's, and for a new book every author's.
fn followed_through(event: &Event, actor_id: Uuid) -> Vec<Uuid> {
    match event {
        Event::Catalog(CatalogEvent::BookAdded(added)) => added.author_ids.clone(),
        Event::Catalog(
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
            RatingsEvent::BookRated { .. } | RatingsEvent::RatingCleared { .. } | RatingsEvent::BookDescribed { .. },
        )
        | Event::Reading(
            ReadingEvent::WantToRead { .. }
            | ReadingEvent::ReadingStarted { .. }
            | ReadingEvent::ProgressUpdated { .. }
            | ReadingEvent::ReadingPaused { .. }
            | ReadingEvent::ReadingFinished { .. }
            | ReadingEvent::ReadingAbandoned { .. }
            | ReadingEvent::RemovedFromShelves { .. }
            | ReadingEvent::AddedToShelf { .. }
            | ReadingEvent::RemovedFromShelf { .. }
            | ReadingEvent::EditionChosen { .. },
        )
        | Event::Reviews(
            ReviewsEvent::ReviewPublished { .. }
            | ReviewsEvent::ReviewEdited { .. }
            | ReviewsEvent::ReviewWithdrawn { .. }
            | ReviewsEvent::ReviewLiked { .. }
            | ReviewsEvent::ReviewUnliked { .. }
            | ReviewsEvent::ReviewCommented { .. }
            | ReviewsEvent::CommentDeleted { .. },
        )
        | Event::Goals(_)
        | Event::Lists(
            ListEvent::ListCreated { .. }
            | ListEvent::ListEdited { .. }
            | ListEvent::ListDeleted { .. }
            | ListEvent::ListHidden { .. }
            | ListEvent::BookListed { .. }
            | ListEvent::BookUnlisted { .. }
            | ListEvent::ListVoteCast { .. }
            | ListEvent::ListVoteWithdrawn { .. },
        ) => vec![actor_id],
    }
}

/// A follow of a reader or of an author, as (follower, followed): the feed keeps both in one
/// graph (reader and author ids never meet: each is the UUIDv5 of its own command id).
fn follow(event: &Event) -> Option<(bool, Pair)> {
    match *event {
        Event::Social(SocialEvent::ReaderFollowed { follower_id, followee_id }) => {
            Some((true, (follower_id, followee_id)))
        }
        Event::Social(SocialEvent::ReaderUnfollowed { follower_id, followee_id }) => {
            Some((false, (follower_id, followee_id)))
        }
        Event::Social(SocialEvent::AuthorFollowed { reader_id, author_id }) => Some((true, (reader_id, author_id))),
        Event::Social(SocialEvent::AuthorUnfollowed { reader_id, author_id }) => Some((false, (reader_id, author_id))),
        Event::Catalog(
            CatalogEvent::AuthorAdded { .. }
            | CatalogEvent::BookAdded(_)
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
            | SocialEvent::ReaderBlocked { .. }
            | SocialEvent::ReaderUnblocked { .. }
            | SocialEvent::RoleGranted { .. }
            | SocialEvent::RoleRevoked { .. }
            | SocialEvent::ReadingVisibilityChanged { .. }
            | SocialEvent::TimeZoneChanged { .. }
            | SocialEvent::ReaderDeleted { .. }
            | SocialEvent::SignUpExpired { .. }
            | SocialEvent::LibraryImported { .. }
            | SocialEvent::LibraryImportFailed { .. },
        )
        | Event::Ratings(
            RatingsEvent::BookRated { .. } | RatingsEvent::RatingCleared { .. } | RatingsEvent::BookDescribed { .. },
        )
        | Event::Reading(
            ReadingEvent::WantToRead { .. }
            | ReadingEvent::ReadingStarted { .. }
            | ReadingEvent::ProgressUpdated { .. }
            | ReadingEvent::ReadingPaused { .. }
            | ReadingEvent::ReadingFinished { .. }
            | ReadingEvent::ReadingAbandoned { .. }
            | ReadingEvent::RemovedFromShelves { .. }
            | ReadingEvent::AddedToShelf { .. }
            | ReadingEvent::RemovedFromShelf { .. }
            | ReadingEvent::EditionChosen { .. },
        )
        | Event::Reviews(
            ReviewsEvent::ReviewPublished { .. }
            | ReviewsEvent::ReviewEdited { .. }
            | ReviewsEvent::ReviewWithdrawn { .. }
            | ReviewsEvent::ReviewLiked { .. }
            | ReviewsEvent::ReviewUnliked { .. }
            | ReviewsEvent::ReviewCommented { .. }
            | ReviewsEvent::CommentDeleted { .. },
        )
        | Event::Goals(_)
        | Event::Lists(
            ListEvent::ListCreated { .. }
            | ListEvent::ListEdited { .. }
            | ListEvent::ListDeleted { .. }
            | ListEvent::ListHidden { .. }
            | ListEvent::BookListed { .. }
            | ListEvent::BookUnlisted { .. }
            | ListEvent::ListVoteCast { .. }
            | ListEvent::ListVoteWithdrawn { .. },
        ) => None,
    }
}

type Pair = (Uuid, Uuid);

fn actors(batch: &[Stored]) -> Vec<Uuid> {
    let mut seen = HashSet::new();
    batch
        .iter()
        .flat_map(|s| &s.envelope.events)
        .flat_map(|e| match follow(&e.event) {
            Some((_, (_, followee_id))) => vec![followee_id],
            None => activity(&e.event).map(|deed| followed_through(&e.event, deed.actor_id)).unwrap_or_default(),
        })
        .filter(|actor| seen.insert(*actor))
        .collect()
}

impl Projection for Feed {
    fn read_model(&self) -> ReadModel {
        ReadModel::Feed
    }

    fn tables(&self) -> &'static [&'static str] {
        &["activities", "feed_items", "feed_follows", "feed_follower_counts"]
    }

    /// An activity writes a row for each of up to `fanout_limit` followers: 2,000 of them keep
    /// a transaction's rows a fifth of what the runner's default would allow.
    fn max_batch(&self) -> usize {
        FANOUT_BATCH
    }

    /// Their activities, their feed and their follows go, and so does every activity of
    /// following them, from every feed it was written into.
    async fn forget_reader(&self, tx: &mut PgConnection, reader_id: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "WITH activities AS (DELETE FROM activities WHERE actor_id = $1 OR followee_id = $1
                                 RETURNING position, event_index),
                  items AS (DELETE FROM feed_items
                            WHERE reader_id = $1 OR actor_id = $1
                               OR (position, event_index) IN (SELECT position, event_index FROM activities)),
                  gone AS (DELETE FROM feed_follows WHERE follower_id = $1 OR followee_id = $1
                           RETURNING follower_id, followee_id),
                  counted AS (
                      UPDATE feed_follower_counts AS c SET followers = c.followers - 1
                      FROM gone WHERE gone.follower_id = $1 AND c.reader_id = gone.followee_id)
             DELETE FROM feed_follower_counts WHERE reader_id = $1",
            reader_id
        )
        .execute(tx)
        .await?;
        Ok(())
    }

    async fn apply(&self, tx: &mut PgConnection, batch: &[Stored]) -> Result<Vec<LiveUpdate>, sqlx::Error> {
        let actors = actors(batch);
        if actors.is_empty() {
            return Ok(Vec::new());
        }
        let limit = self.fanout_limit as i64;
        // Follower counts of every actor, and the follower lists of those at or below the limit.
        let mut counts: HashMap<Uuid, i64> =
            sqlx::query!("SELECT reader_id, followers FROM feed_follower_counts WHERE reader_id = ANY($1)", &actors)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(|r| (r.reader_id, r.followers))
                .collect();
        let small: Vec<Uuid> =
            actors.iter().copied().filter(|a| counts.get(a).copied().unwrap_or(0) <= limit).collect();
        let merged_before: HashSet<Uuid> =
            actors.iter().copied().filter(|a| counts.get(a).copied().unwrap_or(0) > limit).collect();
        let mut followers: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
        for row in sqlx::query!("SELECT followee_id, follower_id FROM feed_follows WHERE followee_id = ANY($1)", &small)
            .fetch_all(&mut *tx)
            .await?
        {
            followers.entry(row.followee_id).or_default().insert(row.follower_id);
        }
        // Actors above the limit whose followers were not loaded; a drop to the limit in this
        // batch cannot be fanned out exactly, so they stay merged on read until the next batch.
        let unloaded: HashSet<Uuid> = actors.iter().copied().filter(|a| !small.contains(a)).collect();

        let mut activities = Vec::new();
        let mut items: Vec<(Uuid, i64, i32, Uuid, ActivityKind)> = Vec::new();
        let (mut follows, mut unfollows): (Vec<Pair>, Vec<Pair>) = (Vec::new(), Vec::new());
        // Every pair unfollowed in the batch: their earlier items leave the feed even if the
        // reader follows again later in the batch.
        let mut cleared: Vec<Pair> = Vec::new();
        for stored in batch {
            let position = stored.position as i64;
            let occurred_at = stored.envelope.meta.occurred_at;
            for (index, recorded) in stored.envelope.events.iter().enumerate() {
                match follow(&recorded.event) {
                    Some((true, (follower_id, followee_id))) => {
                        *counts.entry(followee_id).or_default() += 1;
                        follows.push((follower_id, followee_id));
                        unfollows.retain(|pair| *pair != (follower_id, followee_id));
                        if !unloaded.contains(&followee_id) {
                            followers.entry(followee_id).or_default().insert(follower_id);
                        }
                    }
                    Some((false, (follower_id, followee_id))) => {
                        *counts.entry(followee_id).or_default() -= 1;
                        unfollows.push((follower_id, followee_id));
                        cleared.push((follower_id, followee_id));
                        follows.retain(|pair| *pair != (follower_id, followee_id));
                        if let Some(set) = followers.get_mut(&followee_id) {
                            set.remove(&follower_id);
                        }
                        // Unfollowing removes that reader's items from the feed.
                        items.retain(|item| (item.0, item.3) != (follower_id, followee_id));
                    }
                    None => {}
                }
                // An import's rows reach no feed one by one: its summary does.
                if stored.envelope.meta.import_job.is_some() {
                    continue;
                }
                let Some(Deed { actor_id, kind, book_id, review_id, quarter_stars, followee_id, books, day }) =
                    activity(&recorded.event)
                else {
                    continue;
                };
                let within = if kind == ActivityKind::NewBook { NEW_BOOK_WITHIN_DAYS } else { BACKDATED_AFTER_DAYS };
                let backdated = day.is_some_and(|day| day < (occurred_at - Duration::days(within)).date_naive());
                let fans_out =
                    |actor: &Uuid| !unloaded.contains(actor) && counts.get(actor).copied().unwrap_or(0) <= limit;
                let fan_out = fans_out(&actor_id);
                if !backdated {
                    // A follower of two of a book's authors gets it once, under the first.
                    let mut reached = HashSet::new();
                    for followed in followed_through(&recorded.event, actor_id).iter().filter(|a| fans_out(a)) {
                        for follower in followers.get(followed).into_iter().flatten() {
                            if reached.insert(*follower) {
                                items.push((*follower, position, index as i32, *followed, kind));
                            }
                        }
                    }
                }
                activities.push(Activity {
                    position,
                    event_index: index as i32,
                    actor_id,
                    kind,
                    book_id,
                    review_id,
                    quarter_stars,
                    followee_id,
                    books,
                    occurred_at,
                    backdated,
                    fanned_out: fan_out,
                });
            }
        }

        write_follows(tx, &follows, &unfollows, &cleared, &counts, limit).await?;
        write_activities(tx, &activities).await?;
        write_items(tx, &items).await?;

        let notice = |position: i64, index: i32| {
            Bytes::from(live::FeedActivity { position: position as u64, event_index: index as u32 }.encode_to_vec())
        };
        let mut updates: Vec<LiveUpdate> = items
            .iter()
            .map(|(reader, position, index, _, _)| LiveUpdate {
                subject: social::live_feed(&self.namespace, *reader),
                payload: notice(*position, *index),
            })
            .collect();
        updates.extend(activities.iter().filter(|a| !a.fanned_out && !a.backdated).map(|a| LiveUpdate {
            subject: social::live_activity(&self.namespace, a.actor_id),
            payload: notice(a.position, a.event_index),
        }));
        // Readers whose accounts merged on read changed: they followed one, or one they follow
        // went over the limit in this batch. Their live feeds listen to those accounts anew.
        let merged_now = |actor: &Uuid| counts.get(actor).copied().unwrap_or(0) > limit;
        let mut changed: HashSet<Uuid> =
            follows.iter().filter(|(_, followee)| merged_now(followee)).map(|(follower, _)| *follower).collect();
        for (actor, actor_followers) in &followers {
            if merged_now(actor) && !merged_before.contains(actor) {
                changed.extend(actor_followers);
            }
        }
        let since = batch.first().map_or(0, |stored| stored.position.saturating_sub(1));
        let changed_notice = Bytes::from(live::MergedFolloweesChanged { since }.encode_to_vec());
        updates.extend(changed.into_iter().map(|reader| LiveUpdate {
            subject: social::live_merged_followees(&self.namespace, reader),
            payload: changed_notice.clone(),
        }));
        Ok(updates)
    }
}

async fn write_follows(
    tx: &mut PgConnection,
    follows: &[Pair],
    unfollows: &[Pair],
    cleared: &[Pair],
    counts: &HashMap<Uuid, i64>,
    limit: i64,
) -> Result<(), sqlx::Error> {
    if !unfollows.is_empty() {
        let (followers, followees): (Vec<Uuid>, Vec<Uuid>) = unfollows.iter().copied().unzip();
        sqlx::query!(
            "DELETE FROM feed_follows f USING UNNEST($1::uuid[], $2::uuid[]) AS k(follower_id, followee_id)
             WHERE f.follower_id = k.follower_id AND f.followee_id = k.followee_id",
            &followers,
            &followees
        )
        .execute(&mut *tx)
        .await?;
    }
    if !cleared.is_empty() {
        let (followers, followees): (Vec<Uuid>, Vec<Uuid>) = cleared.iter().copied().unzip();
        // Items fanned out in earlier batches leave the unfollower's feed.
        sqlx::query!(
            "DELETE FROM feed_items i USING UNNEST($1::uuid[], $2::uuid[]) AS k(reader_id, actor_id)
             WHERE i.reader_id = k.reader_id AND i.actor_id = k.actor_id",
            &followers,
            &followees
        )
        .execute(&mut *tx)
        .await?;
    }
    if !follows.is_empty() {
        let (followers, followees): (Vec<Uuid>, Vec<Uuid>) = follows.iter().copied().unzip();
        sqlx::query!(
            "INSERT INTO feed_follows (follower_id, followee_id) SELECT * FROM UNNEST($1::uuid[], $2::uuid[]) ON CONFLICT DO NOTHING",
            &followers,
            &followees
        )
        .execute(&mut *tx)
        .await?;
    }
    let changed: Vec<(Uuid, i64)> =
        follows.iter().chain(unfollows).map(|(_, followee)| (*followee, counts[followee])).collect();
    if !changed.is_empty() {
        let (ids, totals): (Vec<Uuid>, Vec<i64>) = changed.into_iter().collect::<HashMap<_, _>>().into_iter().unzip();
        sqlx::query!(
            "INSERT INTO feed_follower_counts (reader_id, followers, merged_on_read)
             SELECT id, n, n > $3 FROM UNNEST($1::uuid[], $2::bigint[]) AS t(id, n)
             ON CONFLICT (reader_id) DO UPDATE SET followers = EXCLUDED.followers, merged_on_read = EXCLUDED.merged_on_read",
            &ids,
            &totals,
            limit
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

async fn write_activities(tx: &mut PgConnection, activities: &[Activity]) -> Result<(), sqlx::Error> {
    if activities.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "INSERT INTO activities (position, event_index, actor_id, kind, book_id, review_id, quarter_stars, followee_id,
                                 occurred_at, backdated, fanned_out, books)
         SELECT * FROM UNNEST($1::bigint[], $2::int[], $3::uuid[], $4::text[], $5::uuid[], $6::uuid[], $7::smallint[],
                              $8::uuid[], $9::timestamptz[], $10::bool[], $11::bool[], $12::int[])
         ON CONFLICT DO NOTHING",
        &activities.iter().map(|a| a.position).collect::<Vec<_>>(),
        &activities.iter().map(|a| a.event_index).collect::<Vec<_>>(),
        &activities.iter().map(|a| a.actor_id).collect::<Vec<_>>(),
        &activities.iter().map(|a| a.kind).collect::<Vec<_>>() as &[ActivityKind],
        &activities.iter().map(|a| a.book_id).collect::<Vec<_>>() as &[Option<Uuid>],
        &activities.iter().map(|a| a.review_id).collect::<Vec<_>>() as &[Option<Uuid>],
        &activities.iter().map(|a| a.quarter_stars).collect::<Vec<_>>() as &[Option<i16>],
        &activities.iter().map(|a| a.followee_id).collect::<Vec<_>>() as &[Option<Uuid>],
        &activities.iter().map(|a| a.occurred_at).collect::<Vec<_>>(),
        &activities.iter().map(|a| a.backdated).collect::<Vec<_>>(),
        &activities.iter().map(|a| a.fanned_out).collect::<Vec<_>>(),
        &activities.iter().map(|a| a.books).collect::<Vec<_>>() as &[Option<i32>],
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn write_items(tx: &mut PgConnection, items: &[(Uuid, i64, i32, Uuid, ActivityKind)]) -> Result<(), sqlx::Error> {
    if items.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "INSERT INTO feed_items (reader_id, position, event_index, actor_id, kind)
         SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::int[], $4::uuid[], $5::text[])
         ON CONFLICT DO NOTHING",
        &items.iter().map(|i| i.0).collect::<Vec<_>>(),
        &items.iter().map(|i| i.1).collect::<Vec<_>>(),
        &items.iter().map(|i| i.2).collect::<Vec<_>>(),
        &items.iter().map(|i| i.3).collect::<Vec<_>>(),
        &items.iter().map(|i| i.4).collect::<Vec<_>>() as &[ActivityKind],
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
