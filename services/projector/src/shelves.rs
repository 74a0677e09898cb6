//! Shelves: each reader's copy of each book (`shelf_entries`), their custom shelves, the
//! reading timeline (one row per step, straight from the events), how many readers have a
//! book on each built-in shelf (`book_shelf_counts`), and each reader's yearly goals
//! (`reading_goals`), measured against the timeline's finished books. After each batch a
//! reader who finished a book or changed a goal in it hears so on `<ns>.live.reading.<id>`.
//!
//! A batch is folded in memory, key by key in stream order, starting from the rows it touches
//! (one read); then every table is written with one set-based statement.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use prost::Message;
use readstream_contracts::{
    proto::live::v1 as live, reading, Event, GoalEvent, ListEvent, Progress, ReadModel, ReadingEvent,
};
use readstream_contracts::{CatalogEvent, RatingsEvent, ReviewsEvent, SocialEvent};
use readstream_eventstore::Stored;
use readstream_projection::{LiveUpdate, Projection};
use readstream_readmodel::shelves::{ReadingStep, ShelfStatus};
use sqlx::PgConnection;
use uuid::Uuid;

pub struct Shelves {
    pub namespace: String,
}

type Key = (Uuid, Uuid);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Entry {
    status: Option<ShelfStatus>,
    status_on: Option<NaiveDate>,
    status_position: i64,
    started_on: Option<NaiveDate>,
    finished_on: Option<NaiveDate>,
    page: Option<i32>,
    percent: Option<i32>,
    read_count: i32,
    read_through: i32,
    position: i64,
    /// The edition named, ISBN-13.
    edition: Option<String>,
}

impl Entry {
    fn set_status(&mut self, status: Option<ShelfStatus>, on: NaiveDate, position: i64) {
        self.status = status;
        self.status_on = Some(on);
        self.status_position = position;
    }
}

struct Step {
    position: i64,
    index: i32,
    key: Key,
    kind: ReadingStep,
    on: NaiveDate,
    progress: Option<Progress>,
    note: String,
    read_through: i32,
    recorded_at: DateTime<Utc>,
}

impl Projection for Shelves {
    fn read_model(&self) -> ReadModel {
        ReadModel::Shelves
    }

    fn tables(&self) -> &'static [&'static str] {
        &["shelf_entries", "custom_shelf_entries", "reading_timeline", "book_shelf_counts", "reading_goals"]
    }

    /// Their shelves, reading history and goals go; each book's shelf counts keep counting them.
    async fn forget_reader(&self, tx: &mut PgConnection, reader_id: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "WITH entries AS (DELETE FROM shelf_entries WHERE reader_id = $1),
                  custom AS (DELETE FROM custom_shelf_entries WHERE reader_id = $1),
                  goals AS (DELETE FROM reading_goals WHERE reader_id = $1)
             DELETE FROM reading_timeline WHERE reader_id = $1",
            reader_id
        )
        .execute(tx)
        .await?;
        Ok(())
    }

    async fn apply(&self, tx: &mut PgConnection, batch: &[Stored]) -> Result<Vec<LiveUpdate>, sqlx::Error> {
        let goals = write_goals(tx, batch).await?;
        let mut updates = self.copies(tx, batch).await?;
        // Whose year changed: a goal of theirs, or a book they finished.
        let mut readers: HashSet<Uuid> = goals;
        for event in batch.iter().flat_map(|s| &s.envelope.events) {
            if let Event::Reading(ReadingEvent::ReadingFinished { reader_id, .. }) = event.event {
                readers.insert(reader_id);
            }
        }
        if let Some(last) = batch.last() {
            let changed = live::ReadingYearChanged { position: last.position };
            let payload = Bytes::from(changed.encode_to_vec());
            updates.extend(readers.into_iter().map(|reader_id| LiveUpdate {
                subject: reading::live_reading_year(&self.namespace, reader_id),
                payload: payload.clone(),
            }));
        }
        Ok(updates)
    }
}

