//! A book's editions: added by librarians, one per ISBN (kept as ISBN-13, found by either form),
//! and a book found by any of its editions' ISBNs.

use readstream_e2e::System;
use serde_json::{json, Value};

use super::{add_seed_book, sign_up};

const ADD_EDITION: &str = "mutation($input: AddEditionInput!) {
    addEdition(input: $input) {
        position
        book { editions { isbn13 isbn10 format pages publisher publishedOn language coverUrl } }
    }
}";
const BY_ISBN: &str = "query($isbn: String) { book(isbn: $isbn) { id title } }";

fn penguin(book: &str) -> Value {
    json!({
        "bookId": book,
        "isbn": "0-14-044913-2",
        "format": "Paperback",
        "pages": 416,
        "publisher": "Penguin",
        "publishedOn": "2003-05-01",
        "language": "en-GB",
        "coverUrl": "https://covers.example/9780140449136.jpg",
    })
}

#[tokio::test]
async fn a_librarian_adds_editions_and_a_book_is_found_by_any_of_their_isbns() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let librarian = system.librarian().await?;

    let added = librarian.request(ADD_EDITION, json!({ "input": penguin(&book) })).await?;
    let penguin_edition = json!({
        "isbn13": "9780140449136",
        "isbn10": "0140449132",
        "format": "Paperback",
        "pages": 416,
        "publisher": "Penguin",
        "publishedOn": "2003-05-01",
        "language": "en-GB",
        "coverUrl": "https://covers.example/9780140449136.jpg",
    });
    assert_eq!(added.data()?["addEdition"]["book"]["editions"], json!([penguin_edition.clone()]));
    // A 979 ISBN has no ISBN-10; what is not known is left out.
    let sparse = json!({ "bookId": book, "isbn": "979-10-90636-07-1" });
    let added = librarian.request(ADD_EDITION, json!({ "input": sparse })).await?;
    let unknown = json!({
        "isbn13": "9791090636071",
        "isbn10": null,
        "format": "",
        "pages": null,
        "publisher": "",
        "publishedOn": null,
        "language": "",
        "coverUrl": null,
    });
    assert_eq!(added.data()?["addEdition"]["book"]["editions"], json!([penguin_edition, unknown]));

    for isbn in ["9780140449136", "0140449132", "978-0-14-044913-6", "=\"0140449132\"", "9791090636071"] {
        let found = system.client().request(BY_ISBN, json!({ "isbn": isbn })).await?;
        assert_eq!(found.data()?["book"], json!({ "id": book, "title": "Moscow 1956" }), "{isbn}");
    }
    let none = system.client().request(BY_ISBN, json!({ "isbn": "080442957X" })).await?;
    assert_eq!(none.data()?["book"], Value::Null, "a valid ISBN of no edition");
    for bad in ["9780140449137", "014044913", "not an isbn"] {
        let refused = system.client().request(BY_ISBN, json!({ "isbn": bad })).await?;
        assert_eq!(refused.error_code(), Some("INVALID_ARGUMENT"), "{bad}: {:?}", refused.0);
    }
    let both = system
        .client()
        .request("query($id: ID) { book(id: $id, isbn: \"0140449132\") { id } }", json!({ "id": book }))
        .await?;
    assert_eq!(both.error_code(), Some("INVALID_ARGUMENT"));
    let neither = system.client().request("{ book { id } }", json!({})).await?;
    assert_eq!(neither.error_code(), Some("INVALID_ARGUMENT"));
    system.stop().await
}

