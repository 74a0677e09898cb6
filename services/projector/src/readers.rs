//! Readers' public profiles, roles and reading visibility, and the follow graph: who follows whom, who blocked
//! whom, and each reader's follower and following counts.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use readstream_contracts::{
    social::{Role, Visibility},
    Event, ListEvent, ReadModel, SocialEvent,
};
use readstream_contracts::{CatalogEvent, RatingsEvent, ReadingEvent, ReviewsEvent};
use readstream_eventstore::Stored;
use readstream_projection::{LiveUpdate, Projection};
use sqlx::PgConnection;
use uuid::Uuid;

pub struct Readers;

type Pair = (Uuid, Uuid);

impl Projection for Readers {
    fn read_model(&self) -> ReadModel {
        ReadModel::Readers
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "readers",
            "follows",
            "blocks",
            "reader_follow_counts",
            "reader_roles",
            "author_follows",
            "author_follower_counts",
            "actor_messages",
        ]
    }

    /// Their profile, roles, blocks and follows go; the readers they followed or who followed
    /// them count one fewer.
    async fn forget_reader(&self, tx: &mut PgConnection, reader_id: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "WITH gone AS (DELETE FROM follows WHERE follower_id = $1 OR followee_id = $1
                           RETURNING follower_id, followee_id),
                  counted AS (
                      UPDATE reader_follow_counts AS c
                      SET followers = c.followers - (SELECT count(*) FROM gone WHERE gone.followee_id = c.reader_id),
                          following = c.following - (SELECT count(*) FROM gone WHERE gone.follower_id = c.reader_id)
                      WHERE c.reader_id <> $1
                        AND c.reader_id IN (SELECT followee_id FROM gone UNION SELECT follower_id FROM gone)),
                  own_counts AS (DELETE FROM reader_follow_counts WHERE reader_id = $1),
                  blocks AS (DELETE FROM blocks WHERE blocker_id = $1 OR blocked_id = $1),
                  roles AS (DELETE FROM reader_roles WHERE reader_id = $1)
             DELETE FROM readers WHERE reader_id = $1",
            reader_id
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!("DELETE FROM actor_messages WHERE actor_id = $1", reader_id).execute(&mut *tx).await?;
        sqlx::query!(
            "WITH gone AS (DELETE FROM author_follows WHERE reader_id = $1 RETURNING author_id)
             UPDATE author_follower_counts c SET followers = c.followers - 1 FROM gone WHERE c.author_id = gone.author_id",
            reader_id
        )
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    async fn apply(&self, tx: &mut PgConnection, batch: &[Stored]) -> Result<Vec<LiveUpdate>, sqlx::Error> {
        let (mut ids, mut handles, mut names, mut joined, mut positions) = (vec![], vec![], vec![], vec![], vec![]);
        let mut profiles: HashMap<Uuid, (String, String)> = HashMap::new();
        let mut avatars: HashMap<Uuid, Option<String>> = HashMap::new();
        let mut follows: HashMap<Pair, Option<(DateTime<Utc>, i64)>> = HashMap::new();
        let mut blocks: HashMap<Pair, Option<DateTime<Utc>>> = HashMap::new();
        // Whether each reader holds each role after the batch.
        let mut roles: HashMap<(Uuid, Role), bool> = HashMap::new();
        let mut visibilities: HashMap<Uuid, Visibility> = HashMap::new();
        let mut time_zones: HashMap<Uuid, String> = HashMap::new();
        // (followers, following) changes per reader; the decider only emits real changes.
        let mut counts: HashMap<Uuid, (i64, i64)> = HashMap::new();
        // Each (reader, author) follow after the batch (with its time), and each author's change.
        let mut author_follows: HashMap<Pair, Option<DateTime<Utc>>> = HashMap::new();
        let mut author_followers: HashMap<Uuid, i64> = HashMap::new();
        for stored in batch {
            let at = stored.envelope.meta.occurred_at;
            for recorded in &stored.envelope.events {
                match &recorded.event {
                    Event::Social(SocialEvent::ReaderRegistered { reader_id, handle, display_name }) => {
                        ids.push(*reader_id);
                        handles.push(handle.clone());
                        names.push(display_name.clone());
                        joined.push(at);
                        positions.push(stored.position as i64);
                    }
                    Event::Social(SocialEvent::ProfileUpdated { reader_id, display_name, bio }) => {
                        profiles.insert(*reader_id, (display_name.clone(), bio.clone()));
                    }
                    Event::Social(SocialEvent::AvatarChanged { reader_id, avatar }) => {
                        avatars.insert(*reader_id, avatar.as_ref().map(|image| image.as_str().to_owned()));
                    }
                    Event::Social(SocialEvent::ReaderFollowed { follower_id, followee_id })
                    | Event::Social(SocialEvent::ReaderUnfollowed { follower_id, followee_id }) => {
                        let followed = matches!(recorded.event, Event::Social(SocialEvent::ReaderFollowed { .. }));
                        let change = if followed { 1 } else { -1 };
                        follows.insert((*follower_id, *followee_id), followed.then_some((at, stored.position as i64)));
                        counts.entry(*followee_id).or_default().0 += change;
                        counts.entry(*follower_id).or_default().1 += change;
                    }
                    Event::Social(SocialEvent::AuthorFollowed { reader_id, author_id }) => {
                        author_follows.insert((*reader_id, *author_id), Some(at));
                        *author_followers.entry(*author_id).or_default() += 1;
                    }
                    Event::Social(SocialEvent::AuthorUnfollowed { reader_id, author_id }) => {
                        author_follows.insert((*reader_id, *author_id), None);
                        *author_followers.entry(*author_id).or_default() -= 1;
                    }
                    Event::Social(SocialEvent::ReaderBlocked { blocker_id, blocked_id }) => {
                        blocks.insert((*blocker_id, *blocked_id), Some(at));
                    }
                    Event::Social(SocialEvent::ReaderUnblocked { blocker_id, blocked_id }) => {
                        blocks.insert((*blocker_id, *blocked_id), None);
                    }
                    Event::Social(SocialEvent::ReadingVisibilityChanged { reader_id, visibility }) => {
                        visibilities.insert(*reader_id, *visibility);
                    }
                    Event::Social(SocialEvent::TimeZoneChanged { reader_id, time_zone }) => {
                        time_zones.insert(*reader_id, time_zone.as_str().to_owned());
                    }
                    Event::Social(SocialEvent::RoleGranted { reader_id, role }) => {
                        roles.insert((*reader_id, *role), true);
                    }
                    Event::Social(SocialEvent::RoleRevoked { reader_id, role }) => {
                        roles.insert((*reader_id, *role), false);
                    }
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
                        SocialEvent::ReaderDeleted { .. }
                        | SocialEvent::SignUpExpired { .. }
                        | SocialEvent::LibraryImported { .. }
                        | SocialEvent::LibraryImportFailed { .. },
                    )
                    | Event::Ratings(
                        RatingsEvent::BookRated { .. }
                        | RatingsEvent::RatingCleared { .. }
                        | RatingsEvent::BookDescribed { .. },
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
                    ) => {}
                }
            }
        }
        if !ids.is_empty() {
            sqlx::query!(
                "INSERT INTO readers (reader_id, handle, display_name, joined_at, position)
                 SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[])
                 ON CONFLICT (reader_id) DO NOTHING",
                &ids,
                &handles,
                &names,
                &joined,
                &positions
            )
            .execute(&mut *tx)
            .await?;
        }
        if !profiles.is_empty() {
            let (readers, changes): (Vec<Uuid>, Vec<(String, String)>) = profiles.into_iter().unzip();
            let (names, bios): (Vec<String>, Vec<String>) = changes.into_iter().unzip();
            sqlx::query!(
                "UPDATE readers r SET display_name = p.display_name, bio = p.bio
                 FROM UNNEST($1::uuid[], $2::text[], $3::text[]) AS p(reader_id, display_name, bio)
                 WHERE r.reader_id = p.reader_id",
                &readers,
                &names,
                &bios
            )
            .execute(&mut *tx)
            .await?;
        }
        if !avatars.is_empty() {
            let (readers, avatars): (Vec<Uuid>, Vec<Option<String>>) = avatars.into_iter().unzip();
            sqlx::query!(
                "UPDATE readers r SET avatar = a.avatar
                 FROM UNNEST($1::uuid[], $2::text[]) AS a(reader_id, avatar)
                 WHERE r.reader_id = a.reader_id",
                &readers,
                &avatars as &[Option<String>]
            )
            .execute(&mut *tx)
            .await?;
        }
        if !visibilities.is_empty() {
            let (readers, names): (Vec<Uuid>, Vec<String>) = visibilities
                .into_iter()
                .map(|(reader_id, visibility)| (reader_id, visibility.name().to_owned()))
                .unzip();
            sqlx::query!(
                "UPDATE readers r SET reading_visibility = v.visibility
                 FROM UNNEST($1::uuid[], $2::text[]) AS v(reader_id, visibility)
                 WHERE r.reader_id = v.reader_id",
                &readers,
                &names
            )
            .execute(&mut *tx)
            .await?;
        }
        if !time_zones.is_empty() {
            let (readers, zones): (Vec<Uuid>, Vec<String>) = time_zones.into_iter().unzip();
            sqlx::query!(
                "UPDATE readers r SET time_zone = z.time_zone
                 FROM UNNEST($1::uuid[], $2::text[]) AS z(reader_id, time_zone)
                 WHERE r.reader_id = z.reader_id",
                &readers,
                &zones
            )
            .execute(&mut *tx)
            .await?;
        }
        write_follows(tx, follows).await?;
        write_blocks(tx, blocks).await?;
        write_counts(tx, counts).await?;
        write_roles(tx, roles).await?;
        write_author_follows(tx, author_follows, author_followers).await?;
        // A sign-up has no actor yet (no one is signed in): it is the new reader's own.
        let (actors, positions): (Vec<Uuid>, Vec<i64>) = batch
            .iter()
            .filter_map(|s| {
                let signed_up = s.envelope.events.iter().find_map(|e| match e.event {
                    Event::Social(SocialEvent::ReaderRegistered { reader_id, .. }) => Some(reader_id),
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
                        SocialEvent::ProfileUpdated { .. }
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
                });
                Some((s.envelope.meta.actor.or(signed_up)?, s.position as i64))
            })
            .unzip();
        sqlx::query!(
            "INSERT INTO actor_messages (actor_id, position) SELECT * FROM UNNEST($1::uuid[], $2::bigint[])
             ON CONFLICT DO NOTHING",
            &actors,
            &positions
        )
        .execute(&mut *tx)
        .await?;
        Ok(Vec::new())
    }
}

