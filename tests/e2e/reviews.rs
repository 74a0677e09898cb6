//! Reviews, likes and comments, end to end through GraphQL.

use std::{collections::HashMap, time::Duration};

use anyhow::Context as _;
use chrono::{Days, NaiveDate, Utc};
use futures::{future::try_join_all, StreamExt};
use readstream_e2e::System;
use readstream_testkit::graphql::{GraphQl, Response};
use serde_json::{json, Value};

use super::{add_seed_book, gauge, position, rate, sign_up, sign_up_many};

const PUBLISH: &str = "mutation($book: ID!, $body: String!, $spoilers: Boolean! = false, $on: NaiveDate, $key: String) {
    publishReview(bookId: $book, body: $body, containsSpoilers: $spoilers, writtenOn: $on, idempotencyKey: $key) { position reviewId }
}";

async fn publish(
    reader: &GraphQl,
    book: &str,
    body: &str,
    on: Option<String>,
    spoilers: bool,
) -> anyhow::Result<(String, u64)> {
    let response =
        reader.request(PUBLISH, json!({ "book": book, "body": body, "on": on, "spoilers": spoilers })).await?;
    let payload = &response.data()?["publishReview"];
    Ok((payload["reviewId"].as_str().context("no review id")?.to_owned(), position(payload)?))
}

async fn on_review(reader: &GraphQl, mutation: &str, review: &str) -> anyhow::Result<Response> {
    reader
        .request(&format!("mutation($r: ID!) {{ {mutation}(reviewId: $r) {{ position }} }}"), json!({ "r": review }))
        .await
}

