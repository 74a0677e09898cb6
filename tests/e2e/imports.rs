//! Bringing a library from Goodreads (both header variants) and StoryGraph through a GraphQL
//! multipart upload: books matched by ISBN, then title and author, or added; shelves, dates,
//! ratings and reviews as the file says; bad rows reported and the rest imported; the same
//! file again appends nothing; a job left by a stopped process resumes at its saved row; and a
//! Goodreads export imported into a fresh account gives the same library.

use std::time::Duration;

use readstream_e2e::System;
use readstream_testkit::graphql::GraphQl;
use serde_json::{json, Value};
use sqlx::Connection as _;

use super::{add_seed_book, position, sign_up, ADD_BOOK};

const IMPORT: &str = "mutation($file: Upload!, $format: ImportFormat!) {
    importLibrary(file: $file, format: $format) { id status }
}";
const JOB: &str = "query($id: ID!) { importJob(id: $id) {
    status failure rowsTotal rowsImported rowsSkipped rowsFailed errors { row reason }
} }";

pub(crate) const GOODREADS_HEADER_31: &str = "Book Id,Title,Author,Author l-f,Additional Authors,ISBN,ISBN13,My Rating,Average Rating,Publisher,Binding,Number of Pages,Year Published,Original Publication Year,Date Read,Date Added,Bookshelves,Bookshelves with positions,Exclusive Shelf,My Review,Spoiler,Private Notes,Read Count,Recommended For,Recommended By,Owned Copies,Original Purchase Date,Original Purchase Location,Condition,Condition Description,BCID";
const GOODREADS_HEADER_24: &str = "Book Id,Title,Author,Author l-f,Additional Authors,ISBN,ISBN13,My Rating,Average Rating,Publisher,Binding,Number of Pages,Year Published,Original Publication Year,Date Read,Date Added,Bookshelves,Bookshelves with positions,Exclusive Shelf,My Review,Spoiler,Private Notes,Read Count,Owned Copies";
pub(crate) const STORYGRAPH_HEADER: &str = "Title,Authors,Contributors,ISBN/UID,Format,Read Status,Date Added,Last Date Read,Dates Read,Read Count,Moods,Pace,Character- or Plot-Driven?,Strong Character Development?,Loveable Characters?,Diverse Characters?,Flawed Characters?,Star Rating,Review,Content Warnings,Content Warning Description,Tags,Owned?";

/// The seed book with an edition (ISBN 9780674971806), and a second book of its author
/// without one: what a library's rows match.
async fn catalog(system: &System) -> anyhow::Result<(String, String)> {
    let (moscow, _) = add_seed_book(system).await?;
    let librarian = system.librarian().await?;
    let edition = "mutation($b: ID!) { addEdition(input: { bookId: $b, isbn: \"9780674971806\" }) { position } }";
    librarian.request(edition, json!({ "b": moscow })).await?.data()?;
    let authors =
        librarian.request("query($b: ID!) { book(id: $b) { authors { id } } }", json!({ "b": moscow })).await?;
    let author = authors.data()?["book"]["authors"][0]["id"].clone();
    let input = json!({ "input": { "title": "Gulag Voices", "pages": 200, "authorIds": [author] } });
    let gulag =
        librarian.request(ADD_BOOK, input).await?.data()?["addBook"]["bookId"].as_str().unwrap_or_default().to_owned();
    Ok((moscow, gulag))
}

/// Uploads `file` and waits until its job ends; the job as it ended.
pub(crate) async fn import(reader: &GraphQl, format: &str, file: &str) -> anyhow::Result<Value> {
    let started = reader.upload(IMPORT, json!({ "format": format }), file.as_bytes().to_vec(), "library.csv").await?;
    let id = started.data()?["importLibrary"]["id"].clone();
    wait_for_job(reader, &id).await
}

async fn wait_for_job(reader: &GraphQl, id: &Value) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let job = reader.request(JOB, json!({ "id": id })).await?.data()?["importJob"].clone();
        if job["status"] == "DONE" || job["status"] == "FAILED" {
            return Ok(job);
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "the import never ended: {job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn shelf_of(reader: &GraphQl, book: &str, at: u64) -> anyhow::Result<Value> {
    let query = "query($b: ID!) { book(id: $b) { title authors { name } viewerShelf { status since startedOn finishedOn readCount shelves } } }";
    Ok(reader.request_at(query, json!({ "b": book }), at).await?.data()?["book"].clone())
}