impl Shelves {
    /// Each reader's copy of each book the batch touches: entries, custom shelves, the
    /// timeline and the shelf counts (whose new figures it returns to publish).
    async fn copies(&self, tx: &mut PgConnection, batch: &[Stored]) -> Result<Vec<LiveUpdate>, sqlx::Error> {
        let keys: Vec<Key> = {
            let mut seen = HashSet::new();
            batch
                .iter()
                .flat_map(|s| &s.envelope.events)
                .filter_map(|e| match &e.event {
                    Event::Reading(event) => Some(event.copy()),
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
                })
                .filter(|key| seen.insert(*key))
                .collect()
        };
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let (readers, books): (Vec<Uuid>, Vec<Uuid>) = keys.iter().copied().unzip();
        let mut entries: HashMap<Key, Entry> = sqlx::query!(
            r#"SELECT e.reader_id, e.book_id, status AS "status: ShelfStatus", status_on, status_position, started_on, finished_on,
                    progress_page, progress_percent, read_count, read_through, position, edition_isbn
             FROM shelf_entries e JOIN UNNEST($1::uuid[], $2::uuid[]) AS k(reader_id, book_id)
                  ON e.reader_id = k.reader_id AND e.book_id = k.book_id"#,
            &readers,
            &books
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|r| {
            let entry = Entry {
                status: r.status,
                status_on: r.status_on,
                status_position: r.status_position,
                started_on: r.started_on,
                finished_on: r.finished_on,
                page: r.progress_page,
                percent: r.progress_percent,
                read_count: r.read_count,
                read_through: r.read_through,
                position: r.position,
                edition: r.edition_isbn,
            };
            ((r.reader_id, r.book_id), entry)
        })
        .collect();
        let before: HashMap<Key, Option<ShelfStatus>> =
            keys.iter().map(|k| (*k, entries.get(k).and_then(|e| e.status))).collect();

        let mut steps = Vec::new();
        // Custom shelves: what to clear first, then the last word on each (reader, shelf, book).
        let mut cleared: Vec<Key> = Vec::new();
        let mut shelf_changes: HashMap<(Uuid, String, Uuid), Option<(String, i64)>> = HashMap::new();
        for stored in batch {
            let position = stored.position as i64;
            for (index, recorded) in stored.envelope.events.iter().enumerate() {
                let event = match &recorded.event {
                    Event::Reading(event) => event,
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
                    ) => continue,
                };
                let key = event.copy();
                let step = |kind, on, progress, note: &str, read_through: u32| Step {
                    position,
                    index: index as i32,
                    key,
                    kind,
                    on,
                    progress,
                    note: note.to_owned(),
                    read_through: read_through as i32,
                    recorded_at: stored.envelope.meta.occurred_at,
                };
                let entry = entries.entry(key).or_default();
                entry.position = position;
                if entry.status_position == 0 {
                    // First shelved on a custom shelf: it lists by this position until it gets a status.
                    entry.status_position = position;
                }
                match event {
                    ReadingEvent::WantToRead { on, .. } => {
                        entry.set_status(Some(ShelfStatus::WantToRead), *on, position);
                        steps.push(step(ReadingStep::WantToRead, *on, None, "", entry.read_through as u32));
                    }
                    ReadingEvent::ReadingStarted { started_on, read_through, resumed, .. } => {
                        entry.set_status(Some(ShelfStatus::CurrentlyReading), *started_on, position);
                        entry.read_through = *read_through as i32;
                        if !resumed {
                            entry.started_on = Some(*started_on);
                            entry.finished_on = None;
                            (entry.page, entry.percent) = (None, None);
                        }
                        let kind = if *resumed { ReadingStep::Resumed } else { ReadingStep::Started };
                        steps.push(step(kind, *started_on, None, "", *read_through));
                    }
                    ReadingEvent::ProgressUpdated { on, progress, note, read_through, .. } => {
                        (entry.page, entry.percent) = match *progress {
                            Progress::Page(page) => (Some(page as i32), None),
                            Progress::Percent(percent) => (None, Some(percent as i32)),
                        };
                        steps.push(step(ReadingStep::Progress, *on, Some(*progress), note, *read_through));
                    }
                    ReadingEvent::ReadingPaused { on, read_through, .. } => {
                        entry.set_status(Some(ShelfStatus::Paused), *on, position);
                        steps.push(step(ReadingStep::Paused, *on, None, "", *read_through));
                    }
                    ReadingEvent::ReadingFinished { finished_on, started_on, read_through, .. } => {
                        entry.set_status(Some(ShelfStatus::Read), *finished_on, position);
                        entry.started_on = *started_on;
                        entry.finished_on = Some(*finished_on);
                        entry.read_count += 1;
                        entry.read_through = *read_through as i32;
                        steps.push(step(ReadingStep::Finished, *finished_on, None, "", *read_through));
                    }
                    ReadingEvent::ReadingAbandoned { on, note, read_through, .. } => {
                        entry.set_status(Some(ShelfStatus::DidNotFinish), *on, position);
                        entry.read_through = *read_through as i32;
                        steps.push(step(ReadingStep::Abandoned, *on, None, note, *read_through));
                    }
                    ReadingEvent::AddedToShelf { shelf, .. } => {
                        shelf_changes.insert((key.0, shelf.to_lowercase(), key.1), Some((shelf.clone(), position)));
                    }
                    ReadingEvent::RemovedFromShelf { shelf, .. } => {
                        shelf_changes.insert((key.0, shelf.to_lowercase(), key.1), None);
                    }
                    ReadingEvent::EditionChosen { isbn, .. } => entry.edition = isbn.map(|isbn| isbn.to_string()),
                    ReadingEvent::RemovedFromShelves { on, .. } => {
                        entry.set_status(None, *on, position);
                        (entry.page, entry.percent) = (None, None);
                        entry.edition = None;
                        let read_through = entry.read_through as u32;
                        steps.push(step(ReadingStep::Removed, *on, None, "", read_through));
                        cleared.push(key);
                        shelf_changes.retain(|(reader, _, book), _| (*reader, *book) != key);
                    }
                }
            }
        }

