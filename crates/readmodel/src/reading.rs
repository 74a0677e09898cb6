//! The reading context's batched reads: a book's shelf counts, a reader's custom shelves holding
//! a book.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{Database, Failure};

/// A row of `book_shelf_counts`: how many readers have the book on each built-in shelf.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShelfCountsRow {
    pub want_to_read: i64,
    pub currently_reading: i64,
    pub read: i64,
    pub did_not_finish: i64,
    pub paused: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShelfCountsOf(pub Uuid);
/// A reader's custom shelves holding a book: (reader, book).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CustomShelvesOf(pub Uuid, pub Uuid);

impl Loader<ShelfCountsOf> for Database {
    type Value = ShelfCountsRow;
    type Error = Failure;

    async fn load(&self, keys: &[ShelfCountsOf]) -> Result<HashMap<ShelfCountsOf, ShelfCountsRow>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = sqlx::query!(
            "SELECT book_id, want_to_read, currently_reading, paused, read, did_not_finish
             FROM book_shelf_counts WHERE book_id = ANY($1)",
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let counts = ShelfCountsRow {
                    want_to_read: r.want_to_read,
                    currently_reading: r.currently_reading,
                    read: r.read,
                    did_not_finish: r.did_not_finish,
                    paused: r.paused,
                };
                (ShelfCountsOf(r.book_id), counts)
            })
            .collect())
    }
}

impl Loader<CustomShelvesOf> for Database {
    type Value = Vec<String>;
    type Error = Failure;

    async fn load(&self, keys: &[CustomShelvesOf]) -> Result<HashMap<CustomShelvesOf, Vec<String>>, Failure> {
        let (readers, books): (Vec<Uuid>, Vec<Uuid>) = keys.iter().map(|k| (k.0, k.1)).unzip();
        let rows = sqlx::query!(
            "SELECT c.reader_id, c.book_id, c.shelf
             FROM custom_shelf_entries c JOIN UNNEST($1::uuid[], $2::uuid[]) AS k(reader_id, book_id)
                  ON c.reader_id = k.reader_id AND c.book_id = k.book_id
             ORDER BY c.shelf_key",
            &readers,
            &books
        )
        .fetch_all(&self.0)
        .await?;
        let mut shelves: HashMap<CustomShelvesOf, Vec<String>> = HashMap::new();
        for row in rows {
            shelves.entry(CustomShelvesOf(row.reader_id, row.book_id)).or_default().push(row.shelf);
        }
        Ok(shelves)
    }
}

/// A book's shelf counts now and the stream position they include (zeros at 0 when unshelved).
pub async fn shelf_counts_now(pool: &PgPool, book_id: Uuid) -> Result<(ShelfCountsRow, u64), sqlx::Error> {
    let row = sqlx::query!(
        "SELECT want_to_read, currently_reading, paused, read, did_not_finish, position FROM book_shelf_counts WHERE book_id = $1",
        book_id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map_or((ShelfCountsRow::default(), 0), |r| {
        let counts = ShelfCountsRow {
            want_to_read: r.want_to_read,
            currently_reading: r.currently_reading,
            read: r.read,
            did_not_finish: r.did_not_finish,
            paused: r.paused,
        };
        (counts, r.position as u64)
    }))
}