#[tokio::test]
async fn a_goodreads_library_is_imported_once_with_its_dates_and_its_bad_rows_reported() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (moscow, gulag) = catalog(&system).await?;
    let (ana, ana_id) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    ben.request("mutation($r: ID!) { follow(readerId: $r) { position } }", json!({ "r": ana_id })).await?.data()?;
    let file = format!(
        "{GOODREADS_HEADER_31}\n\
         1,\"Moscow 1956: The Silenced Spring\",Kathleen E. Smith,\"Smith, Kathleen E.\",,\"=\"\"0674971809\"\"\",\"=\"\"9780674971806\"\"\",4,4.12,Harvard,Hardcover,448,2017,2017,2024/03/20,2024/03/01,\"soviet-history\",,read,\"Careful.<br/>Humane, and \"\"clear\"\".\",,,1,,,1,,,,,\n\
         2,\"Gulag Voices (Soviet Studies, #2)\",kathleen e. smith,,,=\"\",=\"\",0,0,,,,,,,2023/01/05,,,to-read,,,,0,,,0,,,,,\n\
         3,\"The Way of Kings (The Stormlight Archive, #1)\",Brandon Sanderson,,,=\"\",=\"9780765326355\",0,4.6,Tor,Paperback,1007,2010,2010,,2025/06/01,,,currently-reading,,,,0,,,0,,,,,\n\
         4,Bad Stars,Someone,,,,,9,,,,,,,,2020/01/01,,,read,,,,1,,,0,,,,,\n\
         5,,Nobody,,,,,3,,,,,,,,2020/01/01,,,read,,,,1,,,0,,,,,\n"
    );
    let job = import(&ana, "GOODREADS", &file).await?;
    assert_eq!(
        job,
        json!({ "status": "DONE", "failure": null, "rowsTotal": 5, "rowsImported": 3, "rowsSkipped": 0, "rowsFailed": 2,
                "errors": [{ "row": 4, "reason": "My Rating 9 is not 0 to 5" }, { "row": 5, "reason": "the title is empty" }] })
    );
    let at = system.stream_messages().await?;

    let read = shelf_of(&ana, &moscow, at).await?;
    assert_eq!(
        read["viewerShelf"],
        json!({ "status": "READ", "since": "2024-03-20", "startedOn": null, "finishedOn": "2024-03-20", "readCount": 1,
                "shelves": ["owned", "soviet-history"] }),
        "matched by ISBN, read on the file's day"
    );
    let wanted = shelf_of(&ana, &gulag, at).await?;
    assert_eq!(wanted["viewerShelf"]["status"], json!("WANT_TO_READ"), "matched by title and author: {wanted}");
    assert_eq!(wanted["viewerShelf"]["since"], json!("2023-01-05"));
    let isbns =
        ana.request_at("{ viewer { shelf { nodes { isbn edition { isbn13 } book { id } } } } }", json!({}), at).await?;
    let entries = isbns.data()?["viewer"]["shelf"]["nodes"].as_array().cloned().unwrap_or_default();
    let isbn_of = |book: &str| {
        entries.iter().find(|entry| entry["book"]["id"] == book).map(|e| (e["isbn"].clone(), e["edition"].clone()))
    };
    assert_eq!(
        isbn_of(&moscow),
        Some((json!("9780674971806"), json!({ "isbn13": "9780674971806" }))),
        "the catalog's edition the file named is the one the reader holds"
    );
    let kings = entries.iter().find(|entry| entry["isbn"] == "9780765326355").map(|e| e["book"]["id"].clone());
    let kings = kings.and_then(|id| id.as_str().map(str::to_owned)).unwrap_or_default();
    assert_eq!(isbn_of(&kings), Some((json!("9780765326355"), Value::Null)), "the reader's own ISBN: {entries:?}");
    let claimed = ana.request_at("{ book(isbn: \"9780765326355\") { id } }", json!({}), at).await?;
    assert_eq!(claimed.data()?["book"], Value::Null, "an import gives the catalog no ISBN");
    let kings = shelf_of(&ana, &kings, at).await?;
    assert_eq!(
        (&kings["title"], &kings["authors"], &kings["viewerShelf"]["status"], &kings["viewerShelf"]["startedOn"]),
        (
            &json!("The Way of Kings"),
            &json!([{ "name": "Brandon Sanderson" }]),
            &json!("CURRENTLY_READING"),
            &json!("2025-06-01")
        ),
        "a book the catalog lacked was added: {kings}"
    );
    let reviews = "{ reader(handle: \"ana\") { reviews(first: 5) { edges { node { body stars writtenOn } } } } }";
    let reviews = ana.request_at(reviews, json!({}), at).await?;
    assert_eq!(
        reviews.data()?["reader"]["reviews"]["edges"][0]["node"],
        json!({ "body": "Careful.\nHumane, and \"clear\".", "stars": 4, "writtenOn": "2024-03-20" })
    );
    let stats = ana.request_at("{ viewer { readingStats(year: 2024) { booksFinished } } }", json!({}), at).await?;
    assert_eq!(
        stats.data()?["viewer"]["readingStats"]["booksFinished"],
        json!(1),
        "yearly stats count the file's dates"
    );

    // Ben, who follows Ana, sees one summary, not a row of activities.
    let feed = ben
        .request_at("{ viewer { feed(first: 20) { edges { node { kind books reader { handle } } } } } }", json!({}), at)
        .await?;
    assert_eq!(
        feed.data()?["viewer"]["feed"]["edges"],
        json!([{ "node": { "kind": "IMPORTED", "books": 3, "reader": { "handle": "ana" } } }])
    );

    // The same file again appends nothing.
    let before = system.stream_messages().await?;
    let again = import(&ana, "GOODREADS", &file).await?;
    assert_eq!(
        (&again["rowsImported"], &again["rowsSkipped"], &again["rowsFailed"]),
        (&json!(0), &json!(3), &json!(2))
    );
    assert_eq!(system.stream_messages().await?, before, "a second import of the same file appended nothing");

    // Another reader cannot see the job; a file of another format fails, naming why.
    let other = ben.upload(IMPORT, json!({ "format": "STORYGRAPH" }), file.into_bytes(), "goodreads.csv").await?;
    let other = other.data()?["importLibrary"]["id"].clone();
    let failed = wait_for_job(&ben, &other).await?;
    assert_eq!(failed["failure"], json!("this is not a STORYGRAPH export: it has no Authors column"));
    let hidden = ana.request(JOB, json!({ "id": other })).await?;
    assert_eq!(hidden.data()?["importJob"], Value::Null);
    let anonymous = system.client().upload(IMPORT, json!({ "format": "GOODREADS" }), b"x".to_vec(), "x.csv").await?;
    assert_eq!(anonymous.error_code(), Some("UNAUTHENTICATED"));
    system.stop().await
}