        self.write_entries(tx, &entries, &keys).await?;
        self.write_timeline(tx, &steps).await?;
        write_custom_shelves(tx, &cleared, shelf_changes).await?;
        self.write_counts(tx, &before, &entries).await
    }

    async fn write_entries(
        &self,
        tx: &mut PgConnection,
        entries: &HashMap<Key, Entry>,
        keys: &[Key],
    ) -> Result<(), sqlx::Error> {
        let touched: Vec<(&Key, &Entry)> = keys.iter().filter_map(|k| entries.get(k).map(|e| (k, e))).collect();
        if touched.is_empty() {
            return Ok(());
        }
        let column = |f: fn(&Entry) -> Option<NaiveDate>| touched.iter().map(|(_, e)| f(e)).collect::<Vec<_>>();
        let (status_on, started_on, finished_on) =
            (column(|e| e.status_on), column(|e| e.started_on), column(|e| e.finished_on));
        sqlx::query!(
            "INSERT INTO shelf_entries (reader_id, book_id, status, status_on, status_position, started_on,
                                        finished_on, progress_page, progress_percent, read_count, read_through, position,
                                        edition_isbn)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::date[], $5::bigint[], $6::date[],
                                  $7::date[], $8::int[], $9::int[], $10::int[], $11::int[], $12::bigint[], $13::text[])
             ON CONFLICT (reader_id, book_id) DO UPDATE SET
                 status = EXCLUDED.status, status_on = EXCLUDED.status_on, status_position = EXCLUDED.status_position,
                 started_on = EXCLUDED.started_on, finished_on = EXCLUDED.finished_on,
                 progress_page = EXCLUDED.progress_page, progress_percent = EXCLUDED.progress_percent,
                 read_count = EXCLUDED.read_count, read_through = EXCLUDED.read_through, position = EXCLUDED.position,
                 edition_isbn = EXCLUDED.edition_isbn",
            &touched.iter().map(|(k, _)| k.0).collect::<Vec<_>>(),
            &touched.iter().map(|(k, _)| k.1).collect::<Vec<_>>(),
            &touched.iter().map(|(_, e)| e.status.map(ShelfStatus::as_str)).collect::<Vec<_>>() as &[Option<&str>],
            &status_on as &[Option<NaiveDate>],
            &touched.iter().map(|(_, e)| e.status_position).collect::<Vec<_>>(),
            &started_on as &[Option<NaiveDate>],
            &finished_on as &[Option<NaiveDate>],
            &touched.iter().map(|(_, e)| e.page).collect::<Vec<_>>() as &[Option<i32>],
            &touched.iter().map(|(_, e)| e.percent).collect::<Vec<_>>() as &[Option<i32>],
            &touched.iter().map(|(_, e)| e.read_count).collect::<Vec<_>>(),
            &touched.iter().map(|(_, e)| e.read_through).collect::<Vec<_>>(),
            &touched.iter().map(|(_, e)| e.position).collect::<Vec<_>>(),
            &touched.iter().map(|(_, e)| e.edition.clone()).collect::<Vec<_>>() as &[Option<String>],
        )
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    async fn write_timeline(&self, tx: &mut PgConnection, steps: &[Step]) -> Result<(), sqlx::Error> {
        if steps.is_empty() {
            return Ok(());
        }
        let page = |s: &Step| match s.progress {
            Some(Progress::Page(page)) => Some(page as i32),
            _ => None,
        };
        let percent = |s: &Step| match s.progress {
            Some(Progress::Percent(percent)) => Some(percent as i32),
            _ => None,
        };
        sqlx::query!(
            "INSERT INTO reading_timeline (position, event_index, reader_id, book_id, kind, on_date, page, percent,
                                           note, read_through, recorded_at)
             SELECT * FROM UNNEST($1::bigint[], $2::int[], $3::uuid[], $4::uuid[], $5::text[], $6::date[], $7::int[],
                                  $8::int[], $9::text[], $10::int[], $11::timestamptz[])
             ON CONFLICT DO NOTHING",
            &steps.iter().map(|s| s.position).collect::<Vec<_>>(),
            &steps.iter().map(|s| s.index).collect::<Vec<_>>(),
            &steps.iter().map(|s| s.key.0).collect::<Vec<_>>(),
            &steps.iter().map(|s| s.key.1).collect::<Vec<_>>(),
            &steps.iter().map(|s| s.kind).collect::<Vec<_>>() as &[ReadingStep],
            &steps.iter().map(|s| s.on).collect::<Vec<_>>(),
            &steps.iter().map(page).collect::<Vec<_>>() as &[Option<i32>],
            &steps.iter().map(percent).collect::<Vec<_>>() as &[Option<i32>],
            &steps.iter().map(|s| s.note.clone()).collect::<Vec<_>>(),
            &steps.iter().map(|s| s.read_through).collect::<Vec<_>>(),
            &steps.iter().map(|s| s.recorded_at).collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// Applies the batch's shelf changes to the per-book counts; publishes the new counts.
    async fn write_counts(
        &self,
        tx: &mut PgConnection,
        before: &HashMap<Key, Option<ShelfStatus>>,
        entries: &HashMap<Key, Entry>,
    ) -> Result<Vec<LiveUpdate>, sqlx::Error> {
        // Per book: the change to each count, and the position of the last change.
        let mut deltas: HashMap<Uuid, ([i64; 5], i64)> = HashMap::new();
        for (key, old) in before {
            let Some(entry) = entries.get(key) else { continue };
            if *old == entry.status {
                continue;
            }
            let (delta, last) = deltas.entry(key.1).or_default();
            *last = (*last).max(entry.status_position);
            for (status, change) in [(old, -1), (&entry.status, 1)] {
                if let Some(i) = status.and_then(|s| ShelfStatus::ALL.iter().position(|known| *known == s)) {
                    delta[i] += change;
                }
            }
        }
        if deltas.is_empty() {
            return Ok(Vec::new());
        }
        let book_ids: Vec<Uuid> = deltas.keys().copied().collect();
        let column = |i: usize| deltas.values().map(|d| d.0[i]).collect::<Vec<_>>();
        let positions: Vec<i64> = deltas.values().map(|d| d.1).collect();
        sqlx::query!(
            "INSERT INTO book_shelf_counts (book_id) SELECT * FROM UNNEST($1::uuid[]) ON CONFLICT DO NOTHING",
            &book_ids
        )
        .execute(&mut *tx)
        .await?;
        let rows = sqlx::query!(
            "UPDATE book_shelf_counts AS c SET
                 want_to_read = c.want_to_read + d.want_to_read,
                 currently_reading = c.currently_reading + d.currently_reading,
                 paused = c.paused + d.paused,
                 read = c.read + d.read,
                 did_not_finish = c.did_not_finish + d.did_not_finish,
                 position = d.position
             FROM UNNEST($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
                  AS d(book_id, want_to_read, currently_reading, paused, read, did_not_finish, position)
             WHERE c.book_id = d.book_id
             RETURNING c.book_id, c.want_to_read, c.currently_reading, c.paused, c.read, c.did_not_finish, c.position",
            &book_ids,
            &column(0),
            &column(1),
            &column(2),
            &column(3),
            &column(4),
            &positions
        )
        .fetch_all(&mut *tx)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let counts = live::ShelfCountsChanged {
                    book_id: r.book_id.to_string(),
                    position: r.position as u64,
                    want_to_read: r.want_to_read as u64,
                    currently_reading: r.currently_reading as u64,
                    read: r.read as u64,
                    did_not_finish: r.did_not_finish as u64,
                    paused: r.paused as u64,
                };
                LiveUpdate {
                    subject: reading::live_book_shelf_counts(&self.namespace, r.book_id),
                    payload: Bytes::from(counts.encode_to_vec()),
                }
            })
            .collect())
    }
}

