//! Readers' lists through GraphQL: made by anyone, books added and voted on by anyone (once per
//! reader per book), ranked by votes, shown on a book's page; the owner alone edits; a
//! librarian hides; blocks hide a list both ways and refuse votes; a deleted owner's list keeps
//! its books and votes without its title and description.

use readstream_e2e::System;
use readstream_testkit::graphql::GraphQl;
use serde_json::{json, Value};

use super::{add_seed_book, position, sign_up, ADD_BOOK};

const CREATE: &str = "mutation($t: String!, $d: String) {
    createList(input: { title: $t, description: $d }) { position listId }
}";
const ADD: &str = "mutation($l: ID!, $b: ID!) { addBookToList(listId: $l, bookId: $b) { position } }";
const VOTE: &str = "mutation($l: ID!, $b: ID!) { voteOnList(listId: $l, bookId: $b) { position } }";
const LIST: &str = "query($l: ID!) { list(id: $l) {
    title description hidden booksCount votesCount owner { handle }
    books(first: 10) { totalCount edges { node { votes viewerVoted book { title } } } }
} }";
const ON_BOOK: &str = "query($b: ID!) { book(id: $b) { lists { title votesCount } } }";

async fn at(reader: &GraphQl, mutation: &str, variables: Value) -> anyhow::Result<u64> {
    let response = reader.request(mutation, variables).await?;
    let data = response.data()?;
    position(data.as_object().and_then(|fields| fields.values().next()).unwrap_or(&Value::Null))
}

fn ranking(list: &Value) -> Vec<(String, i64)> {
    list["books"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (e["node"]["book"]["title"].as_str().unwrap_or("").to_owned(), e["node"]["votes"].as_i64().unwrap_or(-1))
        })
        .collect()
}

