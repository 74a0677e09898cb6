//! Series: a librarian makes one and places books in it (`#2.5` between the second and the
//! third); readers see a book's series, the series' books in order, paged, and their next one
//! to read; a Goodreads import keeps the series its titles name.

use readstream_e2e::System;
use readstream_testkit::graphql::GraphQl;
use serde_json::{json, Value};

use super::{
    imports::{import, GOODREADS_HEADER_31},
    position, sign_up, ADD_AUTHOR, ADD_BOOK,
};

const ADD_SERIES: &str = "mutation($name: String!) { addSeries(input: { name: $name }) { position seriesId } }";
const PLACE: &str = "mutation($s: ID!, $b: ID!, $n: Float) {
    placeBookInSeries(seriesId: $s, bookId: $b, number: $n) { position series { booksCount } }
}";
const SERIES: &str = "query($s: ID!, $after: String) { series(id: $s) {
    name verified booksCount
    books(first: 2, after: $after) { edges { node { number numberLabel book { title } } } pageInfo { hasNextPage endCursor } }
    nextToRead { numberLabel book { title } }
} }";
const FINISH: &str = "mutation($b: ID!) { finishReading(bookId: $b) { position } }";

async fn add_book(librarian: &GraphQl, title: &str, author: &Value) -> anyhow::Result<String> {
    let input = json!({ "input": { "title": title, "pages": 300, "authorIds": [author] } });
    let added = librarian.request(ADD_BOOK, input).await?;
    Ok(added.data()?["addBook"]["bookId"].as_str().unwrap_or_default().to_owned())
}

/// The titles of a series' books in order, every page, and its next book for `reader`.
async fn in_order(reader: &GraphQl, series: &str, at: u64) -> anyhow::Result<(Vec<String>, Value)> {
    let (mut titles, mut after) = (Vec::new(), Value::Null);
    loop {
        let page = reader.request_at(SERIES, json!({ "s": series, "after": after }), at).await?;
        let page = page.data()?["series"].clone();
        for edge in page["books"]["edges"].as_array().into_iter().flatten() {
            let node = &edge["node"];
            titles.push(format!("{} {}", node["numberLabel"].as_str().unwrap_or("-"), node["book"]["title"]));
        }
        if page["books"]["pageInfo"]["hasNextPage"] != json!(true) {
            return Ok((titles, page["nextToRead"]["book"]["title"].clone()));
        }
        after = page["books"]["pageInfo"]["endCursor"].clone();
    }
}

