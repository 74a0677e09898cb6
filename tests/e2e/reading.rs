//! Shelves, progress and rereads, end to end through GraphQL.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{Datelike, Days, NaiveDate, Utc};
use futures::future::{join_all, try_join_all};
use readstream_e2e::System;
use readstream_testkit::graphql::{GraphQl, Response};
use serde_json::{json, Value};

use super::{add_seed_book, position, sign_up, sign_up_many};

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn days_ago(days: u64) -> NaiveDate {
    today().checked_sub_days(Days::new(days)).unwrap_or(NaiveDate::MIN)
}

/// Runs one reading mutation; returns its position.
async fn step(reader: &GraphQl, mutation: &str, args: &str, vars: Value) -> anyhow::Result<u64> {
    let response = attempt(reader, mutation, args, vars).await?;
    position(&response.data()?[mutation]).with_context(|| format!("{mutation}: {:?}", response.0))
}

async fn attempt(reader: &GraphQl, mutation: &str, args: &str, vars: Value) -> anyhow::Result<Response> {
    // Declare just the variables `args` uses: GraphQL refuses unused ones.
    let types = [("on", "NaiveDate"), ("page", "Int"), ("percent", "Int"), ("note", "String"), ("name", "String!")];
    let declared: String = types
        .iter()
        .filter(|(name, _)| args.contains(&format!("${name}")))
        .map(|(name, kind)| format!(", ${name}: {kind}"))
        .collect();
    let query = format!(
        "mutation($book: ID!, $key: String{declared}) {{
            {mutation}(bookId: $book{args}, idempotencyKey: $key) {{ position }}
        }}"
    );
    reader.request(&query, vars).await
}

fn book_vars(book: &str, extra: Value) -> Value {
    let mut vars = json!({ "book": book });
    if let (Some(vars), Some(extra)) = (vars.as_object_mut(), extra.as_object()) {
        vars.extend(extra.clone());
    }
    vars
}

#[tokio::test]
async fn the_seed_pages_shelf_counts_come_from_that_many_readers() -> anyhow::Result<()> {
    let system = System::start().await?;
    let readers = sign_up_many(&system, "shelver", 147).await?;
    let (book, _) = add_seed_book(&system).await?;
    let shelved = readers.iter().enumerate().map(|(i, reader)| {
        let book = book.clone();
        async move {
            if i < 6 {
                step(reader, "startReading", "", json!({ "book": book })).await
            } else {
                step(reader, "wantToRead", ", on: $on", json!({ "book": book })).await
            }
        }
    });
    let at = try_join_all(shelved).await?.into_iter().max().unwrap_or_default();
    let response = readers[0]
        .request_at(
            "query($id: ID!) { book(id: $id) { shelfCounts { wantToRead currentlyReading read didNotFinish paused } } }",
            json!({ "id": book }),
            at,
        )
        .await?;
    assert_eq!(
        response.data()?["book"]["shelfCounts"],
        json!({ "wantToRead": 141, "currentlyReading": 6, "read": 0, "didNotFinish": 0, "paused": 0 })
    );
    system.stop().await
}

#[tokio::test]
async fn shelf_counts_move_live() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (book, _) = add_seed_book(&system).await?;
    let mut live = ana
        .subscribe(
            "subscription($id: ID!) { bookShelfCountsChanged(bookId: $id) { position counts { wantToRead currentlyReading } } }",
            json!({ "id": book }),
        )
        .await?;
    let now = live.next(Duration::from_secs(10)).await?;
    assert_eq!(now["bookShelfCountsChanged"]["counts"], json!({ "wantToRead": 0, "currentlyReading": 0 }));
    let at = step(&ana, "wantToRead", ", on: $on", json!({ "book": book })).await?;
    let pushed = live.next(Duration::from_secs(10)).await?;
    assert_eq!(
        pushed["bookShelfCountsChanged"],
        json!({ "position": at, "counts": { "wantToRead": 1, "currentlyReading": 0 } })
    );
    let at = step(&ana, "startReading", "", json!({ "book": book })).await?;
    let pushed = live.next(Duration::from_secs(10)).await?;
    assert_eq!(
        pushed["bookShelfCountsChanged"],
        json!({ "position": at, "counts": { "wantToRead": 0, "currentlyReading": 1 } })
    );
    system.stop().await
}

