//! The activity feed, end to end through GraphQL.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{Days, Utc};
use readstream_e2e::{System, FEED_FANOUT_LIMIT};
use readstream_testkit::graphql::GraphQl;
use serde_json::{json, Value};

use super::{add_seed_book, position, rate, sign_up, sign_up_many};

const FEED: &str = "{ viewer { feed(first: 50) { edges { node { kind stars reader { handle } book { title } review { body } followed { handle } } } pageInfo { hasNextPage } } } }";

pub(crate) async fn act(reader: &GraphQl, mutation: &str, vars: Value) -> anyhow::Result<u64> {
    let response = reader.request(mutation, vars).await?;
    let data = response.data()?;
    let payload = data.as_object().and_then(|o| o.values().next()).context("no payload")?;
    position(payload)
}

async fn follow(reader: &GraphQl, other: &str) -> anyhow::Result<u64> {
    act(reader, "mutation($r: ID!) { follow(readerId: $r) { position } }", json!({ "r": other })).await
}

fn kinds(feed: &Value) -> Vec<(String, String)> {
    feed["viewer"]["feed"]["edges"]
        .as_array()
        .map(|edges| {
            edges
                .iter()
                .map(|e| {
                    (
                        e["node"]["kind"].as_str().unwrap_or_default().to_owned(),
                        e["node"]["reader"]["handle"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_follower_sees_what_a_friend_did_in_order_live_and_not_after_unfollowing() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, ben_id) = sign_up(&system, "ben").await?;
    let (book, _) = add_seed_book(&system).await?;
    let since = follow(&ana, &ben_id).await?;
    let mut live = ana
        .subscribe(
            "subscription($since: Int) { feed(since: $since) { kind reader { handle } } }",
            json!({ "since": since }),
        )
        .await?;

    act(&ben, "mutation($b: ID!) { startReading(bookId: $b) { position } }", json!({ "b": book })).await?;
    rate(&ben, &book, 4).await?;
    let at = act(
        &ben,
        "mutation($b: ID!) { publishReview(bookId: $b, body: \"Gripping.\") { position } }",
        json!({ "b": book }),
    )
    .await?;

    let response = ana.request_at(FEED, json!({}), at).await?;
    let feed = response.data()?;
    assert_eq!(
        kinds(feed),
        vec![
            ("REVIEWED".into(), "ben".into()),
            ("RATED".into(), "ben".into()),
            ("STARTED_READING".into(), "ben".into())
        ]
    );
    let items = &feed["viewer"]["feed"]["edges"];
    assert_eq!(items[0]["node"]["review"]["body"], json!("Gripping."));
    assert_eq!(items[1]["node"]["stars"], json!(4));
    assert_eq!(items[2]["node"]["book"]["title"], json!("Moscow 1956"));

    let mut pushed = Vec::new();
    for _ in 0..3 {
        let item = live.next(Duration::from_secs(10)).await?;
        pushed.push(item["feed"]["kind"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(pushed, ["STARTED_READING", "RATED", "REVIEWED"]);

    // Only some kinds.
    let response =
        ana.request_at("{ viewer { feed(kinds: [RATED]) { edges { node { kind } } } } }", json!({}), at).await?;
    assert_eq!(response.data()?["viewer"]["feed"]["edges"], json!([{ "node": { "kind": "RATED" } }]));

    let at = act(&ana, "mutation($r: ID!) { unfollow(readerId: $r) { position } }", json!({ "r": ben_id })).await?;
    let response = ana.request_at(FEED, json!({}), at).await?;
    assert_eq!(kinds(response.data()?), vec![]);

    // Someone else's feed is theirs alone.
    let response = ben.request("{ reader(handle: \"ana\") { feed { edges { node { kind } } } } }", json!({})).await?;
    assert_eq!(response.error_code(), Some("PERMISSION_DENIED"));
    system.stop().await
}

/// A web page follows the feed from its empty start (`since: 0`), then its reader follows
/// someone who acts at once: the item is pushed, as it is listed.
#[tokio::test]
async fn a_feed_followed_from_its_empty_start_hears_at_once_of_a_reader_just_followed() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, ben_id) = sign_up(&system, "ben").await?;
    let (book, _) = add_seed_book(&system).await?;
    let query = "subscription($since: Int) { feed(since: $since) { kind position reader { handle } book { title } } }";
    let mut live = ana.subscribe(query, json!({ "since": 0 })).await?;
    follow(&ana, &ben_id).await?;
    let at = rate(&ben, &book, 2).await?;
    let listed = ana.request_at(FEED, json!({}), at).await?;
    assert_eq!(kinds(listed.data()?), vec![("RATED".into(), "ben".into())]);
    let pushed = live.next(Duration::from_secs(10)).await?;
    assert_eq!((&pushed["feed"]["kind"], &pushed["feed"]["reader"]["handle"]), (&json!("RATED"), &json!("ben")));
    system.stop().await
}

#[tokio::test]
async fn an_account_above_the_fan_out_limit_writes_one_row_and_every_follower_sees_it() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (star, star_id) = sign_up(&system, "celebrity").await?;
    let (plain, plain_id) = sign_up(&system, "ordinary").await?;
    let fans = sign_up_many(&system, "fan", FEED_FANOUT_LIMIT as usize + 2).await?;
    let (book, _) = add_seed_book(&system).await?;
    for fan in &fans {
        follow(fan, &star_id).await?;
    }
    for fan in &fans[..2] {
        follow(fan, &plain_id).await?;
    }
    let celebrity_rating = rate(&star, &book, 5).await?;
    let ordinary_rating = rate(&plain, &book, 3).await?;
    let at = celebrity_rating.max(ordinary_rating);

    for (i, fan) in fans.iter().enumerate() {
        let response = fan.request_at(FEED, json!({}), at).await?;
        let mut expected = vec![];
        if i < 2 {
            expected.push(("RATED".to_owned(), "ordinary".to_owned()));
        }
        expected.push(("RATED".to_owned(), "celebrity".to_owned()));
        assert_eq!(kinds(response.data()?), expected, "fan {i}");
    }

    // Rows written for each rating: the celebrity's do not grow with its followers.
    let pool = sqlx::PgPool::connect(&system.database_url).await?;
    let items = |position: u64| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM feed_items WHERE position = $1")
                .bind(position as i64)
                .fetch_one(&pool)
                .await
        }
    };
    assert_eq!(items(celebrity_rating).await?, 0);
    assert_eq!(items(ordinary_rating).await?, 2);

    // Paged two at a time, a feed merged from fanned-out rows and on read is the whole feed,
    // in order, each item once, its readers and books as on one page.
    let mut at = at;
    for stars in [4, 3] {
        rate(&star, &book, stars).await?;
        at = rate(&plain, &book, stars).await?;
    }
    let whole = fans[0].request_at(FEED, json!({}), at).await?.data()?["viewer"]["feed"]["edges"].clone();
    assert_eq!(whole.as_array().map(Vec::len), Some(6));
    let paged = "query($after: String) { viewer { feed(first: 2, after: $after) {
        edges { node { kind stars reader { handle } book { title } review { body } followed { handle } } }
        pageInfo { hasNextPage endCursor } } } }";
    let (mut after, mut pages, mut walked) = (Value::Null, 0, Vec::new());
    loop {
        let response = fans[0].request_at(paged, json!({ "after": after }), at).await?;
        let feed = &response.data()?["viewer"]["feed"];
        walked.extend(feed["edges"].as_array().context("edges")?.iter().cloned());
        pages += 1;
        if feed["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = feed["pageInfo"]["endCursor"].clone();
        anyhow::ensure!(pages < 10, "the feed pages on past its six items");
    }
    assert_eq!((pages, Value::Array(walked)), (3, whole));
    let response = fans[0].request(paged, json!({ "after": "ZmVlZDpub3RhY3Vyc29y" })).await?;
    assert_eq!(response.error_code(), Some("INVALID_ARGUMENT"));
    system.stop().await
}

/// A live feed that follows an account above the fan-out limit (whose activities are published
/// on its own subject, merged into feeds on read) stops hearing of it once the viewer unfollows
/// or blocks it, as the viewer's page of the feed does; a fan still following still hears.
#[tokio::test]
async fn a_live_feed_stops_hearing_of_a_merged_account_once_unfollowed_or_blocked() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (star, star_id) = sign_up(&system, "celebrity").await?;
    let fans = sign_up_many(&system, "fan", FEED_FANOUT_LIMIT as usize + 3).await?;
    let (book, _) = add_seed_book(&system).await?;
    let mut at = 0;
    for fan in &fans {
        at = follow(fan, &star_id).await?;
    }
    let live = "subscription { feed { kind reader { handle } } }";
    let mut sockets = Vec::new();
    for fan in &fans[..3] {
        sockets.push(fan.subscribe_at(live, json!({}), at).await?);
    }
    act(&fans[0], "mutation($r: ID!) { unfollow(readerId: $r) { position } }", json!({ "r": star_id })).await?;
    let at = act(&fans[1], "mutation($r: ID!) { block(readerId: $r) { position } }", json!({ "r": star_id })).await?;
    fans[1].request_at("{ viewer { id } }", json!({}), at).await?.data()?;
    rate(&star, &book, 5).await?;
    let heard = sockets[2].next(Duration::from_secs(10)).await?;
    assert_eq!(heard["feed"], json!({ "kind": "RATED", "reader": { "handle": "celebrity" } }));
    for (socket, who) in sockets[..2].iter_mut().zip(["the fan who unfollowed", "the fan who blocked"]) {
        let pushed = socket.next(Duration::from_secs(2)).await;
        assert!(pushed.is_err(), "{who} still heard: {pushed:?}");
    }
    system.stop().await
}

