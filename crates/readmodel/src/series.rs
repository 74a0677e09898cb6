//! Series: their names, the books in them in order, the series a book is in, and a reader's
//! next book of one.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{catalog::BookRow, Database, Failure};

/// The sort key of a book without a number: after every numbered one (#9999.99 is 999,999).
pub const UNNUMBERED: i32 = 1_000_000;

/// A row of `series`, with how many books it shows.
#[derive(Debug, Clone)]
pub struct SeriesRow {
    pub series_id: Uuid,
    pub name: String,
    pub description: String,
    /// Added, or edited since, by a librarian (not only by readers' imports).
    pub verified: bool,
    pub books_count: i64,
}

/// A series by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeriesKey(pub Uuid);

/// The series a book is in, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeriesOfBook(pub Uuid);

/// A book's place in a series.
#[derive(Debug, Clone)]
pub struct Placement {
    pub series_id: Uuid,
    /// Hundredths: #2.5 is 250; `None`: unnumbered.
    pub number: Option<i32>,
}

/// A book of a series, with its number.
#[derive(Debug, Clone)]
pub struct SeriesBookRow {
    pub book: BookRow,
    pub number: Option<i32>,
    /// Its place in the series' order (`number`, or [`UNNUMBERED`]): with the book's id, the
    /// key of a page.
    pub sort_key: i32,
}

impl Loader<SeriesKey> for Database {
    type Value = SeriesRow;
    type Error = Failure;

    async fn load(&self, keys: &[SeriesKey]) -> Result<HashMap<SeriesKey, SeriesRow>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = sqlx::query_as!(
            SeriesRow,
            r#"SELECT s.series_id, s.name, s.description, s.verified,
                      (SELECT count(*) FROM series_books sb JOIN books b ON b.book_id = sb.book_id
                       WHERE sb.series_id = s.series_id AND b.merged_into IS NULL
                         AND (b.verified OR NOT s.verified)) AS "books_count!"
               FROM series s WHERE s.series_id = ANY($1)"#,
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        Ok(rows.into_iter().map(|row| (SeriesKey(row.series_id), row)).collect())
    }
}

impl Loader<SeriesOfBook> for Database {
    type Value = Vec<Placement>;
    type Error = Failure;

    async fn load(&self, keys: &[SeriesOfBook]) -> Result<HashMap<SeriesOfBook, Vec<Placement>>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = sqlx::query!(
            "SELECT sb.book_id, sb.series_id, sb.number FROM series_books sb JOIN series s USING (series_id)
             WHERE sb.book_id = ANY($1) ORDER BY sb.book_id, s.position",
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        let mut series: HashMap<SeriesOfBook, Vec<Placement>> = HashMap::new();
        for row in rows {
            let placement = Placement { series_id: row.series_id, number: row.number };
            series.entry(SeriesOfBook(row.book_id)).or_default().push(placement);
        }
        Ok(series)
    }
}

macro_rules! series_book {
    ($row:expr) => {{
        let row = $row;
        SeriesBookRow {
            book: BookRow {
                book_id: row.book_id,
                title: row.title,
                subtitle: row.subtitle,
                description: row.description,
                pages: row.pages,
                format: row.format,
                first_published: row.first_published,
                position: row.position,
            },
            number: row.number,
            sort_key: row.sort_key,
        }
    }};
}

/// Up to `limit` of a series' books after `(sort_key, book_id)`, in the series' order.
pub async fn books(
    pool: &PgPool,
    series_id: Uuid,
    after: (i32, Uuid),
    limit: i64,
) -> Result<Vec<SeriesBookRow>, sqlx::Error> {
    let rows =
        sqlx::query_file!("queries/series/books.sql", series_id, after.0, after.1, limit).fetch_all(pool).await?;
    Ok(rows.into_iter().map(|row| series_book!(row)).collect())
}

/// The reader's next book of the series: the first they have neither read nor given up on,
/// main entries before the novellas between them.
pub async fn next_to_read(
    pool: &PgPool,
    series_id: Uuid,
    reader_id: Uuid,
) -> Result<Option<SeriesBookRow>, sqlx::Error> {
    let row = sqlx::query_file!("queries/series/next_to_read.sql", series_id, reader_id).fetch_optional(pool).await?;
    Ok(row.map(|row| series_book!(row)))
}

/// The catalog's series of this name (case, accents and spacing aside), the first added.
pub async fn named(pool: &PgPool, name: &str) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT series_id FROM series WHERE search_text(name) = search_text($1) ORDER BY position LIMIT 1",
        name
    )
    .fetch_optional(pool)
    .await
}
