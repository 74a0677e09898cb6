//! The catalog slice: books, their editions and authors, listed, added and edited by
//! librarians, and authors linked to the reader accounts that are them; series.

pub mod series;

use async_graphql::{
    connection::{Connection, Edge},
    ComplexObject, Context, InputObject, MaybeUndefined, Object, Result, SimpleObject, Upload, ID,
};
use readstream_contracts::{proto::commands::v1 as pb, Identified, Isbn, ReadModel, Reply};
use readstream_pictures::Purpose;
use readstream_readmodel::catalog as reads;

use super::shared::{
    app, decode_cursor, encode_cursor, image::store_upload, page_size, reached, viewer, Author, Book, BookPayload,
    ListInfo,
};
use crate::{
    commands::{self, parse_id},
    error::ApiError,
};

const BOOKS_CURSOR: &str = "books";

fn books_cursor(position: i64) -> String {
    encode_cursor(BOOKS_CURSOR, &position.to_string())
}

fn parse_books_cursor(cursor: &str) -> Result<i64, ApiError> {
    decode_cursor(BOOKS_CURSOR, "after", cursor)?
        .parse()
        .map_err(|_| ApiError::invalid("after", "after is not a cursor of this list"))
}

/// A page of an author's books, in the order they were added (`Author.books`), of `total_count`.
pub async fn author_books(
    ctx: &Context<'_>,
    author_id: uuid::Uuid,
    total_count: i64,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Connection<String, Book, ListInfo>> {
    let limit = page_size(first)?;
    let after = after.as_deref().map(parse_books_cursor).transpose()?.unwrap_or(0);
    let mut rows =
        reads::books_of_author_after(&app(ctx).pool, author_id, after, limit + 1).await.map_err(ApiError::from)?;
    let has_next = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let mut connection = Connection::with_additional_fields(after > 0, has_next, ListInfo { total_count });
    connection.edges.extend(rows.into_iter().map(|row| Edge::new(books_cursor(row.position), Book(row, None))));
    Ok(connection)
}

#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// Every book of the catalog, in the order they were added. With `verified: false`, the
    /// books readers' imports brought in that no librarian has edited (so verified) or merged
    /// yet: readable by id, shelved and reviewed like any, but out of this list and of search.
    async fn books(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
        #[graphql(default = true)] verified: bool,
    ) -> Result<Connection<String, Book, ListInfo>> {
        let limit = page_size(first)?;
        let after = after.as_deref().map(parse_books_cursor).transpose()?.unwrap_or(0);
        let (mut rows, total_count) =
            reads::books_after(&app(ctx).pool, after, limit + 1, verified).await.map_err(ApiError::from)?;
        let has_next = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let mut connection = Connection::with_additional_fields(after > 0, has_next, ListInfo { total_count });
        connection.edges.extend(rows.into_iter().map(|row| Edge::new(books_cursor(row.position), Book(row, None))));
        Ok(connection)
    }

    /// A book by its id, or by the ISBN of any of its editions (ISBN-10 or ISBN-13, hyphens
    /// allowed): give one of the two.
    async fn book(&self, ctx: &Context<'_>, id: Option<ID>, isbn: Option<String>) -> Result<Option<Book>> {
        let book_id = match (id, isbn) {
            (Some(id), None) => parse_id("id", &id)?,
            (None, Some(isbn)) => {
                let isbn =
                    Isbn::parse("isbn", &isbn).map_err(|rejection| ApiError::invalid("isbn", rejection.message))?;
                match reads::book_of_isbn(&app(ctx).pool, &isbn.to_string()).await.map_err(ApiError::from)? {
                    Some(book_id) => book_id,
                    None => return Ok(None),
                }
            }
            _ => return Err(ApiError::invalid("id", "give a book's id or an ISBN, one of the two").into()),
        };
        Ok(Book::load_with_figures(ctx, book_id).await?)
    }

    async fn author(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Author>> {
        Ok(Author::load(ctx, parse_id("id", &id)?).await?)
    }
}

#[derive(InputObject)]
pub struct AddBookInput {
    title: String,
    #[graphql(default)]
    subtitle: String,
    #[graphql(default)]
    description: String,
    pages: i32,
    #[graphql(default)]
    format: String,
    first_published: Option<chrono::NaiveDate>,
    author_ids: Vec<ID>,
}

#[derive(InputObject)]
pub struct AddEditionInput {
    book_id: ID,
    /// ISBN-10 or ISBN-13, hyphens allowed; kept as ISBN-13.
    isbn: String,
    /// Hardcover, Paperback, Ebook, Audiobook, …
    #[graphql(default)]
    format: String,
    /// Leave out when unknown.
    pages: Option<i32>,
    #[graphql(default)]
    publisher: String,
    published_on: Option<chrono::NaiveDate>,
    /// A BCP 47 tag: `en`, `pt-BR`.
    #[graphql(default)]
    language: String,
    /// An `https://` address of its cover.
    #[graphql(default)]
    cover_url: String,
}

/// A librarian's edit of a book: a field left out keeps its value.
#[derive(InputObject)]
pub struct EditBookInput {
    title: Option<String>,
    subtitle: Option<String>,
    description: Option<String>,
    pages: Option<i32>,
    format: Option<String>,
    /// null clears the date.
    first_published: MaybeUndefined<chrono::NaiveDate>,
    /// Replaces the book's authors, in this order.
    author_ids: Option<Vec<ID>>,
}

/// A librarian's edit of an author: a field left out keeps its value.
#[derive(InputObject)]
pub struct EditAuthorInput {
    name: Option<String>,
    bio: Option<String>,
}

#[derive(InputObject)]
pub struct AddAuthorInput {
    name: String,
    #[graphql(default)]
    bio: String,
}

/// What an author command did: the stream position to read it at, and the author as it now is.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AuthorPayload {
    position: u64,
    author_id: ID,
}

