//! The catalog's reads: books and authors by id, a book's authors and editions, a book by an
//! edition's ISBN, and books in pages.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use chrono::NaiveDate;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{Database, Failure};

/// A row of `books`.
#[derive(Debug, Clone)]
pub struct BookRow {
    pub book_id: Uuid,
    pub title: String,
    pub subtitle: String,
    pub description: String,
    pub pages: i32,
    pub format: String,
    pub first_published: Option<NaiveDate>,
    /// Where the book was added in the stream: the order of `books`.
    pub position: i64,
}

/// A row of `authors`.
#[derive(Debug, Clone)]
pub struct AuthorRow {
    pub author_id: Uuid,
    pub name: String,
    pub bio: String,
    /// The reader account a librarian linked to this author.
    pub reader_id: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BookKey(pub Uuid);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuthorKey(pub Uuid);
/// A book's editions, the most recently published first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EditionsOf(pub Uuid);

/// A row of `editions`.
#[derive(Debug, Clone)]
pub struct EditionRow {
    pub isbn: String,
    pub book_id: Uuid,
    pub format: String,
    pub pages: i32,
    pub publisher: String,
    pub published_on: Option<NaiveDate>,
    pub language: String,
    pub cover_url: String,
}

impl Loader<EditionsOf> for Database {
    type Value = Vec<EditionRow>;
    type Error = Failure;

    async fn load(&self, keys: &[EditionsOf]) -> Result<HashMap<EditionsOf, Vec<EditionRow>>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = sqlx::query_as!(
            EditionRow,
            "SELECT isbn, book_id, format, pages, publisher, published_on, language, cover_url
             FROM editions WHERE book_id = ANY($1)
             ORDER BY book_id, published_on DESC NULLS LAST, isbn",
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        let mut editions: HashMap<EditionsOf, Vec<EditionRow>> = HashMap::new();
        for row in rows {
            editions.entry(EditionsOf(row.book_id)).or_default().push(row);
        }
        Ok(editions)
    }
}

/// The book one of whose editions has this ISBN (ISBN-13).
pub async fn book_of_isbn(pool: &PgPool, isbn: &str) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("SELECT book_id FROM editions WHERE isbn = $1", isbn).fetch_optional(pool).await
}

/// A book's authors, in the order the book lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuthorsOf(pub Uuid);

impl Loader<BookKey> for Database {
    type Value = BookRow;
    type Error = Failure;

    async fn load(&self, keys: &[BookKey]) -> Result<HashMap<BookKey, BookRow>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        // A merged duplicate's id resolves to the book it was merged into.
        let rows = sqlx::query!(
            r#"SELECT d.book_id AS "key!", b.book_id, b.title, b.subtitle, b.description, b.pages, b.format,
                      b.first_published, b.position
               FROM books d JOIN books b ON b.book_id = coalesce(d.merged_into, d.book_id)
               WHERE d.book_id = ANY($1)"#,
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        Ok(rows
            .into_iter()
            .map(|b| {
                let row = BookRow {
                    book_id: b.book_id,
                    title: b.title,
                    subtitle: b.subtitle,
                    description: b.description,
                    pages: b.pages,
                    format: b.format,
                    first_published: b.first_published,
                    position: b.position,
                };
                (BookKey(b.key), row)
            })
            .collect())
    }
}

impl Loader<AuthorsOf> for Database {
    type Value = Vec<AuthorRow>;
    type Error = Failure;

    async fn load(&self, keys: &[AuthorsOf]) -> Result<HashMap<AuthorsOf, Vec<AuthorRow>>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = sqlx::query!(
            "SELECT ba.book_id, a.author_id, a.name, a.bio, a.reader_id
             FROM book_authors ba JOIN authors a USING (author_id)
             WHERE ba.book_id = ANY($1)
             ORDER BY ba.book_id, ba.ordinal",
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        let mut authors: HashMap<AuthorsOf, Vec<AuthorRow>> = HashMap::new();
        for row in rows {
            authors.entry(AuthorsOf(row.book_id)).or_default().push(AuthorRow {
                author_id: row.author_id,
                name: row.name,
                bio: row.bio,
                reader_id: row.reader_id,
            });
        }
        Ok(authors)
    }
}

impl Loader<AuthorKey> for Database {
    type Value = AuthorRow;
    type Error = Failure;