fn ids(page: &Value) -> Vec<String> {
    page["edges"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["node"]["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_seed_pages_community_reviews_are_rebuilt() -> anyhow::Result<()> {
    let facts: Value = serde_json::from_str(include_str!("../fixtures/seed-book-page.json"))?;
    let mut dates: Vec<String> = facts["reviews"]["dates"]
        .as_array()
        .context("dates")?
        .iter()
        .filter_map(|d| d.as_str().map(str::to_owned))
        .collect();
    // The page text shows ten of the eleven dates; the eleventh is ours.
    dates.push("2020-02-14".into());
    assert_eq!(dates.len(), 11);
    let system = System::start().await?;
    let reviewers = sign_up_many(&system, "critic", 11).await?;
    let (book, _) = add_seed_book(&system).await?;
    let (other_book, _) = add_seed_book(&system).await?;
    let mut at = 0;
    for (i, (reviewer, date)) in reviewers.iter().zip(&dates).enumerate() {
        at = at.max(rate(reviewer, &book, (i % 5 + 1) as i64).await?);
        let spoilers = i == 3;
        at = at.max(
            publish(reviewer, &book, &format!("Review {i}: *Khrushchev* & <the thaw>"), Some(date.clone()), spoilers)
                .await?
                .1,
        );
    }
    // One reviewer has reviewed another book too.
    at = at.max(publish(&reviewers[0], &other_book, "Another one", None, false).await?.1);
    // And three readers follow one of the reviewers.
    let critic1 = reviewers[1].request_at("{ viewer { id } }", json!({}), at).await?.data()?["viewer"]["id"].clone();
    for follower in &reviewers[2..5] {
        let response = follower
            .request("mutation($r: ID!) { follow(readerId: $r) { position } }", json!({ "r": critic1 }))
            .await?;
        at = at.max(position(&response.data()?["follow"])?);
    }

    let query = "query($id: ID!) { book(id: $id) {
        ratings { reviewCount }
        reviews(first: 20) {
            totalCount pageInfo { hasNextPage hasPreviousPage }
            edges { node { writtenOn containsSpoilers stars body revealed: body(revealSpoilers: true) reviewer { handle reviewsCount followersCount } } }
        }
    } }";
    let response = reviewers[0].request_at(query, json!({ "id": book }), at).await?;
    let book_page = &response.data()?["book"];
    let page = &book_page["reviews"];
    let edges = page["edges"].as_array().context("edges")?;
    // "Displaying 1 - 11 of 11 reviews"
    assert_eq!((edges.len(), page["totalCount"].clone()), (11, json!(11)));
    assert_eq!(page["pageInfo"], json!({ "hasNextPage": false, "hasPreviousPage": false }));
    assert_eq!(book_page["ratings"]["reviewCount"], json!(11));
    let mut newest_first = dates.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    let shown: Vec<_> = edges.iter().map(|e| e["node"]["writtenOn"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(shown, newest_first);

    let spoiler: Vec<_> = edges.iter().filter(|e| e["node"]["containsSpoilers"] == true).collect();
    assert_eq!(spoiler.len(), 1);
    assert_eq!(spoiler[0]["node"]["body"], Value::Null, "a spoiler's body is withheld unless revealed");
    assert_eq!(spoiler[0]["node"]["revealed"], json!("Review 3: *Khrushchev* & <the thaw>"));
    for edge in edges {
        let node = &edge["node"];
        let handle = node["reviewer"]["handle"].as_str().unwrap_or_default();
        let i: usize = handle.trim_start_matches("critic").parse()?;
        assert_eq!(node["stars"], json!(i % 5 + 1), "each review shows its reviewer's stars");
        assert_eq!(node["reviewer"]["reviewsCount"], json!(if i == 0 { 2 } else { 1 }));
        assert_eq!(node["reviewer"]["followersCount"], json!(if i == 1 { 3 } else { 0 }));
        if node["containsSpoilers"] == false {
            assert_eq!(node["body"], node["revealed"], "bodies are returned as written");
        }
    }
    system.stop().await
}

#[tokio::test]
async fn a_thousand_reviews_walked_twenty_at_a_time_come_back_once_each_while_new_ones_arrive() -> anyhow::Result<()> {
    let system = System::start().await?;
    let readers = sign_up_many(&system, "walker", 1_040).await?;
    let (book, _) = add_seed_book(&system).await?;
    let today = Utc::now().date_naive();
    let day = |n: u64| today.checked_sub_days(Days::new(n)).unwrap_or(NaiveDate::MIN).to_string();
    let published = futures::stream::iter(readers[..1_000].iter().enumerate().map(|(i, reader)| {
        let book = book.clone();
        // Many share a day, so the walk relies on the id to break ties.
        async move { publish(reader, &book, &format!("review {i}"), Some(day(i as u64 / 3)), false).await }
    }))
    .buffer_unordered(32)
    .collect::<Vec<_>>()
    .await
    .into_iter()
    .collect::<anyhow::Result<Vec<_>>>()?;
    let at = published.iter().map(|(_, p)| *p).max().unwrap_or_default();
    let originals: Vec<String> = published.into_iter().map(|(id, _)| id).collect();

    let query = "query($id: ID!, $after: String) { book(id: $id) {
        reviews(first: 20, after: $after) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } }
    } }";
    let mut seen: HashMap<String, usize> = HashMap::new();
    let (mut after, mut pages, mut newcomers) = (Value::Null, 0, 1_000..1_040);
    loop {
        let response = readers[0].request_at(query, json!({ "id": book, "after": after }), at).await?;
        let page = &response.data()?["book"]["reviews"];
        for id in ids(page) {
            *seen.entry(id).or_default() += 1;
        }
        pages += 1;
        // New reviews land during the walk, some dated today, some back in the middle of it.
        if let (true, Some(i)) = (pages % 5 == 0, newcomers.next()) {
            publish(&readers[i], &book, "late", Some(day(if i % 2 == 0 { 0 } else { 150 })), false).await?;
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert!(pages >= 50, "walked {pages} pages");
    for id in &originals {
        assert_eq!(seen.get(id), Some(&1), "review {id} came back {:?} times", seen.get(id));
    }
    assert!(seen.values().all(|n| *n == 1), "no review came back twice");
    system.stop().await
}

#[tokio::test]
async fn likes_from_32_concurrent_readers_are_all_counted() -> anyhow::Result<()> {
    let system = System::start().await?;
    let readers = sign_up_many(&system, "fan", 33).await?;
    let (author, fans) = (&readers[0], &readers[1..]);
    let (book, _) = add_seed_book(&system).await?;
    let (review, _) = publish(author, &book, "Worth it.", None, false).await?;
    let likes = try_join_all(fans.iter().map(|fan| on_review(fan, "likeReview", &review))).await?;
    let mut at = 0;
    for like in &likes {
        at = at.max(position(&like.data()?["likeReview"])?);
    }
    let query = "query($r: ID!, $b: ID!) {
        review(id: $r) { likesCount likedByViewer }
        book(id: $b) { ratings { reviewCount } reviews { totalCount } }
        reader(handle: \"fan0\") { reviewsCount }
    }";
    let response = fans[0].request_at(query, json!({ "r": review, "b": book }), at).await?;
    assert_eq!(response.data()?["review"], json!({ "likesCount": 32, "likedByViewer": true }));

    let again = on_review(&fans[0], "likeReview", &review).await?;
    assert_eq!(again.error_code(), Some("ALREADY_EXISTS"));
    let unliked = on_review(&fans[1], "unlikeReview", &review).await?;
    let at = position(&unliked.data()?["unlikeReview"])?;
    let response = fans[1].request_at(query, json!({ "r": review, "b": book }), at).await?;
    assert_eq!(response.data()?["review"], json!({ "likesCount": 31, "likedByViewer": false }));

    // Withdrawing removes it from the book's count and the reviewer's.
    let withdrawn = on_review(author, "withdrawReview", &review).await?;
    let at = position(&withdrawn.data()?["withdrawReview"])?;
    let response = author.request_at(query, json!({ "r": review, "b": book }), at).await?;
    assert_eq!(
        response.data()?,
        &json!({ "review": null, "book": { "ratings": { "reviewCount": 0 }, "reviews": { "totalCount": 0 } }, "reader": { "reviewsCount": 0 } })
    );
    let response = author.request("{ viewer { reviewsCount reviews { totalCount } } }", json!({})).await?;
    assert_eq!(response.data()?["viewer"], json!({ "reviewsCount": 0, "reviews": { "totalCount": 0 } }));
    system.stop().await
}

#[tokio::test]
async fn comments_and_new_reviews_arrive_live() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    let (book, since) = add_seed_book(&system).await?;
    let mut live = ben
        .subscribe(
            "subscription($id: ID!, $since: Int) { bookReviewAdded(bookId: $id, since: $since) { id body reviewer { handle } } }",
            json!({ "id": book, "since": since }),
        )
        .await?;
    let (review, _) = publish(&ana, &book, "A quiet masterpiece.", None, false).await?;
    let pushed = live.next(Duration::from_secs(10)).await?;
    assert_eq!(
        pushed["bookReviewAdded"],
        json!({ "id": review, "body": "A quiet masterpiece.", "reviewer": { "handle": "ana" } })
    );

    let response = ben
        .request(
            "mutation($r: ID!) { commentOnReview(reviewId: $r, body: \"Agreed!\") { position commentId } }",
            json!({ "r": review }),
        )
        .await?;
    let comment = response.data()?["commentOnReview"].clone();
    let query = "query($r: ID!) { review(id: $r) { commentsCount comments { totalCount edges { node { id body commenter { handle } } } } } }";
    let response = ana.request_at(query, json!({ "r": review }), position(&comment)?).await?;
    assert_eq!(
        response.data()?["review"],
        json!({ "commentsCount": 1, "comments": { "totalCount": 1, "edges": [{ "node": { "id": comment["commentId"], "body": "Agreed!", "commenter": { "handle": "ben" } } }] } })
    );
    let delete = "mutation($c: ID!) { deleteComment(commentId: $c) { position } }";
    let (cyd, _) = sign_up(&system, "cyd").await?;
    let response = cyd.request(delete, json!({ "c": comment["commentId"] })).await?;
    assert_eq!(response.error_code(), Some("PERMISSION_DENIED"), "only its author or the review's deletes a comment");
    let response = ben.request(delete, json!({ "c": comment["commentId"] })).await?;
    let response = ana.request_at(query, json!({ "r": review }), position(&response.data()?["deleteComment"])?).await?;
    assert_eq!(response.data()?["review"]["commentsCount"], json!(0));
    system.stop().await
}

