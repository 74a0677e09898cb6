//! Discovery: what readers say books are. A reader's shelf names that say a genre
//! (`contracts::survey::genre`: `Sci-Fi` and `sci fi` are one) and their answers to the survey
//! (moods, pace, content warnings) are their words about a book (`tag_votes`, one per word);
//! `book_tags` counts the readers saying each word of each book, `book_tag_respondents` those
//! saying any word of its kind. Each word's row carries the book's rating and publication date
//! (kept here from the catalog's and ratings' events) so a word's books list from one index.
//!
//! A batch is folded in memory, key (reader, book) by key in stream order, from the rows it
//! touches (one read); the words that came and went become one delta per word, written
//! set-based.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::NaiveDate;
use readstream_contracts::{
    survey::genre, BookDetails, CatalogEvent, ClearedStars, Event, GoalEvent, ListEvent, RatingsEvent, ReadModel,
    ReadingEvent, ReviewsEvent, SocialEvent, Survey,
};
use readstream_eventstore::Stored;
use readstream_projection::{LiveUpdate, Projection};
use readstream_readmodel::discovery::TagKind;
use sqlx::PgConnection;
use uuid::Uuid;

pub struct Discovery;

type Key = (Uuid, Uuid);
type Word = (TagKind, String);

/// One reader's words about one book.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Said {
    /// Their shelves whose names say a genre: shelf key → genre.
    pub shelves: BTreeMap<String, String>,
    /// Their survey answers, as words.
    pub survey: BTreeSet<Word>,
}

impl Said {
    fn words(&self) -> BTreeSet<Word> {
        let genres = self.shelves.values().map(|genre| (TagKind::Genre, genre.clone()));
        genres.chain(self.survey.iter().cloned()).collect()
    }
}

fn survey_words(survey: &Survey) -> BTreeSet<Word> {
    let moods = survey.moods.iter().map(|mood| (TagKind::Mood, mood.as_str().to_owned()));
    let pace = survey.pace.iter().map(|pace| (TagKind::Pace, pace.as_str().to_owned()));
    let warnings = survey.content_warnings.iter().map(|w| (TagKind::ContentWarning, w.as_str().to_owned()));
    moods.chain(pace).chain(warnings).collect()
}

/// What a batch changes of a book itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookChange {
    /// Its first publication after the batch, when the batch added or edited it.
    pub first_published: Option<Option<NaiveDate>>,
    pub ratings_count: i32,
    pub quarter_stars_sum: i64,
    /// Merged away in the batch.
    pub merged_into: Option<Uuid>,
}

/// A batch folded: each touched reader's words about each touched book, before and after, and
/// what changed of the books.
#[derive(Debug, Default)]
pub struct Folded {
    pub said: HashMap<Key, Said>,
    pub books: HashMap<Uuid, BookChange>,
    /// The keys whose words the batch may have changed.
    pub touched: HashSet<Key>,
}

