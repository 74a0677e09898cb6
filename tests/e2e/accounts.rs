//! Deleting an account: the reader's personal data leaves every read model, stays unreadable in
//! the log (its key destroyed), also when the read models are rebuilt from the log, while the
//! books' anonymous counts keep counting them.

use readstream_e2e::System;
use readstream_testkit::graphql::GraphQl;
use serde_json::{json, Value};

use crate::{add_seed_book, feed::act, rate, sign_up};

const HANDLE: &str = "ana_shredded";
const BIO: &str = "Reads on the night bus to Pskov";
const NOTE: &str = "the chapter about the Gulag returnees";
const SHELF: &str = "books from my grandmother";
const REVIEW: &str = "Smith's archive work on 1956 is unmatched";
const COMMENT: &str = "I cried at the amnesty chapter";
const DELETE: &str = "mutation($p: String!) { deleteAccount(password: $p) { readerId sessionIds forgotten } }";

/// What Ben sees of the book, of himself and of Ana.
async fn seen_by(ben: &GraphQl, book: &str) -> anyhow::Result<Value> {
    let query = "query($book: ID!, $ana: String!) {
        book(id: $book) {
            ratings { count average reviewCount }
            shelfCounts { currentlyReading }
            reviews(first: 10) {
                totalCount
                edges { node { body reviewer { handle } likesCount commentsCount comments(first: 10) { edges { node { body } } } } }
            }
        }
        viewer { followersCount followingCount feed(first: 20) { edges { node { kind reader { handle } } } } }
        ana: reader(handle: $ana) { displayName }
    }";
    Ok(ben.request(query, json!({ "book": book, "ana": HANDLE })).await?.data()?.clone())
}

