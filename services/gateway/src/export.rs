//! A reader's data, out: `GET /export/goodreads.csv` (their library in the columns of
//! Goodreads' export, so it goes back into Goodreads or into readstream; whole stars, as
//! Goodreads reads them), `GET /export/storygraph.csv` (the same library in StoryGraph's columns,
//! its stars in quarters) and `GET /export/events.ndjson` (every event of every message they
//! acted in, from the stream itself, one JSON object per line). Each needs the reader's bearer
//! token and streams its body, so a library of any size is written row by row.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    body::Body,
    extract::{ConnectInfo, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use bytes::Bytes;
use chrono::{Datelike, NaiveDate};
use futures::{StreamExt as _, TryStreamExt as _};
use readstream_contracts::{input, Code};
use readstream_readmodel::{export::LibraryRow, shelves::ShelfStatus};
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::{
    error::ApiError,
    http::{caller, refusal},
    AppState, Shared,
};

/// The columns of Goodreads' newer export (24), in its order.
pub const GOODREADS_COLUMNS: [&str; 24] = [
    "Book Id",
    "Title",
    "Author",
    "Author l-f",
    "Additional Authors",
    "ISBN",
    "ISBN13",
    "My Rating",
    "Average Rating",
    "Publisher",
    "Binding",
    "Number of Pages",
    "Year Published",
    "Original Publication Year",
    "Date Read",
    "Date Added",
    "Bookshelves",
    "Bookshelves with positions",
    "Exclusive Shelf",
    "My Review",
    "Spoiler",
    "Private Notes",
    "Read Count",
    "Owned Copies",
];

/// The columns of StoryGraph's export (23), in its order.
pub const STORYGRAPH_COLUMNS: [&str; 23] = [
    "Title",
    "Authors",
    "Contributors",
    "ISBN/UID",
    "Format",
    "Read Status",
    "Date Added",
    "Last Date Read",
    "Dates Read",
    "Read Count",
    "Moods",
    "Pace",
    "Character- or Plot-Driven?",
    "Strong Character Development?",
    "Loveable Characters?",
    "Diverse Characters?",
    "Flawed Characters?",
    "Star Rating",
    "Review",
    "Content Warnings",
    "Content Warning Description",
    "Tags",
    "Owned?",
];

/// `/export/goodreads.csv`, `/export/storygraph.csv` and `/export/events.ndjson`.
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/export/goodreads.csv", get(goodreads_csv))
        .route("/export/storygraph.csv", get(storygraph_csv))
        .route("/export/events.ndjson", get(events_ndjson))
}

/// How many stream messages an events export reads at once.
const READ_AHEAD: usize = 16;

type Chunks = mpsc::Sender<Result<Bytes, std::io::Error>>;

/// The reader the request's bearer token names, within the rate limits; the refusal otherwise.
fn reader(app: &AppState, peer: SocketAddr, headers: &HeaderMap) -> Result<Uuid, (StatusCode, ApiError)> {
    match caller(app, peer, headers) {
        Ok((_, Some(viewer))) => Ok(viewer.reader_id),
        Ok((_, None)) => Err((
            StatusCode::UNAUTHORIZED,
            ApiError::new(Code::Unauthenticated, "an export needs `Authorization: Bearer <token>`"),
        )),
        Err(err) if err.code == Code::RateLimited => Err((StatusCode::TOO_MANY_REQUESTS, err)),
        Err(err) => Err((StatusCode::UNAUTHORIZED, err)),
    }
}

/// A body written by `write` as it goes; a failure midway ends the body with an error, so the
/// client sees a broken transfer rather than a file that looks whole.
fn streamed<F, Fut>(content_type: &'static str, filename: &'static str, write: F) -> Response
where
    F: FnOnce(Chunks) -> Fut,
    Fut: std::future::Future<Output = Result<(), anyhow::Error>> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel(8);
    let failed = sender.clone();
    let writing = write(sender);
    tokio::spawn(async move {
        if let Err(err) = writing.await {
            tracing::warn!(error = %err, "export failed midway");
            let _ = failed.send(Err(std::io::Error::other(err.to_string()))).await;
        }
    });
    let body = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, filename),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// `GET /export/goodreads.csv`
async fn goodreads_csv(state: State<Shared>, peer: ConnectInfo<SocketAddr>, headers: HeaderMap) -> Response {
    library_csv(
        state,
        peer,
        &headers,
        "attachment; filename=\"goodreads_library_export.csv\"",
        &GOODREADS_COLUMNS,
        goodreads_record,
    )
}

/// `GET /export/storygraph.csv`
async fn storygraph_csv(state: State<Shared>, peer: ConnectInfo<SocketAddr>, headers: HeaderMap) -> Response {
    library_csv(
        state,
        peer,
        &headers,
        "attachment; filename=\"storygraph_export.csv\"",
        &STORYGRAPH_COLUMNS,
        storygraph_record,
    )
}

