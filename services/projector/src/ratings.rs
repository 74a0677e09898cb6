//! `book_ratings` (count, sum in quarter stars and one count per whole star for each book) and
//! each reader's current rating, in quarter stars. A batch is coalesced: every rating of a book
//! in it becomes one row update, using the `previous_stars` each event carries, so no prior
//! state is read; but for a version-1 clear, which recorded its stars rounded, whose exact
//! rating is read from this projection's own row of it.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use prost::Message;
use readstream_contracts::{
    proto::live::v1 as live, ratings, ClearedStars, Event, ListEvent, RatingsEvent, ReadModel, Stars,
};
use readstream_contracts::{CatalogEvent, ReadingEvent, ReviewsEvent, SocialEvent};
use readstream_eventstore::Stored;
use readstream_projection::{LiveUpdate, Projection};
use sqlx::PgConnection;
use uuid::Uuid;

pub struct Ratings {
    pub namespace: String,
}

/// How one batch changes one book's figures.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delta {
    pub count: i64,
    pub quarter_stars_sum: i64,
    /// One count per whole star, quarters rounded half up.
    pub stars: [i64; 5],
    /// The position of the book's last rating event in the batch.
    pub position: i64,
}

impl Delta {
    fn add(&mut self, stars: Stars) {
        self.count += 1;
        self.quarter_stars_sum += i64::from(stars.quarters());
        self.stars[usize::from(stars.rounded() - 1)] += 1;
    }

    fn remove(&mut self, stars: Stars) {
        self.count -= 1;
        self.quarter_stars_sum -= i64::from(stars.quarters());
        self.stars[usize::from(stars.rounded() - 1)] -= 1;
    }
}

/// A reader's rating of a book after the batch: `Some(stars)` or cleared.
type Latest = HashMap<(Uuid, Uuid), (Option<Stars>, DateTime<Utc>)>;

/// The exact ratings version-1 clears took away, as this projection's `ratings` rows held them
/// before the batch.
pub type StoredRatings = HashMap<(Uuid, Uuid), Stars>;

/// The ratings a batch's version-1 clears need from before it: those the batch itself does not
/// rate first.
pub fn rounded_clears(batch: &[Stored]) -> Vec<(Uuid, Uuid)> {
    let mut rated = HashSet::new();
    let mut needed = Vec::new();
    for event in batch.iter().flat_map(|stored| &stored.envelope.events).map(|recorded| &recorded.event) {
        match *event {
            Event::Ratings(RatingsEvent::BookRated { reader_id, book_id, .. }) => {
                rated.insert((reader_id, book_id));
            }
            Event::Ratings(RatingsEvent::RatingCleared {
                reader_id,
                book_id,
                previous_stars: ClearedStars::Rounded(_),
            }) if !rated.contains(&(reader_id, book_id)) => needed.push((reader_id, book_id)),
            // Exact clears carry what they take away; a rounded one after the batch's own rating
            // is settled from that rating; nothing else touches a rating.
            Event::Ratings(RatingsEvent::RatingCleared { .. } | RatingsEvent::BookDescribed { .. })
            | Event::Catalog(_)
            | Event::Social(_)
            | Event::Reading(_)
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
            )
            | Event::Reviews(_) => {}
        }
    }
    needed
}

