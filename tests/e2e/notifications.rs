//! Notifications, end to end through GraphQL: each kind, grouping, marks and mutes, blocks,
//! deletion, and live.

use std::time::Duration;

use anyhow::Context as _;
use readstream_e2e::System;
use readstream_testkit::graphql::GraphQl;
use serde_json::{json, Value};

use super::{add_seed_book, position, sign_up, ADD_BOOK};

const NOTIFICATIONS: &str = "{ viewer { unreadNotificationCount mutedNotificationKinds
    notifications(first: 20) { edges { cursor node { id kind unread count summary role importedBooks
        actors { handle } review { body } book { title } } } pageInfo { hasNextPage } } } }";

async fn act(reader: &GraphQl, mutation: &str, variables: Value) -> anyhow::Result<u64> {
    let response = reader.request(mutation, variables).await?;
    let data = response.data()?;
    let payload = data.as_object().and_then(|fields| fields.values().next()).context("no payload")?;
    position(payload)
}

/// The viewer's notifications once the read models hold position `at`: (unread count, nodes).
async fn inbox(reader: &GraphQl, at: u64) -> anyhow::Result<(i64, Vec<Value>)> {
    let response = reader.request_at(NOTIFICATIONS, json!({}), at).await?;
    let viewer = &response.data()?["viewer"];
    let nodes = viewer["notifications"]["edges"].as_array().into_iter().flatten().map(|e| e["node"].clone()).collect();
    Ok((viewer["unreadNotificationCount"].as_i64().context("no count")?, nodes))
}

fn handles(node: &Value) -> Vec<String> {
    node["actors"].as_array().into_iter().flatten().filter_map(|a| a["handle"].as_str().map(str::to_owned)).collect()
}

async fn publish(reader: &GraphQl, book: &str) -> anyhow::Result<(String, u64)> {
    let mutation = "mutation($b: ID!) { publishReview(bookId: $b, body: \"Vivid.\") { position reviewId } }";
    let response = reader.request(mutation, json!({ "b": book })).await?;
    let payload = &response.data()?["publishReview"];
    Ok((payload["reviewId"].as_str().context("no review id")?.to_owned(), position(payload)?))
}

const LIKE: &str = "mutation($r: ID!) { likeReview(reviewId: $r) { position } }";
const UNLIKE: &str = "mutation($r: ID!) { unlikeReview(reviewId: $r) { position } }";

