//! Shelves and reading: the mutations of the reading service, each reader's shelves, reading
//! timeline, reading goals and year in review (`year`), and a book's shelf counts.

pub mod year;

use async_graphql::{
    connection::{Connection, Edge},
    ComplexObject, Context, Enum, Object, Result, SimpleObject, Subscription, ID,
};
use chrono::{Datelike, NaiveDate};
use futures::Stream;
use readstream_contracts::{
    proto::{commands::v1 as pb, live::v1 as live},
    reading::ReadingService,
    Code, Command, Identified, ReadModel, Reply,
};
use readstream_readmodel::reading as reads;
use uuid::Uuid;

use super::{
    database::{load_error, loader},
    shared::{
        app, book_for_command, decode_cursor, encode_cursor, page_size, reached, viewer, Author, Book, Edition,
        ListInfo, ShelfStatus,
    },
};
use crate::{
    commands::{self, parse_id},
    error::ApiError,
    subscriptions::{self, Replay},
};
use reads::{CustomShelvesOf, ShelfCountsOf, ShelfCountsRow};
use readstream_readmodel::shelves;

/// How many readers have the book on each built-in shelf.
#[derive(Debug, Clone, Copy, Default, SimpleObject)]
pub struct ShelfCounts {
    pub want_to_read: i64,
    pub currently_reading: i64,
    pub read: i64,
    pub did_not_finish: i64,
    pub paused: i64,
}

impl From<ShelfCountsRow> for ShelfCounts {
    fn from(row: ShelfCountsRow) -> Self {
        let ShelfCountsRow { want_to_read, currently_reading, read, did_not_finish, paused } = row;
        ShelfCounts { want_to_read, currently_reading, read, did_not_finish, paused }
    }
}

#[derive(Debug, Clone, Copy, SimpleObject)]
pub struct ReadingProgress {
    pub page: Option<i32>,
    pub percent: Option<i32>,
}

/// A book on a reader's shelves.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct ShelfEntry {
    #[graphql(skip)]
    pub reader_id: Uuid,
    #[graphql(skip)]
    pub book_id: Uuid,
    /// Null when the book is only on custom shelves.
    pub status: Option<ShelfStatus>,
    /// The day the book went on its current built-in shelf.
    pub since: Option<NaiveDate>,
    /// When the current (or last) read-through started.
    pub started_on: Option<NaiveDate>,
    pub finished_on: Option<NaiveDate>,
    /// The current read-through's progress (null for a past shelf, `asOf`).
    pub progress: Option<ReadingProgress>,
    /// Times the reader finished the book.
    pub read_count: i32,
    #[graphql(skip)]
    pub cursor_position: i64,
    #[graphql(skip)]
    pub edition_isbn: Option<String>,
}

#[ComplexObject]
impl ShelfEntry {
    async fn book(&self, ctx: &Context<'_>) -> Result<Option<Book>> {
        Ok(Book::load(ctx, self.book_id).await?)
    }

    /// The ISBN-13 of the reader's copy: the edition they named (`chooseEdition`), or the one
    /// their imported library gave, which stays theirs even when the catalog lists no edition
    /// with it (an import never adds one).
    async fn isbn(&self) -> Option<&str> {
        self.edition_isbn.as_deref()
    }

    /// The edition the reader holds, if they named one (`chooseEdition`) or their import gave an
    /// ISBN the catalog lists for this book.
    async fn edition(&self, ctx: &Context<'_>) -> Result<Option<Edition>> {
        let Some(isbn) = &self.edition_isbn else { return Ok(None) };
        Ok(Edition::of_book(ctx, self.book_id).await?.into_iter().find(|e| &e.isbn13 == isbn))
    }

    /// The reader's own named shelves holding the book.
    async fn shelves(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        let shelves = loader(ctx).load_one(CustomShelvesOf(self.reader_id, self.book_id)).await.map_err(load_error)?;
        Ok(shelves.unwrap_or_default())
    }
}

/// A custom shelf and how many books it holds.
#[derive(Debug, Clone, SimpleObject)]
pub struct CustomShelf {
    pub name: String,
    pub count: i64,
}

