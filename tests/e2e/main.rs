//! End-to-end: the whole system, driven through GraphQL only, as a client app would.

mod accounts;
mod authors;
mod browser;
mod delivery;
mod demo;
mod discovery;
mod editions;
mod edits;
mod exports;
mod faults;
mod feed;
mod goals;
mod hostile;
mod images;
mod imports;
mod limits;
mod lists;
mod merges;
mod notifications;
mod pages;
mod ratings;
mod reading;
mod recommendations;
mod resends;
mod reviews;
mod roles;
mod search;
mod series;
mod sessions;
mod shapes;
mod social;
mod visibility;
mod web_sessions;

use std::time::Duration;

use anyhow::Context as _;
use futures::{future::try_join_all, StreamExt};
use readstream_e2e::System;
use readstream_testkit::graphql::GraphQl;
use serde_json::{json, Value};

const SIGN_UP: &str = "mutation($handle: String!, $key: String) {
    signUp(input: { handle: $handle, displayName: \"Test Reader\", password: \"correct horse battery\" }, idempotencyKey: $key) {
        token readerId position
    }
}";
const ADD_AUTHOR: &str = "mutation($name: String!) { addAuthor(input: { name: $name }) { position authorId } }";
const ADD_BOOK: &str = "mutation($input: AddBookInput!, $key: String) {
    addBook(input: $input, idempotencyKey: $key) { position bookId book { title pages } }
}";
const RATE: &str = "mutation($book: ID!, $stars: Float!, $key: String) {
    rateBook(bookId: $book, stars: $stars, idempotencyKey: $key) { position bookId }
}";
const RATINGS: &str = "query($id: ID!) {
    book(id: $id) { title ratings { count average histogram { stars count percent } } }
}";

/// `name`'s value on the gateway's `/metrics`.
async fn gauge(system: &System, name: &str) -> anyhow::Result<f64> {
    let text = reqwest::get(format!("http://{}/metrics", system.gateway_health)).await?.text().await?;
    let line = text.lines().find(|line| line.split_whitespace().next() == Some(name));
    let value = line.and_then(|line| line.split_whitespace().nth(1)).and_then(|value| value.parse().ok());
    value.ok_or_else(|| anyhow::anyhow!("no {name} in:\n{text}"))
}

fn position(value: &Value) -> anyhow::Result<u64> {
    value["position"].as_u64().with_context(|| format!("no position in {value}"))
}

async fn sign_up(system: &System, handle: &str) -> anyhow::Result<(GraphQl, String)> {
    let response = system.client().request(SIGN_UP, json!({ "handle": handle })).await?;
    let payload = &response.data()?["signUp"];
    let token = payload["token"].as_str().context("no token")?;
    Ok((system.client().with_token(token), payload["readerId"].as_str().context("no id")?.to_owned()))
}

/// Signs up `count` readers, a few at a time as many clients would.
async fn sign_up_many(system: &System, prefix: &str, count: usize) -> anyhow::Result<Vec<GraphQl>> {
    let handles: Vec<String> = (0..count).map(|i| format!("{prefix}{i}")).collect();
    let readers: Vec<_> =
        futures::stream::iter(handles.iter().map(|handle| sign_up(system, handle))).buffered(16).collect().await;
    Ok(readers.into_iter().collect::<anyhow::Result<Vec<_>>>()?.into_iter().map(|(client, _)| client).collect())
}

/// Adds the seed page's author and book, as the librarian; returns the book's id and the
/// position it was added at.
async fn add_seed_book(system: &System) -> anyhow::Result<(String, u64)> {
    let reader = &system.librarian().await?;
    let response = reader.request(ADD_AUTHOR, json!({ "name": "Kathleen E. Smith" })).await?;
    let author_id = response.data()?["addAuthor"]["authorId"].clone();
    let input = json!({
        "title": "Moscow 1956",
        "subtitle": "The Silenced Spring",
        "pages": 400,
        "format": "Hardcover",
        "firstPublished": "2017-04-17",
        "authorIds": [author_id],
    });
    let response = reader.request(ADD_BOOK, json!({ "input": input })).await?;
    let payload = &response.data()?["addBook"];
    assert_eq!(payload["book"], json!({ "title": "Moscow 1956", "pages": 400 }));
    Ok((payload["bookId"].as_str().context("no book id")?.to_owned(), position(payload)?))
}

