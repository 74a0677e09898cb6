//! Following, blocking and profiles, end to end through GraphQL.

use readstream_e2e::System;
use readstream_testkit::graphql::{GraphQl, Response};
use serde_json::json;

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
