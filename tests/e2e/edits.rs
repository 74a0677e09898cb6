//! Librarians' edits of books and authors, kept as events, and reader accounts linked to
//! authors: a linked reader's review shows the author's badge.

use readstream_e2e::System;
use readstream_testkit::graphql::GraphQl;
use serde_json::{json, Value};

use super::{add_seed_book, position, sign_up, ADD_AUTHOR};

const EDIT_BOOK: &str = "mutation($b: ID!, $input: EditBookInput!) { editBook(bookId: $b, input: $input) {
    position book { title pages firstPublished authors { name } }
} }";
const EDIT_AUTHOR: &str = "mutation($a: ID!, $input: EditAuthorInput!) { editAuthor(authorId: $a, input: $input) {
    position author { name bio }
} }";
const LINK: &str = "mutation($a: ID!, $r: ID!) { linkAuthorProfile(authorId: $a, readerId: $r) {
    position author { name reader { handle } }
} }";
const UNLINK: &str =
    "mutation($a: ID!) { unlinkAuthorProfile(authorId: $a) { position author { reader { handle } } } }";
const REVIEWERS: &str = "query($b: ID!) { book(id: $b) { reviews(first: 10) { edges { node {
    reviewer { handle reviewsCount authorProfile { name booksCount followersCount } }
} } } } }";

async fn first_author(client: &GraphQl, book: &str) -> anyhow::Result<Value> {
    let authors = client.request("query($b: ID!) { book(id: $b) { authors { id } } }", json!({ "b": book })).await?;
    Ok(authors.data()?["book"]["authors"][0]["id"].clone())
}

#[tokio::test]
async fn a_librarian_edits_a_book_and_an_author_and_no_one_else_can() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let librarian = system.librarian().await?;
    let smith = first_author(&librarian, &book).await?;
    let added = librarian.request(ADD_AUTHOR, json!({ "name": "Anne Applebaum" })).await?;
    let applebaum = added.data()?["addAuthor"]["authorId"].clone();

    let input =
        json!({ "title": "Moscow, 1956", "pages": 412, "firstPublished": null, "authorIds": [applebaum, smith] });
    let edited = librarian.request(EDIT_BOOK, json!({ "b": book, "input": input })).await?;
    assert_eq!(
        edited.data()?["editBook"]["book"],
        json!({ "title": "Moscow, 1956", "pages": 412, "firstPublished": null,
                "authors": [{ "name": "Anne Applebaum" }, { "name": "Kathleen E. Smith" }] })
    );
    // A field left out keeps its value.
    let edited = librarian.request(EDIT_BOOK, json!({ "b": book, "input": { "pages": 400 } })).await?;
    assert_eq!(edited.data()?["editBook"]["book"]["title"], json!("Moscow, 1956"));
    assert_eq!(edited.data()?["editBook"]["book"]["pages"], json!(400));

    let renamed =
        librarian.request(EDIT_AUTHOR, json!({ "a": smith, "input": { "bio": "Historian of Russia." } })).await?;
    assert_eq!(
        renamed.data()?["editAuthor"]["author"],
        json!({ "name": "Kathleen E. Smith", "bio": "Historian of Russia." })
    );
    let at = position(&renamed.data()?["editAuthor"])?;
    let search = librarian
        .request_at("{ search(query: \"moscow, 1956\") { edges { node { ... on Book { title } } } } }", json!({}), at)
        .await?;
    assert_eq!(search.data()?["search"]["edges"][0]["node"]["title"], json!("Moscow, 1956"), "search sees the edit");

    // Refusals append nothing; an edit that changes nothing appends nothing either.
    let (reader, _) = sign_up(&system, "ana").await?;
    let before = system.stream_messages().await?;
    let same = librarian.request(EDIT_BOOK, json!({ "b": book, "input": { "pages": 400 } })).await?;
    assert_eq!(same.data()?["editBook"]["book"]["pages"], json!(400));
    let refusals = [
        (&reader, EDIT_BOOK, json!({ "b": book, "input": { "title": "Mine" } }), "PERMISSION_DENIED"),
        (&reader, EDIT_AUTHOR, json!({ "a": smith, "input": { "name": "Me" } }), "PERMISSION_DENIED"),
        (&librarian, EDIT_BOOK, json!({ "b": book, "input": {} }), "INVALID_ARGUMENT"),
        (&librarian, EDIT_BOOK, json!({ "b": book, "input": { "title": " " } }), "INVALID_ARGUMENT"),
        (&librarian, EDIT_BOOK, json!({ "b": book, "input": { "pages": 0 } }), "INVALID_ARGUMENT"),
        (&librarian, EDIT_BOOK, json!({ "b": book, "input": { "authorIds": [] } }), "INVALID_ARGUMENT"),
        (&librarian, EDIT_BOOK, json!({ "b": uuid::Uuid::now_v7(), "input": { "pages": 3 } }), "NOT_FOUND"),
        (&librarian, EDIT_AUTHOR, json!({ "a": smith, "input": { "name": "" } }), "INVALID_ARGUMENT"),
        (&librarian, EDIT_AUTHOR, json!({ "a": uuid::Uuid::now_v7(), "input": { "name": "X" } }), "NOT_FOUND"),
    ];
    for (client, mutation, variables, code) in refusals {
        let refused = client.request(mutation, variables.clone()).await?;
        assert_eq!(refused.error_code(), Some(code), "{variables}: {:?}", refused.0);
    }
    assert_eq!(system.stream_messages().await?, before, "no refusal and no empty edit appended anything");
    system.stop().await
}

