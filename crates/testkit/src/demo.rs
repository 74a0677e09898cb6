//! The demo data, loaded through the public GraphQL API as a client app would: the seed book
//! page (`../shared/fixtures/seed-book-page.json`) made of real records.
//!
//! - [`load`]: the page itself. The book, its 33 ratings (11/16/5/1/0 for 5/4/3/2/1 stars),
//!   its 11 reviews in the page's order and on its days (the 2025-05-05 one hides spoilers; the
//!   2022-12-31 reviewer shelved it as Read without rating it), 6 readers currently reading it
//!   and 141 wanting to read it; its author's 4 books and 5 followers; the two reviewers who
//!   are authors, with their books and followers.
//! - [`load_libraries`]: what the reviewer cards count. Each other reviewer's earlier reviews
//!   (2,520 for the second) come as a generated Goodreads library they import, of books the
//!   import adds to the catalog as unverified; their followers (705 for the second) are demo
//!   readers who follow them. `make run` loads it in the background once the system runs.
//!
//! Every mutation carries an idempotency key, and a library is imported only while its reader
//! has fewer reviews than the page shows, so loading twice changes nothing. The book and its
//! author are added by the demo's librarian, `demo_librarian`, who must be the configured first
//! admin (`READSTREAM_ADMIN`, as `make run` sets it) to grant itself the role.
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

/// A reviewer's picture: a head and shoulders on a colour of their own (the seed page shows
/// each reviewer's photo; the demo has none to use), as a PNG.
fn silhouette(index: usize) -> Vec<u8> {
    const SIZE: u32 = 192;
    let hue = (index as f32 * 47.0) % 360.0;
    let (background, figure) = (hsl(hue, 0.45, 0.5), hsl(hue, 0.35, 0.88));
    let picture = image::RgbImage::from_fn(SIZE, SIZE, |x, y| {
        let (x, y) = (x as f32, y as f32);
        let head = (x - 96.0).powi(2) + (y - 78.0).powi(2) < 36.0_f32.powi(2);
        let shoulders = ((x - 96.0) / 64.0).powi(2) + ((y - 184.0) / 64.0).powi(2) < 1.0;
        image::Rgb(if head || shoulders { figure } else { background })
    });
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        picture.as_raw(),
        SIZE,
        SIZE,
        image::ExtendedColorType::Rgb8,
    )
    .unwrap_or_else(|err| unreachable!("a PNG is written to memory: {err}"));
    png
}

/// A colour given by hue (degrees), saturation and lightness (0 to 1), as RGB.
fn hsl(hue: f32, saturation: f32, lightness: f32) -> [u8; 3] {
    let chroma = (1.0 - (2.0 * lightness - 1.0).abs()) * saturation;
    let h = hue / 60.0;
    let x = chroma * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (chroma, x, 0.0),
        1 => (x, chroma, 0.0),
        2 => (0.0, chroma, x),
        3 => (0.0, x, chroma),
        4 => (x, 0.0, chroma),
        _ => (chroma, 0.0, x),
    };
    let m = lightness - chroma / 2.0;
    [r, g, b].map(|c| ((c + m) * 255.0).round() as u8)
}

/// Sends a mutation, again while it is refused as never delivered.
async fn mutate(client: &GraphQl, notify: OnRetry<'_>, mutation: &str, variables: Value) -> anyhow::Result<Response> {
    retried(notify, || client.request(mutation, variables.clone())).await
}

/// Sends a mutation whose `$file` is `file` (a multipart upload), as `mutate` does.
async fn upload(
    client: &GraphQl,
    notify: OnRetry<'_>,
    mutation: &str,
    file: Vec<u8>,
    name: &str,
) -> anyhow::Result<Response> {
    retried(notify, || client.upload(mutation, json!({}), file.clone(), name)).await
}

