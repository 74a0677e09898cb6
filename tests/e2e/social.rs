//! Following, blocking and profiles, end to end through GraphQL.

use std::time::Duration;

use readstream_e2e::System;
use readstream_testkit::graphql::{GraphQl, Response};
use serde_json::{json, Value};

use super::{position, sign_up};

async fn link(reader: &GraphQl, mutation: &str, other: &str) -> anyhow::Result<Response> {
    reader
        .request(&format!("mutation($r: ID!) {{ {mutation}(readerId: $r) {{ position }} }}"), json!({ "r": other }))
        .await
}

#[tokio::test]
async fn following_blocking_and_profiles() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, ana_id) = sign_up(&system, "ana").await?;
    let (ben, ben_id) = sign_up(&system, "ben").await?;
    let (cy, _) = sign_up(&system, "cyd").await?;

    link(&ana, "follow", &ben_id).await?.data()?;
    link(&ben, "follow", &ana_id).await?.data()?;
    let at = position(&link(&cy, "follow", &ben_id).await?.data()?["follow"])?;
    let query = "query($h: String!) { reader(handle: $h) {
        followersCount followingCount viewerFollows
        followers { totalCount edges { node { handle } } }
        following { totalCount edges { node { handle } } }
    } }";
    let response = ana.request_at(query, json!({ "h": "ben" }), at).await?;
    assert_eq!(
        response.data()?["reader"],
        json!({
            "followersCount": 2, "followingCount": 1, "viewerFollows": true,
            "followers": { "totalCount": 2, "edges": [{ "node": { "handle": "cyd" } }, { "node": { "handle": "ana" } }] },
            "following": { "totalCount": 1, "edges": [{ "node": { "handle": "ana" } }] },
        })
    );
    // One at a time, each page from the last one's cursor, newest first, both directions.
    let paged = "query($h: String!, $after: String) { reader(handle: $h) {
        followers(first: 1, after: $after) { edges { cursor node { handle } } pageInfo { hasNextPage } }
        following(first: 1, after: $after) { edges { node { handle } } pageInfo { hasNextPage } }
    } }";
    let first = ana.request_at(paged, json!({ "h": "ben", "after": null }), at).await?;
    let first = &first.data()?["reader"];
    assert_eq!(first["followers"]["edges"][0]["node"]["handle"], json!("cyd"));
    assert_eq!(first["followers"]["pageInfo"]["hasNextPage"], json!(true));
    assert_eq!(first["following"]["edges"][0]["node"]["handle"], json!("ana"));
    assert_eq!(first["following"]["pageInfo"]["hasNextPage"], json!(false));
    let after = &first["followers"]["edges"][0]["cursor"];
    let second = ana.request_at(paged, json!({ "h": "ben", "after": after }), at).await?;
    let second = &second.data()?["reader"]["followers"];
    assert_eq!(second["edges"][0]["node"]["handle"], json!("ana"));
    assert_eq!(second["pageInfo"]["hasNextPage"], json!(false));

    let before = system.stream_messages().await?;
    assert_eq!(link(&ana, "follow", &ben_id).await?.error_code(), Some("ALREADY_EXISTS"));
    assert_eq!(link(&ana, "follow", &ana_id).await?.error_code(), Some("INVALID_ARGUMENT"));
    assert_eq!(link(&ana, "follow", &uuid::Uuid::now_v7().to_string()).await?.error_code(), Some("NOT_FOUND"));
    assert_eq!(link(&ana, "follow", "not-an-id").await?.error_code(), Some("INVALID_ARGUMENT"));
    assert_eq!(link(&system.client(), "follow", &ben_id).await?.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(system.stream_messages().await?, before, "a refused command appended something");

    // A block ends the follows both ways and stops new ones.
    let at = position(&link(&ben, "block", &ana_id).await?.data()?["block"])?;
    let response = ana.request_at(query, json!({ "h": "ben" }), at).await?;
    assert_eq!(response.data()?["reader"]["followersCount"], json!(1));
    assert_eq!(response.data()?["reader"]["followingCount"], json!(0));
    assert_eq!(response.data()?["reader"]["viewerFollows"], json!(false));
    assert_eq!(link(&ana, "follow", &ben_id).await?.error_code(), Some("PERMISSION_DENIED"));
    link(&ben, "unblock", &ana_id).await?.data()?;
    link(&ana, "follow", &ben_id).await?.data()?;

    let response =
        ana.request("mutation { updateProfile(bio: \"Reads Soviet history.\") { position } }", json!({})).await?;
    let at = position(&response.data()?["updateProfile"])?;
    let response = ana.request_at("{ viewer { displayName bio } }", json!({}), at).await?;
    assert_eq!(response.data()?["viewer"], json!({ "displayName": "Test Reader", "bio": "Reads Soviet history." }));
    let response = ana.request("mutation { updateProfile(displayName: \" \") { position } }", json!({})).await?;
    assert_eq!(response.error_code(), Some("INVALID_ARGUMENT"));
    system.stop().await
}

