//! The demo is the seed page (`tests/fixtures/seed-book-page.json`), made of real records: its
//! figures, its reviews' days, spoiler and unrated reviewer, and every reviewer card's counts,
//! read back through GraphQL as the book page reads them. Checked by the browser test, which
//! then shows the same page in Chromium (`browser`).

use std::time::Instant;

use anyhow::Context as _;
use readstream_testkit::{demo, graphql::GraphQl};
use serde_json::{json, Value};

const REVIEWS: &str = "query($b: ID!) { book(id: $b) {
    ratings { count average histogram { stars count } }
    reviews(first: 20) { totalCount nodes {
        writtenOn stars reviewerShelf containsSpoilers body
        reviewer { handle reviewsCount followersCount authorProfile { booksCount followersCount } }
    } }
} }";

/// Loads the demo through `gateway`, both parts, checks it is the seed page, loads it again to
/// the same, and returns the seed book's id.
pub async fn load_the_seed_page(gateway: &GraphQl) -> anyhow::Result<String> {
    let facts: Value = serde_json::from_str(include_str!("../fixtures/seed-book-page.json"))?;
    let started = Instant::now();
    let loaded = demo::load(gateway, &|_, _| {}).await?;
    let page_took = started.elapsed();
    let libraries = demo::load_libraries(gateway, &|_, _| {}).await?;
    println!(
        "the page loaded in {page_took:.1?}, the reviewers' libraries in {:.1?} more",
        started.elapsed() - page_took
    );

    let book = gateway.request(REVIEWS, json!({ "b": loaded.book_id })).await?;
    let book = &book.data()?["book"];
    assert_eq!(book["ratings"]["count"], facts["ratings"]["count"]);
    assert_eq!(book["ratings"]["average"], facts["ratings"]["average"]);
    let reviews = book["reviews"]["nodes"].as_array().context("no reviews")?;
    assert_eq!(book["reviews"]["totalCount"], facts["reviews"]["count"]);

    // Every reviewer card the page shows, found by its review's day.
    for card in facts["reviews"]["reviewers"].as_array().context("no reviewers")? {
        let review =
            reviews.iter().find(|r| r["writtenOn"] == card["date"]).with_context(|| format!("no review of {card}"))?;
        let reviewer = &review["reviewer"];
        if card["author"] == true {
            assert_eq!(reviewer["authorProfile"]["booksCount"], card["books_count"], "{card}");
            assert_eq!(reviewer["authorProfile"]["followersCount"], card["followers_count"], "{card}");
        } else {
            assert_eq!(reviewer["authorProfile"], Value::Null, "{card}");
            assert_eq!(reviewer["reviewsCount"], card["reviews_count"], "{card}");
            assert_eq!(reviewer["followersCount"], card["followers_count"], "{card}");
        }
        assert_eq!(review["containsSpoilers"], card["contains_spoilers"] == true, "{card}");
        if card["rated"] == false {
            assert_eq!((&review["stars"], &review["reviewerShelf"]), (&Value::Null, &json!("READ")), "{card}");
            assert!(review["body"].as_str().is_some_and(|body| body.contains("did not finish")), "{card}");
        } else {
            assert!(review["stars"].as_i64().is_some_and(|stars| (3..=5).contains(&stars)), "{card}");
        }
        assert!(review["body"].is_null() || !review["body"].as_str().unwrap_or_default().starts_with("Demo review"));
    }
    // The reviewers' stars fit the histogram, spread over 5, 4 and 3.
    for stars in 1..=5 {
        let given = reviews.iter().filter(|r| r["stars"] == stars).count() as u64;
        let bucket = facts["ratings"]["histogram"][stars.to_string()].as_u64().unwrap_or(0);
        assert!(given <= bucket, "{given} reviewers gave {stars} stars, the page counts {bucket}");
        assert!(stars < 3 || given > 0, "no reviewer gave {stars} stars");
    }

    // Loading again changes nothing: no second import, no second follow.
    let again = demo::load(gateway, &|_, _| {}).await?;
    assert_eq!(again, loaded);
    assert_eq!(demo::load_libraries(gateway, &|_, _| {}).await?, libraries);
    Ok(loaded.book_id)
}