/// Rates `book` as `reader` (a different number of stars each time) until `socket` hears of
/// it: the subscription learns of a change to the accounts merged on read a moment after the
/// read models show it.
async fn rate_until_heard(
    reader: &GraphQl,
    book: &str,
    socket: &mut readstream_testkit::graphql::Subscription,
) -> anyhow::Result<Value> {
    for stars in [5, 4, 3, 2, 1] {
        rate(reader, book, stars).await?;
        if let Ok(heard) = socket.next(Duration::from_secs(3)).await {
            return Ok(heard);
        }
    }
    anyhow::bail!("the live feed never heard of the ratings")
}

/// A live feed hears of an account merged on read that the viewer follows while it is open, and
/// of one they follow that goes over the fan-out limit while it is open, without subscribing
/// again.
#[tokio::test]
async fn a_live_feed_hears_of_accounts_that_become_merged_on_read_while_it_is_open() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (star, star_id) = sign_up(&system, "celebrity").await?;
    let (riser, riser_id) = sign_up(&system, "riser").await?;
    let fans = sign_up_many(&system, "fan", FEED_FANOUT_LIMIT as usize + 1).await?;
    let (book, _) = add_seed_book(&system).await?;
    for fan in &fans {
        follow(fan, &star_id).await?;
    }
    let at = follow(&ana, &riser_id).await?;
    let mut live = ana.subscribe_at("subscription { feed { kind reader { handle } } }", json!({}), at).await?;

    // Following an account above the limit while subscribed.
    let at = follow(&ana, &star_id).await?;
    ana.request_at("{ viewer { id } }", json!({}), at).await?.data()?;
    let heard = rate_until_heard(&star, &book, &mut live).await?;
    assert_eq!(heard["feed"], json!({ "kind": "RATED", "reader": { "handle": "celebrity" } }));

    // An account the viewer follows going over the limit while subscribed.
    let mut at = 0;
    for fan in &fans {
        at = follow(fan, &riser_id).await?;
    }
    ana.request_at("{ viewer { id } }", json!({}), at).await?.data()?;
    let heard = rate_until_heard(&riser, &book, &mut live).await?;
    assert_eq!(heard["feed"], json!({ "kind": "RATED", "reader": { "handle": "riser" } }));
    system.stop().await
}

