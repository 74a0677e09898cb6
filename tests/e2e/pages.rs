//! The web app's pages over plain HTTP, as a crawler or a browser without JavaScript reads them,
//! and the API fields the pages need (`url`, `viewerRating`, `viewerReview`, `editionsCount`,
//! `reviewerShelf`), as any client reads them.

use anyhow::Context as _;
use serde_json::{json, Value};

use super::{add_seed_book, browser::HOSTILE, position, rate, sign_up, System};

const PUBLISH: &str = "mutation($book: ID!, $body: String!, $spoilers: Boolean!) {
    publishReview(bookId: $book, body: $body, containsSpoilers: $spoilers) { position }
}";

/// `GET path` on the gateway: status, the headers asked for, and the body.
async fn get(system: &System, path: &str, headers: &[&str]) -> anyhow::Result<(u16, Vec<Option<String>>, String)> {
    let response = reqwest::get(format!("{}{path}", system.base_url)).await?;
    let status = response.status().as_u16();
    let values = headers
        .iter()
        .map(|name| response.headers().get(*name).and_then(|value| value.to_str().ok()).map(str::to_owned))
        .collect();
    Ok((status, values, response.text().await?))
}

/// `text` as the pages' templates escape it (askama: numeric character references).
fn as_html_text(text: &str) -> String {
    text.replace('&', "&#38;").replace('<', "&#60;").replace('>', "&#62;").replace('"', "&#34;").replace('\'', "&#39;")
}

/// The JSON-LD block of a page.
fn structured_data(html: &str) -> anyhow::Result<Value> {
    let start = html.find("<script type=\"application/ld+json\">").context("no JSON-LD")?;
    let rest = &html[start..];
    let body = &rest[rest.find('>').context("unclosed")? + 1..rest.find("</script>").context("unended")?];
    Ok(serde_json::from_str(body)?)
}