#[tokio::test]
async fn a_series_lists_its_books_in_order_and_each_reader_their_next_one() -> anyhow::Result<()> {
    let system = System::start().await?;
    let librarian = system.librarian().await?;
    let added = librarian.request(ADD_AUTHOR, json!({ "name": "Brandon Sanderson" })).await?;
    let author = added.data()?["addAuthor"]["authorId"].clone();
    let kings = add_book(&librarian, "The Way of Kings", &author).await?;
    let words = add_book(&librarian, "Words of Radiance", &author).await?;
    let edgedancer = add_book(&librarian, "Edgedancer", &author).await?;
    let oathbringer = add_book(&librarian, "Oathbringer", &author).await?;
    let art = add_book(&librarian, "The Art of the Archive", &author).await?;
    let added = librarian.request(ADD_SERIES, json!({ "name": " The Stormlight Archive " })).await?;
    let series = added.data()?["addSeries"]["seriesId"].as_str().unwrap_or_default().to_owned();
    // Placed out of order, one moved, one unnumbered.
    for (book, number) in [
        (&oathbringer, json!(3)),
        (&edgedancer, json!(2.5)),
        (&kings, json!(1)),
        (&words, json!(7)),
        (&art, Value::Null),
    ] {
        librarian.request(PLACE, json!({ "s": series, "b": book, "n": number })).await?.data()?;
    }
    let moved = librarian.request(PLACE, json!({ "s": series, "b": words, "n": 2 })).await?;
    let at = position(&moved.data()?["placeBookInSeries"])?;
    assert_eq!(moved.data()?["placeBookInSeries"]["series"]["booksCount"], json!(5));

    let (ana, _) = sign_up(&system, "ana").await?;
    let (titles, next) = in_order(&ana, &series, at).await?;
    assert_eq!(
        titles,
        [
            "1 \"The Way of Kings\"",
            "2 \"Words of Radiance\"",
            "2.5 \"Edgedancer\"",
            "3 \"Oathbringer\"",
            "- \"The Art of the Archive\""
        ]
    );
    assert_eq!(next, json!("The Way of Kings"), "a reader who read none starts at #1");
    let book = ana
        .request_at(
            "query($b: ID!) { book(id: $b) { series { number numberLabel series { name booksCount } } } }",
            json!({ "b": edgedancer }),
            at,
        )
        .await?;
    assert_eq!(
        book.data()?["book"]["series"],
        json!([{ "number": 2.5, "numberLabel": "2.5", "series": { "name": "The Stormlight Archive", "booksCount": 5 } }])
    );

    // Ana reads #1 and #2: the main line goes on at #3 before the novella #2.5.
    ana.request(FINISH, json!({ "b": kings })).await?.data()?;
    let read = ana.request(FINISH, json!({ "b": words })).await?;
    let at = position(&read.data()?["finishReading"])?;
    assert_eq!(in_order(&ana, &series, at).await?.1, json!("Oathbringer"));
    let gave_up =
        ana.request("mutation($b: ID!) { abandonReading(bookId: $b) { position } }", json!({ "b": oathbringer }));
    let at = position(&gave_up.await?.data()?["abandonReading"])?;
    assert_eq!(in_order(&ana, &series, at).await?.1, json!("Edgedancer"), "a book given up on is not next");
    let anonymous = system.client().request_at(SERIES, json!({ "s": series }), at).await?;
    assert_eq!(anonymous.data()?["series"]["nextToRead"], Value::Null);

    // Taken out, it leaves the series and the book's list.
    let removed = librarian
        .request(
            "mutation($s: ID!, $b: ID!) { removeBookFromSeries(seriesId: $s, bookId: $b) { position series { booksCount } } }",
            json!({ "s": series, "b": art }),
        )
        .await?;
    assert_eq!(removed.data()?["removeBookFromSeries"]["series"]["booksCount"], json!(4));
    let at = position(&removed.data()?["removeBookFromSeries"])?;
    let book = ana.request_at("query($b: ID!) { book(id: $b) { series { numberLabel } } }", json!({ "b": art }), at);
    assert_eq!(book.await?.data()?["book"]["series"], json!([]));

    // Refused, each with its code and field, changing nothing.
    let before = system.stream_messages().await?;
    for (who, variables, code, field) in [
        (&ana, json!({ "s": series, "b": art, "n": 4 }), "PERMISSION_DENIED", Value::Null),
        (&librarian, json!({ "s": series, "b": art, "n": 2.555 }), "INVALID_ARGUMENT", json!("number")),
        (&librarian, json!({ "s": series, "b": art, "n": -1 }), "INVALID_ARGUMENT", json!("number")),
        (&librarian, json!({ "s": series, "b": art, "n": 10000 }), "INVALID_ARGUMENT", json!("number")),
        (&librarian, json!({ "s": series, "b": uuid::Uuid::now_v7(), "n": 4 }), "NOT_FOUND", json!("bookId")),
        (&librarian, json!({ "s": uuid::Uuid::now_v7(), "b": art, "n": 4 }), "NOT_FOUND", json!("seriesId")),
        (&librarian, json!({ "s": "not-an-id", "b": art, "n": 4 }), "INVALID_ARGUMENT", json!("seriesId")),
    ] {
        let refused = who.request(PLACE, variables.clone()).await?;
        assert_eq!(refused.error_code(), Some(code), "{variables}: {}", refused.0);
        assert_eq!(refused.0["errors"][0]["extensions"]["field"], field, "{variables}");
    }
    let unnamed = librarian.request(ADD_SERIES, json!({ "name": "   " })).await?;
    assert_eq!(unnamed.error_code(), Some("INVALID_ARGUMENT"));
    assert_eq!(system.stream_messages().await?, before, "a refusal appends nothing");
    system.stop().await
}

