//! Readers' public profiles.

use readstream_contracts::Event;
use readstream_eventstore::Stored;
use readstream_projection::{LiveUpdate, Projection};
use sqlx::PgConnection;

pub struct Readers;

impl Projection for Readers {
    fn name(&self) -> &'static str {
        "readers"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["readers"]
    }

    async fn apply(&self, tx: &mut PgConnection, batch: &[Stored]) -> Result<Vec<LiveUpdate>, sqlx::Error> {
        let (mut ids, mut handles, mut names, mut joined, mut positions) = (vec![], vec![], vec![], vec![], vec![]);
        for stored in batch {
            for recorded in &stored.envelope.events {
                if let Event::ReaderRegistered { reader_id, handle, display_name } = &recorded.event {
                    ids.push(*reader_id);
                    handles.push(handle.clone());
                    names.push(display_name.clone());
                    joined.push(stored.envelope.meta.occurred_at);
                    positions.push(stored.position as i64);
                }
            }
        }
        if !ids.is_empty() {
            sqlx::query!(
                "INSERT INTO readers (reader_id, handle, display_name, joined_at, position)
                 SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[])
                 ON CONFLICT (reader_id) DO NOTHING",
                &ids,
                &handles,
                &names,
                &joined,
                &positions
            )
            .execute(&mut *tx)
            .await?;
        }
        Ok(Vec::new())
    }
}