#[tokio::test]
async fn the_book_page_shows_the_book_its_ratings_and_reviews_without_script_and_every_text_inert() -> anyhow::Result<()>
{
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    rate(&ana, &book, 4).await?;
    rate(&ben, &book, 2).await?;
    ana.request(PUBLISH, json!({ "book": book, "body": HOSTILE, "spoilers": false })).await?.data()?;
    let published =
        ben.request(PUBLISH, json!({ "book": book, "body": "The ending: everyone lives.", "spoilers": true })).await?;
    let at = position(&published.data()?["publishReview"])?;
    // The page reads the read models as they are: wait until they hold the last change.
    system.client().request_at("{ __typename }", json!({}), at).await?;

    let (status, headers, html) =
        get(&system, &format!("/books/{book}"), &["content-type", "content-security-policy"]).await?;
    assert_eq!(status, 200, "{html}");
    assert_eq!(headers[0].as_deref(), Some("text/html; charset=utf-8"));
    let policy = headers[1].clone().unwrap_or_default();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");

    // The book, its figures and both reviews are in the HTML itself.
    for text in ["Moscow 1956", "The Silenced Spring", "Kathleen E. Smith", "2 ratings", "2 reviews", "3.00"] {
        assert!(html.contains(text), "the page lacks {text:?}");
    }
    assert!(html.contains("<details class=\"spoiler\">"), "the spoiler is not folded");
    assert!(html.contains("The ending: everyone lives."), "the folded spoiler is not in the page");
    assert!(html.contains("<meta property=\"og:title\" content=\"Moscow 1956: The Silenced Spring\">"));

    // The hostile review is its characters, escaped, never markup.
    for line in HOSTILE.lines() {
        assert!(html.contains(&as_html_text(line)), "{line:?} is not in the page as text");
    }
    for markup in ["<script>alert", "<img src=x", "onerror=\"", "href=\"javascript:", "</p></li></ol>"] {
        assert!(!html.contains(markup), "{markup:?} came through as markup");
    }
    // Every script element is the JSON-LD data block or one of the gateway's own files.
    for (at, _) in html.match_indices("<script") {
        let element = &html[at..at + html[at..].find('>').unwrap_or(0)];
        let own = element.contains(" src=\"/assets/");
        assert!(
            own || element == "<script type=\"application/ld+json\"",
            "a script element of the page's text: {element}"
        );
    }
    assert_eq!(html.matches("application/ld+json").count(), 1);
    // A bidi override stays inside its own paragraph, isolated from the page's text.
    let bidi = html.find('\u{202E}').context("the bidi character was dropped")?;
    let paragraph = html[..bidi].rfind("<p").context("no paragraph")?;
    assert!(html[paragraph..bidi].starts_with("<p class=\"text\" dir=\"auto\">"), "{}", &html[paragraph..bidi]);

    let data = structured_data(&html)?;
    assert_eq!(data["@type"], "Book");
    assert_eq!(data["name"], "Moscow 1956: The Silenced Spring");
    assert_eq!(data["url"], format!("{}/books/{book}", system.base_url));
    assert_eq!(data["aggregateRating"]["ratingCount"], 2);
    assert_eq!(data["aggregateRating"]["reviewCount"], 2);
    assert_eq!(data["aggregateRating"]["ratingValue"], 3.0);

    // The star filter and order are the page's address; bad ones are coded, changing nothing.
    let (_, _, two_stars) = get(&system, &format!("/books/{book}?stars=2&order=HIGHEST_RATED"), &[]).await?;
    assert!(two_stars.contains("Displaying 1 of 1 review") && !two_stars.contains("alert(2)"));
    let (status, _, refused) = get(&system, &format!("/books/{book}?stars=9"), &[]).await?;
    assert!(status == 400 && refused.contains("INVALID_ARGUMENT"), "{status}: {refused}");
    let (status, _, refused) = get(&system, &format!("/books/{book}?order=RANDOM"), &[]).await?;
    assert!(status == 400 && refused.contains("INVALID_ARGUMENT"), "{status}: {refused}");
    let (status, _, refused) = get(&system, &format!("/books/{book}?after=bm90LWEtY3Vyc29y"), &[]).await?;
    assert!(status == 400 && refused.contains("INVALID_ARGUMENT"), "{status}: {refused}");
    for missing in [format!("/books/{}", uuid::Uuid::new_v4()), "/books/not-a-book".into(), "/no/such/page".into()] {
        let (status, headers, page) = get(&system, &missing, &["content-security-policy"]).await?;
        assert!(status == 404 && page.contains("NOT_FOUND"), "{missing}: {status}");
        assert!(headers[0].is_some(), "{missing} has no policy");
    }
    let (status, headers, css) = get(&system, "/assets/app.css", &["content-type"]).await?;
    assert!(status == 200 && headers[0].as_deref() == Some("text/css; charset=utf-8") && css.contains(":root"));
    system.stop().await
}

#[tokio::test]
async fn a_reader_reads_back_their_own_stars_and_review_and_a_reviewers_shelf_as_they_share_it() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let (ana, ana_id) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    let query = "query($b: ID!) { book(id: $b) {
        url editionsCount viewerRating viewerReview { body }
        authors { url }
        reviews { nodes { stars reviewerShelf reviewer { url } } }
    } }";

    // Before anything: nothing of the viewer's, and nothing for a reader not signed in.
    let before = ana.request(query, json!({ "b": book })).await?;
    let before = &before.data()?["book"];
    assert_eq!(before["url"], json!(format!("{}/books/{book}", system.base_url)));
    assert!(before["authors"][0]["url"].as_str().is_some_and(|url| url.contains("/authors/")));
    assert_eq!(
        (&before["editionsCount"], &before["viewerRating"], &before["viewerReview"]),
        (&json!(0), &Value::Null, &Value::Null)
    );

    // Ana finishes it, reviews it without rating; the page shows "Read" where stars would be.
    let finish = "mutation($b: ID!) { finishReading(bookId: $b) { position } }";
    ana.request(finish, json!({ "b": book })).await?.data()?;
    ana.request(PUBLISH, json!({ "book": book, "body": "Did not finish, in truth.", "spoilers": false }))
        .await?
        .data()?;
    let at = rate(&ben, &book, 5).await?;
    let shown = ben.request_at(query, json!({ "b": book }), at).await?;
    let review = &shown.data()?["book"]["reviews"]["nodes"][0];
    assert_eq!(review["stars"], Value::Null);
    assert_eq!(review["reviewerShelf"], "READ");
    assert_eq!(review["reviewer"]["url"], json!(format!("{}/readers/ana", system.base_url)));
    let own = ana.request_at(query, json!({ "b": book }), at).await?;
    assert_eq!(own.data()?["book"]["viewerReview"]["body"], "Did not finish, in truth.");
    assert_eq!(ben.request_at(query, json!({ "b": book }), at).await?.data()?["book"]["viewerRating"], 5);

    // Once Ana keeps her reading to herself, others no longer see her shelf; she still does.
    let hide = "mutation { setReadingVisibility(visibility: ONLY_ME) { position } }";
    let at = position(&ana.request(hide, json!({})).await?.data()?["setReadingVisibility"])?;
    for (viewer, shelf) in [(&ben, Value::Null), (&system.client(), Value::Null), (&ana, json!("READ"))] {
        let shown = viewer.request_at(query, json!({ "b": book }), at).await?;
        assert_eq!(shown.data()?["book"]["reviews"]["nodes"][0]["reviewerShelf"], shelf, "{ana_id}");
    }
    system.stop().await
}