#[tokio::test]
async fn a_goodreads_import_keeps_the_series_its_titles_name() -> anyhow::Result<()> {
    let system = System::start().await?;
    let librarian = system.librarian().await?;
    let added = librarian.request(ADD_SERIES, json!({ "name": "The Stormlight Archive" })).await?;
    let stormlight = added.data()?["addSeries"]["seriesId"].as_str().unwrap_or_default().to_owned();
    let (ana, _) = sign_up(&system, "ana").await?;
    let file = format!(
        "{GOODREADS_HEADER_31}\n\
         1,\"Edgedancer (the stormlight archive, #2.5)\",Brandon Sanderson,,,=\"\",=\"\",5,4.2,Tor,Hardcover,272,2016,2016,2024/02/01,2024/01/01,,,read,,,,1,,,0,,,,,\n\
         2,\"The Final Empire (Mistborn, #1)\",Brandon Sanderson,,,=\"\",=\"\",4,4.5,Tor,Paperback,541,2006,2006,2023/05/01,2023/04/01,,,read,,,,1,,,0,,,,,\n\
         3,\"The Well of Ascension (Mistborn, #2)\",Brandon Sanderson,,,=\"\",=\"\",0,4.4,Tor,Paperback,590,2007,2007,,2023/06/01,,,to-read,,,,0,,,0,,,,,\n"
    );
    let job = import(&ana, "GOODREADS", &file).await?;
    assert_eq!((job["status"].clone(), job["rowsImported"].clone()), (json!("DONE"), json!(3)), "{job}");
    let at = system.stream_messages().await?;

    let query = "{ books(first: 10, verified: false) { edges { node { id title
        series { numberLabel series { id name verified booksCount } } } } } }";
    let books = ana.request_at(query, json!({}), at).await?.data()?["books"]["edges"].clone();
    let by_title = |title: &str| {
        books.as_array().into_iter().flatten().map(|edge| edge["node"].clone()).find(|node| node["title"] == title)
    };
    let edgedancer = by_title("Edgedancer").unwrap_or_default();
    let series = &edgedancer["series"][0];
    assert_eq!(series["numberLabel"], json!("2.5"));
    assert_eq!(series["series"]["id"], json!(stormlight), "matched to the catalog's series by name: {edgedancer}");
    assert_eq!(series["series"]["booksCount"], json!(0), "an imported book waits for a librarian in a verified series");
    let mistborn = by_title("The Final Empire").unwrap_or_default()["series"][0]["series"].clone();
    assert_eq!((mistborn["name"].clone(), mistborn["verified"].clone()), (json!("Mistborn"), json!(false)));
    let mistborn_id = mistborn["id"].as_str().unwrap_or_default().to_owned();
    let (titles, next) = in_order(&ana, &mistborn_id, at).await?;
    assert_eq!(titles, ["1 \"The Final Empire\"", "2 \"The Well of Ascension\""], "one series for both rows");
    assert_eq!(next, json!("The Well of Ascension"));

    // A librarian's edit verifies the book: it shows in the verified series.
    let edgedancer_id = edgedancer["id"].clone();
    let edit = "mutation($b: ID!) { editBook(bookId: $b, input: { description: \"A novella.\" }) { position } }";
    let edited = librarian.request(edit, json!({ "b": edgedancer_id })).await?;
    let at = position(&edited.data()?["editBook"])?;
    assert_eq!(in_order(&ana, &stormlight, at).await?.0, ["2.5 \"Edgedancer\""]);
    system.stop().await
}
