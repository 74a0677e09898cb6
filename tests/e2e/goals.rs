//! Reading goals, the reader's time zone and the year in review, end to end through GraphQL.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{Datelike, NaiveDate, Utc};
use readstream_e2e::System;
use readstream_testkit::graphql::{GraphQl, Response};
use serde_json::{json, Value};

use super::{
    imports::{import, STORYGRAPH_HEADER},
    position, sign_up, ADD_AUTHOR, ADD_BOOK, RATE,
};

const GOAL_FIELDS: &str = "year target finished percent remaining today expectedByToday booksAheadOfSchedule";

async fn act(reader: &GraphQl, mutation: &str, variables: Value) -> anyhow::Result<u64> {
    let response = reader.request(mutation, variables).await?;
    let data = response.data()?;
    let payload = data.as_object().and_then(|fields| fields.values().next()).context("no payload")?;
    position(payload)
}

async fn set_goal(reader: &GraphQl, year: i32, books: i32) -> anyhow::Result<Response> {
    reader
        .request(
            &format!("mutation($y: Int!, $n: Int!) {{ setReadingGoal(year: $y, books: $n) {{ position goal {{ {GOAL_FIELDS} }} }} }}"),
            json!({ "y": year, "n": books }),
        )
        .await
}

async fn finish(reader: &GraphQl, book: &str, on: &str) -> anyhow::Result<u64> {
    let mutation = "mutation($b: ID!, $on: NaiveDate!) { finishReading(bookId: $b, finishedOn: $on) { position } }";
    act(reader, mutation, json!({ "b": book, "on": on })).await
}

/// Adds a book of `pages` by the authors, as the librarian; returns its id.
async fn add_book(librarian: &GraphQl, title: &str, pages: i32, authors: &[&Value]) -> anyhow::Result<String> {
    let input = json!({ "input": { "title": title, "pages": pages, "authorIds": authors } });
    let response = librarian.request(ADD_BOOK, input).await?;
    Ok(response.data()?["addBook"]["bookId"].as_str().context("no book id")?.to_owned())
}

async fn add_author(librarian: &GraphQl, name: &str) -> anyhow::Result<Value> {
    let response = librarian.request(ADD_AUTHOR, json!({ "name": name })).await?;
    Ok(response.data()?["addAuthor"]["authorId"].clone())
}

fn day(value: &Value) -> anyhow::Result<NaiveDate> {
    Ok(value.as_str().context("no date")?.parse()?)
}

/// What a steady pace expects by the end of `today` for `target` books in `today`'s year.
fn expected(target: i64, today: NaiveDate) -> i64 {
    let days = if NaiveDate::from_ymd_opt(today.year(), 2, 29).is_some() { 366 } else { 365 };
    target * i64::from(today.ordinal()) / days
}

#[tokio::test]
async fn a_reading_goal_counts_the_books_finished_in_its_year_and_is_pushed_live_as_they_finish() -> anyhow::Result<()>
{
    let system = System::start().await?;
    let librarian = system.librarian().await?;
    let author = add_author(&librarian, "Kathleen E. Smith").await?;
    let mut books = Vec::new();
    for title in ["Moscow 1956", "Remembering Stalin's Victims", "Gulag Voices", "Ninotchka"] {
        books.push(add_book(&librarian, title, 300, &[&author]).await?);
    }
    let (ana, _) = sign_up(&system, "ana").await?;
    // The goal's year is the year it is where Ana lives; she keeps UTC.
    let year = Utc::now().year();

    let response = set_goal(&ana, year, 3).await?;
    let goal = &response.data()?["setReadingGoal"]["goal"];
    let today = day(&goal["today"])?;
    assert_eq!(today.year(), year, "{goal}");
    assert_eq!((&goal["target"], &goal["finished"], &goal["percent"]), (&json!(3), &json!(0), &json!(0)));
    assert_eq!(goal["expectedByToday"], json!(expected(3, today)));
    assert_eq!(goal["booksAheadOfSchedule"], json!(-expected(3, today)));

    let query =
        format!("subscription($y: Int!) {{ readingGoalChanged(year: $y) {{ year goal {{ {GOAL_FIELDS} }} }} }}");
    let mut live = ana.subscribe(&query, json!({ "y": year })).await?;
    let now = live.next(Duration::from_secs(10)).await?;
    assert_eq!(now["readingGoalChanged"]["goal"]["finished"], json!(0), "{now}");

    // A book finished last year does not count toward this year's goal; this year's do.
    finish(&ana, &books[3], &format!("{}-12-31", year - 1)).await?;
    let pushed = live.next(Duration::from_secs(10)).await?;
    assert_eq!(pushed["readingGoalChanged"]["goal"]["finished"], json!(0), "{pushed}");
    for (n, book) in books[..2].iter().enumerate() {
        finish(&ana, book, &format!("{year}-01-0{}", n + 1)).await?;
        let pushed = live.next(Duration::from_secs(10)).await?;
        let goal = &pushed["readingGoalChanged"]["goal"];
        assert_eq!(goal["finished"], json!(n + 1), "{pushed}");
        assert_eq!(goal["percent"], json!([33, 67][n]));
        assert_eq!(goal["booksAheadOfSchedule"], json!(n as i64 + 1 - expected(3, today)));
    }

    // A lower target: met, pushed too.
    set_goal(&ana, year, 2).await?.data()?;
    let pushed = live.next(Duration::from_secs(10)).await?;
    let goal = &pushed["readingGoalChanged"]["goal"];
    assert_eq!(
        (&goal["target"], &goal["percent"], &goal["remaining"]),
        (&json!(2), &json!(100), &json!(0)),
        "{pushed}"
    );

    // Refused, each with its code and field, and nothing changes.
    for (year, books, field) in [(year, 0, "books"), (year, 10_001, "books"), (year, -3, "books"), (1899, 5, "year")] {
        let refused = set_goal(&ana, year, books).await?;
        assert_eq!(refused.error_code(), Some("INVALID_ARGUMENT"), "{year} {books}: {:?}", refused.0);
        assert_eq!(refused.0["errors"][0]["extensions"]["field"], json!(field));
    }
    let goal_query = format!("query($y: Int!) {{ viewer {{ readingGoal(year: $y) {{ {GOAL_FIELDS} }} }} }}");
    let read = ana.request(&goal_query, json!({ "y": year })).await?;
    assert_eq!(read.data()?["viewer"]["readingGoal"]["target"], json!(2));
    let none = ana.request(&goal_query, json!({ "y": year + 1 })).await?;
    assert_eq!(none.data()?["viewer"]["readingGoal"], Value::Null, "no goal set for next year");

    // Removed: pushed as no goal; removing again is NOT_FOUND.
    let remove = "mutation($y: Int!) { removeReadingGoal(year: $y) { position goal { target } } }";
    let removed = ana.request(remove, json!({ "y": year })).await?;
    assert_eq!(removed.data()?["removeReadingGoal"]["goal"], Value::Null);
    let pushed = live.next(Duration::from_secs(10)).await?;
    assert_eq!(pushed["readingGoalChanged"]["goal"], Value::Null, "{pushed}");
    let again = ana.request(remove, json!({ "y": year })).await?;
    assert_eq!((again.error_code(), &again.0["errors"][0]["extensions"]["field"]), (Some("NOT_FOUND"), &json!("year")));
    system.stop().await
}