const SIGN_UP_AS: &str = "mutation($p: String!) {
    signUp(input: { handle: \"ana\", displayName: \"Ana\", password: $p }, idempotencyKey: \"sign-up-1\") {
        token readerId
    }
}";

/// An anonymous idempotency key is anyone's to send: replaying a sign-up with it gets the
/// account only with the password it was made with.
#[tokio::test]
async fn a_replayed_sign_up_gets_no_token_without_its_password() -> anyhow::Result<()> {
    let system = System::start().await?;
    let first = system.client().request(SIGN_UP_AS, json!({ "p": "correct horse battery" })).await?;
    let reader_id = first.data()?["signUp"]["readerId"].clone();
    let before = system.stream_messages().await?;

    let replay = system.client().request(SIGN_UP_AS, json!({ "p": "mallory's own password" })).await?;
    assert_eq!(replay.error_code(), Some("ALREADY_EXISTS"), "{:?}", replay.0);
    assert!(replay.0["data"].is_null(), "no token for a replay with another password: {:?}", replay.0);

    let retry = system.client().request(SIGN_UP_AS, json!({ "p": "correct horse battery" })).await?;
    assert_eq!(retry.data()?["signUp"]["readerId"], reader_id, "the real retry gets its own account");
    assert_eq!(system.stream_messages().await?, before, "neither appended anything");
    system.stop().await
}

/// A sign-up whose handle was claimed but whose reader was never recorded (the service died
/// between the two, or the append failed and the client gave up) is finished by the first
/// sign-in: no handle without a reader, no reader without credentials.
#[tokio::test]
async fn a_sign_up_cut_off_before_its_event_is_finished_by_signing_in() -> anyhow::Result<()> {
    let system = System::start().await?;
    sign_up(&system, "ana").await?;
    let pool = sqlx::PgPool::connect(&system.database_url).await?;
    let (reader_id, command_id) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    // The claim exactly as sign-up commits it before appending (with ana's password's hash).
    sqlx::query(
        "INSERT INTO social_credentials
             (reader_id, handle_key, password_hash, handle, display_name, command_id, registered)
         SELECT $1, 'lost', password_hash, 'Lost', 'Lost Reader', $2, false
         FROM social_credentials WHERE handle_key = 'ana'",
    )
    .bind(reader_id)
    .bind(command_id)
    .execute(&pool)
    .await?;
    let before = system.stream_messages().await?;

    let sign_in = "mutation { signIn(handle: \"LOST\", password: \"correct horse battery\") { token readerId reader { handle displayName } } }";
    let response = system.client().request(sign_in, json!({})).await?;
    let payload = &response.data()?["signIn"];
    assert_eq!(payload["readerId"], json!(reader_id.to_string()));
    assert_eq!(system.stream_messages().await?, before + 1, "signing in recorded the reader once");
    let again = system.client().request(sign_in, json!({})).await?;
    assert!(again.data().is_ok());
    assert_eq!(system.stream_messages().await?, before + 1, "a second sign-in records nothing more");
    assert_eq!(payload["reader"], json!({ "handle": "Lost", "displayName": "Lost Reader" }));
    system.stop().await
}