/// The reader's library as a CSV download (`disposition` names its file): `columns`, then a `record` of
/// each book.
fn library_csv(
    State((_, app)): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: &HeaderMap,
    disposition: &'static str,
    columns: &'static [&'static str],
    record: fn(LibraryRow) -> Vec<String>,
) -> Response {
    let reader_id = match reader(&app, peer, headers) {
        Ok(reader_id) => reader_id,
        Err((status, err)) => return refusal(status, err),
    };
    let pool = app.pool.clone();
    streamed("text/csv; charset=utf-8", disposition, move |chunks| {
        write_library(pool, reader_id, chunks, columns, record)
    })
}

/// The first day the reader did anything with the book: when both exports say it was added.
fn added_on(row: &LibraryRow) -> Option<NaiveDate> {
    [row.first_day, row.rated_at.map(|at| at.date_naive()), row.written_on].into_iter().flatten().min()
}

/// Goodreads' dates: `2017/04/17`.
fn goodreads_date(day: NaiveDate) -> String {
    day.format("%Y/%m/%d").to_string()
}

/// Goodreads' exclusive shelves for ours.
fn exclusive_shelf(status: ShelfStatus) -> &'static str {
    match status {
        ShelfStatus::WantToRead => "to-read",
        ShelfStatus::CurrentlyReading => "currently-reading",
        ShelfStatus::Paused => "paused",
        ShelfStatus::Read => "read",
        ShelfStatus::DidNotFinish => "did-not-finish",
    }
}

/// "Kathleen E. Smith" → "Smith, Kathleen E.".
fn last_first(name: &str) -> String {
    match name.trim().rsplit_once(' ') {
        Some((first, last)) => format!("{last}, {first}"),
        None => name.trim().to_owned(),
    }
}

/// The title a list shows: "Moscow 1956: The Silenced Spring".
fn full_title(row: &LibraryRow) -> String {
    if row.subtitle.is_empty() {
        row.title.clone()
    } else {
        format!("{}: {}", row.title, row.subtitle)
    }
}

/// A rating in quarter stars as StoryGraph writes it: `4.0`, `3.75`.
fn storygraph_stars(quarters: i16) -> String {
    let stars = f64::from(quarters) / 4.0;
    if stars.fract() == 0.0 {
        format!("{stars:.1}")
    } else {
        stars.to_string()
    }
}

fn storygraph_record(row: LibraryRow) -> Vec<String> {
    let title = full_title(&row);
    let optional_date = |day: Option<NaiveDate>| day.map(goodreads_date).unwrap_or_default();
    let added = added_on(&row);
    // A book without an ISBN goes by its id here, as StoryGraph's own books go by theirs.
    let uid = row.isbn.filter(|isbn| !isbn.is_empty()).unwrap_or_else(|| row.book_id.to_string());
    let format = row.edition_format.filter(|format| !format.is_empty()).unwrap_or(row.format);
    let mut record = vec![
        title,
        row.authors.unwrap_or_default().join(", "),
        String::new(),
        uid,
        format.to_lowercase(),
        row.status.map(exclusive_shelf).unwrap_or_default().to_owned(),
        optional_date(added),
        optional_date(row.finished_on),
        String::new(),
        row.read_count.unwrap_or(0).to_string(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        row.quarter_stars.map(storygraph_stars).unwrap_or_default(),
        row.review.unwrap_or_default(),
        String::new(),
        String::new(),
        row.shelves.unwrap_or_default().join(", "),
        "No".to_owned(),
    ];
    for cell in &mut record {
        input::inert(cell);
    }
    record
}

fn goodreads_record(row: LibraryRow) -> Vec<String> {
    let title = full_title(&row);
    let added = added_on(&row);
    let authors = row.authors.unwrap_or_default();
    let author = authors.first().cloned().unwrap_or_default();
    let isbn13 = row.isbn.unwrap_or_default();
    let isbn10 = readstream_contracts::Isbn::parse("isbn", &isbn13).ok().and_then(|isbn| isbn.isbn10());
    let average = match (row.quarter_stars_sum, row.ratings_count) {
        (Some(quarters), Some(count)) if count > 0 => format!("{:.2}", quarters as f64 / 4.0 / count as f64),
        _ => "0.00".to_owned(),
    };
    let pages = row.edition_pages.filter(|pages| *pages > 0).unwrap_or(row.pages);
    let binding = row.edition_format.filter(|format| !format.is_empty()).unwrap_or(row.format);
    let year = |day: Option<NaiveDate>| day.map(|d| d.year().to_string()).unwrap_or_default();
    let optional_date = |day: Option<NaiveDate>| day.map(goodreads_date).unwrap_or_default();
    let quoted = |isbn: Option<String>| isbn.map(|isbn| format!("=\"{isbn}\"")).unwrap_or_else(|| "=\"\"".to_owned());
    let mut record = vec![
        row.book_id.to_string(),
        title,
        author.clone(),
        last_first(&author),
        authors.get(1..).unwrap_or_default().join(", "),
        quoted(isbn10),
        quoted(Some(isbn13).filter(|isbn| !isbn.is_empty())),
        // Goodreads reads whole stars: quarters rounded half up.
        row.quarter_stars.map_or(0, |quarters| (quarters + 2) / 4).to_string(),
        average,
        row.publisher.unwrap_or_default(),
        binding,
        pages.to_string(),
        year(row.published_on),
        year(row.first_published),
        optional_date(row.finished_on),
        optional_date(added),
        row.shelves.unwrap_or_default().join(", "),
        String::new(),
        row.status.map(exclusive_shelf).unwrap_or_default().to_owned(),
        row.review.unwrap_or_default(),
        if row.spoilers.unwrap_or(false) { "true".to_owned() } else { String::new() },
        String::new(),
        row.read_count.unwrap_or(0).to_string(),
        "0".to_owned(),
    ];
    // Every cell but the ISBNs, whose `="…"` keeps a spreadsheet from dropping their zeros.
    for (column, cell) in GOODREADS_COLUMNS.iter().zip(&mut record) {
        if !ISBN_COLUMNS.contains(column) {
            input::inert(cell);
        }
    }
    record
}

/// The columns written as formulas on purpose.
const ISBN_COLUMNS: [&str; 2] = ["ISBN", "ISBN13"];

/// The reader's library as CSV: `columns`, then a `record` of each book.
async fn write_library(
    pool: PgPool,
    reader_id: Uuid,
    chunks: Chunks,
    columns: &[&str],
    record: fn(LibraryRow) -> Vec<String>,
) -> Result<(), anyhow::Error> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(columns)?;
    let mut rows = readstream_readmodel::export::library(&pool, reader_id);
    while let Some(row) = rows.try_next().await? {
        csv.write_record(record(row))?;
        if csv.get_ref().len() >= 64 * 1024 {
            send(&chunks, csv_chunk(&mut csv)?).await?;
        }
    }
    send(&chunks, csv_chunk(&mut csv)?).await
}