/// Each (reader, author) follow as the batch left it, and each author's follower count changed
/// by what the batch did (the decider emits only real changes).
async fn write_author_follows(
    tx: &mut PgConnection,
    follows: HashMap<Pair, Option<DateTime<Utc>>>,
    followers: HashMap<Uuid, i64>,
) -> Result<(), sqlx::Error> {
    let (mut readers, mut authors, mut since, mut gone_readers, mut gone_authors) =
        (vec![], vec![], vec![], vec![], vec![]);
    for ((reader_id, author_id), followed) in follows {
        match followed {
            Some(at) => {
                readers.push(reader_id);
                authors.push(author_id);
                since.push(at);
            }
            None => {
                gone_readers.push(reader_id);
                gone_authors.push(author_id);
            }
        }
    }
    if !readers.is_empty() {
        sqlx::query!(
            "INSERT INTO author_follows (reader_id, author_id, since)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::timestamptz[]) ON CONFLICT DO NOTHING",
            &readers,
            &authors,
            &since
        )
        .execute(&mut *tx)
        .await?;
    }
    if !gone_readers.is_empty() {
        sqlx::query!(
            "DELETE FROM author_follows f USING UNNEST($1::uuid[], $2::uuid[]) AS k(reader_id, author_id)
             WHERE f.reader_id = k.reader_id AND f.author_id = k.author_id",
            &gone_readers,
            &gone_authors
        )
        .execute(&mut *tx)
        .await?;
    }
    let (ids, changes): (Vec<Uuid>, Vec<i64>) = followers.into_iter().filter(|(_, change)| *change != 0).unzip();
    if !ids.is_empty() {
        // Rows first, then the changes: an insert of a negative change would break the check
        // before ON CONFLICT could add it.
        sqlx::query!(
            "INSERT INTO author_follower_counts (author_id) SELECT * FROM UNNEST($1::uuid[]) ON CONFLICT DO NOTHING",
            &ids
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE author_follower_counts c SET followers = c.followers + d.change
             FROM UNNEST($1::uuid[], $2::bigint[]) AS d(author_id, change)
             WHERE c.author_id = d.author_id",
            &ids,
            &changes
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

async fn write_roles(tx: &mut PgConnection, changes: HashMap<(Uuid, Role), bool>) -> Result<(), sqlx::Error> {
    if changes.is_empty() {
        return Ok(());
    }
    let (held, dropped): (Vec<_>, Vec<_>) = changes.into_iter().partition(|(_, holds)| *holds);
    let columns = |changes: Vec<((Uuid, Role), bool)>| -> (Vec<Uuid>, Vec<String>) {
        changes.into_iter().map(|((reader_id, role), _)| (reader_id, role.name().to_owned())).unzip()
    };
    let (readers, names) = columns(held);
    sqlx::query!(
        "INSERT INTO reader_roles (reader_id, role) SELECT * FROM UNNEST($1::uuid[], $2::text[]) ON CONFLICT DO NOTHING",
        &readers,
        &names
    )
    .execute(&mut *tx)
    .await?;
    let (readers, names) = columns(dropped);
    sqlx::query!(
        "DELETE FROM reader_roles r USING UNNEST($1::uuid[], $2::text[]) AS k(reader_id, role)
         WHERE r.reader_id = k.reader_id AND r.role = k.role",
        &readers,
        &names
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn write_follows(
    tx: &mut PgConnection,
    changes: HashMap<Pair, Option<(DateTime<Utc>, i64)>>,
) -> Result<(), sqlx::Error> {
    let (added, removed): (Vec<_>, Vec<_>) = changes.into_iter().partition(|(_, since)| since.is_some());
    if !added.is_empty() {
        let since: Vec<(DateTime<Utc>, i64)> = added.iter().filter_map(|(_, s)| *s).collect();
        sqlx::query!(
            "INSERT INTO follows (follower_id, followee_id, since, position)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::timestamptz[], $4::bigint[])
             ON CONFLICT (follower_id, followee_id) DO UPDATE SET since = EXCLUDED.since, position = EXCLUDED.position",
            &added.iter().map(|((a, _), _)| *a).collect::<Vec<_>>(),
            &added.iter().map(|((_, b), _)| *b).collect::<Vec<_>>(),
            &since.iter().map(|s| s.0).collect::<Vec<_>>(),
            &since.iter().map(|s| s.1).collect::<Vec<_>>()
        )
        .execute(&mut *tx)
        .await?;
    }
    if !removed.is_empty() {
        sqlx::query!(
            "DELETE FROM follows f USING UNNEST($1::uuid[], $2::uuid[]) AS k(follower_id, followee_id)
             WHERE f.follower_id = k.follower_id AND f.followee_id = k.followee_id",
            &removed.iter().map(|((a, _), _)| *a).collect::<Vec<_>>(),
            &removed.iter().map(|((_, b), _)| *b).collect::<Vec<_>>()
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

async fn write_blocks(tx: &mut PgConnection, changes: HashMap<Pair, Option<DateTime<Utc>>>) -> Result<(), sqlx::Error> {
    let (added, removed): (Vec<_>, Vec<_>) = changes.into_iter().partition(|(_, since)| since.is_some());
    if !added.is_empty() {
        sqlx::query!(
            "INSERT INTO blocks (blocker_id, blocked_id, since)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::timestamptz[])
             ON CONFLICT (blocker_id, blocked_id) DO UPDATE SET since = EXCLUDED.since",
            &added.iter().map(|((a, _), _)| *a).collect::<Vec<_>>(),
            &added.iter().map(|((_, b), _)| *b).collect::<Vec<_>>(),
            &added.iter().filter_map(|(_, s)| *s).collect::<Vec<_>>()
        )
        .execute(&mut *tx)
        .await?;
    }
    if !removed.is_empty() {
        sqlx::query!(
            "DELETE FROM blocks b USING UNNEST($1::uuid[], $2::uuid[]) AS k(blocker_id, blocked_id)
             WHERE b.blocker_id = k.blocker_id AND b.blocked_id = k.blocked_id",
            &removed.iter().map(|((a, _), _)| *a).collect::<Vec<_>>(),
            &removed.iter().map(|((_, b), _)| *b).collect::<Vec<_>>()
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Rows first, then the deltas: a negative delta is refused by the checks as a new row.
async fn write_counts(tx: &mut PgConnection, counts: HashMap<Uuid, (i64, i64)>) -> Result<(), sqlx::Error> {
    let counts: Vec<(Uuid, (i64, i64))> = counts.into_iter().filter(|(_, c)| *c != (0, 0)).collect();
    if counts.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = counts.iter().map(|(id, _)| *id).collect();
    sqlx::query!(
        "INSERT INTO reader_follow_counts (reader_id) SELECT * FROM UNNEST($1::uuid[]) ON CONFLICT DO NOTHING",
        &ids
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE reader_follow_counts c SET followers = c.followers + d.followers, following = c.following + d.following
         FROM UNNEST($1::uuid[], $2::bigint[], $3::bigint[]) AS d(reader_id, followers, following)
         WHERE c.reader_id = d.reader_id",
        &ids,
        &counts.iter().map(|(_, c)| c.0).collect::<Vec<_>>(),
        &counts.iter().map(|(_, c)| c.1).collect::<Vec<_>>()
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
