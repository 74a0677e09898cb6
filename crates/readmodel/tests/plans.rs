//! Every read of the read-model crate, planned as the gateway runs it (one generic plan for any
//! parameters, `plan_cache_mode = force_generic_plan`) over a data set large enough that
//! Postgres would not scan a table by accident: no read may scan a table that grows with the
//! readers. A filter that reads every reader (the feed's privacy filter as a hashed `IN` over
//! `readers`) fails here.

use std::path::Path;

use anyhow::Context as _;
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
    for (name, sql) in reads()? {
        let plan = generic_plan(&mut db, &name, &sql).await.with_context(|| format!("planning {name}"))?;
        for scanned in scans(&mut db, &plan).await? {
            failures.push(format!("{name} scans {scanned}:\n{}", serde_json::to_string_pretty(&plan)?));
        }
        planned += 1;
    }
    assert!(planned >= 7, "only {planned} reads found under queries/");
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

/// The generic plan of `sql`, as JSON: prepared, then executed under EXPLAIN with every
/// parameter null (a generic plan does not look at them).
async fn generic_plan(db: &mut PgConnection, name: &str, sql: &str) -> anyhow::Result<Value> {
    let statement = format!("read_{}", name.replace(['/', '.'], "_"));
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
        INSERT INTO ratings (reader_id, book_id, stars, rated_at)
            SELECT pg_temp.reader(i), pg_temp.book(i * 5), i % 5 + 1, now() FROM generate_series(1, 2 * {READERS}) i
            ON CONFLICT DO NOTHING;
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