#[tokio::test]
async fn the_newer_goodreads_columns_and_storygraph_quarter_stars_are_imported() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (moscow, gulag) = catalog(&system).await?;
    let (cyd, _) = sign_up(&system, "cyd").await?;
    let goodreads = format!(
        "{GOODREADS_HEADER_24}\n\
         7,Gulag Voices,Kathleen E. Smith,\"Smith, Kathleen E.\",,,,5,4.0,,,200,,2011,2022/12/31,2022/12/01,dnf-pile,,did-not-finish,\"Too grim\nto finish.\",true,,0,0\n"
    );
    let job = import(&cyd, "GOODREADS", &goodreads).await?;
    assert_eq!((&job["rowsImported"], &job["rowsFailed"]), (&json!(1), &json!(0)), "{job}");
    let at = system.stream_messages().await?;
    let dropped = shelf_of(&cyd, &gulag, at).await?;
    assert_eq!(
        (&dropped["viewerShelf"]["status"], &dropped["viewerShelf"]["since"], &dropped["viewerShelf"]["shelves"]),
        (&json!("DID_NOT_FINISH"), &json!("2022-12-31"), &json!(["dnf-pile"]))
    );

    let (dee, _) = sign_up(&system, "dee").await?;
    let storygraph = format!(
        "{STORYGRAPH_HEADER}\n\
         Moscow 1956,Kathleen E. Smith,,9780674971806,hardcover,read,2023/12/27,2024/03/20,\"2023/01/02-2023/01/20, 2024/03/01-2024/03/20\",2,reflective,slow,,,,,,3.75,Careful.,,,\"history, russia\",Yes\n"
    );
    let job = import(&dee, "STORYGRAPH", &storygraph).await?;
    assert_eq!((&job["rowsImported"], &job["rowsFailed"]), (&json!(1), &json!(0)), "{job}");
    let at = system.stream_messages().await?;
    let read = shelf_of(&dee, &moscow, at).await?;
    assert_eq!(
        read["viewerShelf"],
        json!({ "status": "READ", "since": "2024-03-20", "startedOn": "2024-03-01", "finishedOn": "2024-03-20",
                "readCount": 2, "shelves": ["history", "owned", "russia"] })
    );
    let ratings = dee
        .request_at(
            "query($b: ID!) { book(id: $b) { ratings { histogram { stars count } } } }",
            json!({ "b": moscow }),
            at,
        )
        .await?;
    let four = ratings.data()?["book"]["ratings"]["histogram"].as_array().cloned().unwrap_or_default();
    assert!(four.contains(&json!({ "stars": 4, "count": 1 })), "3.75 stars count as 4: {four:?}");
    let (_, events) = dee.download("/export/events.ndjson").await?;
    assert!(
        events.lines().any(|line| line.contains("\"type\":\"BookRated\"") && line.contains("\"stars\":3.75")),
        "{events}"
    );
    system.stop().await
}

