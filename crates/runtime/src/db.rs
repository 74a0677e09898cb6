//! Postgres: one pool per process, the migrations under `schema/migrations` applied at start.

use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::{config::StartError, DatabaseConfig};

/// Connects and applies every pending migration (concurrent starters wait on sqlx's lock).
pub async fn connect_and_migrate(config: &DatabaseConfig) -> Result<PgPool, StartError> {
    let pool =
        PgPoolOptions::new().max_connections(config.database_max_connections).connect(&config.database_url).await?;
    sqlx::migrate!("../../schema/migrations").run(&pool).await?;
    Ok(pool)
}
