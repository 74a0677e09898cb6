//! Postgres: one pool per process, the migrations under `schema/migrations` applied at start,
//! and what a database failure means to a client.

use readstream_contracts::{Code, Rejection};
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::{config::StartError, DatabaseConfig};

/// Connects and applies every pending migration (concurrent starters wait on sqlx's lock).
pub async fn connect_and_migrate(config: &DatabaseConfig) -> Result<PgPool, StartError> {
    let pool =
        PgPoolOptions::new().max_connections(config.database_max_connections).connect(&config.database_url).await?;
    sqlx::migrate!("../../schema/migrations").run(&pool).await?;
    Ok(pool)
}

/// What a database failure means to a client, the one mapping every process uses: out of reach
/// (`UNAVAILABLE`: try again) or a fault inside (`INTERNAL`). The cause is logged, never sent.
pub fn failure(err: &sqlx::Error) -> Rejection {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => {
            tracing::warn!(error = %err, "the database is out of reach");
            Rejection::new(Code::Unavailable, "the database is unavailable; try again")
        }
        _ => {
            tracing::error!(error = %err, "database failure");
            Rejection::new(Code::Internal, "internal error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_database_is_unavailable_and_a_failing_query_internal() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        for err in [sqlx::Error::PoolTimedOut, sqlx::Error::PoolClosed, sqlx::Error::Io(refused)] {
            assert_eq!(failure(&err).code, Code::Unavailable, "{err}");
        }
        for err in [sqlx::Error::RowNotFound, sqlx::Error::ColumnNotFound("stars".into())] {
            assert_eq!(failure(&err).code, Code::Internal, "{err}");
        }
    }
}