#[tokio::test]
async fn today_is_where_the_reader_lives_and_a_time_zone_is_one_postgres_knows() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, ben_id) = sign_up(&system, "ben").await?;
    let year = Utc::now().year();
    set_goal(&ana, year, 12).await?.data()?;
    let set_zone = "mutation($z: String!) { setTimeZone(timeZone: $z) { position } }";
    let query = "query($y: Int!) { viewer { timeZone readingGoal(year: $y) { today } } }";

    let mut todays = Vec::new();
    // UTC+14 and UTC-11: 25 hours apart, so never the same day.
    for zone in ["Pacific/Kiritimati", "Pacific/Pago_Pago"] {
        let at = act(&ana, set_zone, json!({ "z": zone })).await?;
        let seen = ana.request_at(query, json!({ "y": year }), at).await?;
        let viewer = &seen.data()?["viewer"];
        assert_eq!(viewer["timeZone"], json!(zone));
        todays.push(day(&viewer["readingGoal"]["today"])?);
    }
    assert!(todays[0] > todays[1], "Kiritimati's today {} is after Pago Pago's {}", todays[0], todays[1]);
    let utc_today = Utc::now().date_naive();
    assert!(todays[0] >= utc_today && todays[1] <= utc_today, "{todays:?} around {utc_today}");

    for zone in ["Mars/Olympus_Mons", "../etc/passwd", "", "Europe/Lisbon; DROP TABLE readers"] {
        let refused = ana.request(set_zone, json!({ "z": zone })).await?;
        assert_eq!(refused.error_code(), Some("INVALID_ARGUMENT"), "{zone:?}: {:?}", refused.0);
        assert_eq!(refused.0["errors"][0]["extensions"]["field"], json!("timeZone"), "{zone:?}");
    }
    let seen = ana.request(query, json!({ "y": year })).await?;
    assert_eq!(seen.data()?["viewer"]["timeZone"], json!("Pacific/Pago_Pago"), "refusals changed nothing");

    // Someone else's time zone is theirs alone; their goal follows their reading's privacy.
    let of_ana = "query($h: String!, $y: Int!) { reader(handle: $h) { timeZone readingGoal(year: $y) { target } } }";
    let seen = ben.request(of_ana, json!({ "h": "ana", "y": year })).await?;
    assert_eq!(seen.data()?["reader"], json!({ "timeZone": null, "readingGoal": { "target": 12 } }));
    let private = "mutation { setReadingVisibility(visibility: ONLY_ME) { position } }";
    let at = act(&ana, private, json!({})).await?;
    let hidden = ben.request_at(of_ana, json!({ "h": "ana", "y": year }), at).await?;
    assert_eq!(hidden.error_code(), Some("PERMISSION_DENIED"), "{:?}", hidden.0);
    let stats = "query($h: String!, $y: Int!) { reader(handle: $h) { readingStats(year: $y) { booksFinished } } }";
    let hidden = ben.request(stats, json!({ "h": "ana", "y": year })).await?;
    assert_eq!(hidden.error_code(), Some("PERMISSION_DENIED"), "{:?}", hidden.0);
    // Ben's own, he sees.
    let own = ben.request(stats, json!({ "h": "ben", "y": year })).await?;
    assert_eq!(own.data()?["reader"]["readingStats"]["booksFinished"], json!(0), "{ben_id}");
    system.stop().await
}