#[tokio::test]
async fn anonymous_subscribers_of_a_books_new_reviews_share_one_execution_and_a_late_one_catches_up_after_its_since(
) -> anyhow::Result<()> {
    const LIVE: &str =
        "subscription($id: ID!, $since: Int) { bookReviewAdded(bookId: $id, since: $since) { id body position } }";
    let wait = Duration::from_secs(10);
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    let (book, since) = add_seed_book(&system).await?;
    let variables = json!({ "id": book, "since": since });
    // Anonymous, over either protocol, as the web app's book page asks after the newest review
    // it shows: one execution. Signed in, the same request runs its own.
    let anonymous = system.client();
    let mut alike = vec![
        anonymous.subscribe(LIVE, variables.clone()).await?,
        anonymous.with_websocket_path("/graphql/ws").subscribe_legacy(LIVE, variables.clone()).await?,
    ];
    let mut signed_in = ben.subscribe(LIVE, variables.clone()).await?;

    let (first, _) = publish(&ana, &book, "A quiet masterpiece.", None, false).await?;
    for subscriber in alike.iter_mut().chain([&mut signed_in]) {
        assert_eq!(subscriber.next(wait).await?["bookReviewAdded"]["id"], json!(first));
    }
    assert_eq!(gauge(&system, "readstream_shared_executions").await?, 1.0, "the anonymous ones share");
    assert_eq!(gauge(&system, "readstream_subscriptions_open").await?, 3.0, "one per subscriber");

    // One who loads the page later, with the same `since`, first gets what it missed from the
    // running execution, then what comes next.
    let mut late = anonymous.subscribe(LIVE, variables.clone()).await?;
    let caught_up = late.next(wait).await?;
    assert_eq!(caught_up["bookReviewAdded"]["id"], json!(first));
    assert_eq!(caught_up["bookReviewAdded"]["body"], json!("A quiet masterpiece."));
    assert_eq!(gauge(&system, "readstream_shared_executions").await?, 1.0, "it joined the running one");
    let (second, _) = publish(&ben, &book, "Slow, then unputdownable.", None, false).await?;
    for subscriber in alike.iter_mut().chain([&mut signed_in, &mut late]) {
        assert_eq!(subscriber.next(wait).await?["bookReviewAdded"]["id"], json!(second));
    }

    // A bad book id is refused alike for everyone who sends it.
    let mut refused = anonymous.subscribe(LIVE, json!({ "id": "not-a-book", "since": since })).await?;
    assert!(refused.next(wait).await.is_err(), "a bad id is an error");
    drop((alike, late, refused, signed_in));
    let deadline = tokio::time::Instant::now() + wait;
    while gauge(&system, "readstream_shared_executions").await? != 0.0 {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "shared executions outlived their subscribers");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    system.stop().await
}