/// A goal as `reading_goals` holds it.
struct GoalRow {
    books: i32,
    set_at: DateTime<Utc>,
    position: i64,
}

/// The batch's last word on each (reader, year) goal, written; returns the readers whose goals
/// changed.
async fn write_goals(tx: &mut PgConnection, batch: &[Stored]) -> Result<HashSet<Uuid>, sqlx::Error> {
    let mut last: HashMap<(Uuid, i32), Option<GoalRow>> = HashMap::new();
    for stored in batch {
        for recorded in &stored.envelope.events {
            let Event::Goals(goal) = &recorded.event else { continue };
            match *goal {
                GoalEvent::ReadingGoalSet { reader_id, year, books } => {
                    let set_at = stored.envelope.meta.occurred_at;
                    let position = stored.position as i64;
                    last.insert((reader_id, year), Some(GoalRow { books: books as i32, set_at, position }));
                }
                GoalEvent::ReadingGoalRemoved { reader_id, year } => {
                    last.insert((reader_id, year), None);
                }
            }
        }
    }
    if last.is_empty() {
        return Ok(HashSet::new());
    }
    let readers = last.keys().map(|(reader_id, _)| *reader_id).collect();
    let (set, removed): (Vec<_>, Vec<_>) = last.into_iter().partition(|(_, goal)| goal.is_some());
    if !removed.is_empty() {
        let (ids, years): (Vec<Uuid>, Vec<i32>) = removed.into_iter().map(|(key, _)| key).unzip();
        sqlx::query!(
            "DELETE FROM reading_goals g USING UNNEST($1::uuid[], $2::int[]) AS r(reader_id, year)
             WHERE g.reader_id = r.reader_id AND g.year = r.year",
            &ids,
            &years
        )
        .execute(&mut *tx)
        .await?;
    }
    let set: Vec<((Uuid, i32), GoalRow)> =
        set.into_iter().filter_map(|(key, goal)| goal.map(|goal| (key, goal))).collect();
    if !set.is_empty() {
        sqlx::query!(
            "INSERT INTO reading_goals (reader_id, year, books, set_at, position)
             SELECT * FROM UNNEST($1::uuid[], $2::int[], $3::int[], $4::timestamptz[], $5::bigint[])
             ON CONFLICT (reader_id, year) DO UPDATE
             SET books = EXCLUDED.books, set_at = EXCLUDED.set_at, position = EXCLUDED.position",
            &set.iter().map(|((reader_id, _), _)| *reader_id).collect::<Vec<_>>(),
            &set.iter().map(|((_, year), _)| *year).collect::<Vec<_>>(),
            &set.iter().map(|(_, goal)| goal.books).collect::<Vec<_>>(),
            &set.iter().map(|(_, goal)| goal.set_at).collect::<Vec<_>>(),
            &set.iter().map(|(_, goal)| goal.position).collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(readers)
}

async fn write_custom_shelves(
    tx: &mut PgConnection,
    cleared: &[Key],
    changes: HashMap<(Uuid, String, Uuid), Option<(String, i64)>>,
) -> Result<(), sqlx::Error> {
    if !cleared.is_empty() {
        sqlx::query!(
            "DELETE FROM custom_shelf_entries c USING UNNEST($1::uuid[], $2::uuid[]) AS k(reader_id, book_id)
             WHERE c.reader_id = k.reader_id AND c.book_id = k.book_id",
            &cleared.iter().map(|k| k.0).collect::<Vec<_>>(),
            &cleared.iter().map(|k| k.1).collect::<Vec<_>>()
        )
        .execute(&mut *tx)
        .await?;
    }
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for ((reader, shelf_key, book), change) in changes {
        match change {
            Some((shelf, position)) => added.push((reader, shelf_key, book, shelf, position)),
            None => removed.push((reader, shelf_key, book)),
        }
    }
    if !added.is_empty() {
        sqlx::query!(
            "INSERT INTO custom_shelf_entries (reader_id, shelf_key, book_id, shelf, position)
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::bigint[])
             ON CONFLICT (reader_id, shelf_key, book_id) DO UPDATE SET shelf = EXCLUDED.shelf, position = EXCLUDED.position",
            &added.iter().map(|a| a.0).collect::<Vec<_>>(),
            &added.iter().map(|a| a.1.clone()).collect::<Vec<_>>(),
            &added.iter().map(|a| a.2).collect::<Vec<_>>(),
            &added.iter().map(|a| a.3.clone()).collect::<Vec<_>>(),
            &added.iter().map(|a| a.4).collect::<Vec<_>>()
        )
        .execute(&mut *tx)
        .await?;
    }
    if !removed.is_empty() {
        sqlx::query!(
            "DELETE FROM custom_shelf_entries c USING UNNEST($1::uuid[], $2::text[], $3::uuid[]) AS r(reader_id, shelf_key, book_id)
             WHERE c.reader_id = r.reader_id AND c.shelf_key = r.shelf_key AND c.book_id = r.book_id",
            &removed.iter().map(|r| r.0).collect::<Vec<_>>(),
            &removed.iter().map(|r| r.1.clone()).collect::<Vec<_>>(),
            &removed.iter().map(|r| r.2).collect::<Vec<_>>()
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