#[tokio::test]
async fn a_book_read_three_times_imports_as_three_reads_ending_on_its_date_read() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (_, gulag) = catalog(&system).await?;
    let (eve, _) = sign_up(&system, "eve").await?;
    // Read three times, the file knowing only the last day it was read and the day it was added.
    let goodreads = format!(
        "{GOODREADS_HEADER_24}\n\
         8,Gulag Voices,Kathleen E. Smith,\"Smith, Kathleen E.\",,,,0,4.0,,,200,,2011,2023/05/02,2021/01/10,,,read,,,,3,0\n"
    );
    let job = import(&eve, "GOODREADS", &goodreads).await?;
    assert_eq!((&job["rowsImported"], &job["rowsFailed"]), (&json!(1), &json!(0)), "{job}");
    let at = system.stream_messages().await?;
    let read = shelf_of(&eve, &gulag, at).await?;
    assert_eq!(
        (&read["viewerShelf"]["status"], &read["viewerShelf"]["finishedOn"], &read["viewerShelf"]["readCount"]),
        (&json!("READ"), &json!("2023-05-02"), &json!(3)),
        "{read}"
    );
    // The same file again adds no fourth read.
    let again = import(&eve, "GOODREADS", &goodreads).await?;
    assert_eq!(again["rowsSkipped"], json!(1), "{again}");
    let at = system.stream_messages().await?;
    assert_eq!(shelf_of(&eve, &gulag, at).await?["viewerShelf"]["readCount"], json!(3));
    system.stop().await
}

#[tokio::test]
async fn a_job_left_by_a_stopped_process_resumes_at_its_saved_row() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (moscow, gulag) = catalog(&system).await?;
    let (eve, eve_id) = sign_up(&system, "eve").await?;
    let file = format!(
        "{GOODREADS_HEADER_24}\n\
         1,Gulag Voices,Kathleen E. Smith,,,,,3,,,,,,,,2020/01/01,,,to-read,,,,0,0\n\
         2,Ghost Row,Nobody Known,,,,,3,,,,,,,,2020/01/01,,,to-read,,,,0,0\n\
         3,Moscow 1956,Kathleen E. Smith,,,,,5,,,,,,,2021/02/02,2021/01/01,,,read,,,,1,0\n\
         4,Bad Stars,Someone,,,,,9,,,,,,,,2020/01/01,,,read,,,,1,0\n"
    );
    // As a process that stopped after saving two rows left it: running, held no more.
    let mut db = sqlx::PgConnection::connect(&system.database_url).await?;
    let job_id = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO import_jobs (job_id, reader_id, format, status, stream_position, rows_total, rows_imported, next_row,
                                  held_until)
         VALUES ($1, $2, 'GOODREADS', 'RUNNING', $3, 4, 2, 3, now() - interval '1 second')",
    )
    .bind(job_id)
    .bind(uuid::Uuid::parse_str(&eve_id)?)
    .bind(system.stream_messages().await? as i64)
    .execute(&mut db)
    .await?;
    sqlx::query("INSERT INTO import_chunks (job_id, seq, data) VALUES ($1, 0, $2)")
        .bind(job_id)
        .bind(file.into_bytes())
        .execute(&mut db)
        .await?;

    let job = wait_for_job(&eve, &json!(job_id)).await?;
    assert_eq!(
        (&job["rowsTotal"], &job["rowsImported"], &job["rowsFailed"], &job["errors"][0]["row"]),
        (&json!(4), &json!(3), &json!(1), &json!(4))
    );
    let at = system.stream_messages().await?;
    assert_eq!(shelf_of(&eve, &moscow, at).await?["viewerShelf"]["status"], json!("READ"), "row 3 was imported");
    assert_eq!(shelf_of(&eve, &gulag, at).await?["viewerShelf"], Value::Null, "row 1 was saved as done: not redone");
    let ghost = eve
        .request_at("{ search(query: \"Ghost Row\", kinds: [BOOK]) { edges { node { __typename } } } }", json!({}), at)
        .await?;
    assert_eq!(ghost.data()?["search"]["edges"], json!([]), "row 2 was saved as done: its book never added");
    system.stop().await
}