#[derive(Debug, Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum ShelfOrder {
    /// Most recently shelved first.
    #[default]
    Newest,
    Oldest,
}

#[derive(Debug, Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "shelves::ReadingStep")]
pub enum ReadingStep {
    WantToRead,
    Started,
    Resumed,
    Progress,
    Paused,
    Finished,
    Abandoned,
    Removed,
}

/// One step of a reader's reading, as it happened.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct TimelineEntry {
    #[graphql(skip)]
    pub book_id: Uuid,
    pub step: ReadingStep,
    pub on: NaiveDate,
    pub page: Option<i32>,
    pub percent: Option<i32>,
    pub note: String,
    /// 1 for the first read-through, 2 for the first reread, …
    pub read_through: i32,
    /// The stream position that recorded it.
    pub position: i64,
    #[graphql(skip)]
    pub event_index: i32,
}

#[ComplexObject]
impl TimelineEntry {
    async fn book(&self, ctx: &Context<'_>) -> Result<Option<Book>> {
        Ok(Book::load(ctx, self.book_id).await?)
    }

    /// A start of a read-through after the first.
    async fn reread(&self) -> bool {
        self.step == ReadingStep::Started && self.read_through > 1
    }
}

#[derive(Debug, Clone, SimpleObject)]
pub struct MonthStats {
    pub month: i32,
    pub books: i64,
    pub pages: i64,
}

/// A reader's year in review: books and pages finished (a reread counts each time it is
/// finished), by month, and what stands out. The picks count each book once.
#[derive(Debug, Clone, SimpleObject)]
pub struct ReadingStats {
    pub year: i32,
    pub books_finished: i64,
    pub pages_finished: i64,
    /// All twelve months, January first.
    pub months: Vec<MonthStats>,
    /// The shortest book they finished (books without a page count left out).
    pub shortest_book: Option<year::YearBook>,
    /// The longest book they finished (books without a page count left out).
    pub longest_book: Option<year::YearBook>,
    /// The book they finished that they rate highest now (the first finished, on a tie).
    pub highest_rated: Option<year::YearBook>,
    /// The mean of their ratings of the books they finished, in stars, exact; null when they
    /// rated none.
    pub average_stars_given: Option<f64>,
    /// The author whose books they finished most (the first reached, on a tie).
    pub most_read_author: Option<year::AuthorOfTheYear>,
    pub first_finished: Option<year::YearBook>,
    pub last_finished: Option<year::YearBook>,
}

/// A shelf entry of the read model's row.
fn entry_of(row: shelves::EntryRow, reader_id: Uuid) -> ShelfEntry {
    let progress = match (row.progress_page, row.progress_percent) {
        (None, None) => None,
        (page, percent) => Some(ReadingProgress { page, percent }),
    };
    ShelfEntry {
        reader_id,
        book_id: row.book_id,
        status: row.status.map(ShelfStatus::from),
        since: row.since,
        started_on: row.started_on,
        finished_on: row.finished_on,
        progress,
        read_count: row.read_count.unwrap_or(0) as i32,
        cursor_position: row.cursor_position.unwrap_or(0),
        edition_isbn: row.edition_isbn,
    }
}

const SHELF_CURSOR: &str = "shelf";
const TIMELINE_CURSOR: &str = "timeline";

/// The entry for one reader and book, if the book is on any of their shelves.
pub async fn shelf_entry(ctx: &Context<'_>, reader_id: Uuid, book_id: Uuid) -> Result<Option<ShelfEntry>, ApiError> {
    let row = shelves::entry(&app(ctx).pool, reader_id, book_id).await?;
    Ok(row.map(|r| entry_of(r, reader_id)))
}

