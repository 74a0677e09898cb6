//! Loads the demo data through the public GraphQL API, as a client app would: the seed book
//! page's book, its 33 ratings (11/16/5/1/0 for 5/4/3/2/1 stars), its 11 reviews (one with
//! spoilers), 6 readers currently reading it and 141 wanting to read it. Every mutation carries an
//! idempotency key, so loading twice changes nothing.
//!
//! Usage: readstream-seed --gateway http://127.0.0.1:8080

use anyhow::Context as _;
use readstream_testkit::graphql::GraphQl;
use serde_json::json;

const SIGN_UP: &str = "mutation($handle: String!, $name: String!, $key: String!) {
    signUp(input: { handle: $handle, displayName: $name, password: \"readstream-demo\" }, idempotencyKey: $key) { token }
}";

async fn reader(gateway: &GraphQl, handle: &str) -> anyhow::Result<GraphQl> {
    let vars = json!({ "handle": handle, "name": handle.replace('_', " "), "key": format!("seed:{handle}") });
    let response = gateway.request(SIGN_UP, vars).await?;
    let token = response.data()?["signUp"]["token"].as_str().context("no token")?;
    Ok(gateway.with_token(token))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let base_url = match (args.next().as_deref(), args.next()) {
        (Some("--gateway"), Some(url)) => url,
        _ => anyhow::bail!("usage: readstream-seed --gateway http://127.0.0.1:8080"),
    };
    readstream_testkit::wait_for_gateway(&base_url).await?;
    let gateway = GraphQl::new(base_url);

    let librarian = reader(&gateway, "demo_librarian").await?;
    let response = librarian
        .request(
            "mutation { addAuthor(input: { name: \"Kathleen E. Smith\" }, idempotencyKey: \"seed:author\") { authorId } }",
            json!({}),
        )
        .await?;
    let author_id = response.data()?["addAuthor"]["authorId"].clone();
    let book = json!({
        "title": "Moscow 1956",
        "subtitle": "The Silenced Spring",
        "description": "The year Khrushchev denounced Stalin, and what it unleashed.",
        "pages": 400,
        "format": "Hardcover",
        "firstPublished": "2017-04-17",
        "authorIds": [author_id],
    });
    let response = librarian
        .request(
            "mutation($book: AddBookInput!) { addBook(input: $book, idempotencyKey: \"seed:book\") { bookId position } }",
            json!({ "book": book }),
        )
        .await?;
    let book_id = response.data()?["addBook"]["bookId"].as_str().context("no book id")?.to_owned();

    let stars = [(5, 11), (4, 16), (3, 5), (2, 1)].into_iter().flat_map(|(s, n)| std::iter::repeat_n(s, n));
    // The page's reviews, on the days they were written (the eleventh day is ours); one hides spoilers.
    let review_days = [
        "2018-07-29",
        "2017-07-07",
        "2022-12-31",
        "2025-05-05",
        "2017-09-21",
        "2019-10-23",
        "2017-06-02",
        "2022-04-01",
        "2017-06-09",
        "2021-03-13",
        "2020-02-14",
    ];
    let mut last = 0;
    for (i, stars) in stars.enumerate() {
        let rater = reader(&gateway, &format!("demo_reader_{:02}", i + 1)).await?;
        if let Some(day) = review_days.get(i) {
            let response = rater
                .request(
                    "mutation($book: ID!, $body: String!, $spoilers: Boolean!, $day: NaiveDate!, $key: String!) {
                        publishReview(bookId: $book, body: $body, containsSpoilers: $spoilers, writtenOn: $day, idempotencyKey: $key) { position }
                    }",
                    json!({
                        "book": book_id,
                        "body": format!("Demo review {}: how the thaw of 1956 felt in Moscow, as I read it.", i + 1),
                        "spoilers": i == 4,
                        "day": day,
                        "key": format!("seed:review:{book_id}"),
                    }),
                )
                .await?;
            last = last.max(response.data()?["publishReview"]["position"].as_u64().unwrap_or(0));
        }
        let response = rater
            .request(
                "mutation($book: ID!, $stars: Int!, $key: String!) { rateBook(bookId: $book, stars: $stars, idempotencyKey: $key) { position } }",
                json!({ "book": book_id, "stars": stars, "key": format!("seed:rating:{book_id}") }),
            )
            .await?;
        last = last.max(response.data()?["rateBook"]["position"].as_u64().unwrap_or(0));
    }
    // The page's shelves: 6 readers currently reading it, 141 wanting to read it.
    for i in 0..147 {
        let shelver = reader(&gateway, &format!("demo_shelver_{:03}", i + 1)).await?;
        let mutation = if i < 6 { "startReading" } else { "wantToRead" };
        let response = shelver
            .request(
                &format!("mutation($book: ID!, $key: String!) {{ {mutation}(bookId: $book, idempotencyKey: $key) {{ position }} }}"),
                json!({ "book": book_id, "key": format!("seed:shelf:{book_id}") }),
            )
            .await?;
        last = last.max(response.data()?[mutation]["position"].as_u64().unwrap_or(0));
    }
    let response = gateway
        .request_at(
            "query($id: ID!) { book(id: $id) { title ratings { count average reviewCount } shelfCounts { currentlyReading wantToRead } } }",
            json!({ "id": book_id }),
            last,
        )
        .await?;
    let book = &response.data()?["book"];
    println!(
        "demo data loaded: \"{}\" (book id {book_id}), {} ratings, average {}, {} reviews; {} currently reading, {} want to read",
        book["title"].as_str().unwrap_or_default(),
        book["ratings"]["count"],
        book["ratings"]["average"],
        book["ratings"]["reviewCount"],
        book["shelfCounts"]["currentlyReading"],
        book["shelfCounts"]["wantToRead"]
    );
    Ok(())
}
