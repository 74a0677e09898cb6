//! A reader's data out: their library as Goodreads and StoryGraph write it, and every event
//! they acted in, each with their bearer token and no one else's data.

use std::collections::HashMap;

use readstream_e2e::System;
use serde_json::{json, Value};

use super::{add_seed_book, position, sign_up, ADD_BOOK};

const REVIEW: &str = "Careful and humane.\nIt reads \"like a novel\", with commas, too.";

#[tokio::test]
async fn a_reader_exports_their_library_as_goodreads_and_storygraph_csv_and_their_events_as_ndjson(
) -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let librarian = system.librarian().await?;
    let authors = librarian.request("query($b: ID!) { book(id: $b) { authors { id } } }", json!({ "b": book })).await?;
    let author = authors.data()?["book"]["authors"][0]["id"].clone();
    let input = json!({ "input": { "title": "Gulag Voices", "pages": 200, "authorIds": [author] } });
    let other =
        librarian.request(ADD_BOOK, input).await?.data()?["addBook"]["bookId"].as_str().unwrap_or_default().to_owned();
    let edition = "mutation($b: ID!) { addEdition(input: { bookId: $b, isbn: \"0-14-044913-2\", publisher: \"Penguin\",
                   format: \"Paperback\", pages: 416, publishedOn: \"2003-05-01\" }) { position } }";
    librarian.request(edition, json!({ "b": book })).await?.data()?;

    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    let steps = [
        ("mutation($b: ID!) { startReading(bookId: $b, startedOn: \"2024-03-01\") { position } }", &book),
        ("mutation($b: ID!) { finishReading(bookId: $b, finishedOn: \"2024-03-20\") { position } }", &book),
        ("mutation($b: ID!) { rateBook(bookId: $b, stars: 3.75) { position } }", &book),
        ("mutation($b: ID!) { addToShelf(bookId: $b, name: \"soviet history\") { position } }", &book),
        ("mutation($b: ID!) { wantToRead(bookId: $b) { position } }", &other),
    ];
    for (mutation, book) in steps {
        ana.request(mutation, json!({ "b": book })).await?.data()?;
    }
    let review = "mutation($b: ID!, $body: String!) { publishReview(bookId: $b, body: $body, containsSpoilers: true,
                  writtenOn: \"2024-03-21\") { position } }";
    ana.request(review, json!({ "b": book, "body": REVIEW })).await?.data()?;
    let rated = ben.request("mutation($b: ID!) { rateBook(bookId: $b, stars: 2) { position } }", json!({ "b": book }));
    let at = position(&rated.await?.data()?["rateBook"])?;
    // Every read model has caught up with the last write.
    ana.request_at("{ viewer { handle } }", json!({}), at).await?.data()?;

    let (status, csv) = ana.download("/export/goodreads.csv").await?;
    assert_eq!(status, 200, "{csv}");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
    assert_eq!(header, readstream_gateway::export::GOODREADS_COLUMNS);
    assert!(header.ends_with(&["Private Notes".into(), "Read Count".into(), "Owned Copies".into()]));
    let rows: Vec<HashMap<String, String>> = reader
        .records()
        .map(|record| Ok(header.iter().cloned().zip(record?.iter().map(str::to_owned)).collect()))
        .collect::<anyhow::Result<_>>()?;
    assert_eq!(rows.len(), 2, "the two books Ana has, not Ben's: {csv}");
    let moscow = &rows[0];
    let expected = [
        ("Title", "Moscow 1956: The Silenced Spring"),
        ("Author", "Kathleen E. Smith"),
        ("Author l-f", "Smith, Kathleen E."),
        ("ISBN", "=\"0140449132\""),
        ("ISBN13", "=\"9780140449136\""),
        // Goodreads reads whole stars: 3.75 rounds to 4. The average is exact: (3.75 + 2) / 2.
        ("My Rating", "4"),
        ("Average Rating", "2.88"),
        ("Publisher", "Penguin"),
        ("Binding", "Paperback"),
        ("Number of Pages", "416"),
        ("Year Published", "2003"),
        ("Original Publication Year", "2017"),
        ("Date Read", "2024/03/20"),
        ("Date Added", "2024/03/01"),
        ("Bookshelves", "soviet history"),
        ("Exclusive Shelf", "read"),
        ("My Review", REVIEW),
        ("Spoiler", "true"),
        ("Read Count", "1"),
    ];
    for (column, value) in expected {
        assert_eq!(moscow[column], value, "{column}");
    }
    let gulag = &rows[1];
    assert_eq!((gulag["Title"].as_str(), gulag["Exclusive Shelf"].as_str()), ("Gulag Voices", "to-read"));
    assert_eq!((gulag["My Rating"].as_str(), gulag["ISBN13"].as_str()), ("0", "=\"\""));

    let (status, csv) = ana.download("/export/storygraph.csv").await?;
    assert_eq!(status, 200, "{csv}");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
    assert_eq!(header, readstream_gateway::export::STORYGRAPH_COLUMNS);
    let rows: Vec<HashMap<String, String>> = reader
        .records()
        .map(|record| Ok(header.iter().cloned().zip(record?.iter().map(str::to_owned)).collect()))
        .collect::<anyhow::Result<_>>()?;
    assert_eq!(rows.len(), 2, "the two books Ana has, not Ben's: {csv}");
    let expected = [
        ("Title", "Moscow 1956: The Silenced Spring"),
        ("Authors", "Kathleen E. Smith"),
        ("ISBN/UID", "9780140449136"),
        ("Format", "paperback"),
        ("Read Status", "read"),
        ("Date Added", "2024/03/01"),
        ("Last Date Read", "2024/03/20"),
        ("Read Count", "1"),
        // StoryGraph keeps the quarters.
        ("Star Rating", "3.75"),
        ("Review", REVIEW),
        ("Tags", "soviet history"),
    ];
    for (column, value) in expected {
        assert_eq!(rows[0][column], value, "{column}");
    }
    let gulag = &rows[1];
    assert_eq!((gulag["Read Status"].as_str(), gulag["Star Rating"].as_str()), ("to-read", ""));
    assert_eq!(gulag["ISBN/UID"], other, "a book without an ISBN goes by its id");

    let (status, ndjson) = ana.download("/export/events.ndjson").await?;
    assert_eq!(status, 200, "{ndjson}");
    let events: Vec<Value> = ndjson.lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    for wanted in ["ReaderRegistered", "ReadingStarted", "ReadingFinished", "BookRated", "AddedToShelf", "WantToRead"] {
        assert!(types.contains(&wanted), "{wanted} missing from {types:?}");
    }
    let rated = events.iter().find(|e| e["type"] == "BookRated").cloned().unwrap_or_default();
    assert_eq!((&rated["stars"], &rated["book_id"]), (&json!(3.75), &json!(book)));
    let published = events.iter().find(|e| e["type"] == "ReviewPublished").cloned().unwrap_or_default();
    assert_eq!(published["body"], json!(REVIEW), "personal fields are opened with the reader's key");
    assert!(events.iter().all(|e| e["type"] != "BookRated" || e["stars"] == json!(3.75)), "no one else's rating");
    let positions: Vec<u64> = events.iter().filter_map(|e| e["position"].as_u64()).collect();
    assert!(positions.windows(2).all(|w| w[0] <= w[1]), "in stream order: {positions:?}");

    for path in ["/export/goodreads.csv", "/export/storygraph.csv", "/export/events.ndjson"] {
        let client = system.client();
        let (status, body) = client.download(path).await?;
        assert_eq!(status, 401, "{path}: {body}");
        let body: Value = serde_json::from_str(&body)?;
        assert_eq!(body["errors"][0]["extensions"]["code"], json!("UNAUTHENTICATED"));
    }
    let (status, _) = system.client().with_token("forged").download("/export/goodreads.csv").await?;
    assert_eq!(status, 401);
    system.stop().await
}