#[tokio::test]
async fn blocks_and_backdated_imports_keep_feeds_clean_and_friends_show_on_the_book() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, ana_id) = sign_up(&system, "ana").await?;
    let (ben, ben_id) = sign_up(&system, "ben").await?;
    let (cyd, cyd_id) = sign_up(&system, "cyd").await?;
    let (book, _) = add_seed_book(&system).await?;
    follow(&ana, &ben_id).await?;
    follow(&ana, &cyd_id).await?;
    let long_ago = Utc::now().date_naive().checked_sub_days(Days::new(700)).context("date")?.to_string();
    act(
        &ben,
        "mutation($b: ID!, $d: NaiveDate) { finishReading(bookId: $b, finishedOn: $d) { position } }",
        json!({ "b": book, "d": long_ago }),
    )
    .await?;
    rate(&ben, &book, 5).await?;
    let at = act(&cyd, "mutation($b: ID!) { wantToRead(bookId: $b) { position } }", json!({ "b": book })).await?;

    let response = ana.request_at(FEED, json!({}), at).await?;
    // The import of a read from two years ago reaches nobody's feed.
    assert_eq!(kinds(response.data()?), vec![("WANT_TO_READ".into(), "cyd".into()), ("RATED".into(), "ben".into())]);

    let query = "query($b: ID!) { book(id: $b) { followedReaders { totalCount edges { node { reader { handle } status stars } } } } }";
    let response = ana.request_at(query, json!({ "b": book }), at).await?;
    assert_eq!(
        response.data()?["book"]["followedReaders"],
        json!({ "totalCount": 2, "edges": [
            { "node": { "reader": { "handle": "cyd" }, "status": "WANT_TO_READ", "stars": null } },
            { "node": { "reader": { "handle": "ben" }, "status": "READ", "stars": 5 } },
        ] })
    );
    // One at a time: each page is read in SQL, the count is the whole list's.
    let paged = "query($b: ID!, $after: String) { book(id: $b) { followedReaders(first: 1, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { reader { handle } } } } } }";
    let first = ana.request(paged, json!({ "b": book })).await?;
    let first = &first.data()?["book"]["followedReaders"];
    assert_eq!((&first["totalCount"], &first["edges"][0]["node"]["reader"]["handle"]), (&json!(2), &json!("cyd")));
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let second = ana.request(paged, json!({ "b": book, "after": first["pageInfo"]["endCursor"] })).await?;
    let second = &second.data()?["book"]["followedReaders"];
    assert_eq!((&second["totalCount"], &second["edges"][0]["node"]["reader"]["handle"]), (&json!(2), &json!("ben")));
    assert_eq!(second["pageInfo"]["hasNextPage"], false);

    // Ben blocks Ana: his items leave her feed.
    let at = act(&ben, "mutation($r: ID!) { block(readerId: $r) { position } }", json!({ "r": ana_id })).await?;
    let response = ana.request_at(FEED, json!({}), at).await?;
    assert_eq!(kinds(response.data()?), vec![("WANT_TO_READ".into(), "cyd".into())]);
    system.stop().await
}

