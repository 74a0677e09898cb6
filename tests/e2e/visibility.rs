//! One visibility rule, every path: what self, a follower, a stranger, a signed-out client, a
//! reader Ana blocked and a reader who blocked Ana each see of Ana's reading (as each of her
//! three choices shares it) and of her words (a review and a comment), on every read path that
//! shows them, cell by cell as the "Blocks" table of docs/api.md ("What is refused, and why")
//! writes them down.

use std::time::Duration;

use readstream_e2e::System;
use readstream_testkit::graphql::GraphQl;
use serde_json::{json, Value};

use super::{add_seed_book, position, sign_up};

/// What a path shows of Ana: `true` when it shows her reading or words, `false` when it
/// withholds them (`PERMISSION_DENIED`, `null`, left out).
async fn shows(viewer: &GraphQl, path: &str, ids: &Ids, at: u64) -> anyhow::Result<bool> {
    let variables = json!({ "review": ids.review, "comment": ids.comment, "book": ids.book });
    Ok(match path {
        "shelf" => {
            let response =
                viewer.request_at("{ reader(handle: \"ana\") { shelf { totalCount } } }", json!({}), at).await?;
            match response.error_code() {
                Some("PERMISSION_DENIED") => false,
                None => response.data()?["reader"]["shelf"]["totalCount"] == 1,
                Some(other) => anyhow::bail!("shelf: {other}"),
            }
        }
        "shelves" => {
            let response = viewer.request_at("{ reader(handle: \"ana\") { shelves { name } } }", json!({}), at).await?;
            response.error_code() != Some("PERMISSION_DENIED")
        }
        "review(id:)" => {
            let query = "query($review: ID!) { review(id: $review) { body } }";
            !viewer.request_at(query, variables, at).await?.data()?["review"].is_null()
        }
        "node(review)" => {
            let query = "query($review: ID!) { node(id: $review) { id } }";
            !viewer.request_at(query, variables, at).await?.data()?["node"].is_null()
        }
        "node(comment)" => {
            let query = "query($comment: ID!) { node(id: $comment) { id } }";
            !viewer.request_at(query, variables, at).await?.data()?["node"].is_null()
        }
        "book reviews" => {
            let query = "query($book: ID!) { book(id: $book) { reviews { edges { node { reviewer { handle } } } } } }";
            let response = viewer.request_at(query, variables, at).await?;
            response.data()?["book"]["reviews"]["edges"].as_array().is_some_and(|edges| !edges.is_empty())
        }
        "bookReviewAdded replay" => {
            let subscription = "subscription($book: ID!) { bookReviewAdded(bookId: $book, since: 0) { body } }";
            let mut socket = viewer.subscribe_at(subscription, json!({ "book": ids.book }), at).await?;
            // Ana's review is the book's only one: replayed, or nothing comes.
            socket.next(Duration::from_millis(500)).await.is_ok()
        }
        other => anyhow::bail!("no path {other}"),
    })
}

struct Ids {
    book: String,
    review: Value,
    comment: Value,
}

#[tokio::test]
async fn every_read_path_applies_one_rule_for_reading_privacy_and_blocks() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let (ana, ana_id) = sign_up(&system, "ana").await?;
    let (follower, _) = sign_up(&system, "fay").await?;
    let (stranger, _) = sign_up(&system, "sam").await?;
    let (blocked, blocked_id) = sign_up(&system, "bob").await?;
    let (blocker, _) = sign_up(&system, "bea").await?;
    let act = |reader: &GraphQl, mutation: &str, variables: Value| {
        let (reader, mutation) = (reader.clone(), mutation.to_owned());
        async move {
            let response = reader.request(&mutation, variables).await?;
            let payload = response.data()?.as_object().and_then(|o| o.values().next().cloned()).unwrap_or_default();
            position(&payload)
        }
    };
    act(&follower, "mutation($r: ID!) { follow(readerId: $r) { position } }", json!({ "r": ana_id })).await?;
    act(&ana, "mutation($b: ID!) { startReading(bookId: $b) { position } }", json!({ "b": book })).await?;
    act(&ana, "mutation($b: ID!) { addToShelf(bookId: $b, name: \"night bus\") { position } }", json!({ "b": book }))
        .await?;
    let review = ana
        .request("mutation($b: ID!) { publishReview(bookId: $b, body: \"Vivid.\") { reviewId } }", json!({ "b": book }))
        .await?;
    let review = review.data()?["publishReview"]["reviewId"].clone();
    let comment = ana
        .request(
            "mutation($r: ID!) { commentOnReview(reviewId: $r, body: \"And moving.\") { commentId } }",
            json!({ "r": review }),
        )
        .await?;
    let comment = comment.data()?["commentOnReview"]["commentId"].clone();
    act(&ana, "mutation($r: ID!) { block(readerId: $r) { position } }", json!({ "r": blocked_id })).await?;
    act(&blocker, "mutation($r: ID!) { block(readerId: $r) { position } }", json!({ "r": ana_id })).await?;
    let ids = Ids { book, review, comment };
    let anonymous = system.client();

    let viewers = [
        ("self", &ana),
        ("follower", &follower),
        ("stranger", &stranger),
        ("signed out", &anonymous),
        ("blocked", &blocked),
        ("blocker", &blocker),
    ];
    // (path, sharing) → what each viewer above sees, in their order.
    let reading = |sharing: &str| match sharing {
        "EVERYONE" => [true, true, true, true, false, false],
        "FOLLOWERS" => [true, true, false, false, false, false],
        _ => [true, false, false, false, false, false],
    };
    let words = [true, true, true, true, false, false];
    for sharing in ["EVERYONE", "FOLLOWERS", "ONLY_ME"] {
        let set = format!("mutation {{ setReadingVisibility(visibility: {sharing}) {{ position }} }}");
        let at = act(&ana, &set, json!({})).await?;
        for path in ["shelf", "shelves"] {
            for ((viewer, client), expected) in viewers.iter().zip(reading(sharing)) {
                assert_eq!(shows(client, path, &ids, at).await?, expected, "{path}, {sharing}, {viewer}");
            }
        }
        for path in ["review(id:)", "node(review)", "node(comment)", "book reviews", "bookReviewAdded replay"] {
            for ((viewer, client), expected) in viewers.iter().zip(words) {
                assert_eq!(shows(client, path, &ids, at).await?, expected, "{path}, {sharing}, {viewer}");
            }
        }
    }
    // The profile and the book's counts stay for everyone.
    let profile = blocked.request("{ reader(handle: \"ana\") { handle } }", json!({})).await?;
    assert_eq!(profile.data()?["reader"]["handle"], "ana");
    system.stop().await
}
