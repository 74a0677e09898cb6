//! A browser's session doors over plain HTTP: the refresh token only in an HttpOnly,
//! SameSite=Strict cookie scoped to `/session`, good once; sign-out needs the bearer token;
//! every refusal coded.

use serde_json::{json, Value};

use super::System;

struct Answer {
    status: u16,
    cookies: Vec<String>,
    body: Value,
}

async fn post(system: &System, path: &str, body: &str, headers: &[(&str, &str)]) -> anyhow::Result<Answer> {
    let mut request = reqwest::Client::new().post(format!("{}{path}", system.base_url)).body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let cookies = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok().map(str::to_owned))
        .collect();
    let text = response.text().await?;
    Ok(Answer { status, cookies, body: serde_json::from_str(&text).unwrap_or(Value::Null) })
}

const JSON: (&str, &str) = ("content-type", "application/json");

/// The refresh cookie's `name=value` pair, as a browser sends it back.
fn refresh_cookie(answer: &Answer) -> Option<String> {
    answer
        .cookies
        .iter()
        .find(|c| c.starts_with("readstream_refresh="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

#[tokio::test]
async fn a_browser_session_keeps_its_refresh_token_in_an_httponly_cookie_good_once() -> anyhow::Result<()> {
    let system = System::start().await?;
    let form = json!({ "handle": "ana", "displayName": "Ana", "password": "correct horse battery" }).to_string();
    let signed_up = post(&system, "/session/sign-up", &form, &[JSON]).await?;
    assert_eq!(signed_up.status, 200, "{}", signed_up.body);
    assert!(signed_up.body["token"].is_string() && signed_up.body["reader"]["handle"] == "ana", "{}", signed_up.body);
    assert!(signed_up.body.get("refreshToken").is_none(), "the refresh token reached script: {}", signed_up.body);
    let set = signed_up.cookies.iter().find(|c| c.starts_with("readstream_refresh=")).cloned().unwrap_or_default();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/session", "Max-Age="] {
        assert!(set.contains(attribute), "the cookie lacks {attribute}: {set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP without a trusted proxy: {set}");
    assert!(signed_up.cookies.iter().any(|c| c.starts_with("readstream_device=") && c.contains("HttpOnly")));

    // A refresh trades the cookie for a new token and the next cookie.
    let first = refresh_cookie(&signed_up).unwrap_or_default();
    let refreshed = post(&system, "/session/refresh", "{}", &[JSON, ("cookie", &first)]).await?;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let next = refresh_cookie(&refreshed).unwrap_or_default();
    assert!(!next.is_empty() && next != first);
    let token = refreshed.body["token"].as_str().unwrap_or_default().to_owned();
    let viewer = system.client().with_token(&token).request("{ viewer { handle } }", json!({})).await?;
    assert_eq!(viewer.data()?["viewer"]["handle"], "ana");

    // Without a cookie (not signed in), or without JSON (as a cross-site form would post),
    // nothing is traded.
    let none = post(&system, "/session/refresh", "{}", &[JSON]).await?;
    assert_eq!((none.status, &none.body), (204, &Value::Null));
    let form_post = post(
        &system,
        "/session/refresh",
        "a=b",
        &[("content-type", "application/x-www-form-urlencoded"), ("cookie", &next)],
    )
    .await?;
    assert_eq!((form_post.status, &form_post.body["error"]["code"]), (400, &json!("INVALID_ARGUMENT")));
    let huge =
        post(&system, "/session/sign-in", &format!("{{\"handle\":\"{}\"}}", "a".repeat(20_000)), &[JSON]).await?;
    assert_eq!(huge.status, 413);
    let wrong = post(
        &system,
        "/session/sign-in",
        &json!({ "handle": "ana", "password": "wrong password" }).to_string(),
        &[JSON],
    )
    .await?;
    assert_eq!((wrong.status, &wrong.body["error"]["code"]), (401, &json!("UNAUTHENTICATED")), "{}", wrong.body);
    // A handle no account can have (a NUL, control characters) is a wrong handle, not a failure.
    for handle in ["a\u{0}b", "\u{7}\u{1b}[31m", "ana\u{202E}"] {
        let form = json!({ "handle": handle, "password": "correct horse battery" }).to_string();
        let refused = post(&system, "/session/sign-in", &form, &[JSON]).await?;
        assert_eq!(
            (refused.status, &refused.body["error"]["code"]),
            (401, &json!("UNAUTHENTICATED")),
            "{handle:?}: {}",
            refused.body
        );
    }

    // A cookie alone signs nobody out; the bearer token does, and the cookie is cleared.
    let cookie_only = post(&system, "/session/sign-out", "{}", &[JSON, ("cookie", &next)]).await?;
    assert_eq!(cookie_only.status, 401);
    let bearer = format!("Bearer {token}");
    let signed_out =
        post(&system, "/session/sign-out", "{}", &[JSON, ("cookie", &next), ("authorization", &bearer)]).await?;
    assert_eq!(signed_out.status, 204);
    assert!(signed_out.cookies.iter().any(|c| c.starts_with("readstream_refresh=;") && c.contains("Max-Age=0")));
    let after = post(&system, "/session/refresh", "{}", &[JSON, ("cookie", &next)]).await?;
    assert_eq!(after.status, 401, "the ended session's cookie still refreshed: {}", after.body);
    system.stop().await
}
