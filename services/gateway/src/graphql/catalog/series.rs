//! Series: librarians make them and place books in them (`#2`, `#2.5`); readers see a book's
//! series, a series' books in order, and their next one to read.

use async_graphql::{
    connection::{Connection, Edge},
    ComplexObject, Context, InputObject, Object, Result, SimpleObject, ID,
};
use readstream_contracts::{proto::commands::v1 as pb, Identified, ReadModel, Reply, SeriesPosition};
use readstream_readmodel::series::{self as reads, SeriesBookRow, SeriesKey, SeriesOfBook, SeriesRow};
use uuid::Uuid;

use crate::{
    commands::{self, parse_id},
    error::ApiError,
    graphql::{
        database::{load_error, loader},
        shared::{app, decode_cursor, encode_cursor, page_size, reached, viewer, Book, ListInfo},
    },
};

const SERIES_CURSOR: &str = "series";

/// A series of books read in order: a trilogy, a saga.
pub struct Series(SeriesRow);

impl Series {
    pub async fn load(ctx: &Context<'_>, series_id: Uuid) -> Result<Option<Series>, ApiError> {
        Ok(loader(ctx).load_one(SeriesKey(series_id)).await.map_err(load_error)?.map(Series))
    }
}

/// A book's number in a series as readers write it: `2`, `2.5`; null when unnumbered.
fn number_label(number: Option<i32>) -> Option<String> {
    number.and_then(|hundredths| SeriesPosition::from_hundredths(hundredths as u32)).map(|n| n.to_string())
}

fn number_value(number: Option<i32>) -> Option<f64> {
    number.map(|hundredths| f64::from(hundredths) / 100.0)
}