#[tokio::test]
async fn a_reader_linked_to_an_author_shows_the_authors_badge_on_their_reviews() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let librarian = system.librarian().await?;
    let smith = first_author(&librarian, &book).await?;
    let (kathleen, kathleen_id) = sign_up(&system, "kathleen").await?;
    let (ana, ana_id) = sign_up(&system, "ana").await?;
    for reader in [&kathleen, &ana] {
        let review =
            "mutation($b: ID!) { publishReview(bookId: $b, body: \"A quiet, careful history.\") { position } }";
        reader.request(review, json!({ "b": book })).await?.data()?;
    }
    ana.request("mutation($a: ID!) { followAuthor(authorId: $a) { position } }", json!({ "a": smith }))
        .await?
        .data()?;

    let linked = librarian.request(LINK, json!({ "a": smith, "r": kathleen_id })).await?;
    assert_eq!(
        linked.data()?["linkAuthorProfile"]["author"],
        json!({ "name": "Kathleen E. Smith", "reader": { "handle": "kathleen" } })
    );
    let at = position(&linked.data()?["linkAuthorProfile"])?;
    let page = ana.request_at(REVIEWERS, json!({ "b": book }), at).await?;
    let mut reviewers: Vec<Value> = page.data()?["book"]["reviews"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["node"]["reviewer"].clone())
        .collect();
    reviewers.sort_by_key(|r| r["handle"].as_str().map(str::to_owned));
    assert_eq!(
        reviewers,
        [
            json!({ "handle": "ana", "reviewsCount": 1, "authorProfile": null }),
            json!({ "handle": "kathleen", "reviewsCount": 1,
                    "authorProfile": { "name": "Kathleen E. Smith", "booksCount": 1, "followersCount": 1 } }),
        ]
    );

    let before = system.stream_messages().await?;
    let again = librarian.request(LINK, json!({ "a": smith, "r": kathleen_id })).await?;
    assert_eq!(again.data()?["linkAuthorProfile"]["author"]["reader"]["handle"], json!("kathleen"));
    for (client, variables, code) in [
        (&librarian, json!({ "a": smith, "r": ana_id }), "ALREADY_EXISTS"),
        (&ana, json!({ "a": smith, "r": ana_id }), "PERMISSION_DENIED"),
        (&librarian, json!({ "a": smith, "r": uuid::Uuid::now_v7() }), "NOT_FOUND"),
        (&librarian, json!({ "a": smith, "r": "x" }), "INVALID_ARGUMENT"),
    ] {
        let refused = client.request(LINK, variables.clone()).await?;
        assert_eq!(refused.error_code(), Some(code), "{variables}: {:?}", refused.0);
    }
    assert_eq!(system.stream_messages().await?, before, "a repeated link and the refusals appended nothing");

    let unlinked = librarian.request(UNLINK, json!({ "a": smith })).await?;
    assert_eq!(unlinked.data()?["unlinkAuthorProfile"]["author"]["reader"], Value::Null);
    let at = position(&unlinked.data()?["unlinkAuthorProfile"])?;
    let profile = "{ reader(handle: \"kathleen\") { authorProfile { name } } }";
    let kathleen_now = ana.request_at(profile, json!({}), at).await?;
    assert_eq!(kathleen_now.data()?["reader"]["authorProfile"], Value::Null);
    let again = librarian.request(UNLINK, json!({ "a": smith })).await?;
    assert_eq!(again.error_code(), Some("NOT_FOUND"));
    system.stop().await
}
