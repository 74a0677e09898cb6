//! Recommendations: which books readers enjoy together. A reader's *taste* is the books they
//! rated 3.5 stars or more, or shelved (want to read, reading, paused, read) without rating
//! them lower. When a book enters a reader's taste it is paired with their [`PARTNERS`] newest
//! other taste books (`book_pairs.co` + 1, both ways round); when it leaves, with the newest
//! again (− 1). So one rating writes at most `2 × PARTNERS` pair rows, whether the reader has
//! ten books or five thousand: the price is that a reader's old books pair only with the books
//! near them in time. `book_taste_counts` counts each book's readers, for cosine similarity
//! when read (`readmodel::recommendations`). `rec_known` keeps every book each reader rated or
//! shelved, which "for you" leaves out.
//!
//! A batch is folded in memory in stream order, from the touched (reader, book) rows and each
//! touched reader's newest taste books (two reads); then every table is written set-based.

use std::collections::{HashMap, HashSet, VecDeque};

use readstream_contracts::{
    CatalogEvent, Event, GoalEvent, ListEvent, RatingsEvent, ReadModel, ReadingEvent, ReviewsEvent, SocialEvent,
};
use readstream_eventstore::Stored;
use readstream_projection::{LiveUpdate, Projection};
use sqlx::PgConnection;
use uuid::Uuid;

pub struct Recommendations;

/// How many of a reader's newest taste books a book entering (or leaving) their taste is
/// paired with: the bound on one change's cost.
pub const PARTNERS: usize = 32;

/// The least rating, in quarter stars, that makes a book the reader's taste: 3.5 stars.
pub const ENJOYED: i16 = 14;

type Key = (Uuid, Uuid);

/// What the projection knows of one reader's copy of one book.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    pub quarter_stars: Option<i16>,
    pub shelved: bool,
    pub abandoned: bool,
    pub custom_shelves: i32,
    pub taste_position: i64,
}

impl Known {
    /// Rated 3.5 or more, or shelved to read or read without a lower rating.
    pub fn taste(&self) -> bool {
        match self.quarter_stars {
            Some(stars) => stars >= ENJOYED,
            None => self.shelved && !self.abandoned,
        }
    }

    fn known(&self) -> bool {
        self.quarter_stars.is_some() || self.shelved || self.abandoned || self.custom_shelves > 0
    }
}

/// A batch folded: the touched rows after it, and what it changed of the pairs and counts.
#[derive(Debug, Default)]
pub struct Folded {
    pub known: HashMap<Key, Known>,
    pub touched: HashSet<Key>,
    pub pairs: HashMap<(Uuid, Uuid), i32>,
    pub readers: HashMap<Uuid, i32>,
}

/// What an event does to one reader's copy of one book.
#[derive(Debug, Clone, Copy)]
enum Update {
    Rated(i16),
    Cleared,
    Shelved,
    Abandoned,
    Unshelved,
    CustomShelf(i32),
}

impl Update {
    fn apply(self, known: &mut Known) {
        match self {
            Update::Rated(quarters) => known.quarter_stars = Some(quarters),
            Update::Cleared => known.quarter_stars = None,
            Update::Shelved => (known.shelved, known.abandoned) = (true, false),
            Update::Abandoned => (known.shelved, known.abandoned) = (false, true),
            Update::Unshelved => (known.shelved, known.abandoned, known.custom_shelves) = (false, false, 0),
            Update::CustomShelf(delta) => known.custom_shelves = (known.custom_shelves + delta).max(0),
        }
    }
}

