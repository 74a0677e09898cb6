//! Helpers for tests, the seed loader and benchmarks: the servers `make test` started, a fresh
//! namespace and database per test, and a GraphQL client over HTTP and WebSocket.

pub mod graphql;

use std::time::Duration;

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

/// Waits, bounded, until some replica of `service` answers commands in `namespace`.
pub async fn wait_for_service(client: &async_nats::Client, namespace: &str, service: &str) -> anyhow::Result<()> {
    let subject = format!("{namespace}.cmd.{service}.ping");
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    for _ in 0..1_000 {
        tick.tick().await;
        match client.request(subject.clone(), Default::default()).await {
            Ok(_) => return Ok(()),
            Err(err) if err.kind() == async_nats::RequestErrorKind::NoResponders => continue,
            Err(err) => return Err(err.into()),
        }
    }
    anyhow::bail!("{service} did not start answering commands within 10 s")
}

/// Waits, bounded, until the gateway at `base_url` reports ready.
pub async fn wait_for_gateway(base_url: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    for _ in 0..1_000 {
        tick.tick().await;
        if let Ok(response) = http.get(format!("{base_url}/readyz")).send().await {
            if response.status().is_success() {
                return Ok(());
            }
        }
    }
    anyhow::bail!("the gateway at {base_url} was not ready within 10 s")
}