#[tokio::test]
async fn profiles_author_pages_and_search_show_what_the_api_shows_and_what_privacy_allows() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let (ana, ana_id) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    let start = "mutation($b: ID!) { startReading(bookId: $b) { position } }";
    ana.request(start, json!({ "b": book })).await?.data()?;
    let progress = "mutation($b: ID!) { updateProgress(bookId: $b, page: 100) { position } }";
    ana.request(progress, json!({ "b": book })).await?.data()?;
    ana.request(PUBLISH, json!({ "book": book, "body": "Halfway: <b>gripping</b>.", "spoilers": false }))
        .await?
        .data()?;
    let blocked = ben.request("mutation($r: ID!) { block(readerId: $r) { position } }", json!({ "r": ana_id })).await?;
    let at = position(&blocked.data()?["block"])?;
    system.client().request_at("{ __typename }", json!({}), at).await?;

    // Ana shares her reading with everyone: the page shows her shelf and progress.
    let (status, _, page) = get(&system, "/readers/ana", &[]).await?;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Currently reading (1)") && page.contains("page 100 of 400"), "{page}");
    assert!(page.contains(&as_html_text("Halfway: <b>gripping</b>.")) && !page.contains("<b>gripping"));
    assert!(page.contains("<meta property=\"profile:username\" content=\"ana\">"));
    // Once she keeps it to herself, her shelves leave the page; her reviews stay.
    let hide = "mutation { setReadingVisibility(visibility: ONLY_ME) { position } }";
    let at = position(&ana.request(hide, json!({})).await?.data()?["setReadingVisibility"])?;
    system.client().request_at("{ __typename }", json!({}), at).await?;
    let (_, _, page) = get(&system, "/readers/ana", &[]).await?;
    assert!(!page.contains("Currently reading") && page.contains("shares what they read with no one else"), "{page}");
    assert!(page.contains("Halfway"));
    for missing in ["/readers/nobody_here", "/readers/a%00b", "/readers/%E2%80%AEana"] {
        let (status, _, page) = get(&system, missing, &[]).await?;
        assert!(status == 404 && page.contains("NOT_FOUND"), "{missing}: {status}");
    }
    let nul = system.client().request("{ reader(handle: \"a\\u0000b\") { id } }", json!({})).await?;
    assert_eq!((&nul.0["data"]["reader"], nul.error_code()), (&Value::Null, None), "{:?}", nul.0);

    // Who blocked whom is the viewer's own, through the API.
    let blocks = "{ reader(handle: \"ana\") { viewerBlocks viewerFollows } }";
    assert_eq!(ben.request(blocks, json!({})).await?.data()?["reader"]["viewerBlocks"], true);
    assert_eq!(
        ana.request("{ reader(handle: \"ben\") { viewerBlocks } }", json!({})).await?.data()?["reader"]["viewerBlocks"],
        false
    );

    // The author's page lists her books; search finds the book, with or without script.
    let authors =
        system.client().request("query($b: ID!) { book(id: $b) { authors { url } } }", json!({ "b": book })).await?;
    let author_url = authors.data()?["book"]["authors"][0]["url"].as_str().unwrap_or_default().to_owned();
    let author_path = author_url.trim_start_matches(&system.base_url).to_owned();
    let (status, _, page) = get(&system, &author_path, &[]).await?;
    assert!(status == 200 && page.contains("Kathleen E. Smith") && page.contains(&format!("/books/{book}")), "{page}");
    let (status, _, page) = get(&system, "/search?q=moskow%201956", &[]).await?;
    assert!(status == 200 && page.contains(&format!("/books/{book}")) && page.contains("1 result"), "{page}");
    let hostile = format!("/search?q={}", "%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    let (status, _, page) = get(&system, &hostile, &[]).await?;
    assert!(
        status == 200
            && !page.contains("<script>alert(1)")
            && page.contains(&as_html_text("<script>alert(1)</script>"))
    );
    system.stop().await
}