/// `send`'s answer, sent again while it is refused as never delivered, and after the wait a
/// refusal over the rate asks for.
async fn retried<F, Fut>(notify: OnRetry<'_>, send: F) -> anyhow::Result<Response>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Response>>,
{
    let attempt = || async {
        loop {
            let response = send().await?;
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
    named_reader(gateway, notify, handle, &handle.replace('_', " ")).await
}

/// Signs up (again, idempotently) the demo reader `handle` as `name`.
async fn named_reader(
    gateway: &GraphQl,
    notify: OnRetry<'_>,
    handle: &str,
    name: &str,
) -> anyhow::Result<(GraphQl, Value)> {
    let vars = json!({ "handle": handle, "name": name, "key": format!("seed:{handle}") });
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

/// One of the seed page's reviews, in the page's order (its default order, not by date).
struct SeedReview {
    /// The day it was written; the page shows ten of the eleven, the eleventh day is ours.
    day: &'static str,
    /// None: the reviewer shelved the book as Read without rating it.
    stars: Option<i64>,
    spoilers: bool,
    /// The reviewer's display name (their handle is `demo_reader_NN`, NN the page's order).
    name: &'static str,
    body: &'static str,
}

/// The page's eleven reviews. The stars are ours (the page's text does not give them), spread
/// so that the reviewers' and the other raters' together make the page's histogram.
const REVIEWS: [SeedReview; 11] = [
    SeedReview { day: "2018-07-29", stars: Some(5), spoilers: false, name: "Marta Kovalenko",
        body: "Smith reads the year through the letters people wrote to the Party and to each other.\n\nA model of how to write about a thaw that was never only political." },
    SeedReview { day: "2017-07-07", stars: Some(4), spoilers: false, name: "Rafael Ortiz",
        body: "Dense but rewarding. The chapters on the returnees from the camps are the heart of it." },
    SeedReview { day: "2022-12-31", stars: None, spoilers: false, name: "Ingrid Solberg",
        body: "I did not finish it: I stopped at the chapter on Hungary, meaning to come back. What I read was careful and humane." },
    SeedReview { day: "2025-05-05", stars: Some(4), spoilers: true, name: "Tomas Horvath",
        body: "The last chapter shows how the spring ends: the tanks in Budapest, and the students at home who are expelled for asking about them." },
    SeedReview { day: "2017-09-21", stars: Some(5), spoilers: false, name: "Priya Raman",
        body: "Every page shows how hard it was to speak after decades of silence. Essential." },
    SeedReview { day: "2019-10-23", stars: Some(3), spoilers: false, name: "Owen Gallagher",
        body: "Good history, slow going. I wanted more of the voices and fewer of the resolutions." },
    SeedReview { day: "2017-06-02", stars: Some(4), spoilers: false, name: "Yuki Tanaka",
        body: "A month-by-month account that makes 1956 feel as uncertain as it was to those living it." },
    SeedReview { day: "2022-04-01", stars: Some(5), spoilers: false, name: "Leila Haddad",
        body: "Read it for a seminar and kept reading after the seminar ended." },
    SeedReview { day: "2017-06-09", stars: Some(4), spoilers: false, name: "Daniel Weiss",
        body: "As a historian of the period, I admire how much archival work hides behind such clear prose." },
    SeedReview { day: "2021-03-13", stars: Some(3), spoilers: false, name: "Amara Okafor",
        body: "Informative, if repetitive in the middle chapters." },
    SeedReview { day: "2020-02-14", stars: Some(5), spoilers: false, name: "Jonas Berg",
        body: "The best book I know on the year between the Secret Speech and Budapest." },
];

/// The stars of the 23 readers who rate the book without reviewing it: with the ten reviewers'
/// (four 5s, four 4s, two 3s) they make the page's 11/16/5/1/0.
const OTHER_RATINGS: [(i64, usize); 4] = [(5, 7), (4, 12), (3, 3), (2, 1)];

/// The reviewers who are authors (the page's order), with their books and followers.
const AUTHOR_REVIEWERS: [(usize, u64, u64); 2] = [(1, 3, 27), (9, 63, 21)];

/// An idempotency key of an author reviewer's: the first keeps the keys earlier demos gave it,
/// so data they loaded loads again unchanged.
fn author_reviewer_key(base: &str, order: usize) -> String {
    if order == 1 {
        base.to_owned()
    } else {
        format!("{base}:{order}")
    }
}

/// Adds books `numbers` by `author` as the librarian, titled "{title} (n)", each once (keys
/// `{key}:{n}`).
async fn add_books(
    librarian: &GraphQl,
    notify: OnRetry<'_>,
    author: &Value,
    title: &str,
    key: &str,
    numbers: std::ops::RangeInclusive<u64>,
) -> anyhow::Result<()> {
    let add = |n: u64| async move {
        let book = json!({ "title": format!("{title} ({n})"), "pages": 300, "authorIds": [author] });
        mutate(
            librarian,
            notify,
            "mutation($book: AddBookInput!, $key: String!) { addBook(input: $book, idempotencyKey: $key) { position } }",
            json!({ "book": book, "key": format!("{key}:{n}") }),
        )
        .await?
        .data()?;
        anyhow::Ok(())
    };
    futures::stream::iter(numbers).map(add).buffer_unordered(CLIENTS).try_collect::<Vec<_>>().await?;
    Ok(())
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
        "description": "In 1956, Nikita Khrushchev denounced Stalin in a secret speech that was soon read aloud across the Soviet Union. \
            Kathleen E. Smith follows that year month by month: the prisoners coming home from the camps, the debates the speech set off, \
            the hopes of writers and students, and how the thaw froze again after the uprising in Hungary.",
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
    // "About the author: 4 books": three more of hers.
    add_books(&librarian, notify, &author_id, "Another book by Kathleen E. Smith", "seed:book", 2..=4).await?;

    // Two reviewers are authors too ("Author · 3 books · 27 followers", "· 63 books · 21 followers").
    let mut author_reviewers = Vec::new();
    for (order, books, _) in AUTHOR_REVIEWERS {
        let name = REVIEWS[order - 1].name;
        let response = mutate(
            &librarian,
            notify,
            "mutation($name: String!, $key: String!) { addAuthor(input: { name: $name }, idempotencyKey: $key) { authorId } }",
            json!({ "name": name, "key": author_reviewer_key("seed:reviewer-author", order) }),
        )
        .await?;
        let author = response.data()?["addAuthor"]["authorId"].clone();
        let (title, key) = (format!("A book by {name}"), author_reviewer_key("seed:reviewer-book", order));
        add_books(&librarian, notify, &author, &title, &key, 1..=books).await?;
        author_reviewers.push(author);
    }

    let review_and_rate = |i: usize| {
        let (book_id, author_id) = (&book_id, &author_id);
        async move {
            let review = &REVIEWS[i];
            let handle = format!("demo_reader_{:02}", i + 1);
            let (reviewer, _) = named_reader(gateway, notify, &handle, review.name).await?;
            // "Profile Image for …": each reviewer has a picture.
            let set_avatar = "mutation($file: Upload!) { setAvatar(file: $file) { position } }";
            let response = upload(&reviewer, notify, set_avatar, silhouette(i), "avatar.png").await?;
            let mut last = response.data()?["setAvatar"]["position"].as_u64().unwrap_or(0);
            if review.stars.is_none() {
                let response = mutate(
                    &reviewer,
                    notify,
                    "mutation($book: ID!, $day: NaiveDate!, $key: String!) {
                        finishReading(bookId: $book, finishedOn: $day, idempotencyKey: $key) { position }
                    }",
                    json!({ "book": book_id, "day": review.day, "key": format!("seed:shelf:{book_id}") }),
                )
                .await?;
                last = last.max(response.data()?["finishReading"]["position"].as_u64().unwrap_or(0));
            }
            let response = mutate(
                &reviewer,
                notify,
                "mutation($book: ID!, $body: String!, $spoilers: Boolean!, $day: NaiveDate!, $key: String!) {
                    publishReview(bookId: $book, body: $body, containsSpoilers: $spoilers, writtenOn: $day, idempotencyKey: $key) { position }
                }",
                json!({
                    "book": book_id,
                    "body": review.body,
                    "spoilers": review.spoilers,
                    "day": review.day,
                    "key": format!("seed:review:{book_id}"),
                }),
            )
            .await?;
            last = last.max(response.data()?["publishReview"]["position"].as_u64().unwrap_or(0));
            if let Some(stars) = review.stars {
                last = last.max(rate(&reviewer, notify, book_id, stars).await?);
            }
            // "5 followers": the first five reviewers follow her.
            if i < 5 {
                last = last.max(follow_author(&reviewer, notify, author_id, "seed:follow-author").await?);
            }
            anyhow::Ok(last)
        }
    };
    let rate_only = |(i, stars): (usize, i64)| {
        let book_id = &book_id;
        async move {
            let (rater, _) = reader(gateway, notify, &format!("demo_reader_{:02}", i + 12)).await?;
            rate(&rater, notify, book_id, stars).await
        }
    };
    // The page's shelves: 6 readers currently reading it, 141 wanting to read it; the first 27
    // follow the first author reviewer, the next 21 the second.
    let shelve = |i: usize| {
        let (book_id, author_reviewers) = (&book_id, &author_reviewers);
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
            let mut first = 0;
            for ((order, _, followers), author) in AUTHOR_REVIEWERS.iter().zip(author_reviewers) {
                if (first..first + *followers as usize).contains(&i) {
                    let key = author_reviewer_key("seed:follow-reviewer-author", *order);
                    last = last.max(follow_author(&shelver, notify, author, &key).await?);
                }
                first += *followers as usize;
            }
            anyhow::Ok(last)
        }
    };
    // Readers act side by side, as many clients would; the position read back is the latest.
    let reviewers = futures::stream::iter(0..REVIEWS.len()).map(review_and_rate).buffer_unordered(CLIENTS);
    let other_stars = OTHER_RATINGS.into_iter().flat_map(|(stars, n)| std::iter::repeat_n(stars, n));
    let raters = futures::stream::iter(other_stars.enumerate()).map(rate_only).buffer_unordered(CLIENTS);
    let shelvers = futures::stream::iter(0..147).map(shelve).buffer_unordered(CLIENTS);
    let mut last = reviewers
        .chain(raters)
        .chain(shelvers)
        .try_fold(0, |last, position| async move { Ok(last.max(position)) })
        .await?;
    for ((order, _, _), author) in AUTHOR_REVIEWERS.iter().zip(&author_reviewers) {
        let (_, reviewer_id) = reader(gateway, notify, &format!("demo_reader_{order:02}")).await?;
        let response = mutate(
            &librarian,
            notify,
            "mutation($author: ID!, $reader: ID!, $key: String!) {
                linkAuthorProfile(authorId: $author, readerId: $reader, idempotencyKey: $key) { position }
            }",
            json!({ "author": author, "reader": reviewer_id, "key": author_reviewer_key("seed:link-reviewer-author", *order) }),
        )
        .await?;
        last = last.max(response.data()?["linkAuthorProfile"]["position"].as_u64().unwrap_or(0));
    }
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

async fn rate(reader: &GraphQl, notify: OnRetry<'_>, book_id: &str, stars: i64) -> anyhow::Result<u64> {
    let response = mutate(
        reader,
        notify,
        "mutation($book: ID!, $stars: Float!, $key: String!) { rateBook(bookId: $book, stars: $stars, idempotencyKey: $key) { position } }",
        json!({ "book": book_id, "stars": stars, "key": format!("seed:rating:{book_id}") }),
    )
    .await?;
    Ok(response.data()?["rateBook"]["position"].as_u64().unwrap_or(0))
}

async fn follow_author(reader: &GraphQl, notify: OnRetry<'_>, author: &Value, key: &str) -> anyhow::Result<u64> {
    let response = mutate(
        reader,
        notify,
        "mutation($author: ID!, $key: String!) { followAuthor(authorId: $author, idempotencyKey: $key) { position } }",
        json!({ "author": author, "key": key }),
    )
    .await?;
    Ok(response.data()?["followAuthor"]["position"].as_u64().unwrap_or(0))
}

/// The other reviewers' own figures on the page (its order, reviews written, followers); the
/// eleventh is ours.
const REVIEWER_FIGURES: [(usize, u64, u64); 9] = [
    (2, 2_520, 705),
    (3, 163, 5),
    (4, 363, 3),
    (5, 448, 2),
    (6, 21, 0),
    (7, 296, 3),
    (8, 90, 1),
    (10, 104, 0),
    (11, 12, 0),
];

/// What the reviewer cards count once [`load_libraries`] is done: each reviewer's (handle,
/// reviews, followers), in the page's order, authors left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Libraries(pub Vec<(String, u64, u64)>);

impl std::fmt::Display for Libraries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cards = self.0.iter().map(|(handle, reviews, followers)| format!("{handle} {reviews}/{followers}"));
        write!(f, "demo reviewers' libraries loaded (reviews/followers): {}", cards.collect::<Vec<_>>().join(", "))
    }
}