#[tokio::test]
async fn a_deleted_account_is_gone_from_every_read_model_and_unreadable_in_the_log() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let (ana, ana_id) = sign_up(&system, HANDLE).await?;
    let (ben, ben_id) = sign_up(&system, "ben").await?;
    act(&ana, "mutation($t: String) { updateProfile(bio: $t) { position } }", json!({ "t": BIO })).await?;
    act(&ana, "mutation($r: ID!) { follow(readerId: $r) { position } }", json!({ "r": ben_id })).await?;
    act(&ben, "mutation($r: ID!) { follow(readerId: $r) { position } }", json!({ "r": ana_id })).await?;
    rate(&ana, &book, 4).await?;
    act(&ana, "mutation($b: ID!) { startReading(bookId: $b) { position } }", json!({ "b": book })).await?;
    let progress = "mutation($b: ID!, $t: String) { updateProgress(bookId: $b, page: 120, note: $t) { position } }";
    act(&ana, progress, json!({ "b": book, "t": NOTE })).await?;
    let shelve = "mutation($b: ID!, $t: String!) { addToShelf(bookId: $b, name: $t) { position } }";
    act(&ana, shelve, json!({ "b": book, "t": SHELF })).await?;
    let publish = "mutation($b: ID!, $t: String!) { publishReview(bookId: $b, body: $t) { position reviewId } }";
    let ana_review = ana.request(publish, json!({ "b": book, "t": REVIEW })).await?.data()?["publishReview"].clone();
    let ben_review = ben.request(publish, json!({ "b": book, "t": "Dense." })).await?.data()?["publishReview"].clone();
    let like = "mutation($r: ID!) { likeReview(reviewId: $r) { position } }";
    act(&ana, like, json!({ "r": ben_review["reviewId"] })).await?;
    act(&ben, like, json!({ "r": ana_review["reviewId"] })).await?;
    let comment = "mutation($r: ID!, $t: String!) { commentOnReview(reviewId: $r, body: $t) { position } }";
    act(&ana, comment, json!({ "r": ben_review["reviewId"], "t": COMMENT })).await?;
    let (_, carl_id) = sign_up(&system, "carl").await?;
    act(&ana, "mutation($r: ID!) { block(readerId: $r) { position } }", json!({ "r": carl_id })).await?;
    let authors = ana.request("query($b: ID!) { book(id: $b) { authors { id } } }", json!({ "b": book })).await?;
    let author = authors.data()?["book"]["authors"][0]["id"].clone();
    let at = act(&ana, "mutation($a: ID!) { followAuthor(authorId: $a) { position } }", json!({ "a": author })).await?;
    // An upload with her review in it, and a row refused with its reason.
    let library = format!("{GOODREADS_HEADER}\n1,Moscow 1956,Kathleen E. Smith,,,,,4,,,,,,,,2024/03/01,,,read,{REVIEW},,,1,0\n2,,x,,,,,9,,,,,,,,,,,read,,,,1,0\n");
    let import = "mutation($file: Upload!) { importLibrary(file: $file, format: GOODREADS) { id } }";
    let job = ana.upload(import, json!({}), library.into_bytes(), "library.csv").await?;
    let job = job.data()?["importLibrary"]["id"].clone();
    // Its end, so none of its commands races the deletion below.
    let status = "query($id: ID!) { importJob(id: $id) { status } }";
    for _ in 0..600 {
        let now = ana.request(status, json!({ "id": job })).await?;
        if now.data()?["importJob"]["status"] == "DONE" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    ben.request_at("{ viewer { id } }", json!({}), at).await?;
    let seen = seen_by(&ben, &book).await?;
    assert_eq!(seen["book"]["reviews"]["totalCount"], json!(2), "{seen}");
    assert_eq!(seen["ana"]["displayName"], json!("Test Reader"));
    assert!(system.stream_payloads().await?.iter().all(|payload| !contains(payload, REVIEW)), "sealed from the start");

    let wrong = ana.request(DELETE, json!({ "p": "not my password" })).await?;
    assert_eq!(wrong.error_code(), Some("INVALID_ARGUMENT"), "{:?}", wrong.0);
    assert_eq!(wrong.0["errors"][0]["extensions"]["field"], "password");
    assert_eq!(seen_by(&ben, &book).await?, seen, "a refused deletion changes nothing");

    let deleted = ana.request(DELETE, json!({ "p": "correct horse battery" })).await?;
    let deleted = &deleted.data()?["deleteAccount"];
    assert_eq!((&deleted["readerId"], &deleted["forgotten"]), (&json!(ana_id), &json!(true)), "{deleted}");
    assert_eq!(deleted["sessionIds"].as_array().map(Vec::len), Some(1), "{deleted}");

    let erased = |seen: &Value| {
        assert_eq!(seen["ana"], Value::Null, "the profile is gone: {seen}");
        let book_page = &seen["book"];
        assert_eq!(book_page["ratings"], json!({ "count": 1, "average": 4.0, "reviewCount": 1 }), "{seen}");
        assert_eq!(book_page["shelfCounts"]["currentlyReading"], json!(1), "still counted, anonymously: {seen}");
        let reviews = &book_page["reviews"];
        assert_eq!(reviews["totalCount"], json!(1), "{seen}");
        let left = &reviews["edges"][0]["node"];
        assert_eq!(
            left,
            &json!({ "body": "Dense.", "reviewer": { "handle": "ben" }, "likesCount": 0, "commentsCount": 0, "comments": { "edges": [] } }),
            "her like and comment are gone with her"
        );
        assert_eq!(seen["viewer"]["followersCount"], json!(0));
        assert_eq!(seen["viewer"]["followingCount"], json!(0));
        assert_eq!(seen["viewer"]["feed"]["edges"], json!([]), "nothing of hers in Ben's feed: {seen}");
    };
    erased(&seen_by(&ben, &book).await?);

    let ana_uuid = uuid::Uuid::parse_str(&ana_id)?;
    // A job, or a gateway that has not heard her sessions ended, acting in her name: refused,
    // personal text or not (a rating carries none), so no projection counts her again.
    let late = system.client_as(ana_uuid)?;
    let rated = late.request(crate::RATE, json!({ "book": book, "stars": 2 })).await?;
    assert_eq!(rated.error_code(), Some("NOT_FOUND"), "{:?}", rated.0);
    let database = sqlx::PgPool::connect(&system.database_url).await?;
    assert_eq!(columns_holding(&database, ana_uuid).await?, Vec::<String>::new(), "her id is left in these columns");
    assert_eq!(uploads_holding(&database, REVIEW).await?, 0, "her upload is gone");

    let payloads = system.stream_payloads().await?;
    for secret in [HANDLE, BIO, NOTE, SHELF, REVIEW, COMMENT] {
        assert!(payloads.iter().all(|payload| !contains(payload, secret)), "{secret:?} is readable in the log");
    }
    assert!(!system.has_reader_key(uuid::Uuid::parse_str(&ana_id)?).await?, "her key is destroyed");
    assert!(system.has_reader_key(uuid::Uuid::parse_str(&ben_id)?).await?);

    let refused = ana.request("{ viewer { handle } }", json!({})).await?;
    assert_eq!(refused.error_code(), Some("UNAUTHENTICATED"), "her sessions ended");
    let sign_in =
        format!("mutation {{ signIn(handle: \"{HANDLE}\", password: \"correct horse battery\") {{ token }} }}");
    assert_eq!(system.client().request(&sign_in, json!({})).await?.error_code(), Some("UNAUTHENTICATED"));
    let follow_her =
        ben.request("mutation($r: ID!) { follow(readerId: $r) { position } }", json!({ "r": ana_id })).await?;
    assert_eq!(follow_her.error_code(), Some("NOT_FOUND"), "{:?}", follow_her.0);

    // Rebuilt from the log, the read models hold nothing of hers: the log cannot say it.
    let schema = "SELECT string_agg(conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid), '; '
                                  ORDER BY conrelid::regclass::text, conname)
                  FROM pg_constraint WHERE connamespace = 'public'::regnamespace";
    let constraints: Option<String> = sqlx::query_scalar(schema).fetch_one(&database).await?;
    let every_projection: Vec<&str> = readstream_contracts::ReadModel::ALL.iter().map(|model| model.name()).collect();
    system.rebuild(&every_projection).await?;
    let rebuilt: Option<String> = sqlx::query_scalar(schema).fetch_one(&database).await?;
    assert_eq!(rebuilt, constraints, "the rebuilt tables have every key and check the old ones had");
    assert!(constraints.is_some_and(|c| c.contains("REFERENCES books(book_id)")), "foreign keys are among them");
    let at = system.stream_messages().await?;
    ben.request_at("{ viewer { id } }", json!({}), at).await?;
    erased(&seen_by(&ben, &book).await?);
    assert_eq!(columns_holding(&database, ana_uuid).await?, Vec::<String>::new(), "rebuilt, her id is in these");

    // The handle is free again, for somebody new.
    let (_, newcomer) = sign_up(&system, HANDLE).await?;
    assert_ne!(newcomer, ana_id);
    system.stop().await
}