#[ComplexObject]
impl AuthorPayload {
    /// The new author, read once the read models include it.
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<Author>> {
        reached(ctx, self.position, &[ReadModel::Catalog]).await?;
        Ok(Author::load(ctx, parse_id("authorId", &self.author_id)?).await?)
    }
}

impl AuthorPayload {
    fn new(reply: Identified) -> Self {
        AuthorPayload { position: reply.position(), author_id: ID(reply.id.to_string()) }
    }
}

#[derive(Default)]
pub struct CatalogMutation;

#[Object]
impl CatalogMutation {
    async fn add_author(
        &self,
        ctx: &Context<'_>,
        input: AddAuthorInput,
        idempotency_key: Option<String>,
    ) -> Result<AuthorPayload> {
        let viewer = viewer(ctx)?;
        let request = pb::AddAuthor {
            meta: Some(commands::meta(Some(&viewer), idempotency_key)?),
            name: input.name,
            bio: input.bio,
        };
        Ok(AuthorPayload::new(commands::send(app(ctx), &request).await?))
    }

    async fn add_book(
        &self,
        ctx: &Context<'_>,
        input: AddBookInput,
        idempotency_key: Option<String>,
    ) -> Result<BookPayload> {
        let viewer = viewer(ctx)?;
        let author_ids = input
            .author_ids
            .iter()
            .map(|id| parse_id("authorIds", id).map(|id| id.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let request = pb::AddBook {
            meta: Some(commands::meta(Some(&viewer), idempotency_key)?),
            title: input.title,
            subtitle: input.subtitle,
            description: input.description,
            pages: input.pages,
            format: input.format,
            first_published: input.first_published.map(|d| d.to_string()).unwrap_or_default(),
            author_ids,
        };
        Ok(BookPayload::new(commands::send(app(ctx), &request).await?, &[ReadModel::Catalog]))
    }

    /// Edits a book (librarians only); the edit is kept as an event. An edit that changes
    /// nothing appends nothing.
    async fn edit_book(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        input: EditBookInput,
        idempotency_key: Option<String>,
    ) -> Result<BookPayload> {
        let viewer = viewer(ctx)?;
        let authors = input
            .author_ids
            .map(|ids| {
                ids.iter().map(|id| parse_id("authorIds", id).map(|id| id.to_string())).collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .map(|author_ids| pb::AuthorIds { author_ids });
        let first_published = match input.first_published {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(String::new()),
            MaybeUndefined::Value(day) => Some(day.to_string()),
        };
        let request = pb::EditBook {
            meta: Some(commands::meta(Some(&viewer), idempotency_key)?),
            book_id: parse_id("bookId", &book_id)?.to_string(),
            title: input.title,
            subtitle: input.subtitle,
            description: input.description,
            pages: input.pages,
            format: input.format,
            first_published,
            authors,
            cover: None,
        };
        Ok(BookPayload::new(commands::send(app(ctx), &request).await?, &[ReadModel::Catalog]))
    }

    /// Sets a book's cover from an uploaded PNG or JPEG (librarians only; a multipart upload, at
    /// most 10 MiB and 50 megapixels), re-encoded without its metadata; `Book.cover`.
    async fn set_book_cover(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        file: Upload,
        idempotency_key: Option<String>,
    ) -> Result<BookPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        let book_id = parse_id("bookId", &book_id)?.to_string();
        let cover = Some(store_upload(ctx, file, Purpose::Cover).await?.to_string());
        let request = pb::EditBook { meta, book_id, cover, ..pb::EditBook::default() };
        Ok(BookPayload::new(commands::send(app(ctx), &request).await?, &[ReadModel::Catalog]))
    }

    /// Removes a book's cover (librarians only).
    async fn remove_book_cover(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<BookPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        let book_id = parse_id("bookId", &book_id)?.to_string();
        let request = pb::EditBook { meta, book_id, cover: Some(String::new()), ..pb::EditBook::default() };
        Ok(BookPayload::new(commands::send(app(ctx), &request).await?, &[ReadModel::Catalog]))
    }

    /// Sets an author's photo from an uploaded PNG or JPEG (librarians only; as `setBookCover`),
    /// cropped square; `Author.photo`.
    async fn set_author_photo(
        &self,
        ctx: &Context<'_>,
        author_id: ID,
        file: Upload,
        idempotency_key: Option<String>,
    ) -> Result<AuthorPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        let author_id = parse_id("authorId", &author_id)?.to_string();
        let photo = Some(store_upload(ctx, file, Purpose::Photo).await?.to_string());
        let request = pb::EditAuthor { meta, author_id, photo, ..pb::EditAuthor::default() };
        Ok(AuthorPayload::new(commands::send(app(ctx), &request).await?))
    }

    /// Removes an author's photo (librarians only).
    async fn remove_author_photo(
        &self,
        ctx: &Context<'_>,
        author_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<AuthorPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        let author_id = parse_id("authorId", &author_id)?.to_string();
        let request = pb::EditAuthor { meta, author_id, photo: Some(String::new()), ..pb::EditAuthor::default() };
        Ok(AuthorPayload::new(commands::send(app(ctx), &request).await?))
    }

    /// Merges a duplicate book into another (librarians only). The duplicate's id resolves to
    /// the other book from then on; its readers' ratings, shelves and reviews move there (the
    /// more recent wins where a reader has both), as a job that follows the merge within
    /// seconds; its editions are the other book's.
    async fn merge_books(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        into_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<BookPayload> {
        let viewer = viewer(ctx)?;
        let request = pb::MergeBooks {
            meta: Some(commands::meta(Some(&viewer), idempotency_key)?),
            book_id: parse_id("bookId", &book_id)?.to_string(),
            into_id: parse_id("intoId", &into_id)?.to_string(),
        };
        Ok(BookPayload::new(commands::send(app(ctx), &request).await?, &[ReadModel::Catalog]))
    }

    /// Merges a duplicate author into another (librarians only). The duplicate's id resolves to
    /// the other author from then on, its books list the other, and its followers follow the
    /// other within seconds.
    async fn merge_authors(
        &self,
        ctx: &Context<'_>,
        author_id: ID,
        into_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<AuthorPayload> {
        let viewer = viewer(ctx)?;
        let request = pb::MergeAuthors {
            meta: Some(commands::meta(Some(&viewer), idempotency_key)?),
            author_id: parse_id("authorId", &author_id)?.to_string(),
            into_id: parse_id("intoId", &into_id)?.to_string(),
        };
        Ok(AuthorPayload::new(commands::send(app(ctx), &request).await?))
    }

    /// Edits an author (librarians only); the edit is kept as an event.
    async fn edit_author(
        &self,
        ctx: &Context<'_>,
        author_id: ID,
        input: EditAuthorInput,
        idempotency_key: Option<String>,
    ) -> Result<AuthorPayload> {
        let viewer = viewer(ctx)?;
        let request = pb::EditAuthor {
            meta: Some(commands::meta(Some(&viewer), idempotency_key)?),
            author_id: parse_id("authorId", &author_id)?.to_string(),
            name: input.name,
            bio: input.bio,
            photo: None,
        };
        Ok(AuthorPayload::new(commands::send(app(ctx), &request).await?))
    }

    /// Says a reader's account is this author (librarians only): their reviews then show the
    /// author's badge. An author has one account at a time.
    async fn link_author_profile(
        &self,
        ctx: &Context<'_>,
        author_id: ID,
        reader_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<AuthorPayload> {
        let viewer = viewer(ctx)?;
        let request = pb::LinkAuthorProfile {
            meta: Some(commands::meta(Some(&viewer), idempotency_key)?),
            author_id: parse_id("authorId", &author_id)?.to_string(),
            reader_id: parse_id("readerId", &reader_id)?.to_string(),
        };
        Ok(AuthorPayload::new(commands::send(app(ctx), &request).await?))
    }

    /// Ends the link between an author and a reader's account (librarians only).
    async fn unlink_author_profile(
        &self,
        ctx: &Context<'_>,
        author_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<AuthorPayload> {
        let viewer = viewer(ctx)?;
        let request = pb::UnlinkAuthorProfile {
            meta: Some(commands::meta(Some(&viewer), idempotency_key)?),
            author_id: parse_id("authorId", &author_id)?.to_string(),
        };
        Ok(AuthorPayload::new(commands::send(app(ctx), &request).await?))
    }

    /// Adds an edition to a book (librarians only). An ISBN is one edition's: adding it again,
    /// to any book, is `ALREADY_EXISTS`.
    async fn add_edition(
        &self,
        ctx: &Context<'_>,
        input: AddEditionInput,
        idempotency_key: Option<String>,
    ) -> Result<BookPayload> {
        let viewer = viewer(ctx)?;
        let request = pb::AddEdition {
            meta: Some(commands::meta(Some(&viewer), idempotency_key)?),
            book_id: parse_id("bookId", &input.book_id)?.to_string(),
            isbn: input.isbn,
            format: input.format,
            pages: input.pages.unwrap_or(0),
            publisher: input.publisher,
            published_on: input.published_on.map(|d| d.to_string()).unwrap_or_default(),
            language: input.language,
            cover_url: input.cover_url,
        };
        Ok(BookPayload::new(commands::send(app(ctx), &request).await?, &[ReadModel::Catalog]))
    }
}
