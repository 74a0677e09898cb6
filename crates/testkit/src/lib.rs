//! Helpers for tests, the seed loader and benchmarks: the servers `make test` started, a fresh
//! namespace and database per test, the wait until a started stack is ready, and a GraphQL
//! client over HTTP and WebSocket, the given/when/then harness of the deciders, and a NATS
//! server of a test's own to restart.

pub mod decider;
pub mod demo;
pub mod graphql;
pub mod own_nats;
pub mod ready;

use anyhow::Context as _;
use sqlx::{Connection, PgConnection};

/// The NATS server `make test` started (`NATS_URL`).
pub fn nats_url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// The Postgres server `make test` started (`DATABASE_URL`, any database on it).
pub fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A namespace no other test uses, so tests share one NATS server without meeting.
pub fn namespace() -> String {
    format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// Creates an empty database on the test server and returns its URL.
pub async fn fresh_database() -> anyhow::Result<String> {
    let admin_url = database_url();
    let mut admin = PgConnection::connect(&admin_url).await.context("connecting to the test Postgres")?;
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
    Ok(format!("{base}/{name}"))
}
