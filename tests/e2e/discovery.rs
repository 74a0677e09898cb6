//! What readers say books are: genres from the names of their shelves (folded, stop-listed,
//! shown once three readers name one), moods, pace and content warnings from the survey (also
//! from a StoryGraph import), books browsed by any of them in three orders; a deleted reader's
//! shelf names and answers leave the counts.

use readstream_e2e::System;
use readstream_testkit::graphql::GraphQl;
use serde_json::{json, Value};

use super::{
    add_seed_book,
    imports::{import, STORYGRAPH_HEADER},
    position, rate, sign_up, ADD_AUTHOR, ADD_BOOK,
};

const SHELVE: &str = "mutation($b: ID!, $n: String!) { addToShelf(bookId: $b, name: $n) { position } }";
const UNSHELVE: &str = "mutation($b: ID!, $n: String!) { removeFromShelf(bookId: $b, name: $n) { position } }";
const GENRES: &str = "query($b: ID!) { book(id: $b) { genres { name label readers percent } } }";
const DESCRIBE: &str = "mutation($b: ID!, $m: [Mood!], $p: Pace, $w: [ContentWarning!]) {
    describeBook(bookId: $b, moods: $m, pace: $p, contentWarnings: $w) { position }
}";
const SURVEY: &str = "query($b: ID!) { book(id: $b) {
    moods { name readers percent } paces { name percent } contentWarnings { name label readers }
    viewerSurvey { moods pace contentWarnings }
} }";
const TAGGED: &str = "query($k: TagKind!, $t: String!, $o: TaggedOrder, $after: String) {
    booksTagged(kind: $k, tag: $t, orderBy: $o, first: 2, after: $after) {
        edges { node { title } } pageInfo { hasNextPage endCursor }
    }
}";
const DELETE: &str = "mutation { deleteAccount(password: \"correct horse battery\") { readerId } }";

async fn at(reader: &GraphQl, mutation: &str, variables: Value) -> anyhow::Result<u64> {
    let response = reader.request(mutation, variables).await?;
    let data = response.data()?;
    position(data.as_object().and_then(|fields| fields.values().next()).unwrap_or(&Value::Null))
}

