//! Sessions: short access tokens, refresh tokens that rotate and end their session when a spent
//! one comes back, signing out, and a password change that ends the other sessions, with their
//! WebSockets. None of it touches the event log.

use std::time::Duration;

use readstream_e2e::System;
use readstream_testkit::graphql::{GraphQl, Response};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";
const SESSION: &str = "token tokenExpiresAt refreshToken refreshTokenExpiresAt sessionId readerId";

async fn sign_in(system: &System, password: &str) -> anyhow::Result<Value> {
    let query = format!("mutation($p: String!) {{ signIn(handle: \"ana\", password: $p) {{ {SESSION} }} }}");
    let response = system.client().request(&query, json!({ "p": password })).await?;
    Ok(response.data()?["signIn"].clone())
}

async fn refresh(system: &System, refresh_token: &Value) -> anyhow::Result<readstream_testkit::graphql::Response> {
    let query = format!("mutation($r: String!) {{ refreshSession(refreshToken: $r) {{ {SESSION} }} }}");
    system.client().request(&query, json!({ "r": refresh_token })).await
}

fn client(system: &System, session: &Value) -> GraphQl {
    system.client().with_token(session["token"].as_str().unwrap_or_default())
}

/// Whether `client`'s token is refused within a few seconds (other gateways hear of an ended
/// session through NATS, a moment later than the one that ended it).
async fn refused_soon(client: &GraphQl) -> anyhow::Result<bool> {
    for _ in 0..50 {
        if client.request("{ viewer { handle } }", json!({})).await?.error_code() == Some("UNAUTHENTICATED") {
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(false)
}

/// Whether `client`'s session is ana's, asked once the read models hold everything recorded so
/// far (the sign-up among it, which the readers projection may lag under load).
async fn signed_in_as_ana(system: &System, client: &GraphQl) -> anyhow::Result<bool> {
    let recorded = system.stream_messages().await?;
    let response = client.request_at("{ viewer { handle } }", json!({}), recorded).await?;
    Ok(response.0["data"]["viewer"]["handle"] == "ana")
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_spent_one_used_again_ends_the_session() -> anyhow::Result<()> {
    let system = System::start().await?;
    crate::sign_up(&system, "ana").await?;
    let before = system.stream_messages().await?;
    let first = sign_in(&system, PASSWORD).await?;
    let expires_at = chrono::DateTime::parse_from_rfc3339(first["tokenExpiresAt"].as_str().unwrap_or_default())?;
    let lifetime = expires_at.to_utc() - chrono::Utc::now();
    assert!(lifetime <= chrono::TimeDelta::hours(1), "access tokens are short: {lifetime}");

    let second = refresh(&system, &first["refreshToken"]).await?;
    let second = second.data()?["refreshSession"].clone();
    assert_eq!(second["readerId"], first["readerId"]);
    assert_ne!(second["refreshToken"], first["refreshToken"], "each refresh hands out the next token");
    assert!(signed_in_as_ana(&system, &client(&system, &second)).await?);

    // Someone replays the first refresh token: the session ends for both of them.
    let replayed = refresh(&system, &first["refreshToken"]).await?;
    assert_eq!(replayed.error_code(), Some("UNAUTHENTICATED"), "{:?}", replayed.0);
    assert!(refused_soon(&client(&system, &second)).await?, "the session's access token outlived its end");
    let after_reuse = refresh(&system, &second["refreshToken"]).await?;
    assert_eq!(after_reuse.error_code(), Some("UNAUTHENTICATED"), "the ended session cannot be refreshed");

    for garbage in ["", "not a token", &"A".repeat(43)] {
        assert_eq!(refresh(&system, &json!(garbage)).await?.error_code(), Some("UNAUTHENTICATED"));
    }
    assert_eq!(system.stream_messages().await?, before, "sessions never enter the log");
    system.stop().await
}

#[tokio::test]
async fn signing_out_ends_the_session_and_no_other() -> anyhow::Result<()> {
    let system = System::start().await?;
    crate::sign_up(&system, "ana").await?;
    let (phone, laptop) = (sign_in(&system, PASSWORD).await?, sign_in(&system, PASSWORD).await?);
    let response = client(&system, &phone).request("mutation { signOut { sessionIds } }", json!({})).await?;
    assert_eq!(response.data()?["signOut"]["sessionIds"], json!([phone["sessionId"]]));
    let refused = client(&system, &phone).request("{ viewer { handle } }", json!({})).await?;
    assert_eq!(refused.error_code(), Some("UNAUTHENTICATED"), "refused at once by the gateway signed out on");
    assert_eq!(refresh(&system, &phone["refreshToken"]).await?.error_code(), Some("UNAUTHENTICATED"));
    assert!(signed_in_as_ana(&system, &client(&system, &laptop)).await?, "the laptop's session goes on");
    let anonymous = system.client().request("mutation { signOut { sessionIds } }", json!({})).await?;
    assert_eq!(anonymous.error_code(), Some("UNAUTHENTICATED"));
    system.stop().await
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session_and_its_websockets() -> anyhow::Result<()> {
    let system = System::start().await?;
    crate::sign_up(&system, "ana").await?;
    let (kept, stolen) = (sign_in(&system, PASSWORD).await?, sign_in(&system, PASSWORD).await?);
    let mut feed = client(&system, &stolen).subscribe("subscription { feed { position } }", json!({})).await?;

    let change =
        "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { sessionIds } }";
    let kept_client = client(&system, &kept);
    for (current, new, field) in
        [("wrong password", "a new password", "currentPassword"), (PASSWORD, "short", "newPassword")]
    {
        let refused = kept_client.request(change, json!({ "c": current, "n": new })).await?;
        assert_eq!(refused.error_code(), Some("INVALID_ARGUMENT"), "{:?}", refused.0);
        assert_eq!(refused.0["errors"][0]["extensions"]["field"], field);
    }
    assert!(signed_in_as_ana(&system, &client(&system, &stolen)).await?, "a refused change ends nothing");

    let changed = kept_client.request(change, json!({ "c": PASSWORD, "n": "a new password" })).await?;
    let ended = changed.data()?["changePassword"]["sessionIds"].as_array().cloned().unwrap_or_default();
    assert!(ended.contains(&stolen["sessionId"]) && !ended.contains(&kept["sessionId"]), "{ended:?}");
    assert_eq!(ended.len(), 2, "the sign-up's session ended too: {ended:?}");
    let refused = client(&system, &stolen).request("{ viewer { handle } }", json!({})).await?;
    assert_eq!(refused.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(refresh(&system, &stolen["refreshToken"]).await?.error_code(), Some("UNAUTHENTICATED"));
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Err(err) = feed.message(Duration::from_secs(60)).await {
                return err.to_string();
            }
        }
    })
    .await;
    assert!(closed.as_ref().is_ok_and(|err| err.contains("4401")), "the socket outlived its session: {closed:?}");

    assert!(signed_in_as_ana(&system, &kept_client).await?, "the session that changed the password goes on");
    let old = system
        .client()
        .request("mutation { signIn(handle: \"ana\", password: \"correct horse battery\") { token } }", json!({}))
        .await?;
    assert_eq!(old.error_code(), Some("UNAUTHENTICATED"));
    assert!(sign_in(&system, "a new password").await?["token"].is_string());
    system.stop().await
}

/// Any token a session spent ends it when it comes back, not only the one spent last: the
/// first of three, replayed after two refreshes, ends the session of the third.
#[tokio::test]
async fn any_spent_refresh_token_of_a_session_used_again_ends_it() -> anyhow::Result<()> {
    let system = System::start().await?;
    crate::sign_up(&system, "ana").await?;
    let first = sign_in(&system, PASSWORD).await?;
    let second = refresh(&system, &first["refreshToken"]).await?.data()?["refreshSession"].clone();
    let third = refresh(&system, &second["refreshToken"]).await?.data()?["refreshSession"].clone();
    assert!(signed_in_as_ana(&system, &client(&system, &third)).await?);
    let replayed = refresh(&system, &first["refreshToken"]).await?;
    assert_eq!(replayed.error_code(), Some("UNAUTHENTICATED"), "{:?}", replayed.0);
    assert!(refused_soon(&client(&system, &third)).await?, "the session outlived a replayed token of its family");
    assert_eq!(refresh(&system, &third["refreshToken"]).await?.error_code(), Some("UNAUTHENTICATED"));
    system.stop().await
}

/// Signs in to `handle` with `password` (and `device`), as a client anywhere would.
async fn attempt(system: &System, handle: &str, password: &str, device: &Value) -> anyhow::Result<Response> {
    let query = "mutation($h: String!, $p: String!, $d: String) {
        signIn(handle: $h, password: $p, device: $d) { token deviceToken }
    }";
    system.client().request(query, json!({ "h": handle, "p": password, "d": device })).await
}

/// Guesses `handle`'s password until its attempts wait at least 4 s (waiting out shorter waits,
/// so a slow machine cannot slip between them); answers how many guesses were checked.
async fn guess_until_waiting(system: &System, handle: &str, device: &Value) -> anyhow::Result<u64> {
    let mut checked = 0;
    loop {
        let refused = attempt(system, handle, "a wrong guess", device).await?;
        match refused.error_code() {
            Some("UNAUTHENTICATED") => checked += 1,
            Some("RATE_LIMITED") => {
                let wait = refused.0["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap_or_default();
                anyhow::ensure!(wait >= 1, "no retryAfter: {:?}", refused.0);
                if wait >= 4 {
                    return Ok(checked);
                }
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            other => anyhow::bail!("a wrong guess answered {other:?}"),
        }
        anyhow::ensure!(checked <= 12, "12 wrong guesses and still no wait");
    }
}

/// Wrong passwords for one handle make its later attempts wait, whoever sends them and from
/// wherever (the count is the social service's, shared by every gateway); the owner's own
/// device, named by the device token its sign-up answered, is never made to wait.
#[tokio::test]
async fn wrong_passwords_for_a_handle_delay_its_attempts_but_not_its_owners_device() -> anyhow::Result<()> {
    let system = System::start().await?;
    let sign_up = "mutation { signUp(input: { handle: \"ana\", displayName: \"Ana\", password: \"correct horse battery\" }) { deviceToken } }";
    let signed_up = system.client().request(sign_up, json!({})).await?;
    let device = signed_up.data()?["signUp"]["deviceToken"].clone();
    assert!(device.as_str().is_some_and(|token| token.len() >= 43), "{device}");

    let checked = guess_until_waiting(&system, "ana", &Value::Null).await?;
    assert!((6..=9).contains(&checked), "5 guesses are free, then each waits twice as long: {checked}");
    let waiting = attempt(&system, "ana", PASSWORD, &Value::Null).await?;
    assert_eq!(waiting.error_code(), Some("RATE_LIMITED"), "the right password waits too: {:?}", waiting.0);
    // A made-up device token is no device.
    let made_up = attempt(&system, "ana", PASSWORD, &json!("made-up")).await?;
    assert_eq!(made_up.error_code(), Some("RATE_LIMITED"), "{:?}", made_up.0);
    // A handle nobody has is counted the same, so the count tells nothing of who exists.
    let checked = guess_until_waiting(&system, "nobody", &Value::Null).await?;
    assert!((6..=9).contains(&checked), "{checked}");

    // The owner's device goes through at once, keeps its token, and starts the count over.
    let owner = attempt(&system, "ana", PASSWORD, &device).await?;
    assert_eq!(owner.data()?["signIn"]["deviceToken"], device);
    let after = attempt(&system, "ana", "a wrong guess", &Value::Null).await?;
    assert_eq!(after.error_code(), Some("UNAUTHENTICATED"), "{:?}", after.0);
    // A sign-in elsewhere is given a device token of its own.
    let elsewhere = attempt(&system, "ana", PASSWORD, &Value::Null).await?;
    let other_device = &elsewhere.data()?["signIn"]["deviceToken"];
    assert!(other_device.is_string() && *other_device != device, "{other_device}");
    system.stop().await
}