#[tokio::test]
async fn an_anonymous_subscriber_back_after_more_reviews_than_a_mailbox_keeps_gets_every_one() -> anyhow::Result<()> {
    // More than the 64 pushes a subscriber may leave unread: a shared execution posts its whole
    // replay before the socket reads any of it.
    const REVIEWS: usize = 70;
    let system = System::start().await?;
    let (book, since) = add_seed_book(&system).await?;
    let reviewers = sign_up_many(&system, "many", REVIEWS).await?;
    let mut last = 0;
    for (n, reviewer) in reviewers.iter().enumerate() {
        last = publish(reviewer, &book, &format!("Review number {n}."), None, false).await?.1;
    }
    let anonymous = system.client();
    let live = "subscription($id: ID!, $since: Int) { bookReviewAdded(bookId: $id, since: $since) { body position } }";
    let mut back = anonymous.subscribe_at(live, json!({ "id": book, "since": since }), last).await?;
    for n in 0..REVIEWS {
        let pushed = back.next(Duration::from_secs(10)).await?;
        assert_eq!(pushed["bookReviewAdded"]["body"], json!(format!("Review number {n}.")), "in the order published");
    }
    system.stop().await
}

#[tokio::test]
async fn bad_review_input_gets_a_coded_error_and_appends_nothing() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    let (book, _) = add_seed_book(&system).await?;
    let (review, _) = publish(&ana, &book, "Mine.", None, false).await?;
    let (withdrawn, _) = publish(&ben, &book, "Gone soon.", None, false).await?;
    on_review(&ben, "withdrawReview", &withdrawn).await?.data()?;
    let before = system.stream_messages().await?;

    let response = ben.request(PUBLISH, json!({ "book": book, "body": "  " })).await?;
    assert_eq!(response.error_code(), Some("INVALID_ARGUMENT"));
    let response = ben.request(PUBLISH, json!({ "book": book, "body": "x".repeat(20_001) })).await?;
    assert_eq!(response.error_code(), Some("INVALID_ARGUMENT"));
    let response = ana.request(PUBLISH, json!({ "book": book, "body": "A second review" })).await?;
    assert_eq!(response.error_code(), Some("ALREADY_EXISTS"));
    let response = ben
        .request(
            "mutation($r: ID!) { editReview(reviewId: $r, body: \"hijacked\") { position } }",
            json!({ "r": review }),
        )
        .await?;
    assert_eq!(response.error_code(), Some("PERMISSION_DENIED"));
    assert_eq!(on_review(&ana, "likeReview", &withdrawn).await?.error_code(), Some("NOT_FOUND"));
    assert_eq!(on_review(&ana, "likeReview", "Zm9yZ2Vk").await?.error_code(), Some("INVALID_ARGUMENT"));
    let response = ana
        .request("mutation($r: ID!) { commentOnReview(reviewId: $r, body: \"\") { position } }", json!({ "r": review }))
        .await?;
    assert_eq!(response.error_code(), Some("INVALID_ARGUMENT"));
    let response = ana
        .request(
            "query($b: ID!) { book(id: $b) { reviews(after: \"Zm9yZ2Vk\") { totalCount } } }",
            json!({ "b": book }),
        )
        .await?;
    assert_eq!(response.error_code(), Some("INVALID_ARGUMENT"), "a forged cursor");
    let response = ana
        .request("query($b: ID!) { book(id: $b) { reviews(stars: 6) { totalCount } } }", json!({ "b": book }))
        .await?;
    assert_eq!(response.error_code(), Some("INVALID_ARGUMENT"));
    assert_eq!(system.stream_messages().await?, before, "a refused command appended something");
    system.stop().await
}

