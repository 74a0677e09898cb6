//! What the slices share, below all of them: the objects many of them show (`Book`, `Author`,
//! `Reader`: their data and loads here; a `Review` and its comments in `review`; their fields in `super::fields`, which sits above the
//! slices it delegates to), the request's state, read-your-writes and paging.

use std::{borrow::Cow, collections::HashMap, sync::Arc};

use async_graphql::{ComplexObject, Context, Enum, Result, SimpleObject, ID};
use base64::Engine;
use readstream_contracts::Isbn;
use readstream_contracts::{Identified, ReadModel, Reply};
use uuid::Uuid;

use super::database::{load_error, loader};
use crate::{auth::Viewer, error::ApiError, AppState};
use readstream_readmodel::catalog::{AuthorKey, AuthorRow, BookKey, BookRow, EditionRow, EditionsOf};
use readstream_readmodel::pages::{BookFigures, BookWithFigures, ReaderCounts, ReaderWithCounts};
use readstream_readmodel::social::{ReaderKey, ReaderRow};

pub mod image;
pub mod review;

/// A stored rating (quarter stars, 4 to 20) in whole stars, quarters rounded half up: what the
/// `stars` fields kept for older clients give.
pub fn whole_stars(quarters: i16) -> i32 {
    (i32::from(quarters) + 2) / 4
}

/// A stored rating (quarter stars) as it was given: 3.75.
pub fn exact_stars(quarters: i16) -> f64 {
    f64::from(quarters) / 4.0
}

pub const MAX_PAGE: i32 = 100;
pub const DEFAULT_PAGE: i32 = 20;

/// A book (the work); its fields are in `super::fields`. As the book a page is about (`book(id:)`)
/// it comes with its figures (authors, ratings, shelf and review counts); read another way,
/// without.
#[derive(Debug, Clone)]
pub struct Book(pub BookRow, pub Option<Arc<BookFigures>>);

/// An author; its fields are in `super::fields`.
#[derive(Debug, Clone)]
pub struct Author(pub AuthorRow);

/// One edition of a book: what a reader holds. Ratings and reviews belong to the book.
#[derive(SimpleObject)]
pub struct Edition {
    pub isbn13: String,
    /// For ISBNs that begin with 978.
    isbn10: Option<String>,
    /// Empty when unknown.
    format: String,
    pages: Option<i32>,
    /// Empty when unknown.
    publisher: String,
    published_on: Option<chrono::NaiveDate>,
    /// A BCP 47 tag; empty when unknown.
    language: String,
    cover_url: Option<String>,
}

impl From<EditionRow> for Edition {
    fn from(row: EditionRow) -> Self {
        let isbn10 = Isbn::parse("isbn", &row.isbn).ok().and_then(|isbn| isbn.isbn10());
        Edition {
            isbn13: row.isbn,
            isbn10,
            format: row.format,
            pages: (row.pages > 0).then_some(row.pages),
            publisher: row.publisher,
            published_on: row.published_on,
            language: row.language,
            cover_url: (!row.cover_url.is_empty()).then_some(row.cover_url),
        }
    }
}

impl Edition {
    /// A book's editions, the most recently published first.
    pub async fn of_book(ctx: &Context<'_>, book_id: Uuid) -> Result<Vec<Edition>, ApiError> {
        let rows = loader(ctx).load_one(EditionsOf(book_id)).await.map_err(load_error)?;
        Ok(rows.unwrap_or_default().into_iter().map(Edition::from).collect())
    }
}

/// A reader; their fields are in `super::fields`. Read as a reviewer, they come with their
/// counts; read another way, without. Their profile (handle, name, bio, when they joined) is
/// read with them, unless the query asks none of it of the signed-in reader (`viewer`): then
/// only their id is known, and the profile is read only if a field needs it after all.
#[derive(Debug, Clone)]
pub struct Reader {
    pub reader_id: Uuid,
    profile: Option<ReaderRow>,
    pub counts: Option<ReaderCounts>,
}

impl Book {
    pub async fn load(ctx: &Context<'_>, book_id: Uuid) -> Result<Option<Book>, ApiError> {
        Ok(loader(ctx).load_one(BookKey(book_id)).await.map_err(load_error)?.map(|row| Book(row, None)))
    }