/// Every column of every table (the database's catalog lists them) whose type holds an id,
/// a `uuid` or a `uuid[]`, and that holds `id` in some row: `schema.table.column`.
async fn columns_holding(database: &sqlx::PgPool, id: uuid::Uuid) -> anyhow::Result<Vec<String>> {
    let columns: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT c.table_schema, c.table_name, c.column_name, c.udt_name
         FROM information_schema.columns c
         JOIN information_schema.tables t USING (table_schema, table_name)
         WHERE t.table_type = 'BASE TABLE' AND c.udt_name IN ('uuid', '_uuid')
           AND c.table_schema NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_all(database)
    .await?;
    anyhow::ensure!(columns.len() > 20, "only {} id columns found", columns.len());
    let mut holding = Vec::new();
    for (schema, table, column, kind) in columns {
        let test = if kind == "uuid" { format!("\"{column}\" = $1") } else { format!("$1 = ANY(\"{column}\")") };
        let query = format!("SELECT EXISTS (SELECT 1 FROM \"{schema}\".\"{table}\" WHERE {test})");
        if sqlx::query_scalar::<_, bool>(&query).bind(id).fetch_one(database).await? {
            holding.push(format!("{schema}.{table}.{column}"));
        }
    }
    Ok(holding)
}

/// How many stored uploads and import errors hold `text`.
async fn uploads_holding(database: &sqlx::PgPool, text: &str) -> anyhow::Result<i64> {
    let query = "SELECT (SELECT count(*) FROM import_chunks WHERE position($1::bytea IN data) > 0)
                      + (SELECT count(*) FROM import_errors WHERE reason LIKE '%' || $2 || '%')";
    Ok(sqlx::query_scalar(query).bind(text.as_bytes()).bind(text).fetch_one(database).await?)
}

const GOODREADS_HEADER: &str = "Book Id,Title,Author,Author l-f,Additional Authors,ISBN,ISBN13,My Rating,Average Rating,Publisher,Binding,Number of Pages,Year Published,Original Publication Year,Date Read,Date Added,Bookshelves,Bookshelves with positions,Exclusive Shelf,My Review,Spoiler,Private Notes,Read Count,Owned Copies";

fn contains(payload: &[u8], text: &str) -> bool {
    payload.windows(text.len()).any(|window| window == text.as_bytes())
}