/// A reader's shelf, now or as it stood at the end of `as_of`.
#[allow(clippy::too_many_arguments)]
pub async fn shelf(
    ctx: &Context<'_>,
    reader_id: Uuid,
    status: Option<ShelfStatus>,
    custom_shelf: Option<String>,
    first: Option<i32>,
    after: Option<String>,
    order: ShelfOrder,
    as_of: Option<NaiveDate>,
) -> Result<Connection<String, ShelfEntry, ListInfo>, ApiError> {
    let limit = page_size(first)?;
    let after = after
        .as_deref()
        .map(|c| {
            decode_cursor(SHELF_CURSOR, "after", c)?
                .parse::<i64>()
                .map_err(|_| ApiError::invalid("after", "after is not a cursor of this list"))
        })
        .transpose()?;
    let custom_shelf = custom_shelf.map(|s| s.trim().to_lowercase());
    let page = shelves::ShelfPage {
        status: status.map(shelves::ShelfStatus::from),
        custom_shelf: custom_shelf.as_deref(),
        after,
        newest_first: order == ShelfOrder::Newest,
        limit: limit + 1,
    };
    let pool = &app(ctx).pool;
    let (mut rows, total_count) = match as_of {
        None => shelves::page(pool, reader_id, page).await?,
        Some(_) if page.custom_shelf.is_some() => {
            return Err(ApiError::invalid("asOf", "asOf applies to the built-in shelves only"));
        }
        Some(day) => shelves::page_as_of(pool, reader_id, day, page).await?,
    };
    let has_next = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let mut connection = Connection::with_additional_fields(after.is_some(), has_next, ListInfo { total_count });
    connection.edges.extend(rows.into_iter().map(|row| {
        let entry = entry_of(row, reader_id);
        Edge::new(encode_cursor(SHELF_CURSOR, &entry.cursor_position.to_string()), entry)
    }));
    Ok(connection)
}

/// The reader's custom shelves, alphabetically, with how many books each holds.
pub async fn custom_shelves(ctx: &Context<'_>, reader_id: Uuid) -> Result<Vec<CustomShelf>, ApiError> {
    let rows = shelves::custom_shelves(&app(ctx).pool, reader_id).await?;
    Ok(rows.into_iter().map(|(name, count)| CustomShelf { name, count }).collect())
}

/// Reading logs are the reader's own.
pub fn only_own(ctx: &Context<'_>, reader_id: Uuid) -> Result<(), ApiError> {
    if viewer(ctx)?.reader_id != reader_id {
        return Err(ApiError::new(Code::PermissionDenied, "a reader's reading timeline is theirs alone"));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub async fn timeline(
    ctx: &Context<'_>,
    reader_id: Uuid,
    book_id: Option<ID>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Connection<String, TimelineEntry, ListInfo>, ApiError> {
    only_own(ctx, reader_id)?;
    let limit = page_size(first)?;
    let book_id = book_id.map(|id| parse_id("bookId", &id)).transpose()?;
    let bad_cursor = || ApiError::invalid("after", "after is not a cursor of this list");
    let after = match after {
        None => None,
        Some(cursor) => {
            let text = decode_cursor(TIMELINE_CURSOR, "after", &cursor)?;
            let mut parts = text.split(':');
            let on: NaiveDate = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad_cursor)?;
            let position: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad_cursor)?;
            let index: i32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad_cursor)?;
            Some((on, position, index))
        }
    };
    let page = shelves::TimelinePage { book_id, from, to, after, limit: limit + 1 };
    let (mut rows, total_count) = shelves::timeline(&app(ctx).pool, reader_id, page).await?;
    let has_next = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let mut connection = Connection::with_additional_fields(after.is_some(), has_next, ListInfo { total_count });
    for row in rows {
        let step = row.kind.into();
        let cursor = encode_cursor(TIMELINE_CURSOR, &format!("{}:{}:{}", row.on_date, row.position, row.event_index));
        connection.edges.push(Edge::new(
            cursor,
            TimelineEntry {
                book_id: row.book_id,
                step,
                on: row.on_date,
                page: row.page,
                percent: row.percent,
                note: row.note,
                read_through: row.read_through,
                position: row.position,
                event_index: row.event_index,
            },
        ));
    }
    Ok(connection)
}

