//! Quarter stars, end to end through GraphQL: rated, changed and cleared, every figure exact;
//! and the rebuild a migration asks for, which sets right what it could only round.

use readstream_e2e::System;
use readstream_testkit::graphql::GraphQl;
use serde_json::{json, Value};

use super::{add_seed_book, gauge, histogram, position, sign_up, RATE};

const FIGURES: &str = "query($id: ID!) {
    book(id: $id) {
        viewerRating viewerExactRating
        ratings { count sum average exactAverage histogram { stars count percent } }
        reviews(first: 5) { nodes { stars exactStars } }
    }
}";
const CLEAR: &str = "mutation($book: ID!) { clearRating(bookId: $book) { position } }";
const FEED: &str = "{ viewer { feed(first: 5) { nodes { kind stars exactStars } } } }";

async fn rate(reader: &GraphQl, book: &str, stars: f64) -> anyhow::Result<u64> {
    let response = reader.request(RATE, json!({ "book": book, "stars": stars })).await?;
    position(&response.data()?["rateBook"])
}

async fn book_at(reader: &GraphQl, book: &str, at: u64) -> anyhow::Result<Value> {
    let response = reader.request_at(FIGURES, json!({ "id": book }), at).await?;
    Ok(response.data()?["book"].clone())
}

/// (count, sum, exact average) of a book's ratings.
fn totals(book: &Value) -> (Value, Value, Value) {
    let ratings = &book["ratings"];
    (ratings["count"].clone(), ratings["sum"].clone(), ratings["exactAverage"].clone())
}

#[tokio::test]
async fn a_quarter_star_rating_set_changed_and_cleared_leaves_the_books_sum_and_histogram_exact() -> anyhow::Result<()>
{
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let (ana, ana_id) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    let response =
        ben.request("mutation($r: ID!) { follow(readerId: $r) { position } }", json!({ "r": ana_id })).await?;
    response.data()?;

    // 3.75 and 4.25 both count as four stars in the histogram; the sum is exactly 8.
    rate(&ana, &book, 3.75).await?;
    let at = rate(&ben, &book, 4.25).await?;
    let seen = book_at(&ana, &book, at).await?;
    assert_eq!(totals(&seen), (json!(2), json!(8.0), json!(4.0)), "{seen}");
    assert_eq!(histogram(&seen["ratings"]), [(5, 0, 0), (4, 2, 100), (3, 0, 0), (2, 0, 0), (1, 0, 0)]);
    assert_eq!((&seen["viewerRating"], &seen["viewerExactRating"]), (&json!(4), &json!(3.75)));

    // Changed to 3.25: the 3.75 comes off exactly, the new rating lands in the 3 bucket.
    let at = rate(&ana, &book, 3.25).await?;
    let seen = book_at(&ana, &book, at).await?;
    assert_eq!(totals(&seen), (json!(2), json!(7.5), json!(3.75)), "{seen}");
    assert_eq!(seen["ratings"]["average"], json!(3.75));
    assert_eq!(histogram(&seen["ratings"]), [(5, 0, 0), (4, 1, 50), (3, 1, 50), (2, 0, 0), (1, 0, 0)]);
    assert_eq!((&seen["viewerRating"], &seen["viewerExactRating"]), (&json!(3), &json!(3.25)));
    // Ben follows Ana: her rating reaches his feed with its quarters.
    let feed = ben.request_at(FEED, json!({}), at).await?;
    let rated = &feed.data()?["viewer"]["feed"]["nodes"][0];
    assert_eq!((&rated["kind"], &rated["stars"], &rated["exactStars"]), (&json!("RATED"), &json!(3), &json!(3.25)));

    // Refused, each with its code on `stars`, and nothing changes.
    for refused in [3.3, 0.75, 5.25, 0.0, -4.0, 1e300] {
        let response = ana.request(RATE, json!({ "book": book, "stars": refused })).await?;
        assert_eq!(response.error_code(), Some("INVALID_ARGUMENT"), "{refused}: {response:?}");
        assert_eq!(response.0["errors"][0]["extensions"]["field"], json!("stars"), "{refused}");
    }

    // Cleared: what the rating added is what comes off, to the quarter.
    let response = ana.request(CLEAR, json!({ "book": book })).await?;
    let seen = book_at(&ana, &book, position(&response.data()?["clearRating"])?).await?;
    assert_eq!(totals(&seen), (json!(1), json!(4.25), json!(4.25)), "{seen}");
    assert_eq!(histogram(&seen["ratings"]), [(5, 0, 0), (4, 1, 100), (3, 0, 0), (2, 0, 0), (1, 0, 0)]);
    assert_eq!((&seen["viewerRating"], &seen["viewerExactRating"]), (&Value::Null, &Value::Null));
    let response = ben.request(CLEAR, json!({ "book": book })).await?;
    let seen = book_at(&ben, &book, position(&response.data()?["clearRating"])?).await?;
    assert_eq!(totals(&seen), (json!(0), json!(0.0), json!(0.0)), "{seen}");
    system.stop().await
}