/// A reader chooses who sees their reading: `ONLY_ME` hides their shelves from everyone else,
/// and their reading activities from their followers' feeds, those fanned out before too;
/// `FOLLOWERS` shows them to followers only. Their ratings stay in the feed and the book's
/// counts count them whatever they chose.
#[tokio::test]
async fn a_reader_who_keeps_their_reading_private_is_hidden_from_shelves_and_feeds_but_counted() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, ben_id) = sign_up(&system, "ben").await?;
    let (carl, _) = sign_up(&system, "carl").await?;
    let (book, _) = add_seed_book(&system).await?;
    follow(&ana, &ben_id).await?;
    act(&ben, "mutation($b: ID!) { wantToRead(bookId: $b) { position } }", json!({ "b": book })).await?;
    rate(&ben, &book, 4).await?;
    let visibility =
        "mutation($v: Visibility!) { setReadingVisibility(visibility: $v) { position reader { readingVisibility } } }";
    let private = ben.request(visibility, json!({ "v": "ONLY_ME" })).await?;
    assert_eq!(private.data()?["setReadingVisibility"]["reader"]["readingVisibility"], "ONLY_ME");
    let at = position(&private.data()?["setReadingVisibility"])?;

    let feed = ana.request_at(FEED, json!({}), at).await?;
    assert_eq!(kinds(feed.data()?), vec![("RATED".into(), "ben".into())], "the fanned-out want-to-read is hidden");
    let shelf = "query { reader(handle: \"ben\") { shelf { totalCount } shelves { name } } }";
    for other in [&ana, &carl, &system.client()] {
        let refused = other.request(shelf, json!({})).await?;
        assert_eq!(refused.error_code(), Some("PERMISSION_DENIED"), "{:?}", refused.0);
    }
    assert_eq!(ben.request(shelf, json!({})).await?.data()?["reader"]["shelf"]["totalCount"], 1, "his own");
    let counts = "query($b: ID!) { book(id: $b) { shelfCounts { wantToRead } } }";
    let counted = carl.request(counts, json!({ "b": book })).await?;
    assert_eq!(counted.data()?["book"]["shelfCounts"]["wantToRead"], 1, "the anonymous count counts him");
    let friends = "query($b: ID!) { book(id: $b) { followedReaders { totalCount edges { node { status stars } } } } }";
    let friends = ana.request(friends, json!({ "b": book })).await?;
    let followed = &friends.data()?["book"]["followedReaders"];
    assert_eq!(followed["edges"][0]["node"], json!({ "status": null, "stars": 4 }), "his rating shows, not his shelf");

    let followers_only = ben.request(visibility, json!({ "v": "FOLLOWERS" })).await?;
    let at = position(&followers_only.data()?["setReadingVisibility"])?;
    assert_eq!(ana.request_at(shelf, json!({}), at).await?.data()?["reader"]["shelf"]["totalCount"], 1);
    assert_eq!(carl.request(shelf, json!({})).await?.error_code(), Some("PERMISSION_DENIED"));
    let feed = ana.request(FEED, json!({})).await?;
    assert_eq!(kinds(feed.data()?).len(), 2, "a follower sees it all again");
    let bad = ben.request("mutation { setReadingVisibility(visibility: NOBODY) { position } }", json!({})).await?;
    assert_eq!(bad.error_code(), Some("INVALID_ARGUMENT"));
    system.stop().await
}

