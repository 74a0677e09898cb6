//! Merged duplicates: the move of each reader's rating, shelf entry and review from a
//! duplicate book to the book it was merged into, and of a duplicate author's followers to the
//! author it was merged into. The catalog projection queues the move
//! (`merges`) in the transaction that records the merge; a worker holds it while it runs
//! and any worker resumes it. Each move is the reader's own commands, so every aggregate and
//! every count stays right through ordinary events: where the reader has something on both
//! books the more recent wins, and what the duplicate held is cleared, removed or withdrawn
//! there, staying in its history. The commands carry the duplicate as their batch job, so the
//! feed shows none of them; their ids come from the duplicate and the step, so a move done again
//! appends nothing twice.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use futures::{StreamExt as _, TryStreamExt as _};
use readstream_contracts::{proto::commands::v1 as pb, ReadModel};
use readstream_readmodel::{merges::MergeKind, shelves::ShelfStatus};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use readstream_runtime::bus;

use crate::{Refusal, Worker};

/// How long a move stays with the process running it.
const HOLD: Duration = Duration::from_secs(60);
/// How often a worker looks for a move to make.
const IDLE: Duration = Duration::from_secs(1);
/// Readers moved at once.
const READERS_AT_ONCE: usize = 8;

struct Merge {
    duplicate: Uuid,
    kind: MergeKind,
    into_id: Uuid,
    position: i64,
}

