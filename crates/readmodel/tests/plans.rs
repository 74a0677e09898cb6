//! Every statement of the read-model crate, planned as the gateway runs it (one generic plan for
//! any parameters, `plan_cache_mode = force_generic_plan`) over a data set large enough that
//! Postgres would not scan a table by accident: no read may scan a table that grows with the
//! readers. A filter that reads every reader (the feed's privacy filter as a hashed `IN` over
//! `readers`) fails here. The statements are the SQL files under `queries/`, the ones written
//! inline in the crate's code (the batched loads: `sqlx::query!("…")` and its kin, read from the
//! source) and the ten shapes of a list of reviews.

use std::path::Path;

use anyhow::Context as _;
use readstream_readmodel::reviews::{self, ListOf, ListOrder};
use serde_json::Value;
use sqlx::{Connection as _, PgConnection, Row as _};

/// Readers in the generated data set; the other tables grow with them.
const READERS: i64 = 50_000;

/// Tables below this many rows may be scanned: they do not grow with the readers here.
const SMALL_TABLE: f32 = 1_000.0;

#[tokio::test]
async fn no_read_scans_a_table_that_grows_with_the_readers() -> anyhow::Result<()> {
    let url = readstream_testkit::fresh_database().await?;
    let mut db = PgConnection::connect(&url).await?;
    sqlx::migrate!("../../schema/migrations").run(&mut db).await?;
    generate(&mut db).await?;
    sqlx::query("SET plan_cache_mode = force_generic_plan").execute(&mut db).await?;

    let mut failures = Vec::new();
    let mut planned = 0;
    let statements = [reads()?, inline_statements()?, review_lists()].concat();
    for (name, sql) in statements {
        let plan = generic_plan(&mut db, planned, &sql).await.with_context(|| format!("planning {name}:\n{sql}"))?;
        for scanned in scans(&mut db, &plan).await? {
            failures.push(format!("{name} scans {scanned}:\n{}", serde_json::to_string_pretty(&plan)?));
        }
        planned += 1;
    }
    assert!(planned >= 80, "only {planned} statements found");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    Ok(())
}

/// Every read of the crate: each `queries/<model>/<read>.sql`.
fn reads() -> anyhow::Result<Vec<(String, String)>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
    let mut reads = Vec::new();
    for model in std::fs::read_dir(&root)? {
        let model = model?.path();
        for file in std::fs::read_dir(&model)? {
            let file = file?.path();
            if file.extension().is_some_and(|ext| ext == "sql") {
                let name = file.strip_prefix(&root)?.display().to_string();
                reads.push((name, std::fs::read_to_string(&file)?));
            }
        }
    }
    reads.sort();
    Ok(reads)
}

/// The statements written in the crate's code: the literal of every `sqlx::query…!(` macro but
/// the `…_file…` ones (whose files `reads` plans), named by file and line. A macro whose literal
/// cannot be read fails the test rather than go unplanned.
fn inline_statements() -> anyhow::Result<Vec<(String, String)>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut statements = Vec::new();
    for file in std::fs::read_dir(&root)? {
        let file = file?.path();
        let source = std::fs::read_to_string(&file)?;
        let mut rest = source.as_str();
        while let Some(at) = rest.find("sqlx::query") {
            let offset = source.len() - rest.len() + at;
            let call = &rest[at..];
            rest = &call[1..];
            let Some(bang) = call
                .find('!')
                .filter(|bang| call[..*bang].chars().all(|c| c.is_alphanumeric() || c == '_' || c == ':'))
            else {
                continue;
            };
            if call[..bang].contains("file") {
                continue;
            }
            let line = source[..offset].lines().count() + 1;
            let name = format!("src/{}:{line}", file.file_name().unwrap_or_default().to_string_lossy());
            let sql = first_literal(&call[bang..]).with_context(|| format!("no SQL literal in the macro at {name}"))?;
            statements.push((name, sql));
        }
    }
    statements.sort();
    Ok(statements)
}

/// The first string literal of `code` (`"…"` or `r#"…"#`), as the compiler reads it.
fn first_literal(code: &str) -> Option<String> {
    let start = code.find('"')?;
    if code[..start].ends_with("r#") {
        let body = &code[start + 1..];
        return Some(body[..body.find("\"#")?].to_owned());
    }
    let mut text = String::new();
    let mut chars = code[start + 1..].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(text),
            '\\' => match chars.next()? {
                'n' => text.push('\n'),
                't' => text.push('\t'),
                // A line continuation: the newline and the next line's leading spaces go.
                '\n' => while chars.next_if(|c| c.is_whitespace()).is_some() {},
                other => text.push(other),
            },
            c => text.push(c),
        }
    }
    None
}

