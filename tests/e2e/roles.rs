//! Roles: only librarians add to the catalog, only admins grant and revoke roles, and the
//! first admin is the one the configuration names (the tests name the demo's librarian).

use readstream_e2e::System;
use serde_json::json;

use super::{position, sign_up};

const ADD_AUTHOR: &str = "mutation { addAuthor(input: { name: \"A. Author\" }) { authorId } }";

fn role_change(mutation: &str, role: &str) -> String {
    format!("mutation($r: ID!) {{ {mutation}(readerId: $r, role: {role}) {{ position reader {{ roles }} }} }}")
}

#[tokio::test]
async fn an_admin_grants_and_revokes_roles_and_only_librarians_add_to_the_catalog() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ben, ben_id) = sign_up(&system, "ben").await?;
    let (carl, carl_id) = sign_up(&system, "carl").await?;
    assert_eq!(ben.request(ADD_AUTHOR, json!({})).await?.error_code(), Some("PERMISSION_DENIED"));
    let grant_himself = ben.request(&role_change("grantRole", "LIBRARIAN"), json!({ "r": ben_id })).await?;
    assert_eq!(grant_himself.error_code(), Some("PERMISSION_DENIED"), "a reader cannot make himself a librarian");

    let admin = system.librarian().await?;
    let granted = admin.request(&role_change("grantRole", "LIBRARIAN"), json!({ "r": ben_id })).await?;
    assert_eq!(granted.data()?["grantRole"]["reader"]["roles"], json!(["LIBRARIAN"]));
    assert!(ben.request(ADD_AUTHOR, json!({})).await?.data()?["addAuthor"]["authorId"].is_string());

    // An admin by the log, not by configuration, grants too.
    admin.request(&role_change("grantRole", "ADMIN"), json!({ "r": ben_id })).await?.data()?;
    let by_ben = ben.request(&role_change("grantRole", "LIBRARIAN"), json!({ "r": carl_id })).await?;
    assert_eq!(by_ben.data()?["grantRole"]["reader"]["roles"], json!(["LIBRARIAN"]));
    assert!(carl.request(ADD_AUTHOR, json!({})).await?.data().is_ok());

    let revoked = admin.request(&role_change("revokeRole", "LIBRARIAN"), json!({ "r": ben_id })).await?;
    assert_eq!(revoked.data()?["revokeRole"]["reader"]["roles"], json!(["ADMIN"]));
    assert_eq!(ben.request(ADD_AUTHOR, json!({})).await?.error_code(), Some("PERMISSION_DENIED"));
    let again = admin.request(&role_change("revokeRole", "LIBRARIAN"), json!({ "r": ben_id })).await?;
    assert_eq!(position(&again.data()?["revokeRole"])?, position(&revoked.data()?["revokeRole"])?, "nothing to revoke");

    let nobody = uuid::Uuid::now_v7().to_string();
    let unknown = admin.request(&role_change("grantRole", "LIBRARIAN"), json!({ "r": nobody })).await?;
    assert_eq!(unknown.error_code(), Some("NOT_FOUND"));
    let viewer = admin.request("{ viewer { handle roles } }", json!({})).await?;
    assert_eq!(viewer.data()?["viewer"], json!({ "handle": "demo_librarian", "roles": ["LIBRARIAN"] }));
    system.stop().await
}

/// The first admin is the reader who held `READSTREAM_ADMIN`'s handle, not the handle: once
/// they delete their account, whoever signs the freed handle up is no admin.
#[tokio::test]
async fn the_first_admin_is_a_reader_so_a_newcomer_under_a_deleted_admins_handle_is_none() -> anyhow::Result<()> {
    let system = System::start().await?;
    let admin = system.librarian().await?;
    let (_, ben_id) = sign_up(&system, "ben").await?;
    let delete = "mutation { deleteAccount(password: \"readstream-demo\") { readerId } }";
    admin.request(delete, json!({})).await?.data()?;
    let (newcomer, _) = sign_up(&system, readstream_testkit::demo::LIBRARIAN).await?;
    let grant = newcomer.request(&role_change("grantRole", "ADMIN"), json!({ "r": ben_id })).await?;
    assert_eq!(grant.error_code(), Some("PERMISSION_DENIED"), "{:?}", grant.0);
    system.stop().await
}
