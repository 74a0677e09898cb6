//! The pool every process uses, against the Postgres `make test` started: a connection whose
//! query ran to its end goes back without a second round trip (the patched sqlx under
//! `vendor/`), and one that broke while idle still fails one query and is replaced.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use readstream_runtime::{db, DatabaseConfig};
use sqlx::{postgres::PgConnectOptions, Connection as _, PgConnection, PgPool};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
};
use tokio_util::sync::CancellationToken;

/// A pool of one connection over a fresh, migrated database, reached through `url`.
async fn pool_of_one(url: &str) -> anyhow::Result<PgPool> {
    let mut config = DatabaseConfig::new(url);
    config.database_max_connections = 1;
    Ok(db::connect_and_migrate(&config, &CancellationToken::new()).await?)
}

#[tokio::test]
async fn a_query_that_ran_to_its_end_goes_back_to_the_pool_without_a_second_round_trip() -> anyhow::Result<()> {
    let database = readstream_testkit::fresh_database().await?;
    let proxy = SyncCounter::start(&database).await?;
    let pool = pool_of_one(&proxy.url).await?;
    let query = || sqlx::query_scalar::<_, i32>("SELECT $1::int4 + 1").bind(41);
    assert_eq!(query().fetch_one(&pool).await?, 42, "prepares the statement");
    // The pool has one connection: acquiring it waits until the last one's release is done.
    drop(pool.acquire().await?);

    let before = proxy.syncs();
    for _ in 0..10 {
        assert_eq!(query().fetch_one(&pool).await?, 42);
    }
    drop(pool.acquire().await?);
    assert_eq!(
        proxy.syncs() - before,
        10,
        "each query is one Bind, Execute, Sync; a second Sync per query is sqlx's ping on release"
    );
    Ok(())
}

#[tokio::test]
async fn a_connection_broken_while_idle_fails_one_query_and_is_replaced() -> anyhow::Result<()> {
    let database = readstream_testkit::fresh_database().await?;
    let pool = pool_of_one(&database).await?;
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&pool).await?;

    let mut admin = PgConnection::connect(&database).await?;
    sqlx::query("SELECT pg_terminate_backend($1)").bind(pid).execute(&mut admin).await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1)")
        .bind(pid)
        .fetch_one(&mut admin)
        .await?
    {
        anyhow::ensure!(Instant::now() < deadline, "backend {pid} still running 10 s after its termination");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let err = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&pool).await.expect_err("its backend is gone");
    assert!(db::is_unreachable(&err), "a broken connection is out of reach, not a fault: {err}");
    for _ in 0..3 {
        let replaced: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&pool).await?;
        assert_ne!(replaced, pid, "the broken connection went back to the pool");
    }
    Ok(())
}

/// A TCP proxy in front of Postgres that counts the `Sync` messages clients send: one ends
/// every exchange of the extended query protocol, and sqlx's ping is a `Sync` alone.
struct SyncCounter {
    url: String,
    syncs: Arc<AtomicUsize>,
}

impl SyncCounter {
    async fn start(database_url: &str) -> anyhow::Result<Self> {
        let options: PgConnectOptions = database_url.parse()?;
        let upstream = format!("{}:{}", options.get_host(), options.get_port());
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        // The same URL with the proxy's address, and no TLS so the messages can be read.
        let (user, rest) = database_url.rsplit_once('@').context("the test URL names a user")?;
        let (_, database) = rest.split_once('/').context("the test URL names a database")?;
        let url = format!(
            "{user}@127.0.0.1:{port}/{database}{}sslmode=disable",
            if database.contains('?') { '&' } else { '?' }
        );
        let syncs = Arc::new(AtomicUsize::new(0));
        let counted = syncs.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, counted) = (upstream.clone(), counted.clone());
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        let _ = relay(client, server, &counted).await;
                    }
                });
            }
        });
        Ok(SyncCounter { url, syncs })
    }

    fn syncs(&self) -> usize {
        self.syncs.load(Ordering::SeqCst)
    }
}

/// Relays one connection both ways, counting the client's `Sync` messages. The client's first
/// message (the startup message) has no type byte; every later one is a type byte and a
/// length that counts itself.
async fn relay(client: TcpStream, server: TcpStream, syncs: &AtomicUsize) -> std::io::Result<()> {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let answers = tokio::spawn(async move { tokio::io::copy(&mut server_read, &mut client_write).await });

    let mut pending = Vec::new();
    let mut started = false;
    let mut chunk = [0u8; 8192];
    loop {
        let read = client_read.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        server_write.write_all(&chunk[..read]).await?;
        pending.extend_from_slice(&chunk[..read]);
        loop {
            let header = if started { 5 } else { 4 };
            if pending.len() < header {
                break;
            }
            let length_at = header - 4;
            let [a, b, c, d] = pending[length_at..header] else { unreachable!("a length is four bytes") };
            let whole = length_at + u32::from_be_bytes([a, b, c, d]) as usize;
            if pending.len() < whole {
                break;
            }
            if started && pending[0] == b'S' {
                syncs.fetch_add(1, Ordering::SeqCst);
            }
            started = true;
            pending.drain(..whole);
        }
    }
    answers.abort();
    Ok(())
}