/// Folds a batch, in stream order, over what the touched readers said before it. Books already
/// merged away (`merged`) take no words.
pub fn fold(batch: &[Stored], before: &HashMap<Key, Said>, merged: &HashSet<Uuid>) -> Folded {
    let mut folded = Folded { said: before.clone(), books: HashMap::new(), touched: HashSet::new() };
    let mut merged = merged.clone();
    for stored in batch {
        for recorded in &stored.envelope.events {
            match &recorded.event {
                Event::Reading(ReadingEvent::AddedToShelf { reader_id, book_id, shelf }) => {
                    folded.touched.insert((*reader_id, *book_id));
                    if merged.contains(book_id) {
                        continue;
                    }
                    let said = folded.said.entry((*reader_id, *book_id)).or_default();
                    match genre(shelf) {
                        Some(genre) => said.shelves.insert(shelf.to_lowercase(), genre),
                        None => said.shelves.remove(&shelf.to_lowercase()),
                    };
                }
                Event::Reading(ReadingEvent::RemovedFromShelf { reader_id, book_id, shelf }) => {
                    folded.touched.insert((*reader_id, *book_id));
                    folded.said.entry((*reader_id, *book_id)).or_default().shelves.remove(&shelf.to_lowercase());
                }
                Event::Reading(ReadingEvent::RemovedFromShelves { reader_id, book_id, .. }) => {
                    folded.touched.insert((*reader_id, *book_id));
                    folded.said.entry((*reader_id, *book_id)).or_default().shelves.clear();
                }
                Event::Ratings(RatingsEvent::BookDescribed { reader_id, book_id, survey }) => {
                    folded.touched.insert((*reader_id, *book_id));
                    if merged.contains(book_id) {
                        continue;
                    }
                    folded.said.entry((*reader_id, *book_id)).or_default().survey = survey_words(survey);
                }
                Event::Catalog(CatalogEvent::BookAdded(BookDetails { book_id, first_published, .. }))
                | Event::Catalog(CatalogEvent::BookEdited(BookDetails { book_id, first_published, .. })) => {
                    folded.books.entry(*book_id).or_default().first_published = Some(*first_published);
                }
                Event::Catalog(CatalogEvent::BookMerged { book_id, into }) => {
                    merged.insert(*book_id);
                    folded.books.entry(*book_id).or_default().merged_into = Some(*into);
                    folded.said.retain(|(_, book), _| book != book_id);
                }
                Event::Ratings(RatingsEvent::BookRated { book_id, stars, previous_stars, .. }) => {
                    let book = folded.books.entry(*book_id).or_default();
                    book.ratings_count += i32::from(previous_stars.is_none());
                    book.quarter_stars_sum += i64::from(stars.quarters())
                        - previous_stars.map(|previous| i64::from(previous.quarters())).unwrap_or(0);
                }
                Event::Ratings(RatingsEvent::RatingCleared { book_id, previous_stars, .. }) => {
                    let book = folded.books.entry(*book_id).or_default();
                    book.ratings_count -= 1;
                    // Version 1 clears were written while ratings were whole stars.
                    book.quarter_stars_sum -= match previous_stars {
                        ClearedStars::Exact(stars) => i64::from(stars.quarters()),
                        ClearedStars::Rounded(stars) => i64::from(*stars) * 4,
                    };
                }
                Event::Catalog(
                    CatalogEvent::AuthorAdded { .. }
                    | CatalogEvent::EditionAdded(_)
                    | CatalogEvent::AuthorEdited { .. }
                    | CatalogEvent::AuthorProfileLinked { .. }
                    | CatalogEvent::AuthorProfileUnlinked { .. }
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
                | Event::Reading(
                    ReadingEvent::WantToRead { .. }
                    | ReadingEvent::ReadingStarted { .. }
                    | ReadingEvent::ProgressUpdated { .. }
                    | ReadingEvent::ReadingPaused { .. }
                    | ReadingEvent::ReadingFinished { .. }
                    | ReadingEvent::ReadingAbandoned { .. }
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

/// What changes of the counts when the words of `key` go from `before` to `after`: per word
/// of a book ±1 reader, per kind of a book ±1 respondent.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Deltas {
    pub added: Vec<(Key, Word)>,
    pub removed: Vec<(Key, Word)>,
    pub tags: BTreeMap<(Uuid, TagKind, String), i32>,
    pub respondents: BTreeMap<(Uuid, TagKind), i32>,
}

impl Deltas {
    pub fn add(&mut self, key: Key, before: &BTreeSet<Word>, after: &BTreeSet<Word>) {
        for word in after.difference(before) {
            self.added.push((key, word.clone()));
            *self.tags.entry((key.1, word.0, word.1.clone())).or_default() += 1;
        }
        for word in before.difference(after) {
            self.removed.push((key, word.clone()));
            *self.tags.entry((key.1, word.0, word.1.clone())).or_default() -= 1;
        }
        for kind in TagKind::ALL {
            let had = before.iter().any(|(k, _)| k == kind);
            let has = after.iter().any(|(k, _)| k == kind);
            if had != has {
                *self.respondents.entry((key.1, *kind)).or_default() += if has { 1 } else { -1 };
            }
        }
    }
}

impl Projection for Discovery {
    fn read_model(&self) -> ReadModel {
        ReadModel::Discovery
    }

    fn tables(&self) -> &'static [&'static str] {
        &["genre_shelves", "tag_votes", "book_tags", "book_tag_respondents", "discovery_books"]
    }

    /// Their shelf names and answers leave every count.
    async fn forget_reader(&self, tx: &mut PgConnection, reader_id: Uuid) -> Result<(), sqlx::Error> {
        let votes = sqlx::query!(
            r#"SELECT book_id, kind AS "kind: TagKind", tag FROM tag_votes WHERE reader_id = $1"#,
            reader_id
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut said: BTreeMap<Uuid, BTreeSet<Word>> = BTreeMap::new();
        for vote in votes {
            said.entry(vote.book_id).or_default().insert((vote.kind, vote.tag));
        }
        let mut deltas = Deltas::default();
        for (book_id, words) in said {
            deltas.add((reader_id, book_id), &words, &BTreeSet::new());
        }
        write_counts(tx, &deltas).await?;
        sqlx::query!("DELETE FROM tag_votes WHERE reader_id = $1", reader_id).execute(&mut *tx).await?;
        sqlx::query!("DELETE FROM genre_shelves WHERE reader_id = $1", reader_id).execute(&mut *tx).await?;
        Ok(())
    }

    async fn apply(&self, tx: &mut PgConnection, batch: &[Stored]) -> Result<Vec<LiveUpdate>, sqlx::Error> {
        // Which keys the batch touches is the fold's to say: fold once over nothing to learn them.
        let keys: Vec<Key> = fold(batch, &HashMap::new(), &HashSet::new()).touched.into_iter().collect();
        let (before, merged) = load(tx, &keys).await?;
        let folded = fold(batch, &before, &merged);
        let mut deltas = Deltas::default();
        for key in &keys {
            let had = before.get(key).map(Said::words).unwrap_or_default();
            let has = folded.said.get(key).map(Said::words).unwrap_or_default();
            deltas.add(*key, &had, &has);
        }
        write_said(tx, &keys, &folded, &deltas).await?;
        write_counts(tx, &deltas).await?;
        write_books(tx, &folded, &deltas).await?;
        Ok(Vec::new())
    }
}

/// What the touched readers said of the touched books before the batch, and which of the books
/// were merged away.
async fn load(tx: &mut PgConnection, keys: &[Key]) -> Result<(HashMap<Key, Said>, HashSet<Uuid>), sqlx::Error> {
    let mut said: HashMap<Key, Said> = HashMap::new();
    if keys.is_empty() {
        return Ok((said, HashSet::new()));
    }
    let (readers, books): (Vec<Uuid>, Vec<Uuid>) = keys.iter().copied().unzip();
    let shelves = sqlx::query!(
        "SELECT g.reader_id, g.book_id, g.shelf_key, g.genre
         FROM UNNEST($1::uuid[], $2::uuid[]) AS k(reader_id, book_id)
         JOIN genre_shelves g ON g.reader_id = k.reader_id AND g.book_id = k.book_id",
        &readers,
        &books
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in shelves {
        said.entry((row.reader_id, row.book_id)).or_default().shelves.insert(row.shelf_key, row.genre);
    }
    let votes = sqlx::query!(
        r#"SELECT v.reader_id, v.book_id, v.kind AS "kind: TagKind", v.tag
           FROM UNNEST($1::uuid[], $2::uuid[]) AS k(reader_id, book_id)
           JOIN tag_votes v ON v.reader_id = k.reader_id AND v.book_id = k.book_id
           WHERE v.kind <> $3"#,
        &readers,
        &books,
        TagKind::Genre as TagKind
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in votes {
        said.entry((row.reader_id, row.book_id)).or_default().survey.insert((row.kind, row.tag));
    }
    let merged = sqlx::query_scalar!(
        "SELECT book_id FROM discovery_books WHERE book_id = ANY($1) AND merged_into IS NOT NULL",
        &books
    )
    .fetch_all(&mut *tx)
    .await?;
    Ok((said, merged.into_iter().collect()))
}

/// The touched readers' shelves and words as the batch left them.
async fn write_said(tx: &mut PgConnection, keys: &[Key], folded: &Folded, deltas: &Deltas) -> Result<(), sqlx::Error> {
    if keys.is_empty() {
        return Ok(());
    }
    let (readers, books): (Vec<Uuid>, Vec<Uuid>) = keys.iter().copied().unzip();
    sqlx::query!(
        "DELETE FROM genre_shelves g USING UNNEST($1::uuid[], $2::uuid[]) AS k(reader_id, book_id)
         WHERE g.reader_id = k.reader_id AND g.book_id = k.book_id",
        &readers,
        &books
    )
    .execute(&mut *tx)
    .await?;
    let (mut reader_ids, mut book_ids, mut shelf_keys, mut genres) = (vec![], vec![], vec![], vec![]);
    for key in keys {
        for (shelf_key, genre) in folded.said.get(key).map(|said| &said.shelves).into_iter().flatten() {
            reader_ids.push(key.0);
            book_ids.push(key.1);
            shelf_keys.push(shelf_key.clone());
            genres.push(genre.clone());
        }
    }
    sqlx::query!(
        "INSERT INTO genre_shelves (reader_id, book_id, shelf_key, genre)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[])",
        &reader_ids,
        &book_ids,
        &shelf_keys,
        &genres
    )
    .execute(&mut *tx)
    .await?;
    let columns = |votes: &[(Key, Word)]| {
        let mut columns = (vec![], vec![], vec![], vec![]);
        for ((reader_id, book_id), (kind, tag)) in votes {
            columns.0.push(*reader_id);
            columns.1.push(*book_id);
            columns.2.push(*kind);
            columns.3.push(tag.clone());
        }
        columns
    };
    let gone = columns(&deltas.removed);
    sqlx::query!(
        "DELETE FROM tag_votes v USING UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[]) AS g(reader_id, book_id, kind, tag)
         WHERE v.reader_id = g.reader_id AND v.book_id = g.book_id AND v.kind = g.kind AND v.tag = g.tag",
        &gone.0,
        &gone.1,
        &gone.2 as &[TagKind],
        &gone.3
    )
    .execute(&mut *tx)
    .await?;
    let new = columns(&deltas.added);
    sqlx::query!(
        "INSERT INTO tag_votes (reader_id, book_id, kind, tag)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING",
        &new.0,
        &new.1,
        &new.2 as &[TagKind],
        &new.3
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Each word's and each kind's count moved by its delta; a count at 0 goes.
async fn write_counts(tx: &mut PgConnection, deltas: &Deltas) -> Result<(), sqlx::Error> {
    let (mut books, mut kinds, mut tags, mut changes) = (vec![], vec![], vec![], vec![]);
    for ((book_id, kind, tag), change) in deltas.tags.iter().filter(|(_, change)| **change != 0) {
        books.push(*book_id);
        kinds.push(*kind);
        tags.push(tag.clone());
        changes.push(*change);
    }
    if !books.is_empty() {
        sqlx::query!(
            "WITH moved AS (
                 INSERT INTO book_tags (book_id, kind, tag, readers)
                 SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::int[])
                 ON CONFLICT (book_id, kind, tag) DO UPDATE SET readers = book_tags.readers + EXCLUDED.readers
                 RETURNING book_id, kind, tag, readers
             )
             DELETE FROM book_tags bt USING moved
             WHERE moved.readers = 0 AND bt.book_id = moved.book_id AND bt.kind = moved.kind AND bt.tag = moved.tag",
            &books,
            &kinds as &[TagKind],
            &tags,
            &changes
        )
        .execute(&mut *tx)
        .await?;
    }
    let (mut books, mut kinds, mut changes) = (vec![], vec![], vec![]);
    for ((book_id, kind), change) in deltas.respondents.iter().filter(|(_, change)| **change != 0) {
        books.push(*book_id);
        kinds.push(*kind);
        changes.push(*change);
    }
    if !books.is_empty() {
        sqlx::query!(
            "WITH moved AS (
                 INSERT INTO book_tag_respondents (book_id, kind, readers)
                 SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::int[])
                 ON CONFLICT (book_id, kind) DO UPDATE SET readers = book_tag_respondents.readers + EXCLUDED.readers
                 RETURNING book_id, kind, readers
             )
             DELETE FROM book_tag_respondents r USING moved
             WHERE moved.readers = 0 AND r.book_id = moved.book_id AND r.kind = moved.kind",
            &books,
            &kinds as &[TagKind],
            &changes
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The books' own figures, then each touched book's words brought up to them; a book merged
/// away loses its words.
async fn write_books(tx: &mut PgConnection, folded: &Folded, deltas: &Deltas) -> Result<(), sqlx::Error> {
    let (mut ids, mut dated, mut dates, mut counts, mut sums) = (vec![], vec![], vec![], vec![], vec![]);
    for (book_id, change) in &folded.books {
        ids.push(*book_id);
        dated.push(change.first_published.is_some());
        dates.push(change.first_published.flatten());
        counts.push(change.ratings_count);
        sums.push(change.quarter_stars_sum);
    }
    if !ids.is_empty() {
        sqlx::query!(
            "INSERT INTO discovery_books AS d (book_id, first_published, ratings_count, quarter_stars_sum)
             SELECT * FROM UNNEST($1::uuid[], $2::date[], $3::int[], $4::bigint[])
             ON CONFLICT (book_id) DO UPDATE SET
                 ratings_count = d.ratings_count + EXCLUDED.ratings_count,
                 quarter_stars_sum = d.quarter_stars_sum + EXCLUDED.quarter_stars_sum",
            &ids,
            &dates as &[Option<NaiveDate>],
            &counts,
            &sums
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE discovery_books d SET first_published = k.first_published
             FROM UNNEST($1::uuid[], $2::bool[], $3::date[]) AS k(book_id, dated, first_published)
             WHERE k.dated AND d.book_id = k.book_id",
            &ids,
            &dated,
            &dates as &[Option<NaiveDate>]
        )
        .execute(&mut *tx)
        .await?;
    }
    let touched: HashSet<Uuid> =
        ids.iter().copied().chain(deltas.tags.keys().map(|(book_id, _, _)| *book_id)).collect();
    let touched: Vec<Uuid> = touched.into_iter().collect();
    if !touched.is_empty() {
        sqlx::query!(
            "UPDATE book_tags bt
             SET ratings_count = d.ratings_count, quarter_stars_sum = d.quarter_stars_sum,
                 first_published = d.first_published
             FROM discovery_books d
             WHERE d.book_id = bt.book_id AND bt.book_id = ANY($1)
               AND (bt.ratings_count, bt.quarter_stars_sum, bt.first_published)
                   IS DISTINCT FROM (d.ratings_count, d.quarter_stars_sum, d.first_published)",
            &touched
        )
        .execute(&mut *tx)
        .await?;
    }
    for (book_id, into) in folded.books.iter().filter_map(|(book, change)| change.merged_into.map(|into| (book, into)))
    {
        sqlx::query!("UPDATE discovery_books SET merged_into = $2 WHERE book_id = $1", book_id, into)
            .execute(&mut *tx)
            .await?;
        sqlx::query!(
            "WITH tags AS (DELETE FROM book_tags WHERE book_id = $1),
                  respondents AS (DELETE FROM book_tag_respondents WHERE book_id = $1),
                  shelves AS (DELETE FROM genre_shelves WHERE book_id = $1)
             DELETE FROM tag_votes WHERE book_id = $1",
            book_id
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use readstream_contracts::{Envelope, Metadata, Mood};

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

    fn shelved(reader_id: Uuid, book_id: Uuid, shelf: &str) -> Event {
        Event::Reading(ReadingEvent::AddedToShelf { reader_id, book_id, shelf: shelf.into() })
    }

    fn genre_word(genre: &str) -> Word {
        (TagKind::Genre, genre.into())
    }

    #[test]
    fn two_shelves_saying_one_genre_count_once_and_it_goes_with_the_last_of_them() {
        let (ana, book) = (Uuid::now_v7(), Uuid::now_v7());
        let batch = vec![
            stored(1, vec![shelved(ana, book, "Sci-Fi"), shelved(ana, book, "sci fi"), shelved(ana, book, "to-read")]),
            stored(
                2,
                vec![Event::Reading(ReadingEvent::RemovedFromShelf {
                    reader_id: ana,
                    book_id: book,
                    shelf: "SCI-FI".into(),
                })],
            ),
        ];
        let folded = fold(&batch, &HashMap::new(), &HashSet::new());
        assert_eq!(folded.touched, HashSet::from([(ana, book)]));
        let words = folded.said[&(ana, book)].words();
        assert_eq!(words, BTreeSet::from([genre_word("sci-fi")]), "\"sci fi\" still says it");

        let mut deltas = Deltas::default();
        deltas.add((ana, book), &BTreeSet::new(), &words);
        assert_eq!(deltas.tags, BTreeMap::from([((book, TagKind::Genre, "sci-fi".to_owned()), 1)]));
        assert_eq!(deltas.respondents, BTreeMap::from([((book, TagKind::Genre), 1)]));
        let mut gone = Deltas::default();
        gone.add((ana, book), &words, &BTreeSet::new());
        assert_eq!(gone.respondents, BTreeMap::from([((book, TagKind::Genre), -1)]));
    }

    #[test]
    fn a_merged_book_takes_no_words_and_a_batchs_ratings_are_one_delta_per_book() {
        let (ana, ben, book, into) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let four = readstream_contracts::Stars::whole(4).unwrap_or_else(|| panic!("4 stars"));
        let three = readstream_contracts::Stars::from_quarters(15).unwrap_or_else(|| panic!("3.75 stars"));
        let described = |reader_id| {
            let survey = Survey { moods: vec![Mood::Dark], ..Survey::default() };
            Event::Ratings(RatingsEvent::BookDescribed { reader_id, book_id: book, survey })
        };
        let batch = vec![
            stored(
                1,
                vec![Event::Ratings(RatingsEvent::BookRated {
                    reader_id: ana,
                    book_id: book,
                    stars: four,
                    previous_stars: None,
                })],
            ),
            stored(
                2,
                vec![Event::Ratings(RatingsEvent::BookRated {
                    reader_id: ana,
                    book_id: book,
                    stars: three,
                    previous_stars: Some(four),
                })],
            ),
            stored(3, vec![described(ana)]),
            stored(4, vec![Event::Catalog(CatalogEvent::BookMerged { book_id: book, into })]),
            stored(5, vec![described(ben)]),
        ];
        let folded = fold(&batch, &HashMap::new(), &HashSet::new());
        assert!(folded.said.is_empty(), "the merge took the book's words, and none come after it");
        let change = &folded.books[&book];
        assert_eq!((change.ratings_count, change.quarter_stars_sum, change.merged_into), (1, 15, Some(into)));
    }
}
