//! Recommendations through GraphQL: "readers also enjoyed" on a book from what readers rated
//! and shelved together, and "for you" from the viewer's own books, without those they already
//! have, each with its reason.

use readstream_e2e::System;
use readstream_testkit::graphql::GraphQl;
use serde_json::{json, Value};

use super::{rate, sign_up, ADD_AUTHOR, ADD_BOOK, RATE};

const ALSO: &str = "query($b: ID!) { book(id: $b) { readersAlsoEnjoyed(first: 5) { readers book { title } } } }";
const FOR_YOU: &str = "query($n: Int!) { recommendedBooks(first: $n) {
    book { title } because { title } reason becauseStars summary
} }";

fn titles(list: &Value, path: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|item| item.pointer(path).and_then(Value::as_str).unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn readers_who_enjoyed_a_book_lead_to_the_books_they_also_enjoyed() -> anyhow::Result<()> {
    let system = System::start().await?;
    let librarian = system.librarian().await?;
    let author =
        librarian.request(ADD_AUTHOR, json!({ "name": "Various" })).await?.data()?["addAuthor"]["authorId"].clone();
    let mut ids = std::collections::HashMap::new();
    for title in ["Dune", "Hyperion", "Foundation", "Emma", "Persuasion", "Middlemarch"] {
        let input = json!({ "title": title, "pages": 300, "authorIds": [author] });
        let added = librarian.request(ADD_BOOK, json!({ "input": input })).await?;
        ids.insert(title, added.data()?["addBook"]["bookId"].as_str().unwrap_or_default().to_owned());
    }
    let book = |title: &str| ids[title].clone();
    // Two tastes: three readers of science fiction, three of Austen and Eliot.
    let mut readers: Vec<GraphQl> = Vec::new();
    for (i, books) in [
        ["Dune", "Hyperion", "Foundation"],
        ["Dune", "Hyperion", "Foundation"],
        ["Dune", "Hyperion", "Foundation"],
        ["Emma", "Persuasion", "Middlemarch"],
        ["Emma", "Persuasion", "Middlemarch"],
        ["Emma", "Persuasion", "Middlemarch"],
    ]
    .iter()
    .enumerate()
    {
        let (reader, _) = sign_up(&system, &format!("reader{i}")).await?;
        for (j, title) in books.iter().enumerate() {
            rate(&reader, &book(title), 5 - j as i64 % 2).await?;
        }
        readers.push(reader);
    }
    // One science-fiction reader also tried Emma and disliked it: no taste, no pair.
    rate(&readers[0], &book("Emma"), 2).await?;

    let (ana, _) = sign_up(&system, "ana").await?;
    let rated = ana.request(RATE, json!({ "book": book("Dune"), "stars": 4.5 })).await?;
    let at = rated.data()?["rateBook"]["position"].as_u64().unwrap_or_default();

    let also = system.client().request_at(ALSO, json!({ "b": book("Dune") }), at).await?;
    let also = also.data()?["book"]["readersAlsoEnjoyed"].clone();
    let mut found = titles(&also, "/book/title");
    found.sort();
    assert_eq!(found, ["Foundation", "Hyperion"], "only what Dune's readers enjoyed: {also}");
    assert_eq!(also[0]["readers"], json!(3));

    let mine = ana.request_at(FOR_YOU, json!({ "n": 10 }), at).await?.data()?["recommendedBooks"].clone();
    let mut found = titles(&mine, "/book/title");
    found.sort();
    assert_eq!(found, ["Foundation", "Hyperion"], "{mine}");
    assert_eq!(
        (&mine[0]["because"]["title"], &mine[0]["reason"], &mine[0]["becauseStars"]),
        (&json!("Dune"), &json!("RATED"), &json!(4.5))
    );
    assert_eq!(mine[0]["summary"], json!("Because you rated Dune 4.5 stars"));

    // Shelved, a book is hers: it leaves her recommendations and her view of "also enjoyed".
    let shelved =
        ana.request("mutation($b: ID!) { wantToRead(bookId: $b) { position } }", json!({ "b": book("Hyperion") }));
    let at = shelved.await?.data()?["wantToRead"]["position"].as_u64().unwrap_or_default();
    let mine = ana.request_at(FOR_YOU, json!({ "n": 10 }), at).await?.data()?["recommendedBooks"].clone();
    assert_eq!(titles(&mine, "/book/title"), ["Foundation"], "{mine}");
    let also = ana.request_at(ALSO, json!({ "b": book("Dune") }), at).await?;
    assert_eq!(titles(&also.data()?["book"]["readersAlsoEnjoyed"], "/book/title"), ["Foundation"]);

    // An Austen reader is led to her own kind only.
    let austen = readers[3].request_at(ALSO, json!({ "b": book("Emma") }), at).await?;
    assert!(titles(&austen.data()?["book"]["readersAlsoEnjoyed"], "/book/title").is_empty(), "she has read them all");
    let stranger = system.client().request_at(ALSO, json!({ "b": book("Emma") }), at).await?;
    let mut found = titles(&stranger.data()?["book"]["readersAlsoEnjoyed"], "/book/title");
    found.sort();
    assert_eq!(found, ["Middlemarch", "Persuasion"], "a 2-star rating pairs Emma with no science fiction");

    let anonymous = system.client().request(FOR_YOU, json!({ "n": 10 })).await?;
    assert_eq!(anonymous.error_code(), Some("UNAUTHENTICATED"));
    for first in [0, 51, -1] {
        let refused = ana.request(FOR_YOU, json!({ "n": first })).await?;
        assert_eq!(
            (refused.error_code(), &refused.0["errors"][0]["extensions"]["field"]),
            (Some("INVALID_ARGUMENT"), &json!("first"))
        );
    }
    system.stop().await
}
