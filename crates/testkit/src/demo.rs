//! The demo data, loaded through the public GraphQL API as a client app would: the seed book
//! page's book, its 33 ratings (11/16/5/1/0 for 5/4/3/2/1 stars), its 11 reviews (one with
//! spoilers), 6 readers currently reading it and 141 wanting to read it. Every mutation carries
//! an idempotency key, so loading twice changes nothing. The book and its author are added by
//! the demo's librarian, `demo_librarian`, who must be the configured first admin
//! (`READSTREAM_ADMIN`, as `make run` sets it) to grant itself the role.
//!
//! A mutation refused with `UNAVAILABLE` (no service answered: nothing was changed) is sent
//! again with backoff, for a bounded time; any other failure, `DEADLINE_EXCEEDED` (the outcome
//! is unknown) among them, stops the load.

use std::time::Duration;

use anyhow::Context as _;
use backon::{ExponentialBuilder, Retryable as _};
use futures::{StreamExt as _, TryStreamExt as _};
use serde_json::{json, Value};

use crate::graphql::{GraphQl, Response};

/// How many demo readers act at once.
const CLIENTS: usize = 8;

/// How long a mutation is sent again while no service answers it.
pub const RETRY_FOR: Duration = Duration::from_secs(30);

/// Told of each retry: why, and how long until the next attempt.
pub type OnRetry<'a> = &'a (dyn Fn(&anyhow::Error, Duration) + Sync);

const SIGN_UP: &str = "mutation($handle: String!, $name: String!, $key: String!) {
    signUp(input: { handle: $handle, displayName: $name, password: \"readstream-demo\" }, idempotencyKey: $key) {
        token readerId
    }
}";

/// The handle of the demo's librarian, who adds the book: the first admin of `make run`.
pub const LIBRARIAN: &str = "demo_librarian";

/// A refusal that says the command reached no service, so sending it again is safe.
#[derive(Debug, thiserror::Error)]
#[error("not delivered: {0}")]
pub struct NotDelivered(pub Value);

/// What the book page shows once the demo data is in.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub book_id: String,
    pub title: String,
    pub ratings: u64,
    pub average: f64,
    pub reviews: u64,
    pub currently_reading: u64,
    pub want_to_read: u64,
    /// The seed page's "About the author": her books and followers.
    pub author_books: u64,
    pub author_followers: u64,
    /// The first reviewer's author badge ("Author · 3 books · 27 followers"): a librarian
    /// linked their account to an author profile.
    pub reviewer_author_books: u64,
    pub reviewer_author_followers: u64,
}

impl std::fmt::Display for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "demo data loaded: \"{}\" (book id {}), {} ratings, average {:.2}, {} reviews; {} currently reading, {} want to read; its author has {} books and {} followers; its first reviewer is an author of {} books with {} followers",
            self.title,
            self.book_id,
            self.ratings,
            self.average,
            self.reviews,
            self.currently_reading,
            self.want_to_read,
            self.author_books,
            self.author_followers,
            self.reviewer_author_books,
            self.reviewer_author_followers
        )
    }
}