/// Makes the queued moves while the worker runs.
pub async fn work(app: Worker, shutdown: CancellationToken) {
    loop {
        match claim(&app.pool).await {
            Ok(Some(merge)) => {
                let duplicate = merge.duplicate;
                tokio::select! {
                    moved = run(&app, &merge) => if let Err(err) = moved {
                        tracing::warn!(%duplicate, error = %err.message, "moving a merged duplicate's readers stopped; it resumes");
                    } else {
                        continue;
                    },
                    _ = shutdown.cancelled() => return,
                }
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "could not look for merges to move"),
        }
        tokio::select! {
            _ = tokio::time::sleep(IDLE) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

async fn claim(pool: &PgPool) -> Result<Option<Merge>, sqlx::Error> {
    sqlx::query_as!(
        Merge,
        r#"UPDATE merges SET held_until = now() + make_interval(secs => $1)
         WHERE duplicate = (SELECT duplicate FROM merges
                            WHERE NOT done AND (held_until IS NULL OR held_until < now())
                            ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING duplicate, kind AS "kind: MergeKind", into_id, position"#,
        HOLD.as_secs_f64()
    )
    .fetch_optional(pool)
    .await
}

async fn run(app: &Worker, merge: &Merge) -> Result<(), Refusal> {
    match merge.kind {
        MergeKind::Author => move_followers(app, merge).await?,
        MergeKind::Book => move_readers(app, merge).await?,
    }
    sqlx::query!("UPDATE merges SET done = true, held_until = NULL WHERE duplicate = $1", merge.duplicate)
        .execute(&app.pool)
        .await?;
    Ok(())
}

/// Each follower of the duplicate author follows the other (already following is fine) and
/// stops following the duplicate.
async fn move_followers(app: &Worker, merge: &Merge) -> Result<(), Refusal> {
    app.positions.wait_for(merge.position as u64, &[ReadModel::Catalog, ReadModel::Readers]).await?;
    let followers = sqlx::query_scalar!("SELECT reader_id FROM author_follows WHERE author_id = $1", merge.duplicate)
        .fetch_all(&app.pool)
        .await?;
    futures::stream::iter(followers)
        .map(|reader| async move {
            let follow = pb::FollowAuthor { meta: meta(merge, reader, "follow"), author_id: merge.into_id.to_string() };
            send(app, &follow).await?;
            let unfollow =
                pb::UnfollowAuthor { meta: meta(merge, reader, "unfollow"), author_id: merge.duplicate.to_string() };
            send(app, &unfollow).await
        })
        .buffer_unordered(READERS_AT_ONCE)
        .try_collect::<()>()
        .await?;
    Ok(())
}

/// Each reader of the duplicate book, moved to the book it was merged into.
async fn move_readers(app: &Worker, merge: &Merge) -> Result<(), Refusal> {
    let reads = [ReadModel::Catalog, ReadModel::Ratings, ReadModel::Shelves, ReadModel::Reviews];
    app.positions.wait_for(merge.position as u64, &reads).await?;
    let readers = sqlx::query_scalar!(
        r#"SELECT reader_id AS "reader_id!" FROM ratings WHERE book_id = $1
           UNION SELECT reader_id FROM shelf_entries WHERE book_id = $1
           UNION SELECT reader_id FROM custom_shelf_entries WHERE book_id = $1
           UNION SELECT reader_id FROM reviews WHERE book_id = $1 AND NOT withdrawn"#,
        merge.duplicate
    )
    .fetch_all(&app.pool)
    .await?;
    futures::stream::iter(readers)
        .map(|reader| move_reader(app, merge, reader))
        .buffer_unordered(READERS_AT_ONCE)
        .try_collect::<()>()
        .await?;
    Ok(())
}

/// The reader's command of one step of a move, marked with the duplicate as its job.
fn meta(merge: &Merge, reader: Uuid, step: &str) -> Option<pb::CommandMeta> {
    let key = format!("merge:{}:{step}", merge.duplicate);
    Some(bus::on_behalf_of(reader, merge.duplicate, &key, true))
}

/// Sends one step; a refusal that means "nothing to do" (already so, already gone) is fine.
async fn send<C: readstream_contracts::Command>(app: &Worker, command: &C) -> Result<(), Refusal> {
    match app.send(command).await {
        Ok(_) => Ok(()),
        Err(err) if err.is_transient() => Err(err),
        Err(err) => {
            tracing::debug!(code = ?err.code, message = %err.message, "a step of a merge's move was refused");
            Ok(())
        }
    }
}

struct Shelved {
    status: Option<ShelfStatus>,
    status_on: Option<NaiveDate>,
    started_on: Option<NaiveDate>,
    finished_on: Option<NaiveDate>,
    read_count: i32,
    status_position: i64,
    edition_isbn: Option<String>,
}

async fn move_reader(app: &Worker, merge: &Merge, reader: Uuid) -> Result<(), Refusal> {
    let (duplicate, into) = (merge.duplicate.to_string(), merge.into_id.to_string());
    let pool = &app.pool;

    // The rating: the more recent of the two stays on the book merged into.
    let rating = |book: Uuid| {
        sqlx::query!("SELECT quarter_stars, rated_at FROM ratings WHERE reader_id = $1 AND book_id = $2", reader, book)
            .fetch_optional(pool)
    };
    if let Some(old) = rating(merge.duplicate).await? {
        let newer = rating(merge.into_id).await?.is_none_or(|kept| old.rated_at > kept.rated_at);
        if newer {
            let rate = pb::RateBook {
                meta: meta(merge, reader, "rate"),
                book_id: into.clone(),
                stars: 0,
                quarter_stars: i32::from(old.quarter_stars),
            };
            send(app, &rate).await?;
        }
        send(app, &pb::ClearRating { meta: meta(merge, reader, "clear"), book_id: duplicate.clone() }).await?;
    }

    // The shelf entry: the more recently shelved one's status and days; every custom shelf.
    let shelved = |book: Uuid| {
        sqlx::query_as!(
            Shelved,
            r#"SELECT status AS "status: ShelfStatus", status_on, started_on, finished_on, read_count, status_position,
                    edition_isbn
             FROM shelf_entries WHERE reader_id = $1 AND book_id = $2"#,
            reader,
            book
        )
        .fetch_optional(pool)
    };
    let old = shelved(merge.duplicate).await?;
    let shelves = sqlx::query_scalar!(
        "SELECT shelf FROM custom_shelf_entries WHERE reader_id = $1 AND book_id = $2 ORDER BY position",
        reader,
        merge.duplicate
    )
    .fetch_all(pool)
    .await?;
    if let Some(old) = old.as_ref().filter(|old| old.status.is_some()) {
        let kept = shelved(merge.into_id).await?;
        if kept.as_ref().is_none_or(|kept| kept.status.is_none() || old.status_position > kept.status_position) {
            move_status(app, merge, reader, old).await?;
            // The copy's ISBN, the reader's own where the catalog lists no edition with it (an
            // edition of the duplicate is refused: a librarian's merge moves those).
            if let Some(isbn) = &old.edition_isbn {
                let note =
                    pb::NoteIsbn { meta: meta(merge, reader, "isbn"), book_id: into.clone(), isbn: isbn.clone() };
                send(app, &note).await?;
            }
        }
    }
    for shelf in shelves.iter() {
        let add = pb::AddToShelf {
            meta: meta(merge, reader, &format!("shelf:{shelf}")),
            book_id: into.clone(),
            shelf: shelf.clone(),
        };
        send(app, &add).await?;
    }
    if old.is_some() || !shelves.is_empty() {
        send(app, &pb::RemoveFromShelves { meta: meta(merge, reader, "unshelve"), book_id: duplicate.clone() }).await?;
    }

    // The review: published on the book merged into, or its text there if the duplicate's is newer.
    let review = sqlx::query!(
        "SELECT body, contains_spoilers, written_on, coalesce(edited_at, published_at) AS \"changed_at!: DateTime<Utc>\"
         FROM reviews WHERE reader_id = $1 AND book_id = $2 AND NOT withdrawn",
        reader,
        merge.duplicate
    )
    .fetch_optional(pool)
    .await?;
    if let Some(old) = review {
        let kept = sqlx::query_scalar!(
            "SELECT coalesce(edited_at, published_at) AS \"changed_at!: DateTime<Utc>\"
             FROM reviews WHERE reader_id = $1 AND book_id = $2 AND NOT withdrawn",
            reader,
            merge.into_id
        )
        .fetch_optional(pool)
        .await?;
        match kept {
            None => {
                let publish = pb::PublishReview {
                    meta: meta(merge, reader, "review"),
                    book_id: into.clone(),
                    body: old.body,
                    contains_spoilers: old.contains_spoilers,
                    written_on: old.written_on.to_string(),
                };
                send(app, &publish).await?;
            }
            Some(changed_at) if old.changed_at > changed_at => {
                let edit = pb::EditReview {
                    meta: meta(merge, reader, "review-edit"),
                    author_id: reader.to_string(),
                    book_id: into.clone(),
                    body: Some(old.body),
                    contains_spoilers: Some(old.contains_spoilers),
                };
                send(app, &edit).await?;
            }
            Some(_) => {}
        }
        let withdraw = pb::WithdrawReview {
            meta: meta(merge, reader, "withdraw"),
            author_id: reader.to_string(),
            book_id: duplicate,
        };
        send(app, &withdraw).await?;
    }
    Ok(())
}

/// The duplicate's shelf status, on its days, on the book merged into.
async fn move_status(app: &Worker, merge: &Merge, reader: Uuid, old: &Shelved) -> Result<(), Refusal> {
    let into = merge.into_id.to_string();
    let day = |date: Option<NaiveDate>| date.map(|d| d.to_string()).unwrap_or_default();
    match old.status {
        Some(ShelfStatus::WantToRead) => {
            send(app, &pb::WantToRead { meta: meta(merge, reader, "want"), book_id: into, on: day(old.status_on) })
                .await
        }
        Some(ShelfStatus::CurrentlyReading) => {
            let start =
                pb::StartReading { meta: meta(merge, reader, "start"), book_id: into, started_on: day(old.started_on) };
            send(app, &start).await
        }
        Some(ShelfStatus::Paused) => {
            let start = pb::StartReading {
                meta: meta(merge, reader, "start"),
                book_id: into.clone(),
                started_on: day(old.started_on),
            };
            send(app, &start).await?;
            send(app, &pb::PauseReading { meta: meta(merge, reader, "pause"), book_id: into, on: day(old.status_on) })
                .await
        }
        Some(ShelfStatus::Read) => {
            for time in 1..old.read_count.max(1) {
                let earlier = pb::FinishReading {
                    meta: meta(merge, reader, &format!("finish:{time}")),
                    book_id: into.clone(),
                    finished_on: day(old.finished_on),
                    reread: time > 1,
                };
                send(app, &earlier).await?;
            }
            if old.started_on.is_some() {
                let start = pb::StartReading {
                    meta: meta(merge, reader, "start"),
                    book_id: into.clone(),
                    started_on: day(old.started_on),
                };
                send(app, &start).await?;
            }
            send(
                app,
                &pb::FinishReading {
                    meta: meta(merge, reader, "finish"),
                    book_id: into,
                    finished_on: day(old.finished_on),
                    // After the earlier reads the copy is read: the last is one more.
                    reread: old.read_count > 1,
                },
            )
            .await
        }
        Some(ShelfStatus::DidNotFinish) => {
            let abandon = pb::AbandonReading {
                meta: meta(merge, reader, "abandon"),
                book_id: into,
                on: day(old.status_on),
                note: String::new(),
            };
            send(app, &abandon).await
        }
        None => Ok(()),
    }
}