    /// The book a page is about, with its authors, figures and review count, in one query.
    pub async fn load_with_figures(ctx: &Context<'_>, book_id: Uuid) -> Result<Option<Book>, ApiError> {
        let found = loader(ctx).load_one(BookWithFigures(book_id)).await.map_err(load_error)?;
        Ok(found.map(|(row, figures)| Book(row, Some(figures))))
    }

    /// These books by id, in one query; ids without a book are left out.
    pub async fn load_many(ctx: &Context<'_>, book_ids: &[Uuid]) -> Result<HashMap<Uuid, Book>, ApiError> {
        let found = loader(ctx).load_many(book_ids.iter().copied().map(BookKey)).await.map_err(load_error)?;
        Ok(found.into_iter().map(|(key, row)| (key.0, Book(row, None))).collect())
    }
}

impl Author {
    pub async fn load(ctx: &Context<'_>, author_id: Uuid) -> Result<Option<Author>, ApiError> {
        Ok(loader(ctx).load_one(AuthorKey(author_id)).await.map_err(load_error)?.map(Author))
    }
}

impl Reader {
    /// A reader read with their profile.
    pub fn from_row(row: ReaderRow) -> Reader {
        Reader { reader_id: row.reader_id, profile: Some(row), counts: None }
    }

    /// The fields (in `super::fields`) that show the profile row.
    const PROFILE_FIELDS: [&'static str; 5] = ["handle", "displayName", "bio", "joinedAt", "url"];

    /// The signed-in reader, whose token names them. A query that asks nothing of their
    /// profile (their feed, their notifications) needs no read of it before its own: they are
    /// known by id alone. One that asks some reads it first: `None` while it is not recorded.
    pub async fn signed_in(ctx: &Context<'_>, reader_id: Uuid) -> Result<Option<Reader>, ApiError> {
        let asked = ctx.look_ahead();
        if Reader::PROFILE_FIELDS.iter().any(|field| asked.field(field).exists()) {
            return Reader::load(ctx, reader_id).await;
        }
        Ok(Some(Reader { reader_id, profile: None, counts: None }))
    }

    pub async fn load(ctx: &Context<'_>, reader_id: Uuid) -> Result<Option<Reader>, ApiError> {
        Ok(loader(ctx).load_one(ReaderKey(reader_id)).await.map_err(load_error)?.map(Reader::from_row))
    }

    /// Their profile: as read with them, or read now. A reader known by id whose profile is
    /// not recorded (yet, or any more) is `NOT_FOUND`.
    pub async fn profile(&self, ctx: &Context<'_>) -> Result<Cow<'_, ReaderRow>, ApiError> {
        if let Some(row) = &self.profile {
            return Ok(Cow::Borrowed(row));
        }
        let row = loader(ctx).load_one(ReaderKey(self.reader_id)).await.map_err(load_error)?;
        row.map(Cow::Owned)
            .ok_or_else(|| ApiError::new(readstream_contracts::Code::NotFound, "this reader's profile is not recorded"))
    }

    /// One text of their profile, borrowed when it was read with them.
    pub async fn profile_text(
        &self,
        ctx: &Context<'_>,
        text: fn(&ReaderRow) -> &str,
    ) -> Result<Cow<'_, str>, ApiError> {
        Ok(match self.profile(ctx).await? {
            Cow::Borrowed(row) => Cow::Borrowed(text(row)),
            Cow::Owned(row) => Cow::Owned(text(&row).to_owned()),
        })
    }

    /// A reader with their review and follow counts, in one query.
    pub async fn load_with_counts(ctx: &Context<'_>, reader_id: Uuid) -> Result<Option<Reader>, ApiError> {
        let found = loader(ctx).load_one(ReaderWithCounts(reader_id)).await.map_err(load_error)?;
        Ok(found.map(|(row, counts)| Reader { counts: Some(counts), ..Reader::from_row(row) }))
    }

    /// These readers by id, in one query; ids without a reader are left out.
    pub async fn load_many(ctx: &Context<'_>, reader_ids: &[Uuid]) -> Result<HashMap<Uuid, Reader>, ApiError> {
        let found = loader(ctx).load_many(reader_ids.iter().copied().map(ReaderKey)).await.map_err(load_error)?;
        Ok(found.into_iter().map(|(key, row)| (key.0, Reader::from_row(row))).collect())
    }
}

/// The book a command on `id` acts on: the id as given, or for a merged duplicate the book it
/// was merged into.
pub async fn book_for_command(
    ctx: &Context<'_>,
    field: &'static str,
    id: &async_graphql::ID,
) -> Result<Uuid, ApiError> {
    let book_id = crate::commands::parse_id(field, id)?;
    let merged = readstream_readmodel::catalog::book_merged_into(&app(ctx).pool, book_id).await?;
    Ok(merged.unwrap_or(book_id))
}

/// The author a command on `id` acts on: the id as given, or for a merged duplicate the author
/// it was merged into.
pub async fn author_for_command(
    ctx: &Context<'_>,
    field: &'static str,
    id: &async_graphql::ID,
) -> Result<Uuid, ApiError> {
    let author_id = crate::commands::parse_id(field, id)?;
    let merged = readstream_readmodel::catalog::author_merged_into(&app(ctx).pool, author_id).await?;
    Ok(merged.unwrap_or(author_id))
}

pub fn app<'a>(ctx: &'a Context<'_>) -> &'a AppState {
    ctx.data_unchecked::<AppState>()
}

pub fn viewer(ctx: &Context<'_>) -> Result<Viewer, ApiError> {
    ctx.data_opt::<Viewer>().copied().ok_or_else(ApiError::unauthenticated)
}

/// Waits until the read models a field reads include `position`: how a mutation's payload shows
/// its own write without waiting for projections it does not read.
pub async fn reached(ctx: &Context<'_>, position: u64, reads: &[ReadModel]) -> Result<(), ApiError> {
    Ok(app(ctx).positions.wait_for(position, reads).await?)
}

/// An opaque cursor: the list's name and a key, base64url-encoded.
pub fn encode_cursor(list: &str, key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{list}:{key}"))
}

/// The key of a cursor of `list`; anything else is refused as `INVALID_ARGUMENT`.
pub fn decode_cursor(list: &str, field: &str, cursor: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix(list).and_then(|rest| rest.strip_prefix(':')).map(str::to_owned))
        .ok_or_else(|| ApiError::invalid(field, format!("{field} is not a cursor of this list")))
}