/// The ten shapes of a list of reviews: a book's or a reader's, in each order.
fn review_lists() -> Vec<(String, String)> {
    let (book, reader) = (ListOf::Book { book_id: uuid::Uuid::nil(), stars: None }, ListOf::Reader(uuid::Uuid::nil()));
    [book, reader]
        .into_iter()
        .flat_map(|of| ListOrder::ALL.into_iter().map(move |order| (of, order)))
        .map(|(of, order)| {
            let owner = if of == book { "book" } else { "reader" };
            (format!("a {owner}'s reviews, {order:?}"), reviews::list_statement(of, order))
        })
        .collect()
}

/// The generic plan of `sql`, as JSON: prepared, then executed under EXPLAIN with every
/// parameter null (a generic plan does not look at them).
async fn generic_plan(db: &mut PgConnection, index: usize, sql: &str) -> anyhow::Result<Value> {
    let statement = format!("statement_{index}");
    // Type overrides (`AS "kind: ActivityKind"`) are sqlx's, inside the column alias: Postgres
    // reads them as the alias's text.
    sqlx::raw_sql(&format!("PREPARE {statement} AS {sql}")).execute(&mut *db).await?;
    let parameters: i64 = sqlx::query_scalar(
        "SELECT coalesce(array_length(parameter_types, 1), 0)::bigint FROM pg_prepared_statements WHERE name = $1",
    )
    .bind(&statement)
    .fetch_one(&mut *db)
    .await?;
    let nulls = vec!["NULL"; usize::try_from(parameters)?].join(", ");
    let arguments = if nulls.is_empty() { String::new() } else { format!("({nulls})") };
    let explained =
        sqlx::query(&format!("EXPLAIN (FORMAT JSON) EXECUTE {statement}{arguments}")).fetch_one(&mut *db).await?;
    // `json`, whose wire form is its text (sqlx is built without its JSON support).
    let text: String = explained.try_get_unchecked(0)?;
    Ok(serde_json::from_str(&text)?)
}

/// The tables the plan reads whole that hold more than a few rows.
async fn scans(db: &mut PgConnection, plan: &Value) -> anyhow::Result<Vec<String>> {
    let mut relations = Vec::new();
    collect_seq_scans(plan, &mut relations);
    let mut large = Vec::new();
    for relation in relations {
        let rows: f32 = sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE relname = $1")
            .bind(&relation)
            .fetch_one(&mut *db)
            .await?;
        if rows >= SMALL_TABLE {
            large.push(format!("{relation} ({rows} rows)"));
        }
    }
    Ok(large)
}

fn collect_seq_scans(node: &Value, relations: &mut Vec<String>) {
    match node {
        Value::Object(fields) => {
            if fields.get("Node Type").and_then(Value::as_str) == Some("Seq Scan") {
                if let Some(relation) = fields.get("Relation Name").and_then(Value::as_str) {
                    relations.push(relation.to_owned());
                }
            }
            fields.values().for_each(|value| collect_seq_scans(value, relations));
        }
        Value::Array(values) => values.iter().for_each(|value| collect_seq_scans(value, relations)),
        _ => {}
    }
}

