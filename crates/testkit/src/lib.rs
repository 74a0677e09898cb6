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

/// Ports a caller may pick: below the kernel's ephemeral range (32768–60999 by default), so no
/// socket bound to port 0, in this process or any other, takes the port between the check and
/// the server's own bind.
const CHOSEN_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A free local port for a server a test starts, which binds it itself later.
pub fn free_port() -> anyhow::Result<u16> {
    for _ in 0..100 {
        let [a, b, ..] = *uuid::Uuid::new_v4().as_bytes();
        let span = CHOSEN_PORTS.end - CHOSEN_PORTS.start;
        let port = CHOSEN_PORTS.start + u16::from_le_bytes([a, b]) % span;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    anyhow::bail!("no free port in {CHOSEN_PORTS:?} after 100 tries")
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