/// `reader_id`'s year in review, as their privacy setting lets the viewer see it (the caller
/// checks).
pub async fn stats(ctx: &Context<'_>, reader_id: Uuid, year: i32) -> Result<ReadingStats, ApiError> {
    let (from, to) = year::year_bounds(year)?;
    let finished = readstream_readmodel::goals::finished_between(&app(ctx).pool, reader_id, from, to).await?;
    let mut months: Vec<MonthStats> = (1..=12).map(|month| MonthStats { month, books: 0, pages: 0 }).collect();
    for row in &finished {
        let month = &mut months[row.on.month0() as usize];
        month.books += 1;
        month.pages += i64::from(row.pages);
    }
    let picks = year::Picks::of(&finished);
    let most_read_author = match picks.author {
        Some((author_id, books)) => {
            Author::load(ctx, author_id).await?.map(|author| year::AuthorOfTheYear { author, books })
        }
        None => None,
    };
    Ok(ReadingStats {
        year,
        books_finished: months.iter().map(|m| m.books).sum(),
        pages_finished: months.iter().map(|m| m.pages).sum(),
        months,
        shortest_book: year::year_book(ctx, picks.shortest).await?,
        longest_book: year::year_book(ctx, picks.longest).await?,
        highest_rated: year::year_book(ctx, picks.highest_rated).await?,
        average_stars_given: picks.average_stars,
        most_read_author,
        first_finished: year::year_book(ctx, picks.first).await?,
        last_finished: year::year_book(ctx, picks.last).await?,
    })
}

/// What a reading command did, and the viewer's shelf entry for the book once projected.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ShelfPayload {
    position: u64,
    book_id: ID,
}

#[ComplexObject]
impl ShelfPayload {
    /// The viewer's copy of the book after this change (null when off every shelf).
    async fn shelf(&self, ctx: &Context<'_>) -> Result<Option<ShelfEntry>> {
        reached(ctx, self.position, &[ReadModel::Shelves]).await?;
        let reader_id = viewer(ctx)?.reader_id;
        Ok(shelf_entry(ctx, reader_id, parse_id("bookId", &self.book_id)?).await?)
    }
}

/// The metadata and book id every reading command carries.
async fn on_copy(
    ctx: &Context<'_>,
    book_id: &ID,
    idempotency_key: Option<String>,
) -> Result<(Option<pb::CommandMeta>, String), ApiError> {
    let viewer = viewer(ctx)?;
    let book_id = book_for_command(ctx, "bookId", book_id).await?;
    Ok((Some(commands::meta(Some(&viewer), idempotency_key)?), book_id.to_string()))
}

/// A date as the commands carry it; empty for today.
fn day(date: Option<NaiveDate>) -> String {
    date.map(|d| d.to_string()).unwrap_or_default()
}

async fn send<C: Command<Service = ReadingService, Reply = Identified>>(
    ctx: &Context<'_>,
    command: &C,
) -> Result<ShelfPayload> {
    let reply = commands::send(app(ctx), command).await?;
    Ok(ShelfPayload { position: reply.position(), book_id: ID(reply.id.to_string()) })
}

#[derive(Default)]
pub struct ReadingMutation;

#[Object]
impl ReadingMutation {
    /// Puts the book on the viewer's "want to read" shelf.
    async fn want_to_read(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        on: Option<NaiveDate>,
        idempotency_key: Option<String>,
    ) -> Result<ShelfPayload> {
        let (meta, book_id) = on_copy(ctx, &book_id, idempotency_key).await?;
        send(ctx, &pb::WantToRead { meta, book_id, on: day(on) }).await
    }

    /// Starts reading (a paused book resumes; a read book begins a reread).
    async fn start_reading(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        started_on: Option<NaiveDate>,
        idempotency_key: Option<String>,
    ) -> Result<ShelfPayload> {
        let (meta, book_id) = on_copy(ctx, &book_id, idempotency_key).await?;
        send(ctx, &pb::StartReading { meta, book_id, started_on: day(started_on) }).await
    }

    /// Logs progress as a page or a percent; a book not being read starts (or resumes).
    #[allow(clippy::too_many_arguments)]
    async fn update_progress(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        page: Option<i32>,
        percent: Option<i32>,
        note: Option<String>,
        on: Option<NaiveDate>,
        idempotency_key: Option<String>,
    ) -> Result<ShelfPayload> {
        let (meta, book_id) = on_copy(ctx, &book_id, idempotency_key).await?;
        let note = note.unwrap_or_default();
        send(ctx, &pb::UpdateProgress { meta, book_id, on: day(on), page, percent, note }).await
    }