#[tokio::test]
async fn likes_of_one_review_are_one_group_read_and_unread_muted_and_blocked_as_the_author_chooses(
) -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (review, _) = publish(&ana, &book).await?;
    let mut likers = Vec::new();
    for handle in ["ben", "cyd", "dee"] {
        likers.push(sign_up(&system, handle).await?);
    }
    let mut at = 0;
    for (liker, _) in &likers {
        at = act(liker, LIKE, json!({ "r": review })).await?;
    }
    let (unread, nodes) = inbox(&ana, at).await?;
    assert_eq!((unread, nodes.len()), (3, 1), "{nodes:?}");
    let group = &nodes[0];
    assert_eq!((&group["kind"], &group["count"], &group["unread"]), (&json!("REVIEW_LIKED"), &json!(3), &json!(true)));
    assert_eq!(handles(group), ["dee", "cyd", "ben"], "newest first");
    assert_eq!(group["summary"], json!("Test Reader and 2 others liked your review"));
    assert_eq!((&group["review"]["body"], &group["book"]["title"]), (&json!("Vivid."), &json!("Moscow 1956")));

    // An unlike takes its like back.
    let at = act(&likers[0].0, UNLIKE, json!({ "r": review })).await?;
    let (unread, nodes) = inbox(&ana, at).await?;
    assert_eq!((unread, &nodes[0]["count"]), (2, &json!(2)));

    // Read: the count drops; a new like makes the group unread again, and counts one.
    let id = nodes[0]["id"].clone();
    let marked =
        ana.request("mutation($id: ID!) { markNotificationRead(id: $id) { unreadCount } }", json!({ "id": id }));
    assert_eq!(marked.await?.data()?["markNotificationRead"]["unreadCount"], json!(0));
    let at = act(&likers[0].0, LIKE, json!({ "r": review })).await?;
    let (unread, nodes) = inbox(&ana, at).await?;
    assert_eq!((unread, &nodes[0]["unread"], &nodes[0]["count"]), (1, &json!(true), &json!(3)));
    let all = ana.request("mutation { markAllNotificationsRead { unreadCount } }", json!({})).await?;
    assert_eq!(all.data()?["markAllNotificationsRead"]["unreadCount"], json!(0));

    // Blocks apply when read: Ana blocks Cyd, whose like leaves the group.
    let cy_id = likers[1].1.clone();
    let at = act(&ana, "mutation($r: ID!) { block(readerId: $r) { position } }", json!({ "r": cy_id })).await?;
    let (_, nodes) = inbox(&ana, at).await?;
    assert_eq!(handles(&nodes[0]), ["ben", "dee"]);

    // Muted, the kind leaves the list and the count; unmuted, it is back.
    let mute =
        "mutation($m: Boolean!) { setNotificationMuted(kind: REVIEW_LIKED, muted: $m) { unreadCount mutedKinds } }";
    let muted = ana.request(mute, json!({ "m": true })).await?;
    assert_eq!(muted.data()?["setNotificationMuted"]["mutedKinds"], json!(["REVIEW_LIKED"]));
    let at = act(&likers[2].0, UNLIKE, json!({ "r": review })).await?;
    let at = at.max(act(&likers[2].0, LIKE, json!({ "r": review })).await?);
    let (unread, nodes) = inbox(&ana, at).await?;
    assert_eq!((unread, nodes.len()), (0, 0), "muted: {nodes:?}");
    ana.request(mute, json!({ "m": false })).await?.data()?;
    let (unread, nodes) = inbox(&ana, at).await?;
    assert_eq!((unread, nodes.len()), (1, 1));

    // Someone else's notifications are theirs alone; a forged id is refused.
    let of_ana = "query { reader(handle: \"ana\") { unreadNotificationCount } }";
    let refused = likers[0].0.request(of_ana, json!({})).await?;
    assert_eq!(refused.error_code(), Some("PERMISSION_DENIED"));
    let forged =
        ana.request("mutation { markNotificationRead(id: \"bm90aGluZw\") { unreadCount } }", json!({})).await?;
    assert_eq!(forged.error_code(), Some("INVALID_ARGUMENT"), "{:?}", forged.0);
    system.stop().await
}

