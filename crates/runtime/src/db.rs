//! Postgres: one pool per process, the migrations under `schema/migrations` applied at start,
//! and what a database failure means to a client.

use std::time::Duration;

use readstream_contracts::{Code, Rejection};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tokio_util::sync::CancellationToken;

use crate::{config::StartError, DatabaseConfig};

/// How long a query waits for a connection before it fails as out of reach. While Postgres
/// restarts, sqlx tries to connect again with a backoff of up to a fifth of this: short, so a
/// request finds Postgres within a second of its return, and a client hears `UNAVAILABLE`
/// (try again) within seconds rather than hanging for sqlx's default of 30 s.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects, trying again with backoff while Postgres is out of reach (until `shutdown`), and
/// applies every pending migration (concurrent starters wait on sqlx's lock).
pub async fn connect_and_migrate(config: &DatabaseConfig, shutdown: &CancellationToken) -> Result<PgPool, StartError> {
    let (options, connect) = (pool_options(config), connect_options(config)?);
    let pool = crate::config::with_backoff("Postgres", shutdown, || async {
        Ok(options.clone().connect_with(connect.clone()).await?)
    })
    .await?;
    sqlx::migrate!("../../schema/migrations").run(&pool).await?;
    Ok(pool)
}

/// Postgres plans a prepared statement again at every execution while its plan for any
/// parameters looks costlier than the ones for the parameters given, which it does for every
/// statement with optional parameters (`$2::text[] IS NULL OR kind = ANY($2)`): the feed page's
/// statement spent 0.55 ms planning and 0.14 ms running. `generic_plans` plans it once per
/// connection; its plans for keyset pages and lookups by key are the same.
///
/// `asynchronous_commit` lets a commit return before its write-ahead log is on disk (Postgres
/// writes it within 3 × `wal_writer_delay`, 600 ms by default). A crash of Postgres may then
/// lose the last commits, whole and in order, never part of one: for the projector, whose
/// batches commit their checkpoint with their rows, that is its checkpoint going back a few
/// batches, which it applies again from the stream. Its commits no longer wait for the disk's
/// flush, whose stalls on a durable server held the projection lag's p99 at 117–166 ms.
fn connect_options(config: &DatabaseConfig) -> Result<PgConnectOptions, sqlx::Error> {
    let mut options: PgConnectOptions = config.database_url.parse()?;
    if config.generic_plans {
        options = options.options([("plan_cache_mode", "force_generic_plan")]);
    }
    if config.asynchronous_commit {
        options = options.options([("synchronous_commit", "off")]);
    }
    Ok(options)
}

/// sqlx tests a connection with a round trip to Postgres before handing it out (by default) and
/// as it goes back to the pool. Each is a second round trip for every query: the one before
/// handing out is turned off here; the one on the way back is made only when the connection's
/// last exchange did not run to its end (a failed or cancelled query, a transaction dropped
/// open), by readstream's patch to sqlx (`vendor/README.md`). A connection that broke while
/// idle in the pool (Postgres restarted) fails its next query with an I/O error, which is
/// `UNAVAILABLE` (try again) like any moment Postgres is out of reach; that query did not end,
/// so the connection is tested on its way back and dropped (`tests/pool.rs`).
fn pool_options(config: &DatabaseConfig) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(config.database_max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
}

/// Whether a database failure is Postgres out of reach (down, starting, restarting, out of
/// connections), which trying again may cure.
pub fn is_unreachable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // Connection exceptions (08), too many connections (53300), starting up or shutting
        // down (57P01..57P03).
        sqlx::Error::Database(db) => {
            db.code().is_some_and(|code| code.starts_with("08") || code == "53300" || code.starts_with("57P"))
        }
        _ => false,
    }
}

/// What a database failure means to a client, the one mapping every process uses: out of reach
/// (`UNAVAILABLE`: try again) or a fault inside (`INTERNAL`). The cause is logged, never sent.
pub fn failure(err: &sqlx::Error) -> Rejection {
    match err {
        err if is_unreachable(err) => {
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

    #[tokio::test]
    async fn a_pool_for_reads_plans_each_statement_once_and_others_as_postgres_chooses(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let url = std::env::var("DATABASE_URL")?;
        for (generic_plans, mode) in [(true, "force_generic_plan"), (false, "auto")] {
            let config = DatabaseConfig { generic_plans, ..DatabaseConfig::new(&url) };
            let pool = pool_options(&config).connect_with(connect_options(&config)?).await?;
            let shown: String = sqlx::query_scalar("SHOW plan_cache_mode").fetch_one(&pool).await?;
            assert_eq!(shown, mode);
            pool.close().await;
        }
        Ok(())
    }

    #[sqlx::test]
    async fn only_a_pool_asked_to_commits_without_waiting_for_the_disk_and_keeps_its_other_settings(
        pool: PgPool,
    ) -> Result<(), Box<dyn std::error::Error>> {
        // The test server commits asynchronously; this database, as a durable server would not.
        let database: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&pool).await?;
        sqlx::query(&format!("ALTER DATABASE \"{database}\" SET synchronous_commit = on")).execute(&pool).await?;
        let url = sqlx::ConnectOptions::to_url_lossy(&*pool.connect_options()).to_string();
        for (asynchronous_commit, expected) in [(true, "off"), (false, "on")] {
            let config = DatabaseConfig { asynchronous_commit, generic_plans: true, ..DatabaseConfig::new(&url) };
            let pool = pool_options(&config).connect_with(connect_options(&config)?).await?;
            let shown: String = sqlx::query_scalar("SHOW synchronous_commit").fetch_one(&pool).await?;
            assert_eq!(shown, expected);
            let plans: String = sqlx::query_scalar("SHOW plan_cache_mode").fetch_one(&pool).await?;
            assert_eq!(plans, "force_generic_plan", "one setting must not replace the other");
            pool.close().await;
        }
        Ok(())
    }

    #[tokio::test]
    async fn a_query_while_postgres_is_down_fails_as_unavailable_within_seconds() {
        // Nothing listens on port 1: what a restarting Postgres looks like to the pool.
        let config = DatabaseConfig::new("postgres://postgres@127.0.0.1:1/readstream");
        let pool = pool_options(&config).connect_lazy(&config.database_url).expect("a lazy pool");
        let started = std::time::Instant::now();
        let err = pool.acquire().await.expect_err("no server");
        assert_eq!(failure(&err).code, Code::Unavailable, "{err}");
        // sqlx's default would hold the request 30 s, retrying with waits of up to 6 s.
        assert!(started.elapsed() < ACQUIRE_TIMEOUT + Duration::from_secs(3), "{:?}", started.elapsed());
    }
}