#[tokio::test]
async fn readers_make_lists_vote_on_their_books_and_the_rules_of_blocks_librarians_and_leaving_hold(
) -> anyhow::Result<()> {
    let system = System::start().await?;
    let (moscow, _) = add_seed_book(&system).await?;
    let librarian = system.librarian().await?;
    let authors =
        librarian.request("query($b: ID!) { book(id: $b) { authors { id } } }", json!({ "b": moscow })).await?;
    let author = authors.data()?["book"]["authors"][0]["id"].clone();
    let input = json!({ "input": { "title": "Gulag Voices", "pages": 250, "authorIds": [author] } });
    let gulag =
        librarian.request(ADD_BOOK, input).await?.data()?["addBook"]["bookId"].as_str().unwrap_or("").to_owned();
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    let (cyd, _) = sign_up(&system, "cyd").await?;
    let (dee, _) = sign_up(&system, "dee").await?;
    let (eve, eve_id) = sign_up(&system, "eve").await?;

    let created = ana.request(CREATE, json!({ "t": " Books of the Thaw ", "d": "1953 to 1964." })).await?;
    let list = created.data()?["createList"]["listId"].as_str().unwrap_or("").to_owned();
    at(&ana, ADD, json!({ "l": list, "b": moscow })).await?;
    at(&ben, ADD, json!({ "l": list, "b": gulag })).await?;
    at(&ben, VOTE, json!({ "l": list, "b": moscow })).await?;
    at(&cyd, VOTE, json!({ "l": list, "b": gulag })).await?;
    // Again: nothing appended, so its position is the first vote's; read at the stream's last.
    at(&ben, VOTE, json!({ "l": list, "b": moscow })).await?;
    let voted = system.stream_messages().await?;
    let read = ben.request_at(LIST, json!({ "l": list }), voted).await?.data()?["list"].clone();
    assert_eq!(
        (&read["title"], &read["description"], &read["booksCount"], &read["votesCount"], &read["owner"]["handle"]),
        (&json!("Books of the Thaw"), &json!("1953 to 1964."), &json!(2), &json!(4), &json!("ana"))
    );
    assert_eq!(ranking(&read), [("Moscow 1956".into(), 2), ("Gulag Voices".into(), 2)], "a tie: the first added first");
    assert_eq!(read["books"]["edges"][0]["node"]["viewerVoted"], json!(true));
    let voted = at(&dee, VOTE, json!({ "l": list, "b": gulag })).await?;
    let read = ben.request_at(LIST, json!({ "l": list }), voted).await?.data()?["list"].clone();
    assert_eq!(ranking(&read), [("Gulag Voices".into(), 3), ("Moscow 1956".into(), 2)]);
    let on_book = ben.request_at(ON_BOOK, json!({ "b": moscow }), voted).await?;
    assert_eq!(on_book.data()?["book"]["lists"], json!([{ "title": "Books of the Thaw", "votesCount": 5 }]));

    // Refused, each with its code, changing nothing.
    let before = system.stream_messages().await?;
    let edit = "mutation($l: ID!) { editList(listId: $l, input: { title: \"Mine now\" }) { position } }";
    let hide = "mutation($l: ID!, $h: Boolean!) { hideList(listId: $l, hidden: $h) { position } }";
    for (who, query, variables, code) in [
        (&ben, edit, json!({ "l": list }), "PERMISSION_DENIED"),
        (&ben, hide, json!({ "l": list, "h": true }), "PERMISSION_DENIED"),
        (&ben, CREATE, json!({ "t": "   " }), "INVALID_ARGUMENT"),
        (&ben, VOTE, json!({ "l": list, "b": uuid::Uuid::now_v7() }), "NOT_FOUND"),
        (&ben, VOTE, json!({ "l": uuid::Uuid::now_v7(), "b": moscow }), "NOT_FOUND"),
        (&ben, ADD, json!({ "l": list, "b": uuid::Uuid::now_v7() }), "NOT_FOUND"),
    ] {
        let refused = who.request(query, variables.clone()).await?;
        assert_eq!(refused.error_code(), Some(code), "{query} {variables}: {}", refused.0);
    }
    assert_eq!(system.stream_messages().await?, before, "a refusal appends nothing");

    // Blocks: Ana blocks Eve; Eve no longer sees the list, and may not vote on it.
    let blocked = at(&ana, "mutation($r: ID!) { block(readerId: $r) { position } }", json!({ "r": eve_id })).await?;
    assert_eq!(eve.request_at(LIST, json!({ "l": list }), blocked).await?.data()?["list"], Value::Null);
    assert_eq!(eve.request_at(ON_BOOK, json!({ "b": moscow }), blocked).await?.data()?["book"]["lists"], json!([]));
    assert_eq!(eve.request(VOTE, json!({ "l": list, "b": moscow })).await?.error_code(), Some("PERMISSION_DENIED"));

    // A librarian hides it: only Ana sees it then; shown again, everyone does.
    let hidden = at(&librarian, hide, json!({ "l": list, "h": true })).await?;
    assert_eq!(ben.request_at(LIST, json!({ "l": list }), hidden).await?.data()?["list"], Value::Null);
    assert_eq!(ana.request_at(LIST, json!({ "l": list }), hidden).await?.data()?["list"]["hidden"], json!(true));
    assert_eq!(ben.request(VOTE, json!({ "l": list, "b": moscow })).await?.error_code(), Some("NOT_FOUND"));
    let shown = at(&librarian, hide, json!({ "l": list, "h": false })).await?;
    assert_eq!(ben.request_at(LIST, json!({ "l": list }), shown).await?.data()?["list"]["hidden"], json!(false));

    // Ana leaves: her list stays, its books and every vote (hers counted, no longer hers), without
    // its title and description.
    ana.request("mutation { deleteAccount(password: \"correct horse battery\") { readerId } }", json!({}))
        .await?
        .data()?;
    let last = system.stream_messages().await?;
    let left = ben.request_at(LIST, json!({ "l": list }), last).await?.data()?["list"].clone();
    assert_eq!(
        (&left["title"], &left["description"], &left["owner"], &left["votesCount"]),
        (&json!(""), &json!(""), &Value::Null, &json!(5))
    );
    assert_eq!(ranking(&left), [("Gulag Voices".into(), 3), ("Moscow 1956".into(), 2)]);
    let newest = ben.request_at("{ lists(first: 5) { edges { node { booksCount } } } }", json!({}), last).await?;
    assert_eq!(newest.data()?["lists"]["edges"], json!([{ "node": { "booksCount": 2 } }]));
    system.stop().await
}

/// The same vote sent eight times at once, as a double-tapping client or a retrying proxy sends
/// it: each answered (accepted, or told to try again), and counted once.
#[tokio::test]
async fn the_same_vote_sent_many_times_at_once_counts_once() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (moscow, _) = add_seed_book(&system).await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    let created = ana.request(CREATE, json!({ "t": "Thaw", "d": "" })).await?;
    let list = created.data()?["createList"]["listId"].as_str().unwrap_or("").to_owned();
    at(&ana, ADD, json!({ "l": list, "b": moscow })).await?;
    let votes = futures::future::join_all((0..8).map(|_| ben.request(VOTE, json!({ "l": list, "b": moscow })))).await;
    let mut accepted = 0;
    for vote in votes {
        let vote = vote?;
        match vote.error_code() {
            None => accepted += 1,
            Some(code) => assert_eq!(code, "CONFLICT", "{:?}", vote.0),
        }
    }
    assert!(accepted >= 1, "no vote was accepted");
    let read = ben.request_at(LIST, json!({ "l": list }), system.stream_messages().await?).await?;
    let read = read.data()?["list"].clone();
    assert_eq!((&read["votesCount"], ranking(&read)), (&json!(2), vec![("Moscow 1956".to_owned(), 2)]));
    system.stop().await
}