#[tokio::test]
async fn a_reread_counts_twice_in_stats_and_once_on_the_read_shelf() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (book, _) = add_seed_book(&system).await?;
    let year = today().year() - 1;
    let day = |month: u32, day: u32| NaiveDate::from_ymd_opt(year, month, day).map(|d| d.to_string());
    step(&ana, "startReading", ", startedOn: $on", book_vars(&book, json!({ "on": day(1, 5) }))).await?;
    step(
        &ana,
        "updateProgress",
        ", page: $page, note: $note, on: $on",
        book_vars(&book, json!({ "page": 100, "note": "slow start", "on": day(1, 10) })),
    )
    .await?;
    step(&ana, "finishReading", ", finishedOn: $on", book_vars(&book, json!({ "on": day(2, 1) }))).await?;
    step(&ana, "startReading", ", startedOn: $on", book_vars(&book, json!({ "on": day(3, 1) }))).await?;
    let at = step(&ana, "finishReading", ", finishedOn: $on", book_vars(&book, json!({ "on": day(4, 10) }))).await?;

    let query = "query($handle: String!, $year: Int!) { reader(handle: $handle) {
        shelf(status: READ) { totalCount edges { node { readCount startedOn finishedOn book { title } } } }
        readingStats(year: $year) { booksFinished pagesFinished months { month books pages } }
        readingTimeline { totalCount edges { node { step on page note readThrough reread } } }
    } }";
    let response = ana.request_at(query, json!({ "handle": "ana", "year": year }), at).await?;
    let reader = &response.data()?["reader"];
    assert_eq!(reader["shelf"]["totalCount"], json!(1));
    assert_eq!(
        reader["shelf"]["edges"][0]["node"],
        json!({ "readCount": 2, "startedOn": day(3, 1), "finishedOn": day(4, 10), "book": { "title": "Moscow 1956" } })
    );
    let stats = &reader["readingStats"];
    assert_eq!((stats["booksFinished"].clone(), stats["pagesFinished"].clone()), (json!(2), json!(800)));
    assert_eq!(stats["months"][1], json!({ "month": 2, "books": 1, "pages": 400 }));
    assert_eq!(stats["months"][3], json!({ "month": 4, "books": 1, "pages": 400 }));
    assert_eq!(stats["months"].as_array().map(Vec::len), Some(12));

    let steps: Vec<_> = reader["readingTimeline"]["edges"]
        .as_array()
        .context("timeline")?
        .iter()
        .map(|e| (e["node"]["step"].clone(), e["node"]["on"].clone(), e["node"]["reread"].clone()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (json!("STARTED"), json!(day(1, 5)), json!(false)),
            (json!("PROGRESS"), json!(day(1, 10)), json!(false)),
            (json!("FINISHED"), json!(day(2, 1)), json!(false)),
            (json!("STARTED"), json!(day(3, 1)), json!(true)),
            (json!("FINISHED"), json!(day(4, 10)), json!(false)),
        ]
    );
    assert_eq!(reader["readingTimeline"]["edges"][1]["node"]["note"], json!("slow start"));

    // Someone else's reading log is theirs alone; their shelves are public.
    let (ben, _) = sign_up(&system, "ben").await?;
    let response =
        ben.request("query { reader(handle: \"ana\") { readingTimeline { totalCount } } }", json!({})).await?;
    assert_eq!(response.error_code(), Some("PERMISSION_DENIED"));
    let response =
        ben.request("query { reader(handle: \"ana\") { shelf(status: READ) { totalCount } } }", json!({})).await?;
    assert_eq!(response.data()?["reader"]["shelf"]["totalCount"], json!(1));
    system.stop().await
}

#[tokio::test]
async fn as_of_shows_the_shelves_as_they_stood_last_month() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (book, _) = add_seed_book(&system).await?;
    let (other, _) = add_seed_book(&system).await?;
    step(&ana, "wantToRead", ", on: $on", book_vars(&book, json!({ "on": days_ago(60).to_string() }))).await?;
    step(&ana, "startReading", ", startedOn: $on", book_vars(&book, json!({ "on": days_ago(20).to_string() }))).await?;
    step(&ana, "finishReading", "", book_vars(&book, json!({}))).await?;
    let at = step(&ana, "wantToRead", ", on: $on", book_vars(&other, json!({}))).await?;

    let query = "query($asOf: NaiveDate) { reader(handle: \"ana\") {
        shelf(asOf: $asOf) { totalCount edges { node { status since readCount book { id } } } }
    } }";
    let shelf_on = |as_of: Option<NaiveDate>| {
        let ana = ana.clone();
        async move {
            let response = ana.request_at(query, json!({ "asOf": as_of.map(|d| d.to_string()) }), at).await?;
            let edges = response.data()?["reader"]["shelf"]["edges"].as_array().cloned().unwrap_or_default();
            anyhow::Ok(
                edges
                    .into_iter()
                    .map(|e| (e["node"]["book"]["id"].clone(), e["node"]["status"].clone()))
                    .collect::<Vec<_>>(),
            )
        }
    };
    assert_eq!(shelf_on(Some(days_ago(90))).await?, vec![]);
    assert_eq!(shelf_on(Some(days_ago(30))).await?, vec![(json!(book), json!("WANT_TO_READ"))]);
    assert_eq!(shelf_on(Some(days_ago(10))).await?, vec![(json!(book), json!("CURRENTLY_READING"))]);
    assert_eq!(shelf_on(None).await?, vec![(json!(other), json!("WANT_TO_READ")), (json!(book), json!("READ"))]);
    system.stop().await
}

