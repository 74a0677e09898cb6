//! Lists: each reader's lists (`lists`), their books with their votes (`list_books`) and who
//! voted for what (`list_votes`). Lists change a few times a day, not thousands a second, so
//! each event is one statement, in stream order.

use readstream_contracts::{ListEvent, ReadModel};
use readstream_eventstore::Stored;
use readstream_projection::{LiveUpdate, Projection};
use sqlx::PgConnection;
use uuid::Uuid;

pub struct Lists;

impl Projection for Lists {
    fn read_model(&self) -> ReadModel {
        ReadModel::Lists
    }

    fn tables(&self) -> &'static [&'static str] {
        &["lists", "list_books", "list_votes"]
    }

    /// Their lists stay, with their books and votes, without their title and description (the
    /// reader's own words) or owner; their votes stay counted, no longer theirs.
    async fn forget_reader(&self, tx: &mut PgConnection, reader_id: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query!("UPDATE lists SET owner_id = NULL, title = '', description = '' WHERE owner_id = $1", reader_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query!("UPDATE list_books SET added_by = NULL WHERE added_by = $1", reader_id).execute(&mut *tx).await?;
        sqlx::query!("DELETE FROM list_votes WHERE reader_id = $1", reader_id).execute(&mut *tx).await?;
        Ok(())
    }

    async fn apply(&self, tx: &mut PgConnection, batch: &[Stored]) -> Result<Vec<LiveUpdate>, sqlx::Error> {
        for stored in batch {
            for recorded in &stored.envelope.events {
                if let Some(event) = readstream_contracts::ContextEvent::of(&recorded.event) {
                    apply(tx, event, stored).await?;
                }
            }
        }
        Ok(Vec::new())
    }
}

async fn apply(tx: &mut PgConnection, event: &ListEvent, stored: &Stored) -> Result<(), sqlx::Error> {
    let position = stored.position as i64;
    match event {
        ListEvent::ListCreated { list_id, owner_id, title, description } => {
            sqlx::query!(
                "INSERT INTO lists (list_id, owner_id, title, description, created_at, position)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (list_id) DO NOTHING",
                list_id,
                owner_id,
                title,
                description,
                stored.envelope.meta.occurred_at,
                position
            )
            .execute(&mut *tx)
            .await?;
        }
        ListEvent::ListEdited { list_id, title, description, .. } => {
            sqlx::query!(
                "UPDATE lists SET title = $2, description = $3 WHERE list_id = $1",
                list_id,
                title,
                description
            )
            .execute(&mut *tx)
            .await?;
        }
        ListEvent::ListDeleted { list_id } => {
            sqlx::query!(
                "WITH books AS (DELETE FROM list_books WHERE list_id = $1),
                      votes AS (DELETE FROM list_votes WHERE list_id = $1)
                 DELETE FROM lists WHERE list_id = $1",
                list_id
            )
            .execute(&mut *tx)
            .await?;
        }
        ListEvent::ListHidden { list_id, hidden } => {
            sqlx::query!("UPDATE lists SET hidden = $2 WHERE list_id = $1", list_id, hidden).execute(&mut *tx).await?;
        }
        ListEvent::BookListed { list_id, book_id, reader_id } => {
            sqlx::query!(
                "WITH added AS (
                     INSERT INTO list_books (list_id, book_id, added_by, position) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (list_id, book_id) DO NOTHING RETURNING list_id
                 )
                 UPDATE lists SET books = books + 1 WHERE list_id IN (SELECT list_id FROM added)",
                list_id,
                book_id,
                reader_id,
                position
            )
            .execute(&mut *tx)
            .await?;
        }
        ListEvent::BookUnlisted { list_id, book_id } => {
            sqlx::query!(
                "WITH gone AS (DELETE FROM list_books WHERE list_id = $1 AND book_id = $2 RETURNING votes),
                      votes AS (DELETE FROM list_votes WHERE list_id = $1 AND book_id = $2)
                 UPDATE lists SET books = books - 1, votes = votes - (SELECT votes FROM gone)
                 WHERE list_id = $1 AND EXISTS (SELECT 1 FROM gone)",
                list_id,
                book_id
            )
            .execute(&mut *tx)
            .await?;
        }
        ListEvent::ListVoteCast { list_id, book_id, reader_id } => {
            vote(tx, *list_id, *book_id, *reader_id, 1).await?;
        }
        ListEvent::ListVoteWithdrawn { list_id, book_id, reader_id } => {
            vote(tx, *list_id, *book_id, *reader_id, -1).await?;
        }
    }
    Ok(())
}

/// A vote cast (`change` 1) or withdrawn (−1): its row, and the book's and the list's counts,
/// moved only if the row did (a book taken off the list took its votes with it).
async fn vote(
    tx: &mut PgConnection,
    list_id: Uuid,
    book_id: Uuid,
    reader_id: Uuid,
    change: i32,
) -> Result<(), sqlx::Error> {
    let moved = if change > 0 {
        sqlx::query!(
            "INSERT INTO list_votes (list_id, book_id, reader_id)
             SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM list_books WHERE list_id = $1 AND book_id = $2)
             ON CONFLICT DO NOTHING",
            list_id,
            book_id,
            reader_id
        )
        .execute(&mut *tx)
        .await?
    } else {
        sqlx::query!(
            "DELETE FROM list_votes WHERE list_id = $1 AND book_id = $2 AND reader_id = $3",
            list_id,
            book_id,
            reader_id
        )
        .execute(&mut *tx)
        .await?
    };
    if moved.rows_affected() == 0 {
        return Ok(());
    }
    sqlx::query!(
        "WITH book AS (UPDATE list_books SET votes = votes + $3 WHERE list_id = $1 AND book_id = $2)
         UPDATE lists SET votes = votes + $3 WHERE list_id = $1",
        list_id,
        book_id,
        change
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