/// The account's pages are the same for everyone (script fills them in for their reader), so
/// they serve without a token, with the same policy, and say what to do when signed out.
#[tokio::test]
async fn the_account_pages_serve_to_anyone_under_the_same_policy() -> anyhow::Result<()> {
    let system = System::start().await?;
    for (path, says) in [
        ("/sign-in", "Handle"),
        ("/sign-up", "Display name"),
        ("/settings", "to change your settings"),
        ("/import", "to import your library"),
    ] {
        let (status, headers, page) = get(&system, path, &["content-security-policy"]).await?;
        assert!(status == 200 && page.contains(says), "{path}: {status}");
        assert!(headers[0].as_deref().is_some_and(|policy| policy.contains("frame-ancestors 'none'")), "{path}");
    }
    system.stop().await
}

#[tokio::test]
async fn the_book_page_shows_its_series_what_readers_say_it_is_and_what_they_also_enjoyed() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let librarian = system.librarian().await?;
    let authors = librarian.request("query($b: ID!) { book(id: $b) { authors { id } } }", json!({ "b": book })).await?;
    let author = authors.data()?["book"]["authors"][0]["id"].clone();
    let input = json!({ "input": { "title": "Gulag Voices", "pages": 250, "authorIds": [author] } });
    let added = librarian.request(super::ADD_BOOK, input).await?;
    let other = added.data()?["addBook"]["bookId"].as_str().unwrap_or_default().to_owned();
    let series =
        librarian.request("mutation { addSeries(input: { name: \"Soviet Lives\" }) { seriesId } }", json!({})).await?;
    let series = series.data()?["addSeries"]["seriesId"].clone();
    let place = "mutation($s: ID!, $b: ID!) { placeBookInSeries(seriesId: $s, bookId: $b, number: 2.5) { position } }";
    librarian.request(place, json!({ "s": series, "b": book })).await?.data()?;
    for handle in ["ana", "ben", "cyd"] {
        let (reader, _) = sign_up(&system, handle).await?;
        let shelve = "mutation($b: ID!) { addToShelf(bookId: $b, name: \"Soviet History\") { position } }";
        reader.request(shelve, json!({ "b": book })).await?.data()?;
        let describe = "mutation($b: ID!) { describeBook(bookId: $b, moods: [REFLECTIVE], pace: SLOW) { position } }";
        reader.request(describe, json!({ "b": book })).await?.data()?;
        rate(&reader, &book, 5).await?;
        rate(&reader, &other, 4).await?;
    }
    let (ana, _) = sign_up(&system, "ana2").await?;
    let list =
        ana.request("mutation { createList(input: { title: \"Thaw <b>reads</b>\" }) { listId } }", json!({})).await?;
    let list = list.data()?["createList"]["listId"].clone();
    let add = "mutation($l: ID!, $b: ID!) { addBookToList(listId: $l, bookId: $b) { position } }";
    ana.request(add, json!({ "l": list, "b": book })).await?.data()?;
    let at = system.stream_messages().await?;
    system.client().request_at("{ __typename }", json!({}), at).await?;

    let (status, _, html) = get(&system, &format!("/books/{book}"), &[]).await?;
    assert_eq!(status, 200, "{html}");
    assert!(!html.contains("<b>reads</b>"), "a list's title is text, never markup");
    let title = as_html_text("Thaw <b>reads</b>");
    for text in [
        "On readers' lists",
        title.as_str(),
        "Book 2.5 of Soviet Lives",
        "What readers say it is",
        "Soviet History <span class=\"figure\">100%</span>",
        "Reflective 100%",
        "Slow 100%",
        "Readers also enjoyed",
        "Gulag Voices</a>",
    ] {
        assert!(html.contains(text), "the page lacks {text:?}");
    }
    system.stop().await
}