#[tokio::test]
async fn a_goodreads_export_imported_into_a_fresh_account_gives_the_same_library() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (moscow, gulag) = catalog(&system).await?;
    let (fay, _) = sign_up(&system, "fay").await?;
    let steps = [
        ("mutation($b: ID!) { wantToRead(bookId: $b, on: \"2024-02-10\") { position } }", &moscow),
        ("mutation($b: ID!) { startReading(bookId: $b, startedOn: \"2024-03-01\") { position } }", &moscow),
        ("mutation($b: ID!) { finishReading(bookId: $b, finishedOn: \"2024-03-20\") { position } }", &moscow),
        ("mutation($b: ID!) { rateBook(bookId: $b, stars: 4) { position } }", &moscow),
        ("mutation($b: ID!) { addToShelf(bookId: $b, name: \"soviet history\") { position } }", &moscow),
        ("mutation($b: ID!) { wantToRead(bookId: $b, on: \"2025-01-05\") { position } }", &gulag),
    ];
    for (mutation, book) in steps {
        fay.request(mutation, json!({ "b": book })).await?.data()?;
    }
    // A review a spreadsheet would run as a formula: exported inert, imported as written.
    let review = "mutation($b: ID!) { publishReview(bookId: $b, body: \"=Careful,\\nand \\\"humane\\\".\", containsSpoilers: true,
                  writtenOn: \"2024-03-21\") { position } }";
    let at = position(&fay.request(review, json!({ "b": moscow })).await?.data()?["publishReview"])?;
    fay.request_at("{ viewer { handle } }", json!({}), at).await?.data()?;
    let (_, exported) = fay.download("/export/goodreads.csv").await?;
    assert!(exported.contains("\"'=Careful,\nand \"\"humane\"\".\""), "the review's cell is inert: {exported}");

    let (gus, _) = sign_up(&system, "gus").await?;
    let job = import(&gus, "GOODREADS", &exported).await?;
    assert_eq!((&job["rowsImported"], &job["rowsFailed"]), (&json!(2), &json!(0)), "{job}");
    let at = system.stream_messages().await?;
    gus.request_at("{ viewer { handle } }", json!({}), at).await?.data()?;
    let (_, again) = gus.download("/export/goodreads.csv").await?;
    let columns = [
        "Book Id",
        "Title",
        "Author",
        "ISBN13",
        "My Rating",
        "Date Read",
        "Date Added",
        "Bookshelves",
        "Exclusive Shelf",
        "My Review",
        "Spoiler",
        "Read Count",
    ];
    let library = |csv: &str| -> anyhow::Result<Vec<Vec<String>>> {
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let header: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
        let picked: Vec<usize> = columns.iter().filter_map(|c| header.iter().position(|h| h == c)).collect();
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record?;
            rows.push(picked.iter().map(|&i| record.get(i).unwrap_or_default().to_owned()).collect());
        }
        rows.sort();
        Ok(rows)
    };
    let (before, after) = (library(&exported)?, library(&again)?);
    assert_eq!(before.len(), 2, "{exported}");
    assert_eq!(after, before, "the same books, shelves, ratings, reviews and dates");
    system.stop().await
}

#[tokio::test]
async fn a_large_upload_is_followed_live_to_its_end() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (moscow, _) = catalog(&system).await?;
    let (hal, _) = sign_up(&system, "hal").await?;
    // Over the 1 MiB a JSON request may have: an upload may be larger.
    let mut file =
        format!("{GOODREADS_HEADER_24}\n1,Moscow 1956,Kathleen E. Smith,,,,,5,,,,,,,,2024/01/01,,,read,,,,1,0\n");
    let mut row = 2;
    while file.len() < (2 << 20) {
        file.push_str(&format!("{row},Unrated {row},Someone,,,,,7,,,,,,,,2024/01/01,,,read,,,,1,0\n"));
        row += 1;
    }
    let started = hal.upload(IMPORT, json!({ "format": "GOODREADS" }), file.into_bytes(), "big.csv").await?;
    let id = started.data()?["importLibrary"]["id"].clone();
    let mut progress = hal
        .subscribe(
            "subscription($id: ID!) { importProgress(jobId: $id) { status rowsTotal rowsImported rowsFailed } }",
            json!({ "id": id }),
        )
        .await?;
    let mut last = Value::Null;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while last["status"] != "DONE" {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "no DONE pushed; last {last}");
        last = progress.next(Duration::from_secs(30)).await?["importProgress"].clone();
    }
    assert_eq!(last, json!({ "status": "DONE", "rowsTotal": row - 1, "rowsImported": 1, "rowsFailed": row - 2 }));
    let at = system.stream_messages().await?;
    assert_eq!(shelf_of(&hal, &moscow, at).await?["viewerShelf"]["status"], json!("READ"));
    system.stop().await
}