    async fn pause_reading(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        on: Option<NaiveDate>,
        idempotency_key: Option<String>,
    ) -> Result<ShelfPayload> {
        let (meta, book_id) = on_copy(ctx, &book_id, idempotency_key).await?;
        send(ctx, &pb::PauseReading { meta, book_id, on: day(on) }).await
    }

    /// Marks the book read; finishing again after a reread raises the read count.
    async fn finish_reading(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        finished_on: Option<NaiveDate>,
        idempotency_key: Option<String>,
    ) -> Result<ShelfPayload> {
        let (meta, book_id) = on_copy(ctx, &book_id, idempotency_key).await?;
        send(ctx, &pb::FinishReading { meta, book_id, finished_on: day(finished_on), reread: false }).await
    }

    /// Did not finish.
    async fn abandon_reading(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        note: Option<String>,
        on: Option<NaiveDate>,
        idempotency_key: Option<String>,
    ) -> Result<ShelfPayload> {
        let (meta, book_id) = on_copy(ctx, &book_id, idempotency_key).await?;
        send(ctx, &pb::AbandonReading { meta, book_id, on: day(on), note: note.unwrap_or_default() }).await
    }

    /// Takes the book off every shelf, built-in and custom; its history stays in the timeline.
    async fn remove_from_shelves(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<ShelfPayload> {
        let (meta, book_id) = on_copy(ctx, &book_id, idempotency_key).await?;
        send(ctx, &pb::RemoveFromShelves { meta, book_id }).await
    }

    /// Puts the book on one of the viewer's own named shelves.
    async fn add_to_shelf(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        name: String,
        idempotency_key: Option<String>,
    ) -> Result<ShelfPayload> {
        let (meta, book_id) = on_copy(ctx, &book_id, idempotency_key).await?;
        send(ctx, &pb::AddToShelf { meta, book_id, shelf: name }).await
    }

    async fn remove_from_shelf(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        name: String,
        idempotency_key: Option<String>,
    ) -> Result<ShelfPayload> {
        let (meta, book_id) = on_copy(ctx, &book_id, idempotency_key).await?;
        send(ctx, &pb::RemoveFromShelf { meta, book_id, shelf: name }).await
    }

    /// Names the edition of a shelved book the viewer holds, by ISBN (10 or 13, hyphens
    /// allowed); null to no longer say. An ISBN of another book's edition is `NOT_FOUND`.
    async fn choose_edition(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        isbn: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<ShelfPayload> {
        let (meta, book_id) = on_copy(ctx, &book_id, idempotency_key).await?;
        send(ctx, &pb::ChooseEdition { meta, book_id, isbn: isbn.unwrap_or_default() }).await
    }

    /// Sets the viewer's goal for `year`: `books` (1 to 10,000) to finish in it, replacing an
    /// earlier target.
    async fn set_reading_goal(
        &self,
        ctx: &Context<'_>,
        year: i32,
        books: i32,
        idempotency_key: Option<String>,
    ) -> Result<GoalPayload> {
        let viewer = viewer(ctx)?;
        let meta = Some(commands::meta(Some(&viewer), idempotency_key)?);
        let reply = commands::send(app(ctx), &pb::SetReadingGoal { meta, year, books }).await?;
        Ok(GoalPayload { position: reply.position(), year })
    }

    /// Removes the viewer's goal for `year` (`NOT_FOUND` when they set none).
    async fn remove_reading_goal(
        &self,
        ctx: &Context<'_>,
        year: i32,
        idempotency_key: Option<String>,
    ) -> Result<GoalPayload> {
        let viewer = viewer(ctx)?;
        let meta = Some(commands::meta(Some(&viewer), idempotency_key)?);
        let reply = commands::send(app(ctx), &pb::RemoveReadingGoal { meta, year }).await?;
        Ok(GoalPayload { position: reply.position(), year })
    }
}

/// What a goal command did, and the viewer's goal once projected.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct GoalPayload {
    position: u64,
    year: i32,
}

#[ComplexObject]
impl GoalPayload {
    /// The viewer's goal for the year after this change (null once removed).
    async fn goal(&self, ctx: &Context<'_>) -> Result<Option<year::ReadingGoal>> {
        reached(ctx, self.position, &[ReadModel::Shelves, ReadModel::Readers]).await?;
        Ok(year::goal(&app(ctx).pool, viewer(ctx)?.reader_id, self.year).await?)
    }
}

/// Pushed to `readingGoalChanged` subscribers: the viewer's goal for the year, first as it is,
/// then after each book they finish and each change to the goal.
#[derive(Debug, Clone, SimpleObject)]
pub struct ReadingGoalChanged {
    pub year: i32,
    /// Null while they have no goal for the year.
    pub goal: Option<year::ReadingGoal>,
}

/// Pushed to `bookShelfCountsChanged` subscribers.
#[derive(Debug, Clone, SimpleObject)]
pub struct ShelfCountsChanged {
    pub book_id: ID,
    pub position: u64,
    pub counts: ShelfCounts,
}

pub async fn shelf_counts(ctx: &Context<'_>, book_id: Uuid) -> Result<ShelfCounts> {
    Ok(loader(ctx).load_one(ShelfCountsOf(book_id)).await.map_err(load_error)?.unwrap_or_default().into())
}

#[derive(Default)]
pub struct ReadingSubscription;

#[Subscription]
impl ReadingSubscription {
    /// The viewer's goal for `year`: first as it is now, then again whenever they finish a book
    /// or change the goal.
    async fn reading_goal_changed(
        &self,
        ctx: &Context<'_>,
        year: i32,
    ) -> Result<impl Stream<Item = Result<ReadingGoalChanged>>> {
        subscriptions::opened(async move {
            year::year_bounds(year)?;
            let reader_id = viewer(ctx)?.reader_id;
            let app = app(ctx);
            let subject = readstream_contracts::reading::live_reading_year(&app.namespace, reader_id);
            let live = subscriptions::subscribe(ctx, [subject]).await?;
            let now = ReadingGoalChanged { year, goal: year::goal(&app.pool, reader_id, year).await? };
            let pool = app.pool.clone();
            let position = |update: &live::ReadingYearChanged| update.position;
            Ok(live.after(Replay::now(now), None, position, move |_| {
                let pool = pool.clone();
                async move {
                    match year::goal(&pool, reader_id, year).await {
                        Ok(goal) => Some(ReadingGoalChanged { year, goal }),
                        Err(err) => {
                            tracing::warn!(error = %err.message, "could not read a goal to push; the next change sends it");
                            None
                        }
                    }
                }
            }))
        })
        .await
    }