/// What the writer holds so far, taken out of it.
fn csv_chunk(csv: &mut csv::Writer<Vec<u8>>) -> Result<Bytes, anyhow::Error> {
    let full = std::mem::replace(csv, csv::Writer::from_writer(Vec::new()));
    Ok(Bytes::from(full.into_inner().map_err(|err| err.into_error())?))
}

async fn send(chunks: &Chunks, chunk: Bytes) -> Result<(), anyhow::Error> {
    chunks.send(Ok(chunk)).await.map_err(|_| anyhow::anyhow!("the client went away"))
}

/// `GET /export/events.ndjson`
async fn events_ndjson(
    State((_, app)): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let reader_id = match reader(&app, peer, &headers) {
        Ok(reader_id) => reader_id,
        Err((status, err)) => return refusal(status, err),
    };
    streamed("application/x-ndjson", "attachment; filename=\"readstream_events.ndjson\"", move |chunks| {
        write_events(app, reader_id, chunks)
    })
}

async fn write_events(app: Arc<AppState>, reader_id: Uuid, chunks: Chunks) -> Result<(), anyhow::Error> {
    let positions = readstream_readmodel::export::actor_positions(&app.pool, reader_id).await?;
    let store = &app.store;
    let mut messages = futures::stream::iter(positions)
        .map(|position| async move { store.get(position as u64).await })
        .buffered(READ_AHEAD);
    let mut lines = Vec::new();
    while let Some(stored) = messages.try_next().await? {
        let Some(stored) = stored else { continue };
        let meta = &stored.envelope.meta;
        for (index, recorded) in stored.envelope.events.iter().enumerate() {
            let mut line = json!({
                "position": stored.position,
                "index": index,
                "eventId": recorded.id,
                "occurredAt": meta.occurred_at,
                "commandId": meta.command_id,
                "correlationId": meta.correlation_id,
            });
            if let (Value::Object(line), Value::Object(event)) = (&mut line, serde_json::to_value(&recorded.event)?) {
                line.extend(event);
            }
            serde_json::to_writer(&mut lines, &line)?;
            lines.push(b'\n');
        }
        if lines.len() >= 64 * 1024 {
            send(&chunks, Bytes::from(std::mem::take(&mut lines))).await?;
        }
    }
    send(&chunks, Bytes::from(lines)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_dates_and_shelves_are_written_as_goodreads_writes_them() {
        assert_eq!(last_first("Kathleen E. Smith"), "Smith, Kathleen E.");
        assert_eq!(last_first("Homer"), "Homer");
        assert_eq!(goodreads_date(NaiveDate::from_ymd_opt(2017, 4, 7).unwrap_or_default()), "2017/04/07");
        assert_eq!(exclusive_shelf(ShelfStatus::WantToRead), "to-read");
        assert_eq!(exclusive_shelf(ShelfStatus::Read), "read");
        assert_eq!(exclusive_shelf(ShelfStatus::DidNotFinish), "did-not-finish");
    }
}