#[tokio::test]
async fn a_reader_with_two_imports_still_running_must_wait_for_one() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ivy, ivy_id) = sign_up(&system, "ivy").await?;
    let mut db = sqlx::PgConnection::connect(&system.database_url).await?;
    // Two jobs another process holds for a while yet.
    for _ in 0..2 {
        sqlx::query(
            "INSERT INTO import_jobs (job_id, reader_id, format, status, stream_position, held_until)
             VALUES ($1, $2, 'GOODREADS', 'RUNNING', 0, now() + interval '1 hour')",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(uuid::Uuid::parse_str(&ivy_id)?)
        .execute(&mut db)
        .await?;
    }
    let file = format!("{GOODREADS_HEADER_24}\n").into_bytes();
    let refused = ivy.upload(IMPORT, json!({ "format": "GOODREADS" }), file.clone(), "third.csv").await?;
    assert_eq!(refused.error_code(), Some("LIMIT_EXCEEDED"), "{:?}", refused.0);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM import_jobs").fetch_one(&mut db).await?;
    assert_eq!(stored, 2, "the refused upload stored nothing");
    // Someone else is not held up by Ivy's jobs.
    let (jay, _) = sign_up(&system, "jay").await?;
    let job = import(&jay, "GOODREADS", &format!("{GOODREADS_HEADER_24}\n")).await?;
    assert_eq!((&job["status"], &job["rowsTotal"]), (&json!("DONE"), &json!(0)));
    system.stop().await
}

/// A book the catalog lacks, whose row gives no page count, is added with an unknown (0) page
/// count: the catalog projection stores it (it dead-lettered every such book before), so the
/// job's DONE means the reader's shelf shows it.
#[tokio::test]
async fn books_the_catalog_lacks_without_a_page_count_are_added_and_shelved() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let file = format!(
        "{GOODREADS_HEADER_24}\n\
         1,Unpaged Book,New Author,,,,,4,,,,,,,2024/03/20,2024/03/01,,,read,,,,1,0\n\
         2,Another Unpaged Book,New Author,,,,,0,,,,,,,,2024/03/01,,,to-read,,,,0,0\n"
    );
    let started = ana.upload(IMPORT, json!({ "format": "GOODREADS" }), file.into_bytes(), "library.csv").await?;
    let id = started.data()?["importLibrary"]["id"].clone();
    let job = wait_for_job(&ana, &id).await?;
    assert_eq!(
        (&job["status"], &job["rowsImported"], &job["rowsFailed"]),
        (&json!("DONE"), &json!(2), &json!(0)),
        "{job}"
    );
    // DONE means readable, at the job's own position.
    let ended = ana.request("query($id: ID!) { importJob(id: $id) { position } }", json!({ "id": id })).await?;
    let at = ended.data()?["importJob"]["position"].as_u64().unwrap_or_default();
    assert!(at > 0, "a DONE job has a position: {:?}", ended.0);
    let shelf = ana.request_at("{ viewer { shelf { nodes { status book { title pages } } } } }", json!({}), at).await?;
    let mut nodes = shelf.data()?["viewer"]["shelf"]["nodes"].as_array().cloned().unwrap_or_default();
    nodes.sort_by_key(|node| node["book"]["title"].as_str().map(str::to_owned));
    assert_eq!(
        nodes,
        [
            json!({ "status": "WANT_TO_READ", "book": { "title": "Another Unpaged Book", "pages": 0 } }),
            json!({ "status": "READ", "book": { "title": "Unpaged Book", "pages": 0 } }),
        ]
    );
    let mut db = sqlx::PgConnection::connect(&system.database_url).await?;
    let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM dead_letters").fetch_one(&mut db).await?;
    assert_eq!(dead, 0, "no projection set a message aside");
    system.stop().await
}