pub fn page_size(first: Option<i32>) -> Result<i64, ApiError> {
    match first.unwrap_or(DEFAULT_PAGE) {
        n @ 1..=MAX_PAGE => Ok(i64::from(n)),
        _ => Err(ApiError::invalid("first", format!("first must be between 1 and {MAX_PAGE}"))),
    }
}

#[derive(SimpleObject)]
pub struct ListInfo {
    /// How many items the whole list has.
    pub total_count: i64,
}

/// What a book command did: the stream position to read it at, and the book as it now is.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct BookPayload {
    position: u64,
    book_id: ID,
    /// The read models that show the change.
    #[graphql(skip)]
    shows: &'static [ReadModel],
}

#[ComplexObject]
impl BookPayload {
    /// The book, read once the read models include this change.
    async fn book(&self, ctx: &Context<'_>) -> Result<Option<Book>> {
        reached(ctx, self.position, self.shows).await?;
        Ok(Book::load(ctx, crate::commands::parse_id("bookId", &self.book_id)?).await?)
    }
}

impl BookPayload {
    /// The payload of an accepted book command whose change `shows` display.
    pub fn new(reply: Identified, shows: &'static [ReadModel]) -> Self {
        BookPayload { position: reply.position(), book_id: ID(reply.id.to_string()), shows }
    }
}

// The read model's statuses, each one.
/// The built-in shelves; a shelved book is on exactly one.
#[derive(Debug, Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "readstream_readmodel::shelves::ShelfStatus")]
pub enum ShelfStatus {
    WantToRead,
    CurrentlyReading,
    Paused,
    Read,
    DidNotFinish,
}