    /// A book's shelf counts: first as they are now, then after each projected change.
    async fn book_shelf_counts_changed(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
    ) -> Result<impl Stream<Item = Result<ShelfCountsChanged>>> {
        subscriptions::opened(async move {
            let id = parse_id("bookId", &book_id)?;
            let app = app(ctx);
            let subject = readstream_contracts::reading::live_book_shelf_counts(&app.namespace, id);
            let live = subscriptions::subscribe(ctx, [subject]).await?;
            let (counts, seen) = reads::shelf_counts_now(&app.pool, id).await.map_err(ApiError::from)?;
            let counts = counts.into();
            let now = ShelfCountsChanged { book_id: book_id.clone(), position: seen, counts };
            let position = |update: &live::ShelfCountsChanged| update.position;
            Ok(live.after(Replay::now(now), Some(seen), position, move |update| {
                let counts = ShelfCounts {
                    want_to_read: update.want_to_read as i64,
                    currently_reading: update.currently_reading as i64,
                    read: update.read as i64,
                    did_not_finish: update.did_not_finish as i64,
                    paused: update.paused as i64,
                };
                std::future::ready(Some(ShelfCountsChanged {
                    book_id: book_id.clone(),
                    position: update.position,
                    counts,
                }))
            }))
        })
        .await
    }
}