/// A job that fails every time (here the catalog service is not running, so a book the
/// catalog lacks can never be added) is tried again after a growing wait, then FAILED with its
/// last error: before, it was tried again every second, for ever, ahead of everyone's.
#[tokio::test]
async fn a_job_that_fails_every_time_is_tried_a_bounded_number_of_times_then_failed() -> anyhow::Result<()> {
    let imports = readstream_worker::import::ImportConfig { max_attempts: 3, retry_first_ms: 50, turn_ms: 10_000 };
    let options = readstream_e2e::Options { without: vec![readstream_catalog::SERVICE], imports, ..Default::default() };
    let system = System::start_with(options).await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let file = format!("{GOODREADS_HEADER_24}\n1,Nowhere Yet,New Author,,,,,4,,,,,,,,2024/03/01,,,to-read,,,,0,0\n");
    let job = import(&ana, "GOODREADS", &file).await?;
    assert_eq!(job["status"], "FAILED", "{job}");
    let failure = job["failure"].as_str().unwrap_or_default();
    assert!(failure.starts_with("stopped 3 times without progress"), "{failure}");
    system.stop().await
}

/// Readers take turns: a large import lets a later, small one of another reader run after its
/// turn (here every batch of 500 rows), rather than the oldest job running to its end first.
#[tokio::test]
async fn imports_of_different_readers_take_turns() -> anyhow::Result<()> {
    let imports = readstream_worker::import::ImportConfig { turn_ms: 0, ..Default::default() };
    let system = System::start_with(readstream_e2e::Options { imports, ..Default::default() }).await?;
    add_seed_book(&system).await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    let row = "1,Moscow 1956,Kathleen E. Smith,,,,,0,,,,,,,,2024/03/01,,,to-read,,,,0,0\n";
    let large = format!("{GOODREADS_HEADER_24}\n{}", row.repeat(5_000));
    let started = ana.upload(IMPORT, json!({ "format": "GOODREADS" }), large.into_bytes(), "large.csv").await?;
    let large_job = started.data()?["importLibrary"]["id"].clone();
    let small = import(&ben, "GOODREADS", &format!("{GOODREADS_HEADER_24}\n{row}")).await?;
    assert_eq!(small["status"], "DONE", "{small}");
    let large = ana.request(JOB, json!({ "id": large_job })).await?.data()?["importJob"].clone();
    assert_ne!(large["status"], "DONE", "the large job ran to its end before the small one had a turn: {large}");
    assert_eq!(wait_for_job(&ana, &large_job).await?["rowsTotal"], 5_000);
    system.stop().await
}

/// What an import brings into the shared catalog is unverified: shelved like any book and met
/// again by the next importer of the same title and author, but out of search and of the
/// catalog's list until a librarian edits (so verifies) it.
#[tokio::test]
async fn books_an_import_adds_stay_out_of_search_and_lists_until_a_librarian_verifies_them() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    let row = "1,Spam Spam Spam,Vandal Press,,,,,5,,,,,,,,2024/03/01,,,to-read,,,,0,0\n";
    let file = format!("{GOODREADS_HEADER_24}\n{row}");
    assert_eq!(import(&ana, "GOODREADS", &file).await?["rowsImported"], 1);
    assert_eq!(import(&ben, "GOODREADS", &file).await?["rowsImported"], 1, "the second importer meets the same book");
    let at = system.stream_messages().await?;
    let shelf = ana.request_at("{ viewer { shelf { nodes { book { id title } } } } }", json!({}), at).await?;
    let book = shelf.data()?["viewer"]["shelf"]["nodes"][0]["book"].clone();
    assert_eq!(book["title"], "Spam Spam Spam", "shelved like any book");
    let bens = ben.request_at("{ viewer { shelf { nodes { book { id } } } } }", json!({}), at).await?;
    assert_eq!(bens.data()?["viewer"]["shelf"]["nodes"][0]["book"]["id"], book["id"]);

    let search = "query($q: String!) { search(query: $q) { edges { node { __typename } } } }";
    let listed = |verified: bool| {
        let ana = ana.clone();
        async move {
            let query = "query($v: Boolean!) { books(verified: $v) { totalCount edges { node { title } } } }";
            let response = ana.request_at(query, json!({ "v": verified }), at).await?;
            Ok::<_, anyhow::Error>(response.data()?["books"]["totalCount"].as_i64().unwrap_or(-1))
        }
    };
    for query in ["Spam Spam Spam", "Vandal Press"] {
        let found = ana.request_at(search, json!({ "q": query }), at).await?;
        assert_eq!(found.data()?["search"]["edges"], json!([]), "{query} is found before a librarian looked");
    }
    assert_eq!((listed(true).await?, listed(false).await?), (0, 1));

    let librarian = system.librarian().await?;
    let edit = "mutation($b: ID!) { editBook(bookId: $b, input: { title: \"Spam: A History\" }) { position } }";
    let at = position(&librarian.request(edit, json!({ "b": book["id"] })).await?.data()?["editBook"])?;
    let found = ana.request_at(search, json!({ "q": "spam a history" }), at).await?;
    assert_eq!(found.data()?["search"]["edges"], json!([{ "node": { "__typename": "Book" } }]), "verified by the edit");
    let at = at.max(system.stream_messages().await?);
    let query = "query($v: Boolean!) { books(verified: $v) { totalCount } }";
    let verified = ana.request_at(query, json!({ "v": true }), at).await?;
    assert_eq!(verified.data()?["books"]["totalCount"], 1);
    let awaiting = ana.request_at(query, json!({ "v": false }), at).await?;
    assert_eq!(awaiting.data()?["books"]["totalCount"], 0, "the edit took it off the unverified list's count");
    system.stop().await
}