#[tokio::test]
async fn an_edition_is_refused_for_a_taken_isbn_a_reader_an_unknown_book_or_a_bad_field() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let (other, _) = add_seed_book(&system).await?;
    let librarian = system.librarian().await?;
    librarian.request(ADD_EDITION, json!({ "input": penguin(&book) })).await?.data()?;
    let (reader, _) = sign_up(&system, "ana").await?;
    let before = system.stream_messages().await?;

    let unknown_book = uuid::Uuid::now_v7().to_string();
    let mut refusals = vec![
        (&librarian, penguin(&book), "ALREADY_EXISTS"),
        (&librarian, json!({ "bookId": other, "isbn": "9780140449136" }), "ALREADY_EXISTS"),
        (&reader, json!({ "bookId": book, "isbn": "9780804429573" }), "PERMISSION_DENIED"),
        (&librarian, json!({ "bookId": unknown_book, "isbn": "9780804429573" }), "NOT_FOUND"),
        (&librarian, json!({ "bookId": "not-an-id", "isbn": "9780804429573" }), "INVALID_ARGUMENT"),
        (&librarian, json!({ "bookId": book, "isbn": "9780804429574" }), "INVALID_ARGUMENT"),
    ];
    for (field, value) in [
        ("coverUrl", json!("javascript:alert(1)")),
        ("language", json!("English")),
        ("pages", json!(-3)),
        ("publishedOn", json!("2999-01-01")),
        ("publisher", json!("P\u{0}")),
    ] {
        let mut input = json!({ "bookId": book, "isbn": "9780804429573" });
        input[field] = value;
        refusals.push((&librarian, input, "INVALID_ARGUMENT"));
    }
    for (client, input, code) in refusals {
        let refused = client.request(ADD_EDITION, json!({ "input": input })).await?;
        assert_eq!(refused.error_code(), Some(code), "{input}: {:?}", refused.0);
    }
    assert_eq!(system.stream_messages().await?, before, "no refusal appended anything");
    system.stop().await
}

#[tokio::test]
async fn one_isbn_added_twice_at_once_to_two_books_is_one_edition() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let (other, _) = add_seed_book(&system).await?;
    let librarian = system.librarian().await?;
    let before = system.stream_messages().await?;
    let (first, second) = tokio::join!(
        librarian.request(ADD_EDITION, json!({ "input": { "bookId": book, "isbn": "9780140449136" } })),
        librarian.request(ADD_EDITION, json!({ "input": { "bookId": other, "isbn": "0140449132" } })),
    );
    let mut codes = vec![first?.error_code().map(str::to_owned), second?.error_code().map(str::to_owned)];
    codes.sort();
    assert_eq!(codes, [None, Some("ALREADY_EXISTS".to_owned())]);
    assert_eq!(system.stream_messages().await?, before + 1, "one edition appended");
    system.stop().await
}

#[tokio::test]
async fn a_reader_names_the_edition_of_a_shelved_book_they_hold() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let librarian = system.librarian().await?;
    librarian.request(ADD_EDITION, json!({ "input": penguin(&book) })).await?.data()?;
    let authors = librarian.request("query($b: ID!) { book(id: $b) { authors { id } } }", json!({ "b": book })).await?;
    let author = authors.data()?["book"]["authors"][0]["id"].clone();
    let other = json!({ "input": { "title": "Gulag Voices", "pages": 200, "authorIds": [author] } });
    let other_book = librarian.request(super::ADD_BOOK, other).await?.data()?["addBook"]["bookId"].clone();
    let other_edition = json!({ "bookId": other_book, "isbn": "978-0-306-40615-7" });
    librarian.request(ADD_EDITION, json!({ "input": other_edition })).await?.data()?;

    let (ana, _) = sign_up(&system, "ana").await?;
    let choose = "mutation($b: ID!, $isbn: String) { chooseEdition(bookId: $b, isbn: $isbn) {
        position shelf { status edition { isbn13 format publisher } }
    } }";
    let before = system.stream_messages().await?;
    let unshelved = ana.request(choose, json!({ "b": book, "isbn": "0140449132" })).await?;
    assert_eq!(unshelved.error_code(), Some("CONFLICT"), "{:?}", unshelved.0);
    ana.request("mutation($b: ID!) { wantToRead(bookId: $b) { position } }", json!({ "b": book })).await?.data()?;
    let before = before + 1;
    for (isbn, code) in
        [("9780306406157", "NOT_FOUND"), ("9780306406158", "INVALID_ARGUMENT"), ("978-1-4028-9462-6", "NOT_FOUND")]
    {
        let refused = ana.request(choose, json!({ "b": book, "isbn": isbn })).await?;
        assert_eq!(refused.error_code(), Some(code), "{isbn}: {:?}", refused.0);
    }
    assert_eq!(system.stream_messages().await?, before, "no refusal appended anything");

    let chosen = ana.request(choose, json!({ "b": book, "isbn": "0-14-044913-2" })).await?;
    assert_eq!(
        chosen.data()?["chooseEdition"]["shelf"],
        json!({ "status": "WANT_TO_READ", "edition": { "isbn13": "9780140449136", "format": "Paperback", "publisher": "Penguin" } })
    );
    let cleared = ana.request(choose, json!({ "b": book, "isbn": null })).await?;
    assert_eq!(cleared.data()?["chooseEdition"]["shelf"]["edition"], Value::Null);
    system.stop().await
}