    async fn load(&self, keys: &[AuthorKey]) -> Result<HashMap<AuthorKey, AuthorRow>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        // A merged duplicate's id resolves to the author it was merged into.
        let rows = sqlx::query!(
            r#"SELECT d.author_id AS "key!", a.author_id, a.name, a.bio, a.reader_id
               FROM authors d JOIN authors a ON a.author_id = coalesce(d.merged_into, d.author_id)
               WHERE d.author_id = ANY($1)"#,
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        Ok(rows
            .into_iter()
            .map(|a| {
                let row = AuthorRow { author_id: a.author_id, name: a.name, bio: a.bio, reader_id: a.reader_id };
                (AuthorKey(a.key), row)
            })
            .collect())
    }
}

/// The author a reader's account is (the first linked, for a reader with pen names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuthorOfReader(pub Uuid);

impl Loader<AuthorOfReader> for Database {
    type Value = AuthorRow;
    type Error = Failure;

    async fn load(&self, keys: &[AuthorOfReader]) -> Result<HashMap<AuthorOfReader, AuthorRow>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = sqlx::query_as!(
            AuthorRow,
            r#"SELECT DISTINCT ON (reader_id) author_id, name, bio, reader_id
               FROM authors WHERE reader_id = ANY($1) AND merged_into IS NULL ORDER BY reader_id, position"#,
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        Ok(rows.into_iter().filter_map(|a| Some((AuthorOfReader(a.reader_id?), a))).collect())
    }
}

/// How many books list an author.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BooksCountOf(pub Uuid);

impl Loader<BooksCountOf> for Database {
    type Value = i64;
    type Error = Failure;

    async fn load(&self, keys: &[BooksCountOf]) -> Result<HashMap<BooksCountOf, i64>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = sqlx::query!(
            r#"SELECT ba.author_id, count(*) AS "count!" FROM book_authors ba JOIN books b USING (book_id)
               WHERE ba.author_id = ANY($1) AND b.merged_into IS NULL AND b.verified GROUP BY ba.author_id"#,
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        Ok(rows.into_iter().map(|row| (BooksCountOf(row.author_id), row.count)).collect())
    }
}

/// Up to `limit` of an author's books added after stream position `after`, in the order they
/// were added.
pub async fn books_of_author_after(
    pool: &PgPool,
    author_id: Uuid,
    after: i64,
    limit: i64,
) -> Result<Vec<BookRow>, sqlx::Error> {
    sqlx::query_as!(
        BookRow,
        "SELECT b.book_id, b.title, b.subtitle, b.description, b.pages, b.format, b.first_published, b.position
         FROM book_authors ba JOIN books b USING (book_id)
         WHERE ba.author_id = $1 AND b.position > $2 AND b.merged_into IS NULL AND b.verified
         ORDER BY b.position LIMIT $3",
        author_id,
        after,
        limit
    )
    .fetch_all(pool)
    .await
}

/// Up to `limit` books added after stream position `after`, in the order they were added, and
/// how many books there are in all: the verified ones, or those awaiting a librarian.
pub async fn books_after(
    pool: &PgPool,
    after: i64,
    limit: i64,
    verified: bool,
) -> Result<(Vec<BookRow>, i64), sqlx::Error> {
    let rows = sqlx::query_as!(
        BookRow,
        "SELECT book_id, title, subtitle, description, pages, format, first_published, position
         FROM books WHERE position > $1 AND merged_into IS NULL AND verified = $3 ORDER BY position LIMIT $2",
        after,
        limit,
        verified
    )
    .fetch_all(pool)
    .await?;
    // Kept by the catalog projection as books are added, verified and merged.
    let total = sqlx::query_scalar!(
        r#"SELECT coalesce((SELECT books FROM book_counts WHERE verified = $1), 0) AS "count!""#,
        verified
    )
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

/// The book `book_id` was merged into, if it was merged.
pub async fn book_merged_into(db: impl sqlx::PgExecutor<'_>, book_id: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    Ok(sqlx::query_file_scalar!("queries/catalog/book_merged_into.sql", book_id).fetch_optional(db).await?.flatten())
}

/// The author `author_id` was merged into, if it was merged.
pub async fn author_merged_into(db: impl sqlx::PgExecutor<'_>, author_id: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    Ok(sqlx::query_file_scalar!("queries/catalog/author_merged_into.sql", author_id)
        .fetch_optional(db)
        .await?
        .flatten())
}

/// What a bare id names (`node(id:)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    Book,
    Author,
    Reader,
}

crate::text_kind!(NodeKind { Book => "book", Author => "author", Reader => "reader" });

/// What `id` names, if anything.
pub async fn kind_of(db: impl sqlx::PgExecutor<'_>, id: Uuid) -> Result<Option<NodeKind>, sqlx::Error> {
    sqlx::query_file_scalar!(
        "queries/catalog/kind_of.sql",
        id,
        NodeKind::Book as _,
        NodeKind::Author as _,
        NodeKind::Reader as _
    )
    .fetch_optional(db)
    .await
}