#[tokio::test]
async fn node_refetches_every_kind_of_object_by_its_id() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, ana_id) = sign_up(&system, "ana").await?;
    let (book, _) = add_seed_book(&system).await?;
    let (review, _) = publish(&ana, &book, "Worth every page.", None, false).await?;
    let comment_on = "mutation($r: ID!) { commentOnReview(reviewId: $r, body: \"Agreed!\") { position commentId } }";
    let response = ana.request(comment_on, json!({ "r": review })).await?;
    let commented = &response.data()?["commentOnReview"];
    let (comment, at) = (commented["commentId"].as_str().context("no comment id")?.to_owned(), position(commented)?);
    let authors =
        ana.request_at("query($b: ID!) { book(id: $b) { authors { id } } }", json!({ "b": book }), at).await?;
    let author = authors.data()?["book"]["authors"][0]["id"].as_str().context("no author id")?.to_owned();

    let query = "query($id: ID!) { node(id: $id) {
        __typename id
        ... on Book { title } ... on Author { name } ... on Reader { handle } ... on Review { body } ... on Comment { body }
    } }";
    let expected = [
        (&book, json!({ "__typename": "Book", "id": book, "title": "Moscow 1956" })),
        (&author, json!({ "__typename": "Author", "id": author, "name": "Kathleen E. Smith" })),
        (&ana_id, json!({ "__typename": "Reader", "id": ana_id, "handle": "ana" })),
        (&review, json!({ "__typename": "Review", "id": review, "body": "Worth every page." })),
        (&comment, json!({ "__typename": "Comment", "id": comment, "body": "Agreed!" })),
    ];
    for (id, node) in expected {
        let response = ana.request(query, json!({ "id": id })).await?;
        assert_eq!(response.data()?["node"], node);
    }

    // An id of nothing is null; something that is no id of this API is refused.
    let nobody = ana.request(query, json!({ "id": "0190e6a0-0000-7000-8000-000000000000" })).await?;
    assert_eq!(nobody.data()?["node"], Value::Null);
    let nonsense = ana.request(query, json!({ "id": "not an id" })).await?;
    assert_eq!(nonsense.error_code(), Some("INVALID_ARGUMENT"));

    // A withdrawn review is gone, and with it its comments.
    let withdrawn = on_review(&ana, "withdrawReview", &review).await?;
    let at = position(&withdrawn.data()?["withdrawReview"])?;
    for id in [&review, &comment] {
        let response = ana.request_at(query, json!({ "id": id }), at).await?;
        assert_eq!(response.data()?["node"], Value::Null);
    }
    system.stop().await
}