/// A network of `READERS` readers (one in ten keeping their reading to themselves), their
/// follows, shelves, ratings, reviews and feeds, then analyzed.
async fn generate(db: &mut PgConnection) -> anyhow::Result<()> {
    let script = format!(
        r#"
        CREATE FUNCTION pg_temp.reader(i bigint) RETURNS uuid AS $$ SELECT md5('reader' || ($1 % {READERS}))::uuid $$ LANGUAGE sql IMMUTABLE;
        CREATE FUNCTION pg_temp.book(i bigint) RETURNS uuid AS $$ SELECT md5('book' || ($1 % 5000))::uuid $$ LANGUAGE sql IMMUTABLE;
        INSERT INTO readers (reader_id, handle, display_name, joined_at, position, reading_visibility)
            SELECT pg_temp.reader(i), 'r' || i, 'Reader ' || i, now(), i,
                   CASE WHEN i % 10 = 0 THEN 'ONLY_ME' ELSE 'EVERYONE' END
            FROM generate_series(0, {READERS} - 1) i;
        INSERT INTO activities (position, event_index, actor_id, kind, book_id, occurred_at, backdated, fanned_out)
            SELECT i, 0, pg_temp.reader(i * 7),
                   (ARRAY['started_reading', 'finished_reading', 'did_not_finish', 'want_to_read', 'rated',
                          'reviewed', 'liked_review', 'followed', 'new_book', 'imported'])[i % 10 + 1],
                   pg_temp.book(i), now(), false, i % 50 <> 0
            FROM generate_series(1, 4 * {READERS}) i;
        INSERT INTO feed_items (reader_id, position, event_index, actor_id, kind)
            SELECT pg_temp.reader(i % ({READERS} / 10)), a.position, 0, a.actor_id, a.kind
            FROM generate_series(1, 4 * {READERS}) i JOIN activities a ON a.position = i AND a.event_index = 0;
        INSERT INTO feed_follows (follower_id, followee_id)
            SELECT pg_temp.reader(i), pg_temp.reader(i * 13 + i / {READERS} + 1) FROM generate_series(1, 2 * {READERS}) i
            ON CONFLICT DO NOTHING;
        INSERT INTO feed_follower_counts (reader_id, followers, merged_on_read)
            SELECT pg_temp.reader(i), i % 100, i % 1000 = 0 FROM generate_series(0, {READERS} - 1) i;
        INSERT INTO follows (follower_id, followee_id, since, position)
            SELECT pg_temp.reader(i), pg_temp.reader(i * 13 + i / {READERS} + 1), now(), i FROM generate_series(1, 2 * {READERS}) i
            ON CONFLICT DO NOTHING;
        INSERT INTO shelf_entries (reader_id, book_id, status, status_position, position)
            SELECT pg_temp.reader(i), pg_temp.book(i * 3),
                   (ARRAY['want_to_read', 'currently_reading', 'paused', 'read', 'did_not_finish'])[i % 5 + 1], i, i
            FROM generate_series(1, 2 * {READERS}) i
            ON CONFLICT DO NOTHING;
        INSERT INTO ratings (reader_id, book_id, quarter_stars, rated_at)
            SELECT pg_temp.reader(i), pg_temp.book(i * 5), 4 + i % 17, now() FROM generate_series(1, 2 * {READERS}) i
            ON CONFLICT DO NOTHING;
        INSERT INTO reading_goals (reader_id, year, books, set_at, position)
            SELECT pg_temp.reader(i), 2020 + i % 7, 1 + i % 100, now(), i FROM generate_series(1, {READERS}) i
            ON CONFLICT DO NOTHING;
        INSERT INTO notification_items (reader_id, position, event_index, kind, about, actor_id, occurred_at)
            SELECT pg_temp.reader(i % ({READERS} / 10)), i, 0,
                   (ARRAY['review_liked', 'review_commented', 'new_follower', 'followee_reviewed'])[i % 4 + 1],
                   pg_temp.book(i % 1000), pg_temp.reader(i * 7), now()
            FROM generate_series(1, 4 * {READERS}) i;
        INSERT INTO notification_groups (reader_id, kind, about, latest_position, latest_at)
            SELECT reader_id, kind, about, max(position), max(occurred_at) FROM notification_items
            GROUP BY reader_id, kind, about;
        INSERT INTO reviews (review_id, reader_id, book_id, body, contains_spoilers, written_on, published_at, position)
            SELECT md5('review' || i)::uuid, pg_temp.reader(i), pg_temp.book(i * 11), 'A review.', false, current_date, now(), i
            FROM generate_series(1, {READERS}) i;
        INSERT INTO books (book_id, title, subtitle, description, pages, format, added_at, position)
            SELECT pg_temp.book(i), 'Book ' || i, '', '', 100 + i % 300, 'paperback', now(), i
            FROM generate_series(0, 4999) i;
        INSERT INTO reading_timeline (position, event_index, reader_id, book_id, kind, on_date, read_through, recorded_at)
            SELECT i, 0, pg_temp.reader(i), pg_temp.book(i * 3),
                   (ARRAY['want_to_read', 'started', 'resumed', 'progress', 'paused', 'finished', 'abandoned',
                          'removed'])[i % 8 + 1],
                   date '2020-01-01' + (i % 1500), 1, now()
            FROM generate_series(1, 4 * {READERS}) i;
        INSERT INTO custom_shelf_entries (reader_id, shelf_key, book_id, shelf, position)
            SELECT pg_temp.reader(i), 'shelf ' || (i % 7), pg_temp.book(i * 3), 'Shelf ' || (i % 7), i
            FROM generate_series(1, {READERS}) i
            ON CONFLICT DO NOTHING;
        ANALYZE;
        "#
    );
    sqlx::raw_sql(&script).execute(db).await?;
    Ok(())
}
