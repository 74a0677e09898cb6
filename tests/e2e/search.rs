//! Search as a reader types it: typos, accents and ISBNs, books by their authors, readers by
//! handle (but not across a block), kinds, pages, and the refusals.

use readstream_e2e::System;
use readstream_testkit::graphql::GraphQl;
use serde_json::{json, Value};

use super::{add_seed_book, position, sign_up, ADD_AUTHOR, ADD_BOOK};

const SEARCH: &str = "query($q: String!, $kinds: [SearchKind!], $first: Int, $after: String) {
    search(query: $q, kinds: $kinds, first: $first, after: $after) {
        edges { cursor node { __typename ... on Book { title } ... on Author { name } ... on Reader { handle } } }
        pageInfo { hasNextPage endCursor }
    }
}";

/// The hits, as `Kind: name`, best first.
async fn search(client: &GraphQl, at: u64, variables: Value) -> anyhow::Result<Vec<String>> {
    let response = client.request_at(SEARCH, variables, at).await?;
    let edges = response.data()?["search"]["edges"].as_array().cloned().unwrap_or_default();
    Ok(edges
        .iter()
        .map(|edge| {
            let node = &edge["node"];
            let name = [&node["title"], &node["name"], &node["handle"]].into_iter().find_map(Value::as_str);
            format!("{}: {}", node["__typename"].as_str().unwrap_or("?"), name.unwrap_or("?"))
        })
        .collect())
}

/// Adds an author and a book of theirs; returns the book's position.
async fn add_book_by(librarian: &GraphQl, author: &str, title: &str) -> anyhow::Result<u64> {
    let added = librarian.request(ADD_AUTHOR, json!({ "name": author })).await?;
    let author_id = added.data()?["addAuthor"]["authorId"].clone();
    let input = json!({ "title": title, "pages": 1225, "authorIds": [author_id] });
    position(&librarian.request(ADD_BOOK, json!({ "input": input })).await?.data()?["addBook"])
}

#[tokio::test]
async fn a_search_forgives_typos_and_accents_finds_books_by_author_and_isbn_and_pages() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (moscow, _) = add_seed_book(&system).await?;
    let librarian = system.librarian().await?;
    add_book_by(&librarian, "Léon Tolstoï", "Guerre et paix").await?;
    let edition = json!({ "bookId": moscow, "isbn": "9780140449136" });
    let added = librarian
        .request("mutation($e: AddEditionInput!) { addEdition(input: $e) { position } }", json!({ "e": edition }))
        .await?;
    let (_, _) = sign_up(&system, "kathleen_reads").await?;
    let at = position(&added.data()?["addEdition"])?.max(system.stream_messages().await?);
    let reader = system.client();

    assert_eq!(search(&reader, at, json!({ "q": "moskow 1956" })).await?, ["Book: Moscow 1956"]);
    assert_eq!(search(&reader, at, json!({ "q": "MOSCOW" })).await?, ["Book: Moscow 1956"]);
    // No word as it is in any title, and no author: the trigram index over titles finds it.
    assert_eq!(search(&reader, at, json!({ "q": "silencedd springg" })).await?, ["Book: Moscow 1956"]);
    assert_eq!(search(&reader, at, json!({ "q": "tolstoi" })).await?, ["Author: Léon Tolstoï", "Book: Guerre et paix"]);
    assert_eq!(
        search(&reader, at, json!({ "q": "guerre et paix", "kinds": ["BOOK"] })).await?,
        ["Book: Guerre et paix"]
    );
    assert_eq!(search(&reader, at, json!({ "q": "978-0-14-044913-6" })).await?, ["Book: Moscow 1956"]);
    assert_eq!(search(&reader, at, json!({ "q": "0140449132" })).await?, ["Book: Moscow 1956"]);
    let kathleen = search(&reader, at, json!({ "q": "kathleen" })).await?;
    assert_eq!(kathleen, ["Author: Kathleen E. Smith", "Reader: kathleen_reads", "Book: Moscow 1956"]);
    assert_eq!(search(&reader, at, json!({ "q": "kathleen", "kinds": ["READER"] })).await?, ["Reader: kathleen_reads"]);
    assert_eq!(search(&reader, at, json!({ "q": "zzyzx quux" })).await?, Vec::<String>::new());

    // Pages: one hit at a time, each after the last one's cursor.
    let mut seen = vec![];
    let mut after = Value::Null;
    loop {
        let page = reader.request(SEARCH, json!({ "q": "kathleen", "first": 1, "after": after })).await?;
        let search = &page.data()?["search"];
        seen.push(search["edges"][0]["node"]["__typename"].as_str().unwrap_or("?").to_owned());
        if search["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = search["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, ["Author", "Reader", "Book"]);
    system.stop().await
}

#[tokio::test]
async fn a_reader_who_blocked_the_viewer_is_not_found_and_bad_searches_are_refused() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "anastasia").await?;
    let (ben, ben_id) = sign_up(&system, "bartholomew").await?;
    let blocked = ana.request("mutation($r: ID!) { block(readerId: $r) { position } }", json!({ "r": ben_id })).await?;
    let at = position(&blocked.data()?["block"])?;
    let readers = json!({ "q": "anastasia", "kinds": ["READER"] });
    assert_eq!(search(&system.client(), at, readers.clone()).await?, ["Reader: anastasia"]);
    assert_eq!(search(&ben, at, readers).await?, Vec::<String>::new(), "she blocked him");
    let ben_reads = json!({ "q": "bartholomew", "kinds": ["READER"] });
    assert_eq!(search(&ana, at, ben_reads).await?, Vec::<String>::new(), "nor does she find him");

    for variables in [
        json!({ "q": "" }),
        json!({ "q": "   " }),
        json!({ "q": "x".repeat(201) }),
        json!({ "q": "two\nlines" }),
        json!({ "q": "ana", "first": 0 }),
        json!({ "q": "ana", "first": 51 }),
        json!({ "q": "ana", "after": "not a cursor" }),
    ] {
        let refused = system.client().request(SEARCH, variables.clone()).await?;
        assert_eq!(refused.error_code(), Some("INVALID_ARGUMENT"), "{variables}: {:?}", refused.0);
    }
    system.stop().await
}