#[Object]
impl Series {
    async fn id(&self) -> ID {
        ID(self.0.series_id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn description(&self) -> &str {
        &self.0.description
    }

    /// False while only readers' imports made it: no librarian has edited it yet. In a
    /// verified series, a book an import placed shows once a librarian has verified the book.
    async fn verified(&self) -> bool {
        self.0.verified
    }

    async fn books_count(&self) -> i64 {
        self.0.books_count
    }

    /// Its books in reading order: by number, unnumbered ones last.
    async fn books(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, BookInSeries, ListInfo>> {
        let limit = page_size(first)?;
        let start = after.as_deref().map(parse_cursor).transpose()?;
        let from = start.unwrap_or((-1, Uuid::nil()));
        let mut rows = reads::books(&app(ctx).pool, self.0.series_id, from, limit + 1).await.map_err(ApiError::from)?;
        let has_next = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let total_count = self.0.books_count;
        let mut connection = Connection::with_additional_fields(start.is_some(), has_next, ListInfo { total_count });
        connection.edges.extend(rows.into_iter().map(|row| Edge::new(cursor(&row), BookInSeries(row))));
        Ok(connection)
    }

    /// The viewer's next book of the series: the first in order they have neither read nor
    /// given up on, whole numbers before the novellas between them. Null when they have read
    /// them all, or are not signed in.
    async fn next_to_read(&self, ctx: &Context<'_>) -> Result<Option<BookInSeries>> {
        let Some(viewer) = ctx.data_opt::<crate::auth::Viewer>() else { return Ok(None) };
        let next = reads::next_to_read(&app(ctx).pool, self.0.series_id, viewer.reader_id).await;
        Ok(next.map_err(ApiError::from)?.map(BookInSeries))
    }
}

fn cursor(row: &SeriesBookRow) -> String {
    encode_cursor(SERIES_CURSOR, &format!("{}:{}", row.sort_key, row.book.book_id))
}

fn parse_cursor(cursor: &str) -> Result<(i32, Uuid), ApiError> {
    let key = decode_cursor(SERIES_CURSOR, "after", cursor)?;
    let wrong = || ApiError::invalid("after", "after is not a cursor of this list");
    let (sort_key, book_id) = key.split_once(':').ok_or_else(wrong)?;
    Ok((sort_key.parse().map_err(|_| wrong())?, Uuid::parse_str(book_id).map_err(|_| wrong())?))
}

/// A book in a series, with its number there.
pub struct BookInSeries(SeriesBookRow);

#[Object]
impl BookInSeries {
    /// Its number in the series (2.5 for a novella between the second and the third); null
    /// when unnumbered.
    async fn number(&self) -> Option<f64> {
        number_value(self.0.number)
    }

    /// The number as readers write it: "2", "2.5"; null when unnumbered.
    async fn number_label(&self) -> Option<String> {
        number_label(self.0.number)
    }

    async fn book(&self) -> Book {
        Book(self.0.book.clone(), None)
    }
}

/// A series a book is in, and the book's number there.
pub struct SeriesOfTheBook {
    series_id: Uuid,
    number: Option<i32>,
}

#[Object]
impl SeriesOfTheBook {
    async fn series(&self, ctx: &Context<'_>) -> Result<Option<Series>> {
        Ok(Series::load(ctx, self.series_id).await?)
    }

    /// The book's number in it; null when unnumbered.
    async fn number(&self) -> Option<f64> {
        number_value(self.number)
    }

    /// The number as readers write it: "2", "2.5".
    async fn number_label(&self) -> Option<String> {
        number_label(self.number)
    }
}

/// The series `book_id` is in (`Book.series`), the first added first.
pub async fn of_book(ctx: &Context<'_>, book_id: Uuid) -> Result<Vec<SeriesOfTheBook>, ApiError> {
    let placements = loader(ctx).load_one(SeriesOfBook(book_id)).await.map_err(load_error)?;
    Ok(placements
        .unwrap_or_default()
        .into_iter()
        .map(|placement| SeriesOfTheBook { series_id: placement.series_id, number: placement.number })
        .collect())
}

#[derive(Default)]
pub struct SeriesQuery;

#[Object]
impl SeriesQuery {
    async fn series(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Series>> {
        Ok(Series::load(ctx, parse_id("id", &id)?).await?)
    }
}

#[derive(InputObject)]
pub struct AddSeriesInput {
    name: String,
    #[graphql(default)]
    description: String,
}

/// A librarian's edit of a series: a field left out keeps its value.
#[derive(InputObject)]
pub struct EditSeriesInput {
    name: Option<String>,
    description: Option<String>,
}

/// What a series command did: the stream position to read it at, and the series as it now is.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct SeriesPayload {
    position: u64,
    series_id: ID,
}

#[ComplexObject]
impl SeriesPayload {
    /// The series, read once the read models include the change.
    async fn series(&self, ctx: &Context<'_>) -> Result<Option<Series>> {
        reached(ctx, self.position, &[ReadModel::Catalog]).await?;
        Ok(Series::load(ctx, parse_id("seriesId", &self.series_id)?).await?)
    }
}

impl SeriesPayload {
    fn new(reply: Identified) -> Self {
        SeriesPayload { position: reply.position(), series_id: ID(reply.id.to_string()) }
    }
}

/// A number as a client sends it (2, 2.5, 0.5) in hundredths: 0 to 9999.99, two decimals at most.
fn hundredths(number: f64) -> Result<u32, ApiError> {
    let scaled = number * 100.0;
    let whole = scaled.round();
    if !number.is_finite() || (scaled - whole).abs() > 1e-6 || whole < 0.0 || whole > f64::from(SeriesPosition::MAX) {
        return Err(ApiError::invalid("number", "number is 0 to 9999.99, with two decimals at most"));
    }
    Ok(whole as u32)
}

#[derive(Default)]
pub struct SeriesMutation;

#[Object]
impl SeriesMutation {
    /// Adds a series (librarians only).
    async fn add_series(
        &self,
        ctx: &Context<'_>,
        input: AddSeriesInput,
        idempotency_key: Option<String>,
    ) -> Result<SeriesPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        let request = pb::AddSeries { meta, name: input.name, description: input.description };
        Ok(SeriesPayload::new(commands::send(app(ctx), &request).await?))
    }

    /// Edits a series (librarians only), which verifies it.
    async fn edit_series(
        &self,
        ctx: &Context<'_>,
        series_id: ID,
        input: EditSeriesInput,
        idempotency_key: Option<String>,
    ) -> Result<SeriesPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        let series_id = parse_id("seriesId", &series_id)?.to_string();
        let request = pb::EditSeries { meta, series_id, name: input.name, description: input.description };
        Ok(SeriesPayload::new(commands::send(app(ctx), &request).await?))
    }

    /// Puts a book in a series at `number` (2, 2.5; left out: unnumbered), or moves it there
    /// (librarians only).
    async fn place_book_in_series(
        &self,
        ctx: &Context<'_>,
        series_id: ID,
        book_id: ID,
        number: Option<f64>,
        idempotency_key: Option<String>,
    ) -> Result<SeriesPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        let request = pb::PlaceBookInSeries {
            meta,
            series_id: parse_id("seriesId", &series_id)?.to_string(),
            book_id: parse_id("bookId", &book_id)?.to_string(),
            position: number.map(hundredths).transpose()?,
        };
        Ok(SeriesPayload::new(commands::send(app(ctx), &request).await?))
    }

    /// Takes a book out of a series (librarians only).
    async fn remove_book_from_series(
        &self,
        ctx: &Context<'_>,
        series_id: ID,
        book_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<SeriesPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        let request = pb::RemoveBookFromSeries {
            meta,
            series_id: parse_id("seriesId", &series_id)?.to_string(),
            book_id: parse_id("bookId", &book_id)?.to_string(),
        };
        Ok(SeriesPayload::new(commands::send(app(ctx), &request).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::hundredths;

    #[test]
    fn a_number_is_taken_in_hundredths_and_anything_else_is_refused() {
        assert_eq!(hundredths(2.5).ok(), Some(250));
        assert_eq!(hundredths(0.1).ok(), Some(10));
        assert_eq!(hundredths(9999.99).ok(), Some(999_999));
        for refused in [-1.0, 2.555, 10_000.0, f64::NAN, f64::INFINITY, 1e300] {
            assert!(hundredths(refused).is_err(), "{refused}");
        }
    }
}