#[tokio::test]
async fn two_clients_updating_progress_at_once_lose_neither_update() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (book, _) = add_seed_book(&system).await?;
    step(&ana, "startReading", "", json!({ "book": book })).await?;
    let updates = (0..2).map(|i| {
        attempt(
            &ana,
            "updateProgress",
            ", page: $page, note: $note",
            json!({ "book": book, "page": 50 + i, "note": format!("client {i}") }),
        )
    });
    let mut accepted = Vec::new();
    for response in join_all(updates).await {
        let response = response?;
        match response.error_code() {
            None => accepted.push(position(&response.data()?["updateProgress"])?),
            Some(code) => assert_eq!(code, "CONFLICT", "{:?}", response.0),
        }
    }
    let at = accepted.iter().copied().max().context("neither update was accepted")?;
    let response = ana
        .request_at("query { viewer { readingTimeline { edges { node { step page note } } } } }", json!({}), at)
        .await?;
    let progress = response.data()?["viewer"]["readingTimeline"]["edges"]
        .as_array()
        .map(|edges| edges.iter().filter(|e| e["node"]["step"] == "PROGRESS").count());
    assert_eq!(progress, Some(accepted.len()));

    // A retried command with the same idempotency key appends once.
    let before = system.stream_messages().await?;
    let vars = json!({ "book": book, "page": 120, "key": "progress-120" });
    let first = step(&ana, "updateProgress", ", page: $page", vars.clone()).await?;
    let second = step(&ana, "updateProgress", ", page: $page", vars).await?;
    assert_eq!(first, second);
    assert_eq!(system.stream_messages().await?, before + 1);
    system.stop().await
}

#[tokio::test]
async fn bad_reading_input_gets_a_coded_error_and_appends_nothing() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (book, _) = add_seed_book(&system).await?;
    step(&ana, "startReading", ", startedOn: $on", book_vars(&book, json!({ "on": days_ago(10).to_string() }))).await?;
    let before = system.stream_messages().await?;
    let next_year = NaiveDate::from_ymd_opt(today().year() + 1, 1, 1).map(|d| d.to_string());
    let cases = [
        ("updateProgress", ", page: $page", json!({ "page": 401 }), "INVALID_ARGUMENT"),
        ("updateProgress", ", percent: $percent", json!({ "percent": 101 }), "INVALID_ARGUMENT"),
        ("updateProgress", ", page: $page, percent: $percent", json!({ "page": 1, "percent": 1 }), "INVALID_ARGUMENT"),
        ("finishReading", ", finishedOn: $on", json!({ "on": days_ago(20).to_string() }), "INVALID_ARGUMENT"),
        ("startReading", ", startedOn: $on", json!({ "on": next_year }), "INVALID_ARGUMENT"),
        ("wantToRead", ", on: $on", json!({ "on": "last tuesday" }), "INVALID_ARGUMENT"),
        ("addToShelf", ", name: $name", json!({ "name": "currently-reading" }), "INVALID_ARGUMENT"),
        ("addToShelf", ", name: $name", json!({ "name": "" }), "INVALID_ARGUMENT"),
    ];
    for (mutation, args, extra, code) in cases {
        let response = attempt(&ana, mutation, args, book_vars(&book, extra.clone())).await?;
        assert_eq!(response.error_code(), Some(code), "{mutation} {extra}: {:?}", response.0);
    }
    let unknown = uuid::Uuid::now_v7().to_string();
    let response = attempt(&ana, "wantToRead", "", json!({ "book": unknown })).await?;
    assert_eq!(response.error_code(), Some("NOT_FOUND"));
    let response = attempt(&system.client(), "wantToRead", "", json!({ "book": book })).await?;
    assert_eq!(response.error_code(), Some("UNAUTHENTICATED"));
    let (ben, _) = sign_up(&system, "ben").await?;
    let before = before + 1;
    let response = attempt(&ben, "pauseReading", "", json!({ "book": book })).await?;
    assert_eq!(response.error_code(), Some("CONFLICT"), "pausing a book ben is not reading");
    assert_eq!(system.stream_messages().await?, before, "a refused command appended something");
    system.stop().await
}

