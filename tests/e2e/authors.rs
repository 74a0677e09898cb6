//! Authors as the seed page shows them: their books, paged, and how many; who follows them,
//! followed and unfollowed by readers, forgotten with a deleted account; and a followed
//! author's new book in the follower's feed.

use readstream_e2e::System;
use readstream_testkit::graphql::GraphQl;
use serde_json::{json, Value};

use super::{add_seed_book, position, sign_up, ADD_AUTHOR, ADD_BOOK};

const AUTHOR: &str = "query($a: ID!, $after: String) { author(id: $a) {
    name booksCount followersCount viewerFollows
    books(first: 2, after: $after) { edges { node { title } } pageInfo { hasNextPage endCursor } }
} }";
const FOLLOW: &str =
    "mutation($a: ID!) { followAuthor(authorId: $a) { position author { followersCount viewerFollows } } }";
const UNFOLLOW: &str =
    "mutation($a: ID!) { unfollowAuthor(authorId: $a) { position author { followersCount viewerFollows } } }";

async fn author_at(client: &GraphQl, author: &Value, at: u64) -> anyhow::Result<Value> {
    Ok(client.request_at(AUTHOR, json!({ "a": author }), at).await?.data()?["author"].clone())
}

#[tokio::test]
async fn an_authors_books_are_paged_and_readers_follow_and_unfollow_them() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let librarian = system.librarian().await?;
    let authors = librarian.request("query($b: ID!) { book(id: $b) { authors { id } } }", json!({ "b": book })).await?;
    let author = authors.data()?["book"]["authors"][0]["id"].clone();
    let mut at = 0;
    for title in ["Gulag Voices", "Remembering Stalin's Victims"] {
        let input = json!({ "title": title, "pages": 300, "authorIds": [author] });
        at = position(&librarian.request(ADD_BOOK, json!({ "input": input })).await?.data()?["addBook"])?;
    }
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;

    let page = author_at(&ana, &author, at).await?;
    assert_eq!(
        (&page["name"], &page["booksCount"], &page["followersCount"], &page["viewerFollows"]),
        (&json!("Kathleen E. Smith"), &json!(3), &json!(0), &json!(false))
    );
    let titles = |page: &Value| {
        page["books"]["edges"].as_array().into_iter().flatten().map(|e| e["node"]["title"].clone()).collect::<Vec<_>>()
    };
    assert_eq!(titles(&page), [json!("Moscow 1956"), json!("Gulag Voices")]);
    let next = ana.request(AUTHOR, json!({ "a": author, "after": page["books"]["pageInfo"]["endCursor"] })).await?;
    let next = &next.data()?["author"];
    assert_eq!(titles(next), [json!("Remembering Stalin's Victims")]);
    assert_eq!(next["books"]["pageInfo"]["hasNextPage"], json!(false));

    let followed = ana.request(FOLLOW, json!({ "a": author })).await?;
    assert_eq!(followed.data()?["followAuthor"]["author"], json!({ "followersCount": 1, "viewerFollows": true }));
    let again = ana.request(FOLLOW, json!({ "a": author })).await?;
    assert_eq!(again.error_code(), Some("ALREADY_EXISTS"), "{:?}", again.0);
    let followed = ben.request(FOLLOW, json!({ "a": author })).await?;
    assert_eq!(followed.data()?["followAuthor"]["author"], json!({ "followersCount": 2, "viewerFollows": true }));
    let unfollowed = ana.request(UNFOLLOW, json!({ "a": author })).await?;
    assert_eq!(unfollowed.data()?["unfollowAuthor"]["author"], json!({ "followersCount": 1, "viewerFollows": false }));
    let again = ana.request(UNFOLLOW, json!({ "a": author })).await?;
    assert_eq!(again.error_code(), Some("NOT_FOUND"), "{:?}", again.0);

    let before = system.stream_messages().await?;
    let unknown = uuid::Uuid::now_v7().to_string();
    for (client, id, code) in [(&ana, json!(unknown), "NOT_FOUND"), (&ana, json!("x"), "INVALID_ARGUMENT")] {
        let refused = client.request(FOLLOW, json!({ "a": id })).await?;
        assert_eq!(refused.error_code(), Some(code), "{id}: {:?}", refused.0);
    }
    let anonymous = system.client().request(FOLLOW, json!({ "a": author })).await?;
    assert_eq!(anonymous.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(system.stream_messages().await?, before, "no refusal appended anything");

    // A deleted account's follows go with it.
    let deleted =
        ben.request("mutation { deleteAccount(password: \"correct horse battery\") { forgotten } }", json!({})).await?;
    assert_eq!(deleted.data()?["deleteAccount"]["forgotten"], json!(true));
    let page = author_at(&system.client(), &author, system.stream_messages().await?).await?;
    assert_eq!((&page["followersCount"], &page["viewerFollows"]), (&json!(0), &json!(false)));
    system.stop().await
}