/// Reads at `position`, waiting as long as the gateway says while the address is over its
/// rate (the seed's own mutations may have spent it).
async fn read_at(client: &GraphQl, query: &str, variables: Value, position: u64) -> anyhow::Result<Response> {
    for _ in 0..60 {
        let response = client.request_at(query, variables.clone(), position).await?;
        if response.error_code() != Some("RATE_LIMITED") {
            return Ok(response);
        }
        let wait = response.0["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap_or(1);
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
    anyhow::bail!("the gateway kept refusing the seed's read as over the rate")
}

/// Sends a mutation, again while it is refused as never delivered.
async fn mutate(client: &GraphQl, notify: OnRetry<'_>, mutation: &str, variables: Value) -> anyhow::Result<Response> {
    let attempt = || async {
        loop {
            let response = client.request(mutation, variables.clone()).await?;
            let nothing_done = response.0["data"].as_object().is_none_or(|data| data.values().all(Value::is_null));
            match response.error_code() {
                Some("UNAVAILABLE") if nothing_done => {
                    return Err(anyhow::Error::new(NotDelivered(response.0["errors"][0].clone())));
                }
                // A polite client waits as long as it is told to.
                Some("RATE_LIMITED") if nothing_done => {
                    let wait = response.0["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap_or(1);
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                }
                _ => return Ok(response),
            }
        }
    };
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_secs(2))
        .with_total_delay(Some(RETRY_FOR))
        .without_max_times()
        .with_jitter();
    attempt.retry(backoff).when(|err| err.is::<NotDelivered>()).notify(notify).await
}

/// Signs up (again, idempotently) the demo reader `handle`: a client as them, and their id.
async fn reader(gateway: &GraphQl, notify: OnRetry<'_>, handle: &str) -> anyhow::Result<(GraphQl, Value)> {
    let vars = json!({ "handle": handle, "name": handle.replace('_', " "), "key": format!("seed:{handle}") });
    let response = mutate(gateway, notify, SIGN_UP, vars).await?;
    let token = response.data()?["signUp"]["token"].as_str().context("no token")?;
    Ok((gateway.with_token(token), response.data()?["signUp"]["readerId"].clone()))
}

/// The demo's librarian, signed up and granted the role by itself as the first admin.
pub async fn librarian(gateway: &GraphQl, notify: OnRetry<'_>) -> anyhow::Result<GraphQl> {
    let (librarian, reader_id) = reader(gateway, notify, LIBRARIAN).await?;
    let grant = "mutation($r: ID!) { grantRole(readerId: $r, role: LIBRARIAN, idempotencyKey: \"seed:librarian\") { position } }";
    mutate(&librarian, notify, grant, json!({ "r": reader_id })).await?.data()?;
    Ok(librarian)
}

/// Loads the demo data through `gateway`; `notify` hears of each retry.
pub async fn load(gateway: &GraphQl, notify: OnRetry<'_>) -> anyhow::Result<Loaded> {
    let librarian = librarian(gateway, notify).await?;
    let response = mutate(
        &librarian,
        notify,
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
    let response = mutate(
        &librarian,
        notify,
        "mutation($book: AddBookInput!) { addBook(input: $book, idempotencyKey: \"seed:book\") { bookId position } }",
        json!({ "book": book }),
    )
    .await?;
    let book_id = response.data()?["addBook"]["bookId"].as_str().context("no book id")?.to_owned();
    // "About the author: 4 books": three more of hers, placeholders for her other titles.
    for other in 2..=4 {
        let book = json!({ "title": format!("Another book by Kathleen E. Smith ({other})"), "pages": 300, "authorIds": [author_id] });
        let key = format!("seed:book:{other}");
        mutate(
            &librarian,
            notify,
            "mutation($book: AddBookInput!, $key: String!) { addBook(input: $book, idempotencyKey: $key) { position } }",
            json!({ "book": book, "key": key }),
        )
        .await?
        .data()?;
    }

    // The first reviewer is an author too ("Author · 3 books · 27 followers").
    let response = mutate(
        &librarian,
        notify,
        "mutation { addAuthor(input: { name: \"Demo Reader 01\" }, idempotencyKey: \"seed:reviewer-author\") { authorId } }",
        json!({}),
    )
    .await?;
    let reviewer_author_id = response.data()?["addAuthor"]["authorId"].clone();
    for n in 1..=3 {
        let book = json!({ "title": format!("A book by Demo Reader 01 ({n})"), "pages": 200, "authorIds": [reviewer_author_id] });
        mutate(
            &librarian,
            notify,
            "mutation($book: AddBookInput!, $key: String!) { addBook(input: $book, idempotencyKey: $key) { position } }",
            json!({ "book": book, "key": format!("seed:reviewer-book:{n}") }),
        )
        .await?
        .data()?;
    }

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
    let rate_and_review = |(i, stars): (usize, i64)| {
        let (book_id, author_id) = (&book_id, &author_id);
        async move {
            let (rater, _) = reader(gateway, notify, &format!("demo_reader_{:02}", i + 1)).await?;
            let mut last = 0;
            if let Some(day) = review_days.get(i) {
                let response = mutate(
                    &rater,
                    notify,
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
                last = response.data()?["publishReview"]["position"].as_u64().unwrap_or(0);
            }
            let response = mutate(
                &rater,
                notify,
                "mutation($book: ID!, $stars: Int!, $key: String!) { rateBook(bookId: $book, stars: $stars, idempotencyKey: $key) { position } }",
                json!({ "book": book_id, "stars": stars, "key": format!("seed:rating:{book_id}") }),
            )
            .await?;
            last = last.max(response.data()?["rateBook"]["position"].as_u64().unwrap_or(0));
            // "5 followers": the first five reviewers follow her.
            if i < 5 {
                let response = mutate(
                    &rater,
                    notify,
                    "mutation($author: ID!) { followAuthor(authorId: $author, idempotencyKey: \"seed:follow-author\") { position } }",
                    json!({ "author": author_id }),
                )
                .await?;
                last = last.max(response.data()?["followAuthor"]["position"].as_u64().unwrap_or(0));
            }
            anyhow::Ok(last)
        }
    };
    // The page's shelves: 6 readers currently reading it, 141 wanting to read it.
    let shelve = |i: usize| {
        let (book_id, reviewer_author_id) = (&book_id, &reviewer_author_id);
        async move {
            let (shelver, _) = reader(gateway, notify, &format!("demo_shelver_{:03}", i + 1)).await?;
            let mutation = if i < 6 { "startReading" } else { "wantToRead" };
            let response = mutate(
                &shelver,
                notify,
                &format!("mutation($book: ID!, $key: String!) {{ {mutation}(bookId: $book, idempotencyKey: $key) {{ position }} }}"),
                json!({ "book": book_id, "key": format!("seed:shelf:{book_id}") }),
            )
            .await?;
            let mut last = response.data()?[mutation]["position"].as_u64().unwrap_or(0);
            // "27 followers" of the reviewer who is an author.
            if i < 27 {
                let response = mutate(
                    &shelver,
                    notify,
                    "mutation($author: ID!) { followAuthor(authorId: $author, idempotencyKey: \"seed:follow-reviewer-author\") { position } }",
                    json!({ "author": reviewer_author_id }),
                )
                .await?;
                last = last.max(response.data()?["followAuthor"]["position"].as_u64().unwrap_or(0));
            }
            anyhow::Ok(last)
        }
    };
    // Readers act side by side, as many clients would; the position read back is the latest.
    let raters = futures::stream::iter(stars.enumerate()).map(rate_and_review).buffer_unordered(CLIENTS);
    let shelvers = futures::stream::iter(0..147).map(shelve).buffer_unordered(CLIENTS);
    let last = raters.chain(shelvers).try_fold(0, |last, position| async move { Ok(last.max(position)) }).await?;
    let (_, reviewer_id) = reader(gateway, notify, "demo_reader_01").await?;
    let response = mutate(
        &librarian,
        notify,
        "mutation($author: ID!, $reader: ID!) {
            linkAuthorProfile(authorId: $author, readerId: $reader, idempotencyKey: \"seed:link-reviewer-author\") { position }
        }",
        json!({ "author": reviewer_author_id, "reader": reviewer_id }),
    )
    .await?;
    let last = last.max(response.data()?["linkAuthorProfile"]["position"].as_u64().unwrap_or(0));
    let response = read_at(
        gateway,
        "query($id: ID!) { book(id: $id) {
                title ratings { count average reviewCount } shelfCounts { currentlyReading wantToRead }
                authors { booksCount followersCount }
            }
            reader(handle: \"demo_reader_01\") { authorProfile { booksCount followersCount } } }",
        json!({ "id": book_id }),
        last,
    )
    .await?;
    let book = &response.data()?["book"];
    let reviewer_author = &response.data()?["reader"]["authorProfile"];
    Ok(Loaded {
        book_id,
        title: book["title"].as_str().unwrap_or_default().to_owned(),
        ratings: book["ratings"]["count"].as_u64().unwrap_or_default(),
        average: book["ratings"]["average"].as_f64().unwrap_or_default(),
        reviews: book["ratings"]["reviewCount"].as_u64().unwrap_or_default(),
        currently_reading: book["shelfCounts"]["currentlyReading"].as_u64().unwrap_or_default(),
        want_to_read: book["shelfCounts"]["wantToRead"].as_u64().unwrap_or_default(),
        author_books: book["authors"][0]["booksCount"].as_u64().unwrap_or_default(),
        author_followers: book["authors"][0]["followersCount"].as_u64().unwrap_or_default(),
        reviewer_author_books: reviewer_author["booksCount"].as_u64().unwrap_or_default(),
        reviewer_author_followers: reviewer_author["followersCount"].as_u64().unwrap_or_default(),
    })
}