async fn rate(reader: &GraphQl, book: &str, stars: i64) -> anyhow::Result<u64> {
    let response = reader.request(RATE, json!({ "book": book, "stars": stars })).await?;
    position(&response.data()?["rateBook"])
}

async fn ratings_at(reader: &GraphQl, book: &str, at: u64) -> anyhow::Result<Value> {
    let response = reader.request_at(RATINGS, json!({ "id": book }), at).await?;
    Ok(response.data()?["book"]["ratings"].clone())
}

fn histogram(ratings: &Value) -> Vec<(i64, i64, i64)> {
    ratings["histogram"]
        .as_array()
        .map(|buckets| {
            buckets
                .iter()
                .map(|b| {
                    (
                        b["stars"].as_i64().unwrap_or(-1),
                        b["count"].as_i64().unwrap_or(-1),
                        b["percent"].as_i64().unwrap_or(-1),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn sign_up_add_a_book_rate_it_and_read_it_back() -> anyhow::Result<()> {
    let system = System::start().await?;
    let response = system.client().request(SIGN_UP, json!({ "handle": "ana" })).await?;
    let signed_up = &response.data()?["signUp"];
    let ana = system.client().with_token(signed_up["token"].as_str().context("token")?);

    // The readers projection is eventually consistent: read at the sign-up's position.
    let viewer = ana.request_at("{ viewer { id handle displayName } }", json!({}), position(signed_up)?).await?;
    assert_eq!(
        viewer.data()?["viewer"],
        json!({ "id": signed_up["readerId"], "handle": "ana", "displayName": "Test Reader" })
    );

    let (book, _) = add_seed_book(&system).await?;
    let at = rate(&ana, &book, 4).await?;
    let query = "query($id: ID!) {
        book(id: $id) { title subtitle pages format firstPublished authors { name } ratings { count average } }
    }";
    let response = ana.request_at(query, json!({ "id": book }), at).await?;
    assert_eq!(
        response.data()?["book"],
        json!({
            "title": "Moscow 1956", "subtitle": "The Silenced Spring", "pages": 400, "format": "Hardcover",
            "firstPublished": "2017-04-17", "authors": [{ "name": "Kathleen E. Smith" }],
            "ratings": { "count": 1, "average": 4.0 },
        })
    );

    // Re-rating replaces the earlier rating; clearing removes it.
    let at = rate(&ana, &book, 2).await?;
    assert_eq!(ratings_at(&ana, &book, at).await?["average"], json!(2.0));
    let response =
        ana.request("mutation($b: ID!) { clearRating(bookId: $b) { position } }", json!({ "b": book })).await?;
    let at = position(&response.data()?["clearRating"])?;
    assert_eq!(ratings_at(&ana, &book, at).await?["count"], json!(0));

    let again = ana.request("mutation($b: ID!) { clearRating(bookId: $b) { position } }", json!({ "b": book })).await?;
    assert_eq!(again.error_code(), Some("NOT_FOUND"));
    system.stop().await
}

#[tokio::test]
async fn a_ratings_payload_waits_only_for_the_projections_it_reads() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (book, added_at) = add_seed_book(&system).await?;
    ratings_at(&ana, &book, added_at).await?;

    // Hold the feed projection back: its next commit waits on this lock on its checkpoint.
    let pool = sqlx::PgPool::connect(&system.database_url).await?;
    let mut feed_lock = pool.begin().await?;
    sqlx::query("SELECT position FROM projection_checkpoints WHERE name = 'feed' FOR UPDATE")
        .execute(&mut *feed_lock)
        .await?;

    let rated = ana
        .request(
            "mutation($book: ID!) { rateBook(bookId: $book, stars: 4) { position book { ratings { count } } } }",
            json!({ "book": book }),
        )
        .await?;
    let rated = &rated.data()?["rateBook"];
    assert_eq!(rated["book"]["ratings"]["count"], json!(1));
    let at = position(rated)?;
    let feed_at: i64 =
        sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = 'feed'").fetch_one(&pool).await?;
    assert!((feed_at as u64) < at, "the feed was held back at {feed_at}, before the rating at {at}");

    // Let it go: a client's own minPosition still means every projection, the feed included.
    feed_lock.rollback().await?;
    let viewer = ana.request_at("{ viewer { handle } }", json!({}), at).await?;
    assert_eq!(viewer.data()?["viewer"]["handle"], json!("ana"));
    let feed_at: i64 =
        sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = 'feed'").fetch_one(&pool).await?;
    assert!(feed_at as u64 >= at);
    system.stop().await
}

#[tokio::test]
async fn the_seed_pages_ratings_are_reproduced_from_events() -> anyhow::Result<()> {
    let facts: Value = serde_json::from_str(include_str!("../fixtures/seed-book-page.json"))?;
    let system = System::start().await?;
    let readers = sign_up_many(&system, "seed", 33).await?;
    let (book, _) = add_seed_book(&system).await?;

    let mut stars = Vec::new();
    for star in 1..=5 {
        let count = facts["ratings"]["histogram"][star.to_string()].as_u64().context("histogram")?;
        stars.extend(std::iter::repeat_n(star, count as usize));
    }
    assert_eq!(stars.len(), 33);
    let positions = try_join_all(readers.iter().zip(&stars).map(|(reader, &s)| rate(reader, &book, s))).await?;
    let at = positions.into_iter().max().unwrap_or_default();

    let ratings = ratings_at(&readers[0], &book, at).await?;
    assert_eq!(ratings["count"], facts["ratings"]["count"]);
    assert_eq!(ratings["average"], facts["ratings"]["average"]);
    let expected: Vec<_> = (1..=5)
        .rev()
        .map(|s: i64| {
            let key = s.to_string();
            (
                s,
                facts["ratings"]["histogram"][&key].as_i64().unwrap_or(-1),
                facts["ratings"]["percent_shown"][&key].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(histogram(&ratings), expected);
    assert_eq!(histogram(&ratings), vec![(5, 11, 33), (4, 16, 48), (3, 5, 15), (2, 1, 3), (1, 0, 0)]);
    system.stop().await
}

#[tokio::test]
async fn thirty_two_concurrent_raters_of_one_book_lose_no_rating() -> anyhow::Result<()> {
    let system = System::start().await?;
    let readers = sign_up_many(&system, "rater", 32).await?;
    let (book, _) = add_seed_book(&system).await?;
    let stars: Vec<i64> = (0..32).map(|i| i % 5 + 1).collect();
    let positions = try_join_all(readers.iter().zip(&stars).map(|(reader, &s)| rate(reader, &book, s))).await?;
    let ratings = ratings_at(&readers[0], &book, positions.into_iter().max().unwrap_or_default()).await?;
    assert_eq!(ratings["count"], json!(32));
    let counts: Vec<_> = histogram(&ratings).into_iter().map(|(s, c, _)| (s, c)).collect();
    // i % 5 + 1 for i in 0..32: seven each of 1 and 2, six each of 3, 4 and 5.
    assert_eq!(counts, vec![(5, 6), (4, 6), (3, 6), (2, 7), (1, 7)]);
    system.stop().await
}

#[tokio::test]
async fn one_reader_rerating_from_eight_concurrent_requests_counts_once() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (book, _) = add_seed_book(&system).await?;
    let stars = [1, 2, 3, 4, 5, 1, 2, 3];
    let positions = try_join_all(stars.iter().map(|&s| rate(&ana, &book, s))).await?;
    // The request answered with the highest position is the rating the stream recorded last.
    let (last, &last_stars) = positions.iter().zip(&stars).max_by_key(|(p, _)| **p).context("no ratings")?;
    let ratings = ratings_at(&ana, &book, *last).await?;
    assert_eq!(ratings["count"], json!(1));
    assert_eq!(ratings["average"], json!(last_stars as f64));
    let counted: Vec<_> = histogram(&ratings).into_iter().filter(|(_, c, _)| *c > 0).map(|(s, c, _)| (s, c)).collect();
    assert_eq!(counted, vec![(last_stars, 1)]);
    system.stop().await
}

#[tokio::test]
async fn a_subscriber_receives_each_new_rating() -> anyhow::Result<()> {
    let system = System::start().await?;
    let readers = sign_up_many(&system, "live", 2).await?;
    let (book, _) = add_seed_book(&system).await?;
    let mut subscription = readers[0]
        .subscribe(
            "subscription($id: ID!) { bookRatingsChanged(bookId: $id) { bookId position ratings { count average } } }",
            json!({ "id": book }),
        )
        .await?;
    // The first push is the figures as they are, so the subscription is live from here on.
    let now = subscription.next(Duration::from_secs(10)).await?;
    assert_eq!(now["bookRatingsChanged"]["ratings"], json!({ "count": 0, "average": 0.0 }));

    let first = rate(&readers[0], &book, 5).await?;
    let pushed = subscription.next(Duration::from_secs(10)).await?;
    assert_eq!(pushed["bookRatingsChanged"]["bookId"], json!(book));
    assert_eq!(pushed["bookRatingsChanged"]["position"], json!(first));
    assert_eq!(pushed["bookRatingsChanged"]["ratings"], json!({ "count": 1, "average": 5.0 }));

    let second = rate(&readers[1], &book, 2).await?;
    let pushed = subscription.next(Duration::from_secs(10)).await?;
    assert_eq!(pushed["bookRatingsChanged"]["position"], json!(second));
    assert_eq!(pushed["bookRatingsChanged"]["ratings"], json!({ "count": 2, "average": 3.5 }));
    system.stop().await
}

#[tokio::test]
async fn bad_input_gets_a_coded_error_and_appends_nothing() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (book, _) = add_seed_book(&system).await?;
    let before = system.stream_messages().await?;

    for stars in [0, 6, -1] {
        let response = ana.request(RATE, json!({ "book": book, "stars": stars })).await?;
        assert_eq!(response.error_code(), Some("INVALID_ARGUMENT"), "stars {stars}: {:?}", response.0);
    }
    let unknown = uuid::Uuid::now_v7().to_string();
    let response = ana.request(RATE, json!({ "book": unknown, "stars": 3 })).await?;
    assert_eq!(response.error_code(), Some("NOT_FOUND"));
    let response = ana.request(RATE, json!({ "book": "not-a-uuid", "stars": 3 })).await?;
    assert_eq!(response.error_code(), Some("INVALID_ARGUMENT"));

    let anonymous = system.client();
    let response = anonymous.request(RATE, json!({ "book": book, "stars": 3 })).await?;
    assert_eq!(response.error_code(), Some("UNAUTHENTICATED"));
    let forged = system.client().with_token("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl");
    let response = forged.request(RATE, json!({ "book": book, "stars": 3 })).await?;
    assert_eq!(response.error_code(), Some("UNAUTHENTICATED"));

    let librarian = system.librarian().await?;
    let input = json!({ "title": "  ", "pages": 100, "authorIds": [] });
    let response = librarian.request(ADD_BOOK, json!({ "input": input })).await?;
    assert_eq!(response.error_code(), Some("INVALID_ARGUMENT"));
    assert_eq!(response.0["errors"][0]["extensions"]["field"], json!("title"));
    let author = librarian.request(ADD_AUTHOR, json!({ "name": "A. Author" })).await?;
    let author_id = author.data()?["addAuthor"]["authorId"].clone();
    let before = before + 1;
    for pages in [0, -5] {
        let input = json!({ "title": "T", "pages": pages, "authorIds": [author_id] });
        let response = librarian.request(ADD_BOOK, json!({ "input": input })).await?;
        assert_eq!(response.error_code(), Some("INVALID_ARGUMENT"));
    }
    let input = json!({ "title": "T", "pages": 10, "authorIds": [uuid::Uuid::now_v7().to_string()] });
    let response = librarian.request(ADD_BOOK, json!({ "input": input })).await?;
    assert_eq!(response.error_code(), Some("NOT_FOUND"));

    let response = system.client().request(SIGN_UP, json!({ "handle": "ANA" })).await?;
    assert_eq!(response.error_code(), Some("ALREADY_EXISTS"));
    let response = system
        .client()
        .request("mutation { signIn(handle: \"ana\", password: \"wrong password\") { token } }", json!({}))
        .await?;
    assert_eq!(response.error_code(), Some("UNAUTHENTICATED"));

    assert_eq!(system.stream_messages().await?, before, "a refused command appended something");
    system.stop().await
}

/// The command services do not trust the gateway: sent straight on the bus, a command without
/// a signed-in reader, with a bad command id or that does not decode is refused there.
#[tokio::test]
async fn a_command_service_refuses_what_the_gateway_would_have() -> anyhow::Result<()> {
    use readstream_contracts::{command, proto::commands::v1 as pb, Code};
    use readstream_runtime::bus;

    let system = System::start().await?;
    let (_, ana_id) = sign_up(&system, "ana").await?;
    let (book, _) = add_seed_book(&system).await?;
    let before = system.stream_messages().await?;
    let nats = async_nats::connect(readstream_testkit::nats_url()).await?;
    let reconnects =
        bus::Reconnects::follow(&nats, &system.namespace, tokio_util::sync::CancellationToken::new()).await?;
    let refusal = |reply: Result<_, pb::Rejected>| reply.err().map(|rejected| Code::from(rejected.code()));
    let meta = |command_id: String, actor: &str| {
        Some(pb::CommandMeta { command_id, actor: actor.to_owned(), ..Default::default() })
    };
    let send = |meta| {
        let rate = pb::RateBook { meta, book_id: book.clone(), stars: 4, quarter_stars: 0 };
        let (nats, reconnects) = (nats.clone(), reconnects.clone());
        let namespace = system.namespace.clone();
        async move { bus::send(&nats, &reconnects, &namespace, &rate, Duration::from_secs(5)).await }
    };

    let anonymous = send(meta(uuid::Uuid::now_v7().to_string(), "")).await?;
    assert_eq!(refusal(anonymous), Some(Code::Unauthenticated));
    let bad_command_id = send(meta("not-a-uuid".to_owned(), &ana_id)).await?;
    assert_eq!(refusal(bad_command_id), Some(Code::InvalidArgument));
    let no_meta = send(None).await?;
    assert_eq!(refusal(no_meta), Some(Code::InvalidArgument));
    let garbage = nats.request(command::subject::<pb::RateBook>(&system.namespace), "\u{ff}\u{ff}".into()).await?;
    let garbage = command::decode::<pb::Reply>(&garbage.payload).map_err(|err| anyhow::anyhow!(err.message))?;
    let garbage_refusal = match garbage.outcome {
        Some(pb::reply::Outcome::Rejected(rejected)) => Some(Code::from(rejected.code())),
        _ => None,
    };
    assert_eq!(garbage_refusal, Some(Code::InvalidArgument));
    let signed_in = send(meta(uuid::Uuid::now_v7().to_string(), &ana_id)).await?;
    assert_eq!(refusal(signed_in), None, "the same command from a signed-in reader is accepted");

    assert_eq!(system.stream_messages().await?, before + 1, "only the signed-in rating was appended");
    system.stop().await
}

#[tokio::test]
async fn a_retried_command_with_the_same_idempotency_key_appends_once() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (book, _) = add_seed_book(&system).await?;
    let before = system.stream_messages().await?;
    let vars = json!({ "book": book, "stars": 4, "key": "rate-once" });
    let first = ana.request(RATE, vars.clone()).await?;
    let second = ana.request(RATE, vars).await?;
    assert_eq!(first.data()?["rateBook"]["position"], second.data()?["rateBook"]["position"]);
    assert_eq!(system.stream_messages().await?, before + 1);

    // Sign-up too: the same key answers with the same reader, and signing in works after.
    let vars = json!({ "handle": "ben", "key": "sign-up-ben" });
    let first = system.client().request(SIGN_UP, vars.clone()).await?;
    let second = system.client().request(SIGN_UP, vars).await?;
    assert_eq!(first.data()?["signUp"]["readerId"], second.data()?["signUp"]["readerId"]);
    let response = system
        .client()
        .request("mutation { signIn(handle: \"Ben\", password: \"correct horse battery\") { readerId } }", json!({}))
        .await?;
    assert_eq!(response.data()?["signIn"]["readerId"], first.data()?["signUp"]["readerId"]);
    assert_eq!(system.stream_messages().await?, before + 2);
    system.stop().await
}

#[tokio::test]
async fn books_are_listed_in_pages_with_opaque_cursors() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let mut at = 0;
    for _ in 0..3 {
        at = add_seed_book(&system).await?.1;
    }
    let query = "query($after: String) {
        books(first: 2, after: $after) { totalCount edges { cursor node { title } } pageInfo { hasNextPage endCursor } }
    }";
    let first = ana.request_at(query, json!({}), at).await?;
    let page = &first.data()?["books"];
    assert_eq!(page["totalCount"], json!(3));
    assert_eq!(page["edges"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["pageInfo"]["hasNextPage"], json!(true));
    let second = ana.request(query, json!({ "after": page["pageInfo"]["endCursor"] })).await?;
    let page = &second.data()?["books"];
    assert_eq!(page["edges"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["pageInfo"]["hasNextPage"], json!(false));

    let forged = ana.request(query, json!({ "after": "Zm9yZ2Vk" })).await?;
    assert_eq!(forged.error_code(), Some("INVALID_ARGUMENT"));
    system.stop().await
}

#[tokio::test]
async fn subscriptions_honour_read_your_writes_and_the_legacy_protocol_and_path() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (book, _) = add_seed_book(&system).await?;
    let at = rate(&ana, &book, 3).await?;
    let query = "subscription($id: ID!) { bookRatingsChanged(bookId: $id) { position ratings { count } } }";

    // Asked to start at the rating's position, the first push already includes it.
    let mut subscription = ana.subscribe_at(query, json!({ "id": book }), at).await?;
    let now = subscription.next(Duration::from_secs(10)).await?;
    assert_eq!(now["bookRatingsChanged"], json!({ "position": at, "ratings": { "count": 1 } }));

    // The legacy protocol, on the older `/graphql/ws` path.
    let mut legacy = ana.with_websocket_path("/graphql/ws").subscribe_legacy(query, json!({ "id": book })).await?;
    let now = legacy.next(Duration::from_secs(10)).await?;
    assert_eq!(now["bookRatingsChanged"]["ratings"]["count"], json!(1));
    let (ben, _) = sign_up(&system, "ben").await?;
    let at = rate(&ben, &book, 5).await?;
    let pushed = legacy.next(Duration::from_secs(10)).await?;
    assert_eq!(pushed["bookRatingsChanged"], json!({ "position": at, "ratings": { "count": 2 } }));

    // A forged token is refused when the connection opens.
    let forged = system.client().with_token("not.a.token");
    assert!(forged.subscribe(query, json!({ "id": book })).await.is_err());

    // The same path without an upgrade is GraphiQL for a browser.
    let page = reqwest::get(format!("{}/graphql", system.base_url)).await?;
    assert!(page.status().is_success());
    assert!(page.text().await?.contains("graphiql"));
    system.stop().await
}