#[tokio::test]
async fn custom_shelves_hold_books_regardless_of_case() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (book, _) = add_seed_book(&system).await?;
    step(&ana, "addToShelf", ", name: $name", book_vars(&book, json!({ "name": "Soviet History" }))).await?;
    let at = step(&ana, "addToShelf", ", name: $name", book_vars(&book, json!({ "name": "soviet history" }))).await?;
    let query = "query($id: ID!) {
        viewer { shelves { name count } shelf(shelf: \"SOVIET HISTORY\") { totalCount } }
        book(id: $id) { viewerShelf { status shelves } }
    }";
    let response = ana.request_at(query, json!({ "id": book }), at).await?;
    assert_eq!(
        response.data()?,
        &json!({
            "viewer": { "shelves": [{ "name": "Soviet History", "count": 1 }], "shelf": { "totalCount": 1 } },
            "book": { "viewerShelf": { "status": null, "shelves": ["Soviet History"] } },
        })
    );
    let at = step(&ana, "removeFromShelves", "", json!({ "book": book })).await?;
    let response = ana.request_at(query, json!({ "id": book }), at).await?;
    assert_eq!(
        response.data()?,
        &json!({ "viewer": { "shelves": [], "shelf": { "totalCount": 0 } }, "book": { "viewerShelf": null } })
    );
    system.stop().await
}

/// Every shelf read model, in a stable order, as text.
async fn dump(database_url: &str) -> anyhow::Result<Vec<String>> {
    let pool = sqlx::PgPool::connect(database_url).await?;
    let mut tables = Vec::new();
    for sql in [
        "SELECT coalesce(json_agg(t ORDER BY reader_id, book_id), '[]')::text FROM shelf_entries t",
        "SELECT coalesce(json_agg(t ORDER BY reader_id, shelf_key, book_id), '[]')::text FROM custom_shelf_entries t",
        "SELECT coalesce(json_agg(t ORDER BY position, event_index), '[]')::text FROM reading_timeline t",
        "SELECT coalesce(json_agg(t ORDER BY book_id), '[]')::text FROM book_shelf_counts t",
    ] {
        tables.push(sqlx::query_scalar::<_, String>(sql).fetch_one(&pool).await?);
    }
    pool.close().await;
    Ok(tables)
}

#[tokio::test]
async fn replaying_the_stream_from_position_0_rebuilds_identical_shelves() -> anyhow::Result<()> {
    let system = System::start().await?;
    let readers = sign_up_many(&system, "replay", 3).await?;
    let (book, _) = add_seed_book(&system).await?;
    let (other, _) = add_seed_book(&system).await?;
    let mut at = 0;
    for (i, reader) in readers.iter().enumerate() {
        step(reader, "wantToRead", ", on: $on", book_vars(&book, json!({ "on": days_ago(40).to_string() }))).await?;
        step(reader, "updateProgress", ", percent: $percent", book_vars(&book, json!({ "percent": 10 * i }))).await?;
        step(reader, "addToShelf", ", name: $name", book_vars(&other, json!({ "name": "Later" }))).await?;
        if i == 1 {
            step(reader, "abandonReading", ", note: $note", book_vars(&book, json!({ "note": "not for me" }))).await?;
        }
        if i == 2 {
            step(reader, "finishReading", "", json!({ "book": book })).await?;
            step(reader, "removeFromShelves", "", json!({ "book": other })).await?;
        }
        at = step(reader, "pauseReading", "", json!({ "book": book })).await.or_else(|_| anyhow::Ok(at))?;
    }
    let at = at.max(step(&readers[0], "wantToRead", "", json!({ "book": other })).await?);
    readers[0].request_at("{ viewer { id } }", json!({}), at).await?.data()?;
    let before = dump(&system.database_url).await?;
    assert!(before[2].len() > 100, "the timeline has the steps");

    system.rebuild(&["shelves"]).await?;
    readers[0].request_at("{ viewer { id } }", json!({}), at).await?.data()?;
    let after = dump(&system.database_url).await?;
    for (table, (was, is)) in before.iter().zip(&after).enumerate() {
        let differs = was.lines().zip(is.lines()).find(|(a, b)| a != b);
        assert!(was == is, "table {table} differs after the rebuild: {differs:?}");
    }
    system.stop().await
}