#[tokio::test]
async fn a_signed_in_reader_not_yet_recorded_has_a_feed_but_no_profile() -> anyhow::Result<()> {
    let system = System::start().await?;
    // A token whose reader the read models do not hold: the moment after `signUp`, read
    // without its position.
    let reader_id = uuid::Uuid::now_v7();
    let newcomer = system.client_as(reader_id)?;

    // Their feed needs only who they are, which the token says: no read of their profile first.
    let feed = newcomer.request("{ viewer { id feed(first: 5) { edges { cursor } } } }", json!({})).await?;
    assert_eq!(feed.data()?["viewer"], json!({ "id": reader_id.to_string(), "feed": { "edges": [] } }), "{:?}", feed.0);
    // Their profile is not there to show: no viewer, asked directly or through a fragment.
    for query in [
        "{ viewer { handle feed(first: 5) { edges { cursor } } } }",
        "{ viewer { ...profile } } fragment profile on Reader { displayName }",
        "{ viewer { ... on Reader { joinedAt } } }",
        "{ viewer { url } }",
        "{ viewer { name: displayName } }",
    ] {
        let response = newcomer.request(query, json!({})).await?;
        assert_eq!(response.data()?["viewer"], Value::Null, "{query}: {:?}", response.0);
        assert!(response.0.get("errors").is_none(), "{query}: {:?}", response.0);
    }
    system.stop().await
}