/// Folds a batch into one delta per book and the last word on each reader's rating. A
/// version-1 clear takes away the rating the batch gave before it, else the one `before` holds,
/// else (never seen: no row) its rounded stars.
pub fn coalesce(batch: &[Stored], before: &StoredRatings) -> (HashMap<Uuid, Delta>, Latest) {
    let mut deltas: HashMap<Uuid, Delta> = HashMap::new();
    let mut latest = Latest::new();
    for stored in batch {
        let at = stored.envelope.meta.occurred_at;
        for recorded in &stored.envelope.events {
            match recorded.event {
                Event::Ratings(RatingsEvent::BookRated { reader_id, book_id, stars, previous_stars }) => {
                    let delta = deltas.entry(book_id).or_default();
                    delta.position = stored.position as i64;
                    if let Some(previous) = previous_stars {
                        delta.remove(previous);
                    }
                    delta.add(stars);
                    latest.insert((reader_id, book_id), (Some(stars), at));
                }
                Event::Ratings(RatingsEvent::RatingCleared { reader_id, book_id, previous_stars }) => {
                    let key = (reader_id, book_id);
                    let cleared = match previous_stars {
                        ClearedStars::Exact(stars) => Some(stars),
                        ClearedStars::Rounded(whole) => match latest.get(&key) {
                            Some((in_batch, _)) => *in_batch,
                            None => before.get(&key).copied().or_else(|| Stars::whole(whole)),
                        },
                    };
                    let delta = deltas.entry(book_id).or_default();
                    delta.position = stored.position as i64;
                    if let Some(stars) = cleared {
                        delta.remove(stars);
                    }
                    latest.insert(key, (None, at));
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
                | Event::Ratings(RatingsEvent::BookDescribed { .. })
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
    (deltas, latest)
}

impl Projection for Ratings {
    fn read_model(&self) -> ReadModel {
        ReadModel::Ratings
    }

    fn tables(&self) -> &'static [&'static str] {
        &["book_ratings", "ratings"]
    }

    /// Their ratings leave the reader's list but stay counted in each book's average and
    /// histogram, which say nothing about who rated.
    async fn forget_reader(&self, tx: &mut PgConnection, reader_id: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query!("DELETE FROM ratings WHERE reader_id = $1", reader_id).execute(tx).await?;
        Ok(())
    }

    async fn apply(&self, tx: &mut PgConnection, batch: &[Stored]) -> Result<Vec<LiveUpdate>, sqlx::Error> {
        let before = stored_ratings(tx, &rounded_clears(batch)).await?;
        let (deltas, latest) = coalesce(batch, &before);
        if deltas.is_empty() {
            return Ok(Vec::new());
        }
        // In key order, as the tables' indexes are: neighbouring rows are written together.
        let mut deltas: Vec<(Uuid, Delta)> = deltas.into_iter().collect();
        deltas.sort_unstable_by_key(|(book_id, _)| *book_id);
        let mut figures = add_to_figures(tx, &deltas).await?;
        // Books rated for the first time have no row yet: each is made empty here, then given
        // its delta (a delta may be negative, which the table's checks refuse as a new row).
        if figures.len() < deltas.len() {
            let updated: HashSet<Uuid> = figures.iter().map(|row| row.book_id).collect();
            let first: Vec<(Uuid, Delta)> =
                deltas.into_iter().filter(|(book_id, _)| !updated.contains(book_id)).collect();
            let book_ids: Vec<Uuid> = first.iter().map(|(book_id, _)| *book_id).collect();
            sqlx::query!(
                "INSERT INTO book_ratings (book_id) SELECT * FROM UNNEST($1::uuid[]) ON CONFLICT DO NOTHING",
                &book_ids
            )
            .execute(&mut *tx)
            .await?;
            figures.extend(add_to_figures(tx, &first).await?);
        }

        let (mut rated, mut cleared) = ((vec![], vec![], vec![], vec![]), (vec![], vec![]));
        let mut latest: Vec<_> = latest.into_iter().collect();
        latest.sort_unstable_by_key(|(key, _)| *key);
        for ((reader_id, book_id), (stars, at)) in latest {
            match stars {
                Some(stars) => {
                    rated.0.push(reader_id);
                    rated.1.push(book_id);
                    rated.2.push(i16::from(stars.quarters()));
                    rated.3.push(at);
                }
                None => {
                    cleared.0.push(reader_id);
                    cleared.1.push(book_id);
                }
            }
        }
        if !rated.0.is_empty() {
            sqlx::query!(
                "INSERT INTO ratings (reader_id, book_id, quarter_stars, rated_at)
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::smallint[], $4::timestamptz[])
                 ON CONFLICT (reader_id, book_id) DO UPDATE
                 SET quarter_stars = EXCLUDED.quarter_stars, rated_at = EXCLUDED.rated_at",
                &rated.0,
                &rated.1,
                &rated.2,
                &rated.3
            )
            .execute(&mut *tx)
            .await?;
        }
        if !cleared.0.is_empty() {
            sqlx::query!(
                "DELETE FROM ratings r USING UNNEST($1::uuid[], $2::uuid[]) AS c(reader_id, book_id)
                 WHERE r.reader_id = c.reader_id AND r.book_id = c.book_id",
                &cleared.0,
                &cleared.1
            )
            .execute(&mut *tx)
            .await?;
        }

        Ok(figures
            .into_iter()
            .map(|row| {
                let message = live::BookRatingsChanged {
                    book_id: row.book_id.to_string(),
                    position: row.position as u64,
                    count: row.ratings_count as u64,
                    quarter_stars_sum: row.quarter_stars_sum as u64,
                    stars: [row.stars_1, row.stars_2, row.stars_3, row.stars_4, row.stars_5].map(|n| n as u64).to_vec(),
                };
                LiveUpdate {
                    subject: ratings::live_book_ratings(&self.namespace, row.book_id),
                    payload: Bytes::from(message.encode_to_vec()),
                }
            })
            .collect())
    }
}

/// The ratings `keys` name, as this projection holds them now.
async fn stored_ratings(tx: &mut PgConnection, keys: &[(Uuid, Uuid)]) -> Result<StoredRatings, sqlx::Error> {
    if keys.is_empty() {
        return Ok(StoredRatings::new());
    }
    let (readers, books): (Vec<Uuid>, Vec<Uuid>) = keys.iter().copied().unzip();
    let rows = sqlx::query!(
        "SELECT r.reader_id, r.book_id, r.quarter_stars FROM ratings r
         JOIN UNNEST($1::uuid[], $2::uuid[]) AS k(reader_id, book_id)
           ON r.reader_id = k.reader_id AND r.book_id = k.book_id",
        &readers,
        &books
    )
    .fetch_all(tx)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let stars = u8::try_from(r.quarter_stars).ok().and_then(Stars::from_quarters)?;
            Some(((r.reader_id, r.book_id), stars))
        })
        .collect())
}

