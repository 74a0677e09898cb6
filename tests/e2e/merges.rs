//! A librarian merges a duplicate book into another: the duplicate's id keeps resolving, its
//! readers' ratings, shelves and reviews move (the more recent winning where a reader has
//! both), and every figure stays right.

use std::time::Duration;

use readstream_e2e::System;
use readstream_testkit::graphql::GraphQl;
use serde_json::{json, Value};

use super::{add_seed_book, position, sign_up, ADD_BOOK};

const MERGE: &str =
    "mutation($b: ID!, $into: ID!) { mergeBooks(bookId: $b, intoId: $into) { position book { id title } } }";
const BOOK: &str = "query($b: ID!) { book(id: $b) {
    id title ratings { count histogram { stars count } } shelfCounts { wantToRead currentlyReading read }
    viewerShelf { status startedOn finishedOn }
} }";

async fn act(reader: &GraphQl, mutation: &str, book: &str) -> anyhow::Result<u64> {
    let response = reader.request(mutation, json!({ "b": book })).await?;
    let data = response.data()?;
    let payload = data.as_object().and_then(|o| o.values().next()).cloned().unwrap_or_default();
    position(&payload)
}

/// Waits until the gateway's job has moved the duplicate's readers (or followers); the stream's
/// position then, which includes every command of the move.
pub(crate) async fn moved(system: &System, duplicate: &str) -> anyhow::Result<u64> {
    use sqlx::Connection as _;
    let mut db = sqlx::PgConnection::connect(&system.database_url).await?;
    let duplicate = uuid::Uuid::parse_str(duplicate)?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let done: Option<bool> = sqlx::query_scalar("SELECT done FROM merges WHERE duplicate = $1")
            .bind(duplicate)
            .fetch_optional(&mut db)
            .await?;
        if done == Some(true) {
            return system.stream_messages().await;
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "the move never ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn histogram(book: &Value) -> Vec<(i64, i64)> {
    let mut bars: Vec<(i64, i64)> = book["ratings"]["histogram"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|bar| bar["count"].as_i64() > Some(0))
        .map(|bar| (bar["stars"].as_i64().unwrap_or(0), bar["count"].as_i64().unwrap_or(0)))
        .collect();
    bars.sort();
    bars
}

#[tokio::test]
async fn a_merged_duplicate_resolves_to_the_book_and_its_readers_data_moves_with_the_newer_winning(
) -> anyhow::Result<()> {
    let system = System::start().await?;
    let (into, _) = add_seed_book(&system).await?;
    let librarian = system.librarian().await?;
    let authors = librarian.request("query($b: ID!) { book(id: $b) { authors { id } } }", json!({ "b": into })).await?;
    let author = authors.data()?["book"]["authors"][0]["id"].clone();
    let input = json!({ "input": { "title": "Moscow, 1956", "pages": 400, "authorIds": [author] } });
    let dup =
        librarian.request(ADD_BOOK, input).await?.data()?["addBook"]["bookId"].as_str().unwrap_or_default().to_owned();

    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    let (cyd, _) = sign_up(&system, "cyd").await?;
    let (dee, _) = sign_up(&system, "dee").await?;
    let rate = |stars: i64| format!("mutation($b: ID!) {{ rateBook(bookId: $b, stars: {stars}) {{ position }} }}");
    // Ana has only the duplicate: rated, read three times, reviewed.
    act(&ana, &rate(5), &dup).await?;
    for (started, finished) in
        [("2023-01-01", "2023-01-10"), ("2023-06-01", "2023-06-10"), ("2024-01-01", "2024-01-10")]
    {
        let start =
            format!("mutation($b: ID!) {{ startReading(bookId: $b, startedOn: \"{started}\") {{ position }} }}");
        act(&ana, &start, &dup).await?;
        let finish =
            format!("mutation($b: ID!) {{ finishReading(bookId: $b, finishedOn: \"{finished}\") {{ position }} }}");
        act(&ana, &finish, &dup).await?;
    }
    act(&ana, "mutation($b: ID!) { publishReview(bookId: $b, body: \"The thaw, felt.\") { position } }", &dup).await?;
    // Ben rated the book, then the duplicate: the duplicate's is newer and wins.
    act(&ben, &rate(2), &into).await?;
    act(&ben, &rate(4), &dup).await?;
    // Cyd rated the duplicate, then the book: the book's is newer and stays.
    act(&cyd, &rate(3), &dup).await?;
    act(&cyd, &rate(1), &into).await?;
    // Dee wanted the duplicate, then started the book.
    act(&dee, "mutation($b: ID!) { wantToRead(bookId: $b) { position } }", &dup).await?;
    act(&dee, "mutation($b: ID!) { startReading(bookId: $b) { position } }", &into).await?;

    let (eve, _) = sign_up(&system, "eve").await?;
    let before = system.stream_messages().await?;
    let refusals = [
        (&eve, json!({ "b": dup, "into": into }), "PERMISSION_DENIED"),
        (&librarian, json!({ "b": dup, "into": dup }), "INVALID_ARGUMENT"),
        (&librarian, json!({ "b": dup, "into": uuid::Uuid::now_v7() }), "NOT_FOUND"),
        (&librarian, json!({ "b": "nope", "into": into }), "INVALID_ARGUMENT"),
    ];
    for (client, variables, code) in refusals {
        let refused = client.request(MERGE, variables.clone()).await?;
        assert_eq!(refused.error_code(), Some(code), "{variables}: {:?}", refused.0);
    }
    assert_eq!(system.stream_messages().await?, before, "no refusal appended anything");

    let merged = librarian.request(MERGE, json!({ "b": dup, "into": into })).await?;
    assert_eq!(merged.data()?["mergeBooks"]["book"], json!({ "id": into, "title": "Moscow 1956" }));
    let again = librarian.request(MERGE, json!({ "b": dup, "into": into })).await?;
    assert_eq!(again.error_code(), Some("ALREADY_EXISTS"));
    let chained = librarian.request(MERGE, json!({ "b": into, "into": dup })).await?;
    assert_eq!(chained.error_code(), Some("CONFLICT"), "{:?}", chained.0);

    // Once moved: Ana's 5, Ben's newer 4 and Cyd's newer 1 on the book.
    let at = moved(&system, &dup).await?;
    let book = ana.request_at(BOOK, json!({ "b": into }), at).await?.data()?["book"].clone();
    assert_eq!(histogram(&book), [(1, 1), (4, 1), (5, 1)]);
    assert_eq!(book["shelfCounts"], json!({ "wantToRead": 0, "currentlyReading": 1, "read": 1 }));
    assert_eq!(book["viewerShelf"], json!({ "status": "READ", "startedOn": "2024-01-01", "finishedOn": "2024-01-10" }));
    let read =
        ana.request_at("query($b: ID!) { book(id: $b) { viewerShelf { readCount } } }", json!({ "b": into }), at);
    assert_eq!(read.await?.data()?["book"]["viewerShelf"]["readCount"], json!(3), "each of Ana's reads moved");

    // The duplicate's id resolves to the book, and lists leave it out.
    let at = system.stream_messages().await?;
    let resolved = ana.request_at(BOOK, json!({ "b": dup }), at).await?.data()?["book"].clone();
    assert_eq!((&resolved["id"], &resolved["ratings"]["count"]), (&json!(into), &json!(3)));
    let listed = ana.request_at("{ books(first: 10) { totalCount edges { node { id } } } }", json!({}), at).await?;
    assert_eq!(listed.data()?["books"]["totalCount"], json!(1));
    let reviews = ana
        .request_at(
            "query($b: ID!) { book(id: $b) { reviews(first: 5) { edges { node { body reviewer { handle } } } } } }",
            json!({ "b": into }),
            at,
        )
        .await?;
    assert_eq!(
        reviews.data()?["book"]["reviews"]["edges"],
        json!([{ "node": { "body": "The thaw, felt.", "reviewer": { "handle": "ana" } } }])
    );

    // A command on the duplicate's id acts on the book.
    act(&ana, &rate(2), &dup).await?;
    let at = system.stream_messages().await?;
    let book = ana.request_at(BOOK, json!({ "b": into }), at).await?.data()?["book"].clone();
    assert_eq!(histogram(&book), [(1, 1), (2, 1), (4, 1)]);

    // What the duplicate held stays in its history: Cyd's 3 stars on it, then cleared.
    let (_, history) = cyd.download("/export/events.ndjson").await?;
    let on_dup: Vec<String> = history
        .lines()
        .filter(|line| line.contains(&dup))
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|event| event["type"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(on_dup, ["BookRated", "RatingCleared"], "{history}");
    system.stop().await
}

#[tokio::test]
async fn a_merged_duplicate_author_resolves_to_the_author_with_their_books_and_followers() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (moscow, _) = add_seed_book(&system).await?;
    let librarian = system.librarian().await?;
    let authors =
        librarian.request("query($b: ID!) { book(id: $b) { authors { id } } }", json!({ "b": moscow })).await?;
    let into = authors.data()?["book"]["authors"][0]["id"].as_str().unwrap_or_default().to_owned();
    let added = librarian.request(super::ADD_AUTHOR, json!({ "name": "Kathleen Smith" })).await?;
    let dup = added.data()?["addAuthor"]["authorId"].as_str().unwrap_or_default().to_owned();
    let input = json!({ "input": { "title": "Gulag Voices", "pages": 200, "authorIds": [dup] } });
    let gulag =
        librarian.request(ADD_BOOK, input).await?.data()?["addBook"]["bookId"].as_str().unwrap_or_default().to_owned();
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    let follow = "mutation($a: ID!) { followAuthor(authorId: $a) { position } }";
    ana.request(follow, json!({ "a": dup })).await?.data()?;
    ben.request(follow, json!({ "a": dup })).await?.data()?;
    ben.request(follow, json!({ "a": into })).await?.data()?;

    let merge =
        "mutation($a: ID!, $into: ID!) { mergeAuthors(authorId: $a, intoId: $into) { position author { id name } } }";
    let reader = ana.request(merge, json!({ "a": dup, "into": into })).await?;
    assert_eq!(reader.error_code(), Some("PERMISSION_DENIED"));
    let merged = librarian.request(merge, json!({ "a": dup, "into": into })).await?;
    assert_eq!(merged.data()?["mergeAuthors"]["author"], json!({ "id": into, "name": "Kathleen E. Smith" }));
    let chained = librarian.request(merge, json!({ "a": into, "into": dup })).await?;
    assert_eq!(chained.error_code(), Some("CONFLICT"));

    let author = "query($a: ID!) { author(id: $a) { id name booksCount followersCount viewerFollows } }";
    let at = moved(&system, &dup).await?;
    let now = ana.request_at(author, json!({ "a": dup }), at).await?.data()?["author"].clone();
    assert_eq!(
        now,
        json!({ "id": into, "name": "Kathleen E. Smith", "booksCount": 2, "followersCount": 2, "viewerFollows": true })
    );
    let at = system.stream_messages().await?;
    let book = ana.request_at("query($b: ID!) { book(id: $b) { authors { id } } }", json!({ "b": gulag }), at).await?;
    assert_eq!(book.data()?["book"]["authors"], json!([{ "id": into }]));
    let found = ana
        .request_at(
            "{ search(query: \"kathleen smith\", kinds: [AUTHOR]) { edges { node { ... on Author { id } } } } }",
            json!({}),
            at,
        )
        .await?;
    assert_eq!(found.data()?["search"]["edges"], json!([{ "node": { "id": into } }]), "the duplicate is found no more");
    system.stop().await
}