#[tokio::test]
async fn one_reader_following_an_author_twice_at_once_follows_once() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let authors =
        system.client().request("query($b: ID!) { book(id: $b) { authors { id } } }", json!({ "b": book })).await?;
    let author = authors.data()?["book"]["authors"][0]["id"].clone();
    let (ana, _) = sign_up(&system, "ana").await?;
    let before = system.stream_messages().await?;
    let follow = "mutation($a: ID!) { followAuthor(authorId: $a) { position } }";
    let (first, second) =
        tokio::join!(ana.request(follow, json!({ "a": author })), ana.request(follow, json!({ "a": author })));
    let mut codes = vec![first?.error_code().map(str::to_owned), second?.error_code().map(str::to_owned)];
    codes.sort();
    assert_eq!(codes, [None, Some("ALREADY_EXISTS".to_owned())]);
    let at = system.stream_messages().await?;
    assert_eq!(at, before + 1, "one follow appended");
    assert_eq!(author_at(&ana, &author, at).await?["followersCount"], json!(1));
    system.stop().await
}

const NEW_BOOKS: &str =
    "{ viewer { feed(kinds: [NEW_BOOK]) { edges { node { kind reader { handle } author { name } book { title } } } } } }";

fn new_books(feed: &Value) -> Vec<(String, String)> {
    feed["viewer"]["feed"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            assert_eq!(e["node"]["reader"], Value::Null, "a new book is an author's, not a reader's");
            let name = e["node"]["author"]["name"].as_str().unwrap_or_default().to_owned();
            (name, e["node"]["book"]["title"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_followed_authors_new_book_reaches_the_followers_feed_once_and_the_back_catalog_does_not(
) -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let librarian = system.librarian().await?;
    let authors = librarian.request("query($b: ID!) { book(id: $b) { authors { id } } }", json!({ "b": book })).await?;
    let smith = authors.data()?["book"]["authors"][0]["id"].clone();
    let added = librarian.request(ADD_AUTHOR, json!({ "name": "Anne Applebaum" })).await?;
    let applebaum = added.data()?["addAuthor"]["authorId"].clone();
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    let (cyd, _) = sign_up(&system, "cyd").await?;
    ana.request(FOLLOW, json!({ "a": smith })).await?.data()?;
    // Ben follows both authors of the co-written book, and gets it once.
    ben.request(FOLLOW, json!({ "a": smith })).await?.data()?;
    ben.request(FOLLOW, json!({ "a": applebaum })).await?.data()?;

    let today = chrono::Utc::now().date_naive().to_string();
    let add = |title: &str, authors: Value, published: Option<&str>| json!({ "input": { "title": title, "pages": 300, "authorIds": authors, "firstPublished": published } });
    librarian.request(ADD_BOOK, add("Gulag Voices", json!([smith]), Some("2011-01-01"))).await?.data()?;
    librarian.request(ADD_BOOK, add("Stalin's Victims", json!([smith, applebaum]), Some(&today))).await?.data()?;
    let at =
        position(&librarian.request(ADD_BOOK, add("Untitled Memoir", json!([smith]), None)).await?.data()?["addBook"])?;

    let smiths = |title: &str| ("Kathleen E. Smith".to_owned(), title.to_owned());
    let ana_feed = ana.request_at(NEW_BOOKS, json!({}), at).await?;
    assert_eq!(new_books(ana_feed.data()?), [smiths("Untitled Memoir"), smiths("Stalin's Victims")]);
    let ben_feed = ben.request_at(NEW_BOOKS, json!({}), at).await?;
    assert_eq!(new_books(ben_feed.data()?), [smiths("Untitled Memoir"), smiths("Stalin's Victims")]);
    let cy_feed = cyd.request_at(NEW_BOOKS, json!({}), at).await?;
    assert_eq!(new_books(cy_feed.data()?), [], "no follow, no new books");

    // Unfollowing an author takes their books out of the feed.
    let at = position(&ana.request(UNFOLLOW, json!({ "a": smith })).await?.data()?["unfollowAuthor"])?;
    assert_eq!(new_books(ana.request_at(NEW_BOOKS, json!({}), at).await?.data()?), []);
    system.stop().await
}