/// The reader's copy an event changes, and how; `None` for the events that change none.
fn update(event: &Event) -> Option<(Key, Update)> {
    match event {
        Event::Ratings(RatingsEvent::BookRated { reader_id, book_id, stars, .. }) => {
            Some(((*reader_id, *book_id), Update::Rated(i16::from(stars.quarters()))))
        }
        Event::Ratings(RatingsEvent::RatingCleared { reader_id, book_id, .. }) => {
            Some(((*reader_id, *book_id), Update::Cleared))
        }
        Event::Reading(
            ReadingEvent::WantToRead { reader_id, book_id, .. }
            | ReadingEvent::ReadingStarted { reader_id, book_id, .. }
            | ReadingEvent::ReadingPaused { reader_id, book_id, .. }
            | ReadingEvent::ReadingFinished { reader_id, book_id, .. },
        ) => Some(((*reader_id, *book_id), Update::Shelved)),
        Event::Reading(ReadingEvent::ReadingAbandoned { reader_id, book_id, .. }) => {
            Some(((*reader_id, *book_id), Update::Abandoned))
        }
        Event::Reading(ReadingEvent::RemovedFromShelves { reader_id, book_id, .. }) => {
            Some(((*reader_id, *book_id), Update::Unshelved))
        }
        Event::Reading(ReadingEvent::AddedToShelf { reader_id, book_id, .. }) => {
            Some(((*reader_id, *book_id), Update::CustomShelf(1)))
        }
        Event::Reading(ReadingEvent::RemovedFromShelf { reader_id, book_id, .. }) => {
            Some(((*reader_id, *book_id), Update::CustomShelf(-1)))
        }
        Event::Catalog(
            CatalogEvent::AuthorAdded { .. }
            | CatalogEvent::BookAdded(_)
            | CatalogEvent::EditionAdded(_)
            | CatalogEvent::AuthorEdited { .. }
            | CatalogEvent::BookEdited(_)
            | CatalogEvent::AuthorProfileLinked { .. }
            | CatalogEvent::AuthorProfileUnlinked { .. }
            // A merged duplicate's readers are moved by commands of their own; reads leave
            // merged books out.
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
        | Event::Ratings(RatingsEvent::BookDescribed { .. })
        | Event::Reading(ReadingEvent::ProgressUpdated { .. } | ReadingEvent::EditionChosen { .. })
        | Event::Reviews(
            ReviewsEvent::ReviewPublished { .. }
            | ReviewsEvent::ReviewEdited { .. }
            | ReviewsEvent::ReviewWithdrawn { .. }
            | ReviewsEvent::ReviewLiked { .. }
            | ReviewsEvent::ReviewUnliked { .. }
            | ReviewsEvent::ReviewCommented { .. }
            | ReviewsEvent::CommentDeleted { .. },
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
        ) => None,
    }
}

/// Folds a batch in stream order over the touched rows (`known`) and each touched reader's
/// newest taste books, newest first (`newest`).
pub fn fold(batch: &[Stored], known: &HashMap<Key, Known>, newest: &HashMap<Uuid, VecDeque<Uuid>>) -> Folded {
    let mut folded = Folded { known: known.clone(), ..Folded::default() };
    let mut newest = newest.clone();
    for stored in batch {
        for (key, update) in stored.envelope.events.iter().filter_map(|recorded| update(&recorded.event)) {
            change(&mut folded, &mut newest, key, stored.position as i64, update);
        }
    }
    folded
}

/// Applies `update` to the key's row; if the book entered or left the reader's taste, pairs it
/// with their newest other taste books and counts it.
fn change(folded: &mut Folded, newest: &mut HashMap<Uuid, VecDeque<Uuid>>, key: Key, position: i64, update: Update) {
    folded.touched.insert(key);
    let known = folded.known.entry(key).or_default();
    let was = known.taste();
    update.apply(known);
    let is = known.taste();
    if was == is {
        return;
    }
    let (reader, book) = key;
    let theirs = newest.entry(reader).or_default();
    theirs.retain(|other| *other != book);
    let delta = if is { 1 } else { -1 };
    for partner in theirs.iter().take(PARTNERS) {
        *folded.pairs.entry((book, *partner)).or_default() += delta;
        *folded.pairs.entry((*partner, book)).or_default() += delta;
    }
    *folded.readers.entry(book).or_default() += delta;
    if is {
        known.taste_position = position;
        theirs.push_front(book);
        theirs.truncate(PARTNERS);
    }
}

impl Projection for Recommendations {
    fn read_model(&self) -> ReadModel {
        ReadModel::Recommendations
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rec_known", "book_pairs", "book_taste_counts"]
    }

    /// What they rated and shelved goes; the pairs and counts their taste made stay, anonymous.
    async fn forget_reader(&self, tx: &mut PgConnection, reader_id: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query!("DELETE FROM rec_known WHERE reader_id = $1", reader_id).execute(&mut *tx).await?;
        Ok(())
    }

    async fn apply(&self, tx: &mut PgConnection, batch: &[Stored]) -> Result<Vec<LiveUpdate>, sqlx::Error> {
        // Which keys the batch touches is the fold's to say: fold once over nothing to learn them.
        let keys: Vec<Key> = fold(batch, &HashMap::new(), &HashMap::new()).touched.into_iter().collect();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let (known, newest) = load(tx, &keys).await?;
        let folded = fold(batch, &known, &newest);
        write(tx, &keys, &folded).await?;
        Ok(Vec::new())
    }
}

/// The touched rows, and each touched reader's newest taste books, newest first.
async fn load(
    tx: &mut PgConnection,
    keys: &[Key],
) -> Result<(HashMap<Key, Known>, HashMap<Uuid, VecDeque<Uuid>>), sqlx::Error> {
    let (readers, books): (Vec<Uuid>, Vec<Uuid>) = keys.iter().copied().unzip();
    let rows = sqlx::query!(
        "SELECT k.reader_id, k.book_id, k.quarter_stars, k.shelved, k.abandoned, k.custom_shelves, k.taste_position
         FROM UNNEST($1::uuid[], $2::uuid[]) AS t(reader_id, book_id)
         JOIN rec_known k ON k.reader_id = t.reader_id AND k.book_id = t.book_id",
        &readers,
        &books
    )
    .fetch_all(&mut *tx)
    .await?;
    let known = rows
        .into_iter()
        .map(|row| {
            let known = Known {
                quarter_stars: row.quarter_stars,
                shelved: row.shelved,
                abandoned: row.abandoned,
                custom_shelves: row.custom_shelves,
                taste_position: row.taste_position,
            };
            ((row.reader_id, row.book_id), known)
        })
        .collect();
    let distinct: Vec<Uuid> = readers.iter().copied().collect::<HashSet<_>>().into_iter().collect();
    let rows = sqlx::query!(
        r#"SELECT r.reader_id AS "reader_id!", n.book_id
           FROM UNNEST($1::uuid[]) AS r(reader_id)
           CROSS JOIN LATERAL (
               SELECT book_id FROM rec_known
               WHERE reader_id = r.reader_id AND taste ORDER BY taste_position DESC LIMIT $2
           ) n"#,
        &distinct,
        PARTNERS as i64
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut newest: HashMap<Uuid, VecDeque<Uuid>> = HashMap::new();
    for row in rows {
        newest.entry(row.reader_id).or_default().push_back(row.book_id);
    }
    Ok((known, newest))
}

/// `rec_known` rows as columns, for one `UNNEST`.
#[derive(Default)]
struct KnownRows {
    readers: Vec<Uuid>,
    books: Vec<Uuid>,
    stars: Vec<Option<i16>>,
    shelved: Vec<bool>,
    abandoned: Vec<bool>,
    custom_shelves: Vec<i32>,
    taste: Vec<bool>,
    taste_positions: Vec<i64>,
}

/// The touched rows as the batch left them (a row no longer known goes), then the pairs and
/// counts moved by their deltas (a pair or count at 0 goes).
async fn write(tx: &mut PgConnection, keys: &[Key], folded: &Folded) -> Result<(), sqlx::Error> {
    let mut rows = KnownRows::default();
    let mut gone: (Vec<Uuid>, Vec<Uuid>) = Default::default();
    for key in keys {
        match folded.known.get(key).filter(|known| known.known()) {
            Some(known) => {
                rows.readers.push(key.0);
                rows.books.push(key.1);
                rows.stars.push(known.quarter_stars);
                rows.shelved.push(known.shelved);
                rows.abandoned.push(known.abandoned);
                rows.custom_shelves.push(known.custom_shelves);
                rows.taste.push(known.taste());
                rows.taste_positions.push(known.taste_position);
            }
            None => {
                gone.0.push(key.0);
                gone.1.push(key.1);
            }
        }
    }
    sqlx::query!(
        "INSERT INTO rec_known (reader_id, book_id, quarter_stars, shelved, abandoned, custom_shelves, taste, taste_position)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::smallint[], $4::bool[], $5::bool[], $6::int[], $7::bool[], $8::bigint[])
         ON CONFLICT (reader_id, book_id) DO UPDATE SET
             quarter_stars = EXCLUDED.quarter_stars, shelved = EXCLUDED.shelved, abandoned = EXCLUDED.abandoned,
             custom_shelves = EXCLUDED.custom_shelves, taste = EXCLUDED.taste, taste_position = EXCLUDED.taste_position",
        &rows.readers,
        &rows.books,
        &rows.stars as &[Option<i16>],
        &rows.shelved,
        &rows.abandoned,
        &rows.custom_shelves,
        &rows.taste,
        &rows.taste_positions
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM rec_known k USING UNNEST($1::uuid[], $2::uuid[]) AS g(reader_id, book_id)
         WHERE k.reader_id = g.reader_id AND k.book_id = g.book_id",
        &gone.0,
        &gone.1
    )
    .execute(&mut *tx)
    .await?;
    let (mut a, mut b, mut co) = (vec![], vec![], vec![]);
    for ((book_a, book_b), delta) in folded.pairs.iter().filter(|(_, delta)| **delta != 0) {
        a.push(*book_a);
        b.push(*book_b);
        co.push(*delta);
    }
    if !a.is_empty() {
        // A pair taken back below 0 (its two books were paired by another batch's newest
        // books) stops at 0 and goes.
        sqlx::query!(
            "WITH moved AS (
                 INSERT INTO book_pairs (book_a, book_b, co)
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int[])
                 ON CONFLICT (book_a, book_b) DO UPDATE SET co = greatest(book_pairs.co + EXCLUDED.co, 0)
                 RETURNING book_a, book_b, co
             )
             DELETE FROM book_pairs p USING moved
             WHERE moved.co <= 0 AND p.book_a = moved.book_a AND p.book_b = moved.book_b",
            &a,
            &b,
            &co
        )
        .execute(&mut *tx)
        .await?;
    }
    let (mut books, mut readers) = (vec![], vec![]);
    for (book, delta) in folded.readers.iter().filter(|(_, delta)| **delta != 0) {
        books.push(*book);
        readers.push(*delta);
    }
    if !books.is_empty() {
        sqlx::query!(
            "WITH moved AS (
                 INSERT INTO book_taste_counts (book_id, readers)
                 SELECT * FROM UNNEST($1::uuid[], $2::int[])
                 ON CONFLICT (book_id) DO UPDATE SET readers = greatest(book_taste_counts.readers + EXCLUDED.readers, 0)
                 RETURNING book_id, readers
             )
             DELETE FROM book_taste_counts c USING moved WHERE moved.readers <= 0 AND c.book_id = moved.book_id",
            &books,
            &readers
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use readstream_contracts::{Envelope, Metadata, Stars};

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

    fn rated(reader_id: Uuid, book_id: Uuid, quarters: u8) -> Event {
        let stars = Stars::from_quarters(quarters).unwrap_or_else(|| panic!("{quarters} quarters"));
        Event::Ratings(RatingsEvent::BookRated { reader_id, book_id, stars, previous_stars: None })
    }

    #[test]
    fn a_book_entering_a_readers_taste_pairs_with_their_newest_others_at_a_bounded_cost() {
        let ana = Uuid::now_v7();
        let books: Vec<Uuid> = (0..100).map(|_| Uuid::now_v7()).collect();
        let batch: Vec<Stored> =
            books.iter().enumerate().map(|(i, book)| stored(i as u64 + 1, vec![rated(ana, *book, 16)])).collect();
        let folded = fold(&batch, &HashMap::new(), &HashMap::new());
        // The n-th book pairs with min(n, PARTNERS) before it, both ways round.
        let expected: usize = (0..100).map(|n| n.min(PARTNERS) * 2).sum();
        assert_eq!(folded.pairs.values().map(|co| *co as usize).sum::<usize>(), expected);
        assert!(folded.pairs.contains_key(&(books[99], books[98])));
        assert!(!folded.pairs.contains_key(&(books[99], books[0])), "too old to pair");
        assert_eq!(folded.readers.len(), 100);
    }

    #[test]
    fn a_low_rating_is_no_taste_and_lowering_one_takes_its_pairs_back() {
        let (ana, dune, emma) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let liked =
            fold(&[stored(1, vec![rated(ana, dune, 16), rated(ana, emma, 20)])], &HashMap::new(), &HashMap::new());
        assert_eq!(liked.pairs.get(&(emma, dune)), Some(&1));
        let known = liked.known.clone();
        let newest = HashMap::from([(ana, VecDeque::from([emma, dune]))]);
        let lowered = fold(&[stored(2, vec![rated(ana, emma, 8)])], &known, &newest);
        assert_eq!((lowered.pairs.get(&(emma, dune)), lowered.readers.get(&emma)), (Some(&-1), Some(&-1)));
        let shelved =
            Event::Reading(ReadingEvent::WantToRead { reader_id: ana, book_id: emma, on: chrono::NaiveDate::MIN });
        let still_low = fold(&[stored(3, vec![shelved])], &lowered.known, &HashMap::new());
        assert!(still_low.pairs.is_empty(), "shelved, but rated 2 stars: not their taste");
    }
}