#[tokio::test]
async fn each_kind_reaches_the_reader_it_concerns_never_for_their_own_acts_and_a_deleted_reader_leaves(
) -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let librarian = system.librarian().await?;
    let (ana, ana_id) = sign_up(&system, "ana").await?;
    let (ben, ben_id) = sign_up(&system, "ben").await?;

    // Ben follows Ana (a new follower) and has the book on a shelf; Ana reviews it (news to
    // Ben); Ben comments on her review (news to Ana); Ana likes her own review (nothing).
    act(&ben, "mutation($r: ID!) { follow(readerId: $r) { position } }", json!({ "r": ana_id })).await?;
    act(&ben, "mutation($b: ID!) { wantToRead(bookId: $b) { position } }", json!({ "b": book })).await?;
    let (review, _) = publish(&ana, &book).await?;
    let comment = "mutation($r: ID!) { commentOnReview(reviewId: $r, body: \"Agreed.\") { position } }";
    let at = act(&ben, comment, json!({ "r": review })).await?;
    let own_like = ana.request(LIKE, json!({ "r": review })).await?;
    let at = match own_like.data() {
        Ok(data) => position(&data["likeReview"])?.max(at),
        Err(_) => at,
    };
    let (_, nodes) = inbox(&ana, at).await?;
    let kinds: Vec<&Value> = nodes.iter().map(|n| &n["kind"]).collect();
    assert_eq!(kinds, [&json!("REVIEW_COMMENTED"), &json!("NEW_FOLLOWER")], "{nodes:?}");
    assert_eq!(handles(&nodes[0]), ["ben"]);
    let (_, nodes) = inbox(&ben, at).await?;
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    assert_eq!((&nodes[0]["kind"], &nodes[0]["review"]["body"]), (&json!("FOLLOWEE_REVIEWED"), &json!("Vivid.")));

    // A role granted, and a followed author's new book.
    let grant = "mutation($r: ID!) { grantRole(readerId: $r, role: LIBRARIAN) { position } }";
    act(&librarian, grant, json!({ "r": ben_id })).await?;
    let author = librarian.request("query($b: ID!) { book(id: $b) { authors { id } } }", json!({ "b": book })).await?;
    let author = author.data()?["book"]["authors"][0]["id"].clone();
    act(&ben, "mutation($a: ID!) { followAuthor(authorId: $a) { position } }", json!({ "a": author })).await?;
    let input = json!({ "input": { "title": "The Thaw Generation", "pages": 300, "authorIds": [author] } });
    let at = position(&librarian.request(ADD_BOOK, input).await?.data()?["addBook"])?;
    let (unread, nodes) = inbox(&ben, at).await?;
    let kinds: Vec<&Value> = nodes.iter().map(|n| &n["kind"]).collect();
    assert_eq!(kinds, [&json!("NEW_BOOK"), &json!("ROLE_GRANTED"), &json!("FOLLOWEE_REVIEWED")]);
    assert_eq!((&nodes[0]["book"]["title"], &nodes[1]["role"]), (&json!("The Thaw Generation"), &json!("LIBRARIAN")));
    assert_eq!(unread, 3);

    // An import's end is news too.
    let file = format!(
        "{}\nMoscow 1956,Kathleen E. Smith,,,hardcover,read,2024/02/27,2024/03/20,,1,,,,,,,,4.5,,,,,No\n",
        super::imports::STORYGRAPH_HEADER
    );
    let job = super::imports::import(&ben, "STORYGRAPH", &file).await?;
    assert_eq!(job["status"], json!("DONE"), "{job}");
    // DONE means every read model has reached the job's end.
    let (_, nodes) = inbox(&ben, 0).await?;
    assert_eq!((&nodes[0]["kind"], &nodes[0]["importedBooks"]), (&json!("IMPORT_FINISHED"), &json!(1)), "{nodes:?}");

    // Ben deletes his account: his comment's and his follow's notifications leave Ana's list.
    let delete = "mutation { deleteAccount(password: \"correct horse battery\") { forgotten } }";
    ben.request(delete, json!({})).await?.data()?;
    let at = act(&ana, "mutation($b: ID!) { wantToRead(bookId: $b) { position } }", json!({ "b": book })).await?;
    let (unread, nodes) = inbox(&ana, at).await?;
    assert_eq!((unread, nodes.len()), (0, 0), "{nodes:?}");
    system.stop().await
}

#[tokio::test]
async fn a_like_reaches_the_author_live() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    let (review, _) = publish(&ana, &book).await?;
    let mut live = ana
        .subscribe("subscription { notificationsChanged { unreadCount latest { kind summary } } }", json!({}))
        .await?;
    let now = live.next(Duration::from_secs(10)).await?;
    assert_eq!(now["notificationsChanged"]["unreadCount"], json!(0), "{now}");
    act(&ben, LIKE, json!({ "r": review })).await?;
    let pushed = live.next(Duration::from_secs(10)).await?;
    let changed = &pushed["notificationsChanged"];
    assert_eq!((&changed["unreadCount"], &changed["latest"]["kind"]), (&json!(1), &json!("REVIEW_LIKED")), "{pushed}");
    system.stop().await
}

#[tokio::test]
async fn a_failed_import_tells_its_reader_why() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    // A Goodreads file sent as StoryGraph's: the job fails on its header.
    let file = "Book Id,Title,Author\n1,Moscow 1956,Kathleen E. Smith\n";
    let job = super::imports::import(&ana, "STORYGRAPH", file).await?;
    assert_eq!(job["status"], json!("FAILED"), "{job}");
    // The worker tells the reader once the job is marked FAILED: no position to wait for.
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = inbox(&ana, 0).await?.1;
        if !seen.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failed = seen.first().context("no notification of the failed import")?;
    assert_eq!(failed["kind"], json!("IMPORT_FAILED"), "{seen:?}");
    let reason = ana.request("{ viewer { notifications(first: 1) { nodes { importFailure summary } } } }", json!({}));
    let node = reason.await?.data()?["viewer"]["notifications"]["nodes"][0].clone();
    assert_eq!(node["importFailure"], job["failure"], "{node}");
    assert!(node["summary"].as_str().is_some_and(|s| s.starts_with("Your import failed: ")), "{node}");
    system.stop().await
}