#[tokio::test]
async fn an_import_never_claims_an_isbn_for_the_catalog_the_readers_copy_keeps_it() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    // Ana's file gives a real book's ISBN to a title of her own making.
    let spam = "1,Spam Spam Spam,Vandal Press,,,=\"\",=\"9780765326355\",0,,,,,,,,2024/03/01,,,to-read,,,,0,0\n";
    assert_eq!(import(&ana, "GOODREADS", &format!("{GOODREADS_HEADER_24}\n{spam}")).await?["rowsImported"], 1);
    let at = system.stream_messages().await?;
    let claimed = ben.request_at("{ book(isbn: \"9780765326355\") { id } }", json!({}), at).await?;
    assert_eq!(claimed.data()?["book"], Value::Null, "the ISBN is no book's in the catalog");
    let shelf = "{ viewer { shelf { nodes { isbn edition { isbn13 } book { id title } } } } }";
    let anas = ana.request_at(shelf, json!({}), at).await?.data()?["viewer"]["shelf"]["nodes"][0].clone();
    assert_eq!(
        (&anas["isbn"], &anas["edition"], &anas["book"]["title"]),
        (&json!("9780765326355"), &Value::Null, &json!("Spam Spam Spam"))
    );
    let (_, exported) = ana.download("/export/goodreads.csv").await?;
    assert!(exported.contains("=\"\"9780765326355\"\""), "her export keeps her ISBN: {exported}");

    // Ben's file names the same ISBN for the book it is: he meets his own title, not hers.
    let kings =
        "1,The Way of Kings,Brandon Sanderson,,,=\"\",=\"9780765326355\",0,,,,,,,,2024/03/01,,,to-read,,,,0,0\n";
    assert_eq!(import(&ben, "GOODREADS", &format!("{GOODREADS_HEADER_24}\n{kings}")).await?["rowsImported"], 1);
    let at = system.stream_messages().await?;
    let bens = ben.request_at(shelf, json!({}), at).await?.data()?["viewer"]["shelf"]["nodes"][0].clone();
    assert_eq!((&bens["isbn"], &bens["book"]["title"]), (&json!("9780765326355"), &json!("The Way of Kings")));
    assert_ne!(bens["book"]["id"], anas["book"]["id"]);

    // A librarian merges Ana's book into the catalog's: her ISBN moves with her copy.
    let (into, _) = add_seed_book(&system).await?;
    let librarian = system.librarian().await?;
    let merge = "mutation($b: ID!, $into: ID!) { mergeBooks(bookId: $b, intoId: $into) { position } }";
    librarian.request(merge, json!({ "b": anas["book"]["id"], "into": into })).await?.data()?;
    let dup = anas["book"]["id"].as_str().unwrap_or_default();
    let at = super::merges::moved(&system, dup).await?;
    let moved = ana.request_at(shelf, json!({}), at).await?.data()?["viewer"]["shelf"]["nodes"].clone();
    assert_eq!(
        moved,
        json!([{ "isbn": "9780765326355", "edition": null, "book": { "id": into, "title": "Moscow 1956" } }])
    );
    system.stop().await
}
