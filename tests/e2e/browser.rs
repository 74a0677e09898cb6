//! The web app in a real browser: `tests/browser/pages.mjs` drives Debian's Chromium through
//! playwright-core over the demo's seed book (once `demo` checked it is the seed page), over
//! a book whose every shown text is hostile, and on a system whose tokens live 3 s,
//! checking each page with axe-core and saving its screenshot under `target/screenshots/`.
//! `make test` installs Chromium and the pinned npm packages first
//! (`deploy/local/install-browser.sh`) and names the browser in `READSTREAM_CHROMIUM`.

use std::{path::Path, time::Duration};

use anyhow::Context as _;
use serde_json::json;

use readstream_e2e::Options;

use super::{add_seed_book, position, sign_up, System, ADD_AUTHOR, ADD_BOOK};

/// What a page must show as typed: markup, script, an event handler, a `javascript:` link and a
/// bidi override, across lines.
pub const HOSTILE: &str = "<script>alert('review')</script>\n<img src=x onerror=\"alert(1)\">\n\
     <a href=\"javascript:alert(2)\">click</a> \u{202E}txt.exe\n\"quoted\" & 'single' </p></li></ol>";

/// A book whose title, description and author, and whose reviewer's name and review, are all
/// hostile text: its id.
async fn hostile_book(system: &System) -> anyhow::Result<String> {
    let librarian = system.librarian().await?;
    let author = librarian.request(ADD_AUTHOR, json!({ "name": "<img src=x onerror=alert(3)>" })).await?;
    let author = author.data()?["addAuthor"]["authorId"].clone();
    let input = json!({
        "title": "<script>alert(\"title\")</script>",
        "subtitle": "\"><svg onload=alert(5)>",
        "description": HOSTILE,
        "pages": 123,
        "authorIds": [author],
    });
    let added = librarian.request(ADD_BOOK, json!({ "input": input })).await?;
    let book = added.data()?["addBook"]["bookId"].as_str().context("no book id")?.to_owned();
    let (mallory, _) = sign_up(system, "mallory").await?;
    let rename = "mutation { updateProfile(displayName: \"\\\"><svg onload=alert(4)>\") { position } }";
    mallory.request(rename, json!({})).await?.data()?;
    let publish = "mutation($b: ID!, $body: String!) { publishReview(bookId: $b, body: $body) { position } }";
    let published = mallory.request(publish, json!({ "b": book, "body": HOSTILE })).await?;
    let at = position(&published.data()?["publishReview"])?;
    system.client().request_at("{ __typename }", json!({}), at).await?;
    Ok(book)
}

#[tokio::test]
async fn the_demo_is_the_seed_page_and_a_reader_uses_it_in_a_real_browser() -> anyhow::Result<()> {
    let chromium = std::env::var("READSTREAM_CHROMIUM")
        .context("READSTREAM_CHROMIUM names no browser: run the tests with `make test`, which installs one")?;
    let system = System::start().await?;
    let book = super::demo::load_the_seed_page(&system.client()).await?;
    let hostile = hostile_book(&system).await?;
    // A system whose tokens live 3 s: the page's live updates must outlive them.
    let expiring = System::start_with(Options { token_lifetime: Duration::from_secs(3), ..Options::default() }).await?;
    let (expiring_book, _) = add_seed_book(&expiring).await?;

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut node = std::process::Command::new("node");
    node.arg(root.join("tests/browser/pages.mjs"))
        .current_dir(root.join("tests/browser"))
        .env("BASE_URL", &system.base_url)
        .env("BOOK_ID", &book)
        .env("HOSTILE_BOOK_ID", &hostile)
        .env("EXPIRING_BASE_URL", &expiring.base_url)
        .env("EXPIRING_BOOK_ID", &expiring_book)
        .env("HOSTILE", HOSTILE)
        .env("CHROMIUM", chromium)
        .env("SCREENSHOTS", root.join("target/screenshots"));
    let output = tokio::task::spawn_blocking(move || node.output()).await?.context("running node")?;
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    println!("{printed}");
    anyhow::ensure!(output.status.success(), "the browser checks failed:\n{printed}");
    expiring.stop().await?;
    system.stop().await
}