/// A book read by id comes with its authors, figures and review count in one query, and a
/// review's reviewer with their counts in another; a book in the catalog's list and a reader
/// by handle come without, and their fields ask each slice. Both ways show the same.
#[tokio::test]
async fn a_book_page_shows_the_figures_and_reviewer_counts_the_lists_and_profiles_show() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let (ana, ana_id) = sign_up(&system, "ana_pages").await?;
    let (ben, _) = sign_up(&system, "ben_pages").await?;
    rate(&ana, &book, 4).await?;
    rate(&ben, &book, 2).await?;
    let shelve = |mutation: &str| format!("mutation($b: ID!) {{ {mutation}(bookId: $b) {{ position }} }}");
    ana.request(&shelve("startReading"), json!({ "b": book })).await?.data()?;
    ben.request(&shelve("wantToRead"), json!({ "b": book })).await?.data()?;
    let follow = "mutation($r: ID!) { follow(readerId: $r) { position } }";
    ben.request(follow, json!({ "r": ana_id })).await?.data()?;
    let (_, at) = publish(&ana, &book, "The archive chapters carry it.", None, false).await?;

    let figures = "authors { name } ratings { count average histogram { stars count } }
                   shelfCounts { wantToRead currentlyReading read didNotFinish paused }";
    let query = format!(
        "query($id: ID!) {{
            book(id: $id) {{ {figures} reviews(first: 10) {{ totalCount
                edges {{ node {{ reviewer {{ handle reviewsCount followersCount followingCount }} }} }} }} }}
            books(first: 10) {{ edges {{ node {{ {figures} reviews(first: 10) {{ totalCount }} }} }} }}
            reader(handle: \"ana_pages\") {{ handle reviewsCount followersCount followingCount }}
        }}"
    );
    let seen = ben.request_at(&query, json!({ "id": book }), at).await?.data()?.clone();
    let page = &seen["book"];
    assert_eq!(page["authors"], json!([{ "name": "Kathleen E. Smith" }]), "{seen}");
    assert_eq!((&page["ratings"]["count"], &page["ratings"]["average"]), (&json!(2), &json!(3.0)), "{seen}");
    let histogram = json!([
        { "stars": 5, "count": 0 }, { "stars": 4, "count": 1 }, { "stars": 3, "count": 0 },
        { "stars": 2, "count": 1 }, { "stars": 1, "count": 0 }
    ]);
    assert_eq!(page["ratings"]["histogram"], histogram, "{seen}");
    let shelves = json!({ "wantToRead": 1, "currentlyReading": 1, "read": 0, "didNotFinish": 0, "paused": 0 });
    assert_eq!(page["shelfCounts"], shelves, "{seen}");
    assert_eq!(page["reviews"]["totalCount"], json!(1), "{seen}");
    let reviewer = &page["reviews"]["edges"][0]["node"]["reviewer"];
    assert_eq!(*reviewer, seen["reader"], "the reviewer's counts are the reader's own: {seen}");
    assert_eq!(
        *reviewer,
        json!({ "handle": "ana_pages", "reviewsCount": 1, "followersCount": 1, "followingCount": 0 }),
        "{seen}"
    );
    let listed = &seen["books"]["edges"][0]["node"];
    for field in ["authors", "ratings", "shelfCounts"] {
        assert_eq!(listed[field], page[field], "{field} of the book in a list and by id: {seen}");
    }
    assert_eq!(listed["reviews"]["totalCount"], json!(1), "{seen}");
    Ok(())
}