/// The `n`th reader (from 0) who follows reviewers: the shelvers and raters first, then readers
/// who only follow.
fn follower_handle(n: usize) -> String {
    match n {
        0..147 => format!("demo_shelver_{:03}", n + 1),
        147..170 => format!("demo_reader_{:02}", n - 147 + 12),
        _ => format!("demo_follower_{:03}", n - 170 + 1),
    }
}

/// A Goodreads export of `count` reviews of generated books, the first `count` of one shared
/// list, so the reviewers' libraries overlap as readers' do.
fn generated_library(count: u64) -> String {
    let mut file = String::from(
        "Book Id,Title,Author,Author l-f,Additional Authors,ISBN,ISBN13,My Rating,Average Rating,Publisher,Binding,\
         Number of Pages,Year Published,Original Publication Year,Date Read,Date Added,Bookshelves,\
         Bookshelves with positions,Exclusive Shelf,My Review,Spoiler,Private Notes,Read Count,Owned Copies\n",
    );
    for n in 1..=count {
        let author = format!("Demo Library Author {}", n % 40 + 1);
        let (year, day) = (1950 + n % 70, n % 28 + 1);
        file.push_str(&format!(
            "{n},Demo library book {n},{author},,,,,0,0,,Paperback,{pages},{year},{year},2016/01/{day:02},2016/01/{day:02},,,read,\
             \"Notes on demo library book {n}, kept for the demo's reviewer counts.\",,,1,0\n",
            pages = 120 + n % 400,
        ));
    }
    file
}