/// A book's figures after a batch.
struct Figures {
    book_id: Uuid,
    ratings_count: i64,
    quarter_stars_sum: i64,
    stars_1: i64,
    stars_2: i64,
    stars_3: i64,
    stars_4: i64,
    stars_5: i64,
    position: i64,
}

/// Adds each book's delta to its figures, in one set-based update; a book with no row yet is
/// left out of what comes back.
async fn add_to_figures(tx: &mut PgConnection, deltas: &[(Uuid, Delta)]) -> Result<Vec<Figures>, sqlx::Error> {
    let mut columns: [Vec<i64>; 8] = Default::default();
    let book_ids: Vec<Uuid> = deltas.iter().map(|(book_id, _)| *book_id).collect();
    for (_, delta) in deltas {
        columns[0].push(delta.count);
        columns[1].push(delta.quarter_stars_sum);
        for (star, count) in delta.stars.iter().enumerate() {
            columns[2 + star].push(*count);
        }
        columns[7].push(delta.position);
    }
    let [counts, sums, s1, s2, s3, s4, s5, positions] = columns;
    sqlx::query_as!(
        Figures,
        r#"UPDATE book_ratings AS s SET
               ratings_count = s.ratings_count + d.count,
               quarter_stars_sum = s.quarter_stars_sum + d.sum,
               stars_1 = s.stars_1 + d.s1,
               stars_2 = s.stars_2 + d.s2,
               stars_3 = s.stars_3 + d.s3,
               stars_4 = s.stars_4 + d.s4,
               stars_5 = s.stars_5 + d.s5,
               position = d.position
           FROM UNNEST($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[],
                       $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
                AS d(book_id, count, sum, s1, s2, s3, s4, s5, position)
           WHERE s.book_id = d.book_id
           RETURNING s.book_id, s.ratings_count, s.quarter_stars_sum,
                     s.stars_1, s.stars_2, s.stars_3, s.stars_4, s.stars_5, s.position"#,
        &book_ids,
        &counts,
        &sums,
        &s1,
        &s2,
        &s3,
        &s4,
        &s5,
        &positions
    )
    .fetch_all(tx)
    .await
}

#[cfg(test)]
mod tests {
    use readstream_contracts::{Envelope, Metadata};

    use super::*;

    fn stored(position: u64, events: Vec<Event>) -> Stored {
        let meta = Metadata {
            occurred_at: Utc::now(),
            actor: None,
            command_id: Uuid::new_v4(),
            correlation_id: Uuid::new_v4(),
            import_job: None,
        };
        Stored { position, envelope: Envelope::new(meta, events) }
    }

    fn quarters(quarters: u8) -> Stars {
        Stars::from_quarters(quarters).unwrap_or_else(|| panic!("{quarters} quarters"))
    }

    fn rated(reader_id: Uuid, book_id: Uuid, stars: u8, previous_stars: Option<u8>) -> Event {
        Event::Ratings(RatingsEvent::BookRated {
            reader_id,
            book_id,
            stars: quarters(stars),
            previous_stars: previous_stars.map(quarters),
        })
    }

    fn cleared(reader_id: Uuid, book_id: Uuid, previous_stars: ClearedStars) -> Event {
        Event::Ratings(RatingsEvent::RatingCleared { reader_id, book_id, previous_stars })
    }

    #[test]
    fn a_batch_of_ratings_becomes_one_exact_delta_per_book() {
        let (book, other) = (Uuid::now_v7(), Uuid::now_v7());
        let (ana, ben) = (Uuid::now_v7(), Uuid::now_v7());
        let batch = vec![
            stored(1, vec![rated(ana, book, 15, None)]),
            stored(2, vec![rated(ben, book, 20, None)]),
            stored(3, vec![rated(ana, book, 9, Some(15))]),
            stored(4, vec![rated(ana, other, 13, None)]),
            stored(5, vec![cleared(ana, other, ClearedStars::Exact(quarters(13)))]),
        ];
        assert!(rounded_clears(&batch).is_empty());
        let (deltas, latest) = coalesce(&batch, &StoredRatings::new());
        // 2.25 and 5 stars: 29 quarters, in the 2 and 5 buckets.
        assert_eq!(deltas[&book], Delta { count: 2, quarter_stars_sum: 29, stars: [0, 1, 0, 0, 1], position: 3 });
        assert_eq!(deltas[&other], Delta { position: 5, ..Delta::default() });
        assert_eq!(latest[&(ana, book)].0, Some(quarters(9)));
        assert_eq!(latest[&(ana, other)].0, None);
        assert_eq!(latest[&(ben, book)].0, Some(quarters(20)));
    }

    #[test]
    fn a_version_1_clear_takes_away_the_exact_rating_it_rounded() {
        let (book, other) = (Uuid::now_v7(), Uuid::now_v7());
        let ana = Uuid::now_v7();
        // 3.75 rated in an earlier batch, 3.25 in this one; each clear of version 1 said 4 and 3.
        let batch = vec![
            stored(1, vec![cleared(ana, book, ClearedStars::Rounded(4))]),
            stored(2, vec![rated(ana, other, 13, None)]),
            stored(3, vec![cleared(ana, other, ClearedStars::Rounded(3))]),
        ];
        assert_eq!(rounded_clears(&batch), [(ana, book)]);
        let before = StoredRatings::from([((ana, book), quarters(15))]);
        let (deltas, _) = coalesce(&batch, &before);
        assert_eq!(deltas[&book], Delta { count: -1, quarter_stars_sum: -15, stars: [0, 0, 0, -1, 0], position: 1 });
        assert_eq!(deltas[&other], Delta { position: 3, ..Delta::default() });
        // Never seen (no row): its rounded stars, as every figure counted it then.
        let (deltas, _) = coalesce(&batch[..1], &StoredRatings::new());
        assert_eq!(deltas[&book].quarter_stars_sum, -16);
    }
}