/// A claim whose reader was never recorded, and that no retry or sign-in finishes, is given up
/// on after `SIGN_UP_EXPIRY_SECS`: `SignUpExpired` closes the reader's subject and the handle is
/// free for someone else. A claim whose reader was recorded but never marked is only marked.
#[tokio::test]
async fn a_sign_up_never_recorded_expires_and_frees_its_handle() -> anyhow::Result<()> {
    let options = readstream_e2e::Options { sign_up_expiry: Duration::from_secs(1), ..Default::default() };
    let system = System::start_with(options).await?;
    sign_up(&system, "ana").await?;
    let pool = sqlx::PgPool::connect(&system.database_url).await?;
    // Ana's reader is recorded, her claim left unmarked: the service stopped in between.
    let unmark = "UPDATE social_credentials SET registered = false, created_at = now() - interval '1 hour'
                  WHERE handle_key = 'ana'";
    sqlx::query(unmark).execute(&pool).await?;
    // A claim whose reader was never recorded, made an hour ago.
    sqlx::query(
        "INSERT INTO social_credentials
             (reader_id, handle_key, password_hash, handle, display_name, command_id, registered, created_at)
         SELECT $1, 'lost', password_hash, 'Lost', 'Lost Reader', $2, false, now() - interval '1 hour'
         FROM social_credentials WHERE handle_key = 'ana'",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(uuid::Uuid::now_v7())
    .execute(&pool)
    .await?;
    let before = system.stream_messages().await?;

    let count = "SELECT count(*), count(*) FILTER (WHERE registered) FROM social_credentials
                 WHERE handle_key IN ('ana', 'lost')";
    let mut claims: (i64, i64) = (0, 0);
    for _ in 0..100 {
        claims = sqlx::query_as(count).fetch_one(&pool).await?;
        if claims == (1, 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(claims, (1, 1), "the lost claim deleted, ana's marked");
    assert_eq!(system.stream_messages().await?, before + 1, "one SignUpExpired, nothing for ana");

    let (_, lost_id) = sign_up(&system, "lost").await?;
    assert_ne!(lost_id, "", "the handle is someone else's now");
    let sign_in = "mutation { signIn(handle: \"ana\", password: \"correct horse battery\") { readerId } }";
    system.client().request(sign_in, json!({})).await?.data()?;
    system.stop().await
}

/// A block holds both ways on reviews: neither sees the other's reviews or comments in a list
/// (the counts stay), the blocked reader neither likes nor comments on the blocker's review,
/// nor the blocker on theirs; and a review's author removes any comment on it.
#[tokio::test]
async fn blocked_readers_cannot_like_or_comment_and_a_reviews_author_removes_comments() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, ben_id) = sign_up(&system, "ben").await?;
    let (cyd, _) = sign_up(&system, "cyd").await?;
    let (book, _) = super::add_seed_book(&system).await?;
    let publish = "mutation($b: ID!) { publishReview(bookId: $b, body: \"Mine.\") { reviewId } }";
    let review_of = |response: Response| -> anyhow::Result<String> {
        Ok(response.data()?["publishReview"]["reviewId"].as_str().unwrap_or_default().to_owned())
    };
    let anas_review = review_of(ana.request(publish, json!({ "b": book })).await?)?;
    let bens_review = review_of(ben.request(publish, json!({ "b": book })).await?)?;
    let blocked = link(&ana, "block", &ben_id).await?;
    let at = super::position(&blocked.data()?["block"])?;
    let before = system.stream_messages().await?;

    // Each sees the book's reviews without the other's; the book's count stays 2.
    let list = "query($b: ID!) { book(id: $b) { reviews { totalCount edges { node { reviewer { handle } } } } } }";
    for (reader, shown) in [(&ana, ["ana"].as_slice()), (&ben, &["ben"]), (&cyd, &["ana", "ben"])] {
        let response = reader.request_at(list, json!({ "b": book }), at).await?;
        let reviews = &response.data()?["book"]["reviews"];
        let mut handles: Vec<&str> = reviews["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["node"]["reviewer"]["handle"].as_str())
            .collect();
        handles.sort_unstable();
        assert_eq!((handles.as_slice(), &reviews["totalCount"]), (shown, &json!(2)));
    }

    let like = "mutation($r: ID!) { likeReview(reviewId: $r) { position } }";
    let comment = "mutation($r: ID!) { commentOnReview(reviewId: $r, body: \"Hi\") { commentId } }";
    for (reader, review) in [(&ben, &anas_review), (&ana, &bens_review)] {
        for mutation in [like, comment] {
            let response = reader.request(mutation, json!({ "r": review })).await?;
            assert_eq!(response.error_code(), Some("PERMISSION_DENIED"), "{mutation}: {:?}", response.0);
        }
    }
    assert_eq!(system.stream_messages().await?, before, "refused likes and comments appended nothing");

    let written = cyd.request(comment, json!({ "r": anas_review })).await?;
    let comment_id = written.data()?["commentOnReview"]["commentId"].clone();
    // Cyd blocks Ben after commenting on his review: he no longer sees her comment.
    let on_bens = cyd.request(comment, json!({ "r": bens_review })).await?;
    on_bens.data()?;
    let at = super::position(&link(&cyd, "block", &ben_id).await?.data()?["block"])?;
    let comments = "query($r: ID!) { review(id: $r) { comments { totalCount edges { node { body } } } } }";
    let (dee, _) = sign_up(&system, "dee").await?;
    for (reader, shown) in [(&ben, 0), (&dee, 1)] {
        let response = reader.request_at(comments, json!({ "r": bens_review }), at).await?;
        let edges = response.data()?["review"]["comments"]["edges"].as_array().map_or(0, Vec::len);
        assert_eq!(edges, shown, "{:?}", response.0);
    }
    // Ana blocked Ben: his review is not hers to see by its id either.
    let response = ana.request_at(comments, json!({ "r": bens_review }), at).await?;
    assert_eq!(response.data()?["review"], Value::Null, "{:?}", response.0);
    let delete = "mutation($c: ID!) { deleteComment(commentId: $c) { position } }";
    let by_ben = ben.request(delete, json!({ "c": comment_id })).await?;
    assert_eq!(by_ben.error_code(), Some("PERMISSION_DENIED"));
    let by_review_author = ana.request(delete, json!({ "c": comment_id })).await?;
    assert!(by_review_author.data().is_ok(), "{:?}", by_review_author.0);

    link(&ana, "unblock", &ben_id).await?.data()?;
    assert!(ben.request(like, json!({ "r": anas_review })).await?.data().is_ok(), "unblocked, the like goes through");
    system.stop().await
}