/// Imports `count` generated reviews into `reader`'s library and waits until the job ends.
async fn import_library(reader: &GraphQl, count: u64) -> anyhow::Result<()> {
    let import = "mutation($file: Upload!) { importLibrary(file: $file, format: GOODREADS) { id } }";
    let started =
        reader.upload(import, json!({}), generated_library(count).into_bytes(), "goodreads_library_export.csv").await?;
    let job = started.data()?["importLibrary"]["id"].clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    loop {
        let read = reader
            .request("query($id: ID!) { importJob(id: $id) { status failure rowsFailed } }", json!({ "id": job }))
            .await?;
        if read.error_code() == Some("RATE_LIMITED") {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        let job = read.data()?["importJob"].clone();
        match job["status"].as_str() {
            Some("DONE") if job["rowsFailed"] == 0 => return Ok(()),
            Some("DONE" | "FAILED") => anyhow::bail!("a demo library's import failed: {job}"),
            _ => {}
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "a demo library's import did not end: {job}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Loads what the reviewer cards count, after [`load`]: each reviewer's earlier reviews, as an
/// imported library, and their followers. Returns the figures as the API then gives them.
pub async fn load_libraries(gateway: &GraphQl, notify: OnRetry<'_>) -> anyhow::Result<Libraries> {
    let figures = "query($handle: String!) { reader(handle: $handle) { reviewsCount followersCount } }";
    let mut reviewer_ids = Vec::new();
    for (order, reviews, _) in REVIEWER_FIGURES {
        let handle = format!("demo_reader_{order:02}");
        let (reviewer, reviewer_id) = named_reader(gateway, notify, &handle, REVIEWS[order - 1].name).await?;
        let now = read_at(gateway, figures, json!({ "handle": handle }), 0).await?;
        if now.data()?["reader"]["reviewsCount"].as_u64().unwrap_or(0) < reviews {
            // The seed book's review is one of them.
            import_library(&reviewer, reviews - 1).await?;
        }
        reviewer_ids.push(reviewer_id);
    }
    let most = REVIEWER_FIGURES.iter().map(|(_, _, followers)| *followers as usize).max().unwrap_or(0);
    let follow = |n: usize| {
        let reviewer_ids = &reviewer_ids;
        async move {
            let (follower, _) = reader(gateway, notify, &follower_handle(n)).await?;
            let mut last = 0;
            for ((order, _, followers), reviewer_id) in REVIEWER_FIGURES.iter().zip(reviewer_ids) {
                if n >= *followers as usize {
                    continue;
                }
                let response = mutate(
                    &follower,
                    notify,
                    "mutation($r: ID!, $key: String!) { follow(readerId: $r, idempotencyKey: $key) { position } }",
                    json!({ "r": reviewer_id, "key": format!("seed:follow-reviewer:{order}") }),
                )
                .await?;
                last = last.max(response.data()?["follow"]["position"].as_u64().unwrap_or(0));
            }
            anyhow::Ok(last)
        }
    };
    let followed = futures::stream::iter(0..most).map(follow).buffer_unordered(CLIENTS);
    let last = followed.try_fold(0, |last, position| async move { Ok(last.max(position)) }).await?;
    let mut cards = Vec::new();
    for (order, _, _) in REVIEWER_FIGURES {
        let handle = format!("demo_reader_{order:02}");
        let read = read_at(gateway, figures, json!({ "handle": handle }), last).await?;
        let reader = &read.data()?["reader"];
        cards.push((
            handle,
            reader["reviewsCount"].as_u64().unwrap_or_default(),
            reader["followersCount"].as_u64().unwrap_or_default(),
        ));
    }
    Ok(Libraries(cards))
}