/// Every title a word lists, in `order`, page by page.
async fn tagged(reader: &GraphQl, kind: &str, tag: &str, order: &str, at: u64) -> anyhow::Result<Vec<String>> {
    let (mut titles, mut after) = (Vec::new(), Value::Null);
    loop {
        let variables = json!({ "k": kind, "t": tag, "o": order, "after": after });
        let page = reader.request_at(TAGGED, variables, at).await?.data()?["booksTagged"].clone();
        titles.extend(
            page["edges"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| e["node"]["title"].as_str().unwrap_or("").to_owned()),
        );
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            return Ok(titles);
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

#[tokio::test]
async fn readers_shelf_names_make_a_books_genres_once_three_name_one() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    let (cyd, _) = sign_up(&system, "cyd").await?;
    let (dee, _) = sign_up(&system, "dee").await?;
    // Ana's two shelves say one genre; "kindle" and "2024-reads" say none; Cyd's plural is one.
    for (reader, shelf) in [
        (&ana, "Soviet History"),
        (&ana, "soviet-history"),
        (&ben, "soviet_history"),
        (&ben, "kindle"),
        (&ben, "2024-reads"),
        (&cyd, "Soviet Histories"),
        (&cyd, "Cold War"),
        (&dee, "cold-war"),
    ] {
        reader.request(SHELVE, json!({ "b": book, "n": shelf })).await?.data()?;
    }
    let last = system.stream_messages().await?;
    let genres = ana.request_at(GENRES, json!({ "b": book }), last).await?.data()?["book"]["genres"].clone();
    assert_eq!(
        genres,
        json!([{ "name": "soviet-history", "label": "Soviet History", "readers": 3, "percent": 75 }]),
        "cold-war has two readers, too few; four readers named some genre"
    );
    assert_eq!(tagged(&ana, "GENRE", "Soviet  history", "POPULAR", last).await?, ["Moscow 1956"]);

    // Cyd's shelf goes: two readers are too few; back, three again.
    let removed = at(&cyd, UNSHELVE, json!({ "b": book, "n": "soviet histories" })).await?;
    let genres = ana.request_at(GENRES, json!({ "b": book }), removed).await?;
    assert_eq!(genres.data()?["book"]["genres"], json!([]));
    assert!(tagged(&ana, "GENRE", "soviet-history", "POPULAR", removed).await?.is_empty());
    at(&cyd, SHELVE, json!({ "b": book, "n": "Soviet History" })).await?;

    // Ana leaves: her shelf names leave the count.
    ana.request(DELETE, json!({})).await?.data()?;
    let last = system.stream_messages().await?;
    let genres = ben.request_at(GENRES, json!({ "b": book }), last).await?;
    assert_eq!(genres.data()?["book"]["genres"], json!([]), "two readers are left naming it");
    dee.request(SHELVE, json!({ "b": book, "n": "SOVIET HISTORY" })).await?.data()?;
    let last = system.stream_messages().await?;
    let genres = ben.request_at(GENRES, json!({ "b": book }), last).await?;
    assert_eq!(genres.data()?["book"]["genres"][0]["readers"], json!(3));

    let refused = ben.request(TAGGED, json!({ "k": "GENRE", "t": "to-read", "o": "POPULAR" })).await?;
    assert_eq!(
        (refused.error_code(), &refused.0["errors"][0]["extensions"]["field"]),
        (Some("INVALID_ARGUMENT"), &json!("tag"))
    );
    let refused = ben.request(TAGGED, json!({ "k": "MOOD", "t": "grumpy", "o": "POPULAR" })).await?;
    assert_eq!(refused.error_code(), Some("INVALID_ARGUMENT"));
    system.stop().await
}

#[tokio::test]
async fn survey_answers_count_into_percentages_and_list_books_by_popularity_rating_and_date() -> anyhow::Result<()> {
    let system = System::start().await?;
    let librarian = system.librarian().await?;
    let author = librarian.request(ADD_AUTHOR, json!({ "name": "Vasily Grossman" })).await?.data()?["addAuthor"]
        ["authorId"]
        .clone();
    let mut books = Vec::new();
    for (title, published) in
        [("Life and Fate", "1980-01-01"), ("Stalingrad", "1952-01-01"), ("Everything Flows", "1970-01-01")]
    {
        let input = json!({ "title": title, "pages": 400, "authorIds": [author], "firstPublished": published });
        let added = librarian.request(ADD_BOOK, json!({ "input": input })).await?;
        books.push(added.data()?["addBook"]["bookId"].as_str().unwrap_or_default().to_owned());
    }
    let (life, stalingrad, flows) = (&books[0], &books[1], &books[2]);
    let mut readers = Vec::new();
    for handle in ["ana", "ben", "cyd", "dee"] {
        readers.push(sign_up(&system, handle).await?.0);
    }
    let (ana, ben, cyd, dee) = (&readers[0], &readers[1], &readers[2], &readers[3]);
    for (reader, moods, pace, warnings) in [
        (ana, json!(["DARK", "REFLECTIVE", "DARK"]), json!("SLOW"), json!(["WAR", "DEATH"])),
        (ben, json!(["DARK"]), json!("SLOW"), json!(["WAR"])),
        (cyd, json!(["DARK", "SAD"]), json!("MEDIUM"), json!([])),
    ] {
        for book in [life, stalingrad, flows] {
            at(reader, DESCRIBE, json!({ "b": book, "m": moods, "p": pace, "w": warnings })).await?;
        }
    }
    // Ratings tell the books apart: Stalingrad best, then Life and Fate; Everything Flows unrated.
    rate(ana, stalingrad, 5).await?;
    rate(ana, life, 4).await?;
    let last = system.stream_messages().await?;

    let survey = ana.request_at(SURVEY, json!({ "b": life }), last).await?.data()?["book"].clone();
    assert_eq!(
        survey["moods"],
        json!([{ "name": "dark", "readers": 3, "percent": 100 }, { "name": "reflective", "readers": 1, "percent": 33 },
               { "name": "sad", "readers": 1, "percent": 33 }])
    );
    assert_eq!(survey["paces"], json!([{ "name": "slow", "percent": 67 }, { "name": "medium", "percent": 33 }]));
    assert_eq!(
        survey["contentWarnings"],
        json!([{ "name": "war", "label": "War", "readers": 2 }, { "name": "death", "label": "Death", "readers": 1 }])
    );
    assert_eq!(
        survey["viewerSurvey"],
        json!({ "moods": ["DARK", "REFLECTIVE"], "pace": "SLOW", "contentWarnings": ["DEATH", "WAR"] })
    );
    let anonymous = system.client().request_at(SURVEY, json!({ "b": life }), last).await?;
    assert_eq!(anonymous.data()?["book"]["viewerSurvey"], Value::Null);

    assert_eq!(tagged(dee, "MOOD", "Dark", "RATED", last).await?, ["Stalingrad", "Life and Fate", "Everything Flows"]);
    assert_eq!(tagged(dee, "MOOD", "dark", "NEWEST", last).await?, ["Life and Fate", "Everything Flows", "Stalingrad"]);
    assert_eq!(
        tagged(dee, "MOOD", "reflective", "POPULAR", last).await?,
        Vec::<String>::new(),
        "one reader is too few"
    );
    let cursor = dee.request_at(TAGGED, json!({ "k": "MOOD", "t": "dark", "o": "RATED" }), last).await?;
    let cursor = cursor.data()?["booksTagged"]["pageInfo"]["endCursor"].clone();
    let wrong_order = dee.request(TAGGED, json!({ "k": "MOOD", "t": "dark", "o": "NEWEST", "after": cursor })).await?;
    assert_eq!(wrong_order.error_code(), Some("INVALID_ARGUMENT"), "a cursor belongs to its order");

    // Ben takes his answers back; Cyd leaves, and hers go too.
    let back = at(ben, DESCRIBE, json!({ "b": life, "m": [], "w": [] })).await?;
    let survey = dee.request_at(SURVEY, json!({ "b": life }), back).await?.data()?["book"].clone();
    assert_eq!(survey["moods"][0], json!({ "name": "dark", "readers": 2, "percent": 100 }));
    cyd.request(DELETE, json!({})).await?.data()?;
    let last = system.stream_messages().await?;
    let survey = dee.request_at(SURVEY, json!({ "b": life }), last).await?.data()?["book"].clone();
    assert_eq!(
        survey["moods"],
        json!([{ "name": "dark", "readers": 1, "percent": 100 }, { "name": "reflective", "readers": 1, "percent": 100 }])
    );
    assert_eq!(survey["paces"], json!([{ "name": "slow", "percent": 100 }]));

    let before = system.stream_messages().await?;
    let unknown = dee.request(DESCRIBE, json!({ "b": uuid::Uuid::now_v7(), "m": ["DARK"] })).await?;
    assert_eq!(unknown.error_code(), Some("NOT_FOUND"), "{:?}", unknown.0);
    let not_a_mood = dee.request(DESCRIBE, json!({ "b": life, "m": ["GRUMPY"] })).await?;
    assert!(not_a_mood.data().is_err(), "not a mood: {:?}", not_a_mood.0);
    let anonymous = system.client().request(DESCRIBE, json!({ "b": life, "m": ["DARK"] })).await?;
    assert_eq!(anonymous.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(system.stream_messages().await?, before, "a refusal appends nothing");
    system.stop().await
}

#[tokio::test]
async fn a_storygraph_import_keeps_its_moods_pace_and_content_warnings() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let file = format!(
        "{STORYGRAPH_HEADER}\n\
         Moscow 1956,Kathleen E. Smith,,9780674971806,hardcover,read,2024/02/27,2024/03/20,,1,\"reflective, informative, brooding\",slow,,,,,,4.5,,\"Graphic: Death; Moderate: Grief, Spiders\",,,No\n"
    );
    let job = import(&ana, "STORYGRAPH", &file).await?;
    assert_eq!(job["rowsImported"], json!(1), "{job}");
    let last = system.stream_messages().await?;
    let survey = ana.request_at(SURVEY, json!({ "b": book }), last).await?.data()?["book"]["viewerSurvey"].clone();
    assert_eq!(
        survey,
        json!({ "moods": ["INFORMATIVE", "REFLECTIVE"], "pace": "SLOW", "contentWarnings": ["DEATH", "GRIEF"] })
    );
    system.stop().await
}