#[tokio::test]
async fn a_review_shows_its_reviewers_quarter_stars_and_the_star_filter_keeps_them_by_their_rounding(
) -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let publish =
        "mutation($book: ID!) { publishReview(bookId: $book, body: \"Slow, then unforgettable.\") { position } }";
    let mut at = 0;
    for (handle, stars) in [("ana", 3.5), ("ben", 3.25)] {
        let (reader, _) = sign_up(&system, handle).await?;
        rate(&reader, &book, stars).await?;
        at = position(&reader.request(publish, json!({ "book": book })).await?.data()?["publishReview"])?;
    }
    let query =
        "query($id: ID!, $stars: Int) { book(id: $id) { reviews(first: 5, stars: $stars, orderBy: HIGHEST_RATED) {
        totalCount nodes { stars exactStars reviewer { handle } } } } }";
    let reviews = |stars: Option<i64>| {
        let system = &system;
        let book = &book;
        async move {
            let response = system.client().request_at(query, json!({ "id": book, "stars": stars }), at).await?;
            anyhow::Ok(response.data()?["book"]["reviews"].clone())
        }
    };
    let all = reviews(None).await?;
    let shown: Vec<_> = all["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| (n["reviewer"]["handle"].clone(), n["stars"].clone(), n["exactStars"].clone()))
        .collect();
    assert_eq!(shown, [(json!("ana"), json!(4), json!(3.5)), (json!("ben"), json!(3), json!(3.25))]);
    // 3.5 rounds to four stars, 3.25 to three.
    assert_eq!(reviews(Some(4)).await?["totalCount"], json!(1));
    assert_eq!(reviews(Some(4)).await?["nodes"][0]["exactStars"], json!(3.5));
    assert_eq!(reviews(Some(3)).await?["nodes"][0]["exactStars"], json!(3.25));
    assert_eq!(reviews(Some(5)).await?["totalCount"], json!(0));
    system.stop().await
}

/// The read models as migration 0030 leaves them for a rating imported with quarters before it:
/// stored rounded, then multiplied by four. The migration marks the projection `rebuild_due`,
/// and the next projector rebuilds it from the stream, exactly.
#[tokio::test]
async fn a_projection_a_migration_marks_is_rebuilt_at_the_next_start_and_its_quarters_come_back() -> anyhow::Result<()>
{
    let mut system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let at = rate(&ana, &book, 3.75).await?;
    assert_eq!(totals(&book_at(&ana, &book, at).await?).1, json!(3.75));

    let database = sqlx::PgPool::connect(&system.database_url).await?;
    for statement in [
        "UPDATE ratings SET quarter_stars = 16",
        "UPDATE book_ratings SET quarter_stars_sum = 16",
        "UPDATE projection_checkpoints SET rebuild_due = true WHERE name = 'ratings'",
    ] {
        sqlx::query(statement).execute(&database).await?;
    }
    assert_eq!(totals(&book_at(&ana, &book, at).await?).1, json!(4.0), "rounded, as before the migration");

    system.restart_projector_rebuilding(&[]).await?;
    let mut sum = Value::Null;
    for _ in 0..100 {
        let due: bool = sqlx::query_scalar("SELECT rebuild_due FROM projection_checkpoints WHERE name = 'ratings'")
            .fetch_one(&database)
            .await?;
        sum = totals(&book_at(&ana, &book, at).await?).1;
        if !due && sum == json!(3.75) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(sum, json!(3.75), "the rebuild swapped in, from the stream");
    let seen = book_at(&ana, &book, at).await?;
    assert_eq!(seen["viewerExactRating"], json!(3.75));
    // The projection goes on from there.
    let at = rate(&ana, &book, 5.0).await?;
    assert_eq!(totals(&book_at(&ana, &book, at).await?), (json!(1), json!(5.0), json!(5.0)));
    system.stop().await
}

#[tokio::test]
async fn subscribers_of_one_books_figures_share_one_execution_and_each_gets_every_push() -> anyhow::Result<()> {
    const LIVE: &str = "subscription($id: ID!) { bookRatingsChanged(bookId: $id) { position ratings { count } } }";
    const SHELVES: &str = "subscription($id: ID!) { bookShelfCountsChanged(bookId: $id) { counts { read } } }";
    let wait = std::time::Duration::from_secs(10);
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (book, _) = add_seed_book(&system).await?;
    // Signed in or not, over either protocol: the same request shares one execution.
    let anonymous = system.client();
    let mut alike = vec![
        anonymous.subscribe(LIVE, json!({ "id": book })).await?,
        ana.subscribe(LIVE, json!({ "id": book })).await?,
        anonymous.with_websocket_path("/graphql/ws").subscribe_legacy(LIVE, json!({ "id": book })).await?,
    ];
    for subscriber in &mut alike {
        let now = subscriber.next(wait).await?;
        assert_eq!(now["bookRatingsChanged"]["ratings"], json!({ "count": 0 }));
    }
    let mut shelves = anonymous.subscribe(SHELVES, json!({ "id": book })).await?;
    shelves.next(wait).await?;
    assert_eq!(gauge(&system, "readstream_shared_executions").await?, 2.0, "one per distinct request");
    assert_eq!(gauge(&system, "readstream_subscriptions_open").await?, 4.0, "one per subscriber");

    let at = rate(&ana, &book, 4.0).await?;
    for subscriber in &mut alike {
        let pushed = subscriber.next(wait).await?;
        assert_eq!(pushed["bookRatingsChanged"], json!({ "position": at, "ratings": { "count": 1 } }));
    }
    // A subscriber who comes later gets how things are now first, from the running execution.
    let mut late = anonymous.subscribe(LIVE, json!({ "id": book })).await?;
    assert_eq!(late.next(wait).await?["bookRatingsChanged"], json!({ "position": at, "ratings": { "count": 1 } }));
    assert_eq!(gauge(&system, "readstream_shared_executions").await?, 2.0);

    // A bad id is refused alike for everyone who sends it, and the execution ends with it.
    let mut refused = anonymous.subscribe(LIVE, json!({ "id": "not-a-book" })).await?;
    assert!(refused.next(wait).await.is_err(), "a bad id is an error");

    // Each execution ends with its last subscriber.
    drop((alike, late, shelves, refused));
    let deadline = tokio::time::Instant::now() + wait;
    while gauge(&system, "readstream_shared_executions").await? != 0.0 {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "shared executions outlived their subscribers");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    system.stop().await
}