#[tokio::test]
async fn a_year_in_review_names_the_shortest_longest_highest_rated_first_and_last_book_and_the_author_read_most(
) -> anyhow::Result<()> {
    let system = System::start().await?;
    let librarian = system.librarian().await?;
    let smith = add_author(&librarian, "Kathleen E. Smith").await?;
    let applebaum = add_author(&librarian, "Anne Applebaum").await?;
    let moscow = add_book(&librarian, "Moscow 1956", 400, &[&smith]).await?;
    let remembering = add_book(&librarian, "Remembering Stalin's Victims", 264, &[&smith]).await?;
    let gulag = add_book(&librarian, "Gulag", 677, &[&applebaum]).await?;
    let (ana, _) = sign_up(&system, "ana").await?;

    finish(&ana, &remembering, "2025-02-01").await?;
    finish(&ana, &gulag, "2025-03-15").await?;
    // A book the catalog lacked, with no page count, brought in (and rated 4.75) by a
    // StoryGraph import.
    let file = format!(
        "{STORYGRAPH_HEADER}\nA Pamphlet of Unknown Length,Anne Applebaum,,,paperback,read,2025/04/01,2025/05/01,,1,,,,,,,,4.75,,,,,No\n"
    );
    let job = import(&ana, "STORYGRAPH", &file).await?;
    assert_eq!((&job["status"], &job["rowsImported"]), (&json!("DONE"), &json!(1)), "{job}");
    finish(&ana, &moscow, "2025-07-20").await?;
    // Finished in the next year: left out of 2025.
    finish(&ana, &gulag, "2026-01-02").await?;
    let mut at = 0;
    for (book, stars) in [(&moscow, 4.75), (&gulag, 3.5)] {
        let response = ana.request(RATE, json!({ "book": book, "stars": stars })).await?;
        at = position(&response.data()?["rateBook"])?;
    }
    let query = "query($y: Int!) { viewer { readingStats(year: $y) {
        booksFinished pagesFinished averageStarsGiven
        shortestBook { book { title } pages finishedOn }
        longestBook { book { title } pages }
        highestRated { book { title } stars exactStars }
        mostReadAuthor { author { name } books }
        firstFinished { book { title } finishedOn }
        lastFinished { book { title } finishedOn }
        months { month books }
    } } }";
    let response = ana.request_at(query, json!({ "y": 2025 }), at).await?;
    let stats = &response.data()?["viewer"]["readingStats"];
    assert_eq!((&stats["booksFinished"], &stats["pagesFinished"]), (&json!(4), &json!(400 + 264 + 677)), "{stats}");
    assert_eq!(
        stats["shortestBook"],
        json!({ "book": { "title": "Remembering Stalin's Victims" }, "pages": 264, "finishedOn": "2025-02-01" }),
        "a book without a page count is not the shortest"
    );
    assert_eq!(stats["longestBook"], json!({ "book": { "title": "Gulag" }, "pages": 677 }));
    // 4.75 twice: the first finished wins.
    assert_eq!(
        stats["highestRated"],
        json!({ "book": { "title": "A Pamphlet of Unknown Length" }, "stars": 5, "exactStars": 4.75 })
    );
    assert_eq!(stats["averageStarsGiven"], json!((4.75 + 3.5 + 4.75) / 3.0));
    // Two books each (if the import matched Anne Applebaum) or Smith's two alone: Smith either
    // way, read first.
    assert_eq!(stats["mostReadAuthor"], json!({ "author": { "name": "Kathleen E. Smith" }, "books": 2 }));
    assert_eq!(stats["firstFinished"]["book"]["title"], json!("Remembering Stalin's Victims"));
    assert_eq!(stats["lastFinished"], json!({ "book": { "title": "Moscow 1956" }, "finishedOn": "2025-07-20" }));
    let months: Vec<i64> =
        stats["months"].as_array().into_iter().flatten().filter_map(|m| m["books"].as_i64()).collect();
    assert_eq!(months, [0, 1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0]);

    // A year with nothing finished: zeros and nulls, not errors.
    let response = ana.request(query, json!({ "y": 2020 })).await?;
    let empty = &response.data()?["viewer"]["readingStats"];
    assert_eq!(
        (&empty["booksFinished"], &empty["shortestBook"], &empty["averageStarsGiven"]),
        (&json!(0), &Value::Null, &Value::Null)
    );
    let refused = ana.request(query, json!({ "y": 10_000 })).await?;
    assert_eq!(refused.error_code(), Some("INVALID_ARGUMENT"));
    system.stop().await
}
