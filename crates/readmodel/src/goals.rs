//! A reader's year: their goal (`reading_goals`), the books they finished in it, and the day it
//! is for them (`readers.time_zone`).

use chrono::NaiveDate;
use sqlx::PgExecutor;
use uuid::Uuid;

/// `reader_id`'s target of books for `year`, if they set one.
pub async fn goal(db: impl PgExecutor<'_>, reader_id: Uuid, year: i32) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar!("SELECT books FROM reading_goals WHERE reader_id = $1 AND year = $2", reader_id, year)
        .fetch_optional(db)
        .await
}

/// Today's date where `reader_id` lives (their time zone, UTC until they set one; UTC too
/// for a reader the read model does not know).
pub async fn today_of(db: impl PgExecutor<'_>, reader_id: Uuid) -> Result<NaiveDate, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT (now() AT TIME ZONE coalesce((SELECT time_zone FROM readers WHERE reader_id = $1), 'UTC'))::date
               AS "today!""#,
        reader_id
    )
    .fetch_one(db)
    .await
}

/// The time zone `reader_id` set (UTC until they do).
pub async fn time_zone(db: impl PgExecutor<'_>, reader_id: Uuid) -> Result<String, sqlx::Error> {
    Ok(sqlx::query_scalar!("SELECT time_zone FROM readers WHERE reader_id = $1", reader_id)
        .fetch_optional(db)
        .await?
        .unwrap_or_else(|| "UTC".to_owned()))
}

/// One book finished, as a year in review counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub book_id: Uuid,
    pub on: NaiveDate,
    pub position: i64,
    /// 0 when unknown.
    pub pages: i32,
    /// The reader's rating of it now, in quarter stars.
    pub quarter_stars: Option<i16>,
    /// Its authors, first author first.
    pub author_ids: Vec<Uuid>,
}

/// Every book `reader_id` finished from day `from` up to day `to`, in the order they finished
/// them (a reread is another row).
pub async fn finished_between(
    db: impl PgExecutor<'_>,
    reader_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Finished>, sqlx::Error> {
    let rows = sqlx::query_file!("queries/shelves/finished_in.sql", reader_id, from, to).fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .map(|r| Finished {
            book_id: r.book_id,
            on: r.on_date,
            position: r.position,
            pages: r.pages,
            quarter_stars: r.quarter_stars,
            author_ids: r.author_ids,
        })
        .collect())
}
