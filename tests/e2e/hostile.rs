//! The hostile corpus: values a client can send that Postgres cannot store (a NUL, dates
//! before 4713 BC) or that no reader should see (control characters, noncharacters, names
//! disguised by bidi controls or zero-width characters). Each request is refused with its
//! code and appends nothing, and afterwards every projection still applies what comes next.

use serde_json::{json, Value};

use super::{add_seed_book, sign_up, GraphQl, System};

/// Refused in any text: Postgres cannot store the first; no reader should get the others.
const UNSTORABLE: [&str; 8] =
    ["a\u{0}b", "bell\u{7}", "\u{1b}[2J", "next\u{85}line", "\u{FFFE}", "\u{FDD0}", "\u{10FFFF}", "\u{9F}"];

/// Refused in names only: they reorder or hide what a name shows.
const DISGUISES: [&str; 5] = ["ana\u{202E}nimda", "an\u{200B}a", "\u{2066}ana\u{2069}", "\u{FEFF}ana", "an\u{200D}a"];

/// Dates outside what a reading log or Postgres holds.
const BAD_DATES: [&str; 3] = ["-5000-01-01", "1899-12-31", "+10000-01-01"];

struct Ids {
    book: String,
    review: String,
}

/// Every mutation taking free text, with `text` in that field.
fn with_text(ids: &Ids, text: &str) -> Vec<(&'static str, Value)> {
    let book = &ids.book;
    vec![
        ("mutation($t: String) { updateProfile(displayName: $t) { position } }", json!({ "t": text })),
        ("mutation($t: String) { updateProfile(bio: $t) { position } }", json!({ "t": text })),
        (
            "mutation($b: ID!, $t: String!) { publishReview(bookId: $b, body: $t) { position } }",
            json!({ "b": book, "t": text }),
        ),
        (
            "mutation($r: ID!, $t: String!) { commentOnReview(reviewId: $r, body: $t) { position } }",
            json!({ "r": ids.review, "t": text }),
        ),
        (
            "mutation($b: ID!, $t: String) { updateProgress(bookId: $b, page: 10, note: $t) { position } }",
            json!({ "b": book, "t": text }),
        ),
        (
            "mutation($b: ID!, $t: String) { abandonReading(bookId: $b, note: $t) { position } }",
            json!({ "b": book, "t": text }),
        ),
        (
            "mutation($b: ID!, $t: String!) { addToShelf(bookId: $b, name: $t) { position } }",
            json!({ "b": book, "t": text }),
        ),
        (
            "mutation($t: String!) { addAuthor(input: { name: $t }) { position } }",
            json!({ "t": text }),
        ),
        (
            "mutation($t: String!) { addAuthor(input: { name: \"A. Author\", bio: $t }) { position } }",
            json!({ "t": text }),
        ),
        (
            "mutation($t: String!) { signUp(input: { handle: \"mallory\", displayName: $t, password: \"correct horse battery\" }) { token } }",
            json!({ "t": text }),
        ),
    ]
}

/// Every mutation taking a name other readers see.
fn with_name(ids: &Ids, name: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("mutation($t: String) { updateProfile(displayName: $t) { position } }", json!({ "t": name })),
        (
            "mutation($b: ID!, $t: String!) { addToShelf(bookId: $b, name: $t) { position } }",
            json!({ "b": ids.book, "t": name }),
        ),
        (
            "mutation($t: String!) { signUp(input: { handle: \"mallory\", displayName: $t, password: \"correct horse battery\" }) { token } }",
            json!({ "t": name }),
        ),
    ]
}

/// Every mutation taking a date.
fn with_date(ids: &Ids, date: &str) -> Vec<(&'static str, Value)> {
    let book = &ids.book;
    vec![
        (
            "mutation($b: ID!, $d: NaiveDate) { wantToRead(bookId: $b, on: $d) { position } }",
            json!({ "b": book, "d": date }),
        ),
        (
            "mutation($b: ID!, $d: NaiveDate) { startReading(bookId: $b, startedOn: $d) { position } }",
            json!({ "b": book, "d": date }),
        ),
        (
            "mutation($b: ID!, $d: NaiveDate) { finishReading(bookId: $b, finishedOn: $d) { position } }",
            json!({ "b": book, "d": date }),
        ),
        (
            "mutation($b: ID!, $d: NaiveDate) { publishReview(bookId: $b, body: \"Fine.\", writtenOn: $d) { position } }",
            json!({ "b": book, "d": date }),
        ),
    ]
}

/// Book fields: the title, subtitle, description and format in turn.
fn with_book_text(author: &str, text: &str) -> Vec<(&'static str, Value)> {
    const ADD_BOOK: &str = "mutation($i: AddBookInput!) { addBook(input: $i) { position } }";
    ["title", "subtitle", "description", "format"]
        .into_iter()
        .map(|field| {
            let mut input = json!({ "title": "T", "pages": 10, "authorIds": [author] });
            input[field] = json!(text);
            (ADD_BOOK, json!({ "i": input }))
        })
        .collect()
}

async fn expect_refused(client: &GraphQl, corpus: Vec<(&'static str, Value)>) -> anyhow::Result<usize> {
    let count = corpus.len();
    for (query, variables) in corpus {
        let response = client.request(query, variables.clone()).await?;
        assert_eq!(response.error_code(), Some("INVALID_ARGUMENT"), "{query} with {variables}: {:?}", response.0);
    }
    Ok(count)
}

#[tokio::test]
async fn values_that_could_not_be_stored_or_would_disguise_a_name_are_refused_and_append_nothing() -> anyhow::Result<()>
{
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    let (book, _) = add_seed_book(&ana).await?;
    let review = ana
        .request("mutation($b: ID!) { publishReview(bookId: $b, body: \"Vivid.\") { reviewId } }", json!({ "b": book }))
        .await?;
    let review = review.data()?["publishReview"]["reviewId"].as_str().unwrap_or_default().to_owned();
    let author = ana.request("mutation { addAuthor(input: { name: \"A. Author\" }) { authorId } }", json!({})).await?;
    let author = author.data()?["addAuthor"]["authorId"].as_str().unwrap_or_default().to_owned();
    let ids = Ids { book, review };
    let before = system.stream_messages().await?;

    let mut sent = 0;
    for text in UNSTORABLE {
        sent += expect_refused(&ben, with_text(&ids, text)).await?;
        sent += expect_refused(&ben, with_book_text(&author, text)).await?;
    }
    for name in DISGUISES {
        sent += expect_refused(&ben, with_name(&ids, name)).await?;
    }
    for date in BAD_DATES {
        sent += expect_refused(&ben, with_date(&ids, date)).await?;
    }
    let first_published = json!({ "title": "T", "pages": 10, "authorIds": [author], "firstPublished": "-5000-01-01" });
    sent += expect_refused(
        &ben,
        vec![("mutation($i: AddBookInput!) { addBook(input: $i) { position } }", json!({ "i": first_published }))],
    )
    .await?;
    assert_eq!(sent, 140, "the corpus sent {sent} requests");
    assert_eq!(system.stream_messages().await?, before, "a refused request appended something");

    // Every projection still applies what comes next: a profile, a shelf and a comment with
    // line breaks and accents read back through read-your-writes.
    let profile = ben
        .request(
            "mutation { updateProfile(displayName: \"Jose\u{301}\", bio: \"Reads.\\nWrites.\") { reader { displayName bio } } }",
            json!({}),
        )
        .await?;
    assert_eq!(
        profile.data()?["updateProfile"]["reader"],
        json!({ "displayName": "Jos\u{e9}", "bio": "Reads.\nWrites." })
    );
    let comment = ben
        .request(
            "mutation($r: ID!) { commentOnReview(reviewId: $r, body: \"Agreed,\\nmostly.\") { position } }",
            json!({ "r": ids.review }),
        )
        .await?;
    assert!(comment.data().is_ok(), "{:?}", comment.0);
    let ready = reqwest::get(format!("{}/readyz", system.base_url)).await?;
    assert!(ready.status().is_success(), "/readyz answered {}", ready.status());
    system.stop().await
}

/// A body over the limit is refused before it is read, with a coded GraphQL error; one just
/// under it is served.
#[tokio::test]
async fn a_body_over_one_mebibyte_is_refused_with_a_code() -> anyhow::Result<()> {
    let system = System::start().await?;
    let http = reqwest::Client::new();
    let post = |query: String| {
        http.post(format!("{}/graphql", system.base_url))
            .header("content-type", "application/json")
            .body(json!({ "query": query }).to_string())
            .send()
    };
    let padded = |bytes: usize| format!("#{}\n{{ __typename }}", "x".repeat(bytes));

    let refused = post(padded(20 << 20)).await?;
    assert_eq!(refused.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = refused.json().await?;
    assert_eq!(body["errors"][0]["extensions"]["code"], json!("INVALID_ARGUMENT"), "{body}");

    let served = post(padded(900 << 10)).await?;
    assert_eq!(served.status(), reqwest::StatusCode::OK);
    let body: Value = served.json().await?;
    assert_eq!(body["data"]["__typename"], json!("Query"), "{body}");
    system.stop().await
}

/// Complexity counts each page's size: pages nested three deep, a million items at most, are
/// refused before anything runs; the same shape with small pages is served.
#[tokio::test]
async fn nested_pages_cost_their_size_times_what_each_item_asks() -> anyhow::Result<()> {
    let system = System::start().await?;
    let nested = |first: u32| {
        format!(
            "{{ books(first: {first}) {{ edges {{ node {{ title reviews(first: {first}) {{ edges {{ node {{ body
               comments(first: {first}) {{ edges {{ node {{ body }} }} }} }} }} }} }} }} }} }}"
        )
    };
    let refused = system.client().request(&nested(100), json!({})).await?;
    assert_eq!(refused.error_code(), Some("INVALID_ARGUMENT"), "{:?}", refused.0);
    let served = system.client().request(&nested(5), json!({})).await?;
    assert!(served.data().is_ok(), "{:?}", served.0);
    system.stop().await
}
