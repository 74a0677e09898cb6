//! The servers as `make run` and `make test` start them, and the processes meeting them down.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::Context as _;

use super::{bin_dir, free_port, root};

/// A data folder of its own, removed at the end; stops the servers a script started in it.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("readstream-servers-{}", uuid::Uuid::new_v4().simple()));
        // Made here for the processes' logs (a failure shows when one is written).
        let _ = std::fs::create_dir_all(&dir);
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = Command::new(root().join("deploy/local/stop-nats.sh")).arg(self.path("nats")).output();
        let _ = Command::new(root().join("deploy/local/stop-postgres.sh")).arg(self.path("postgres")).output();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn script(name: &str, args: &[&str], env: &[(&str, String)]) -> anyhow::Result<String> {
    let output = Command::new(root().join("deploy/local").join(name))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {name}"))?;
    anyhow::ensure!(output.status.success(), "{name} failed: {}", String::from_utf8_lossy(&output.stderr));
    Ok(String::from_utf8(output.stdout)?.lines().last().unwrap_or_default().to_owned())
}

/// JetStream's settings as the running server reports them on its monitoring port.
async fn jetstream_config(http_port: u16) -> anyhow::Result<serde_json::Value> {
    let varz: serde_json::Value = reqwest::get(format!("http://127.0.0.1:{http_port}/varz")).await?.json().await?;
    Ok(varz["jetstream"]["config"].clone())
}

#[tokio::test]
async fn make_runs_nats_fsyncing_every_write_before_it_acknowledges_it() -> anyhow::Result<()> {
    let scratch = Scratch::new();
    // `make run` starts NATS as `start-nats.sh <dir> <port>`, through servers.sh without
    // --throwaway; `make test` passes --throwaway.
    for (args, fsync_always) in [(vec![], true), (vec!["--throwaway"], false)] {
        let (port, http_port) = (free_port()?.to_string(), free_port()?);
        let data = scratch.path("nats");
        let data = data.to_str().context("a UTF-8 path")?;
        script(
            "start-nats.sh",
            &[&[data, &port], args.as_slice()].concat(),
            &[("NATS_HTTP_PORT", http_port.to_string())],
        )?;
        let config = jetstream_config(http_port).await?;
        script("stop-nats.sh", &[data], &[])?;
        assert_eq!(config["sync_always"].as_bool().unwrap_or(false), fsync_always, "{args:?}: {config}");
    }
    Ok(())
}

/// A service binary started with these servers' URLs, in a namespace of its own, answering
/// health probes on `health_port`.
/// Starts `process`, its log (stderr) written to `log`.
fn start(
    process: &str,
    nats_url: &str,
    database_url: &str,
    namespace: &str,
    health_port: u16,
    log: &Path,
) -> anyhow::Result<Child> {
    Ok(Command::new(bin_dir()?.join(format!("readstream-{process}")))
        .env("HEALTH_ADDR", format!("127.0.0.1:{health_port}"))
        .env("NATS_URL", nats_url)
        .env("DATABASE_URL", database_url)
        .env("READSTREAM_NAMESPACE", namespace)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .spawn()?)
}

/// Waits until `log` says `what`.
fn logged(log: &Path, what: &str, bound: Duration) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + bound;
    while !std::fs::read_to_string(log)?.contains(what) {
        anyhow::ensure!(std::time::Instant::now() < deadline, "{log:?} did not say {what:?} within {bound:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Whether `process` answers readiness probes within `bound`.
fn ready(process: &str, nats_url: &str, namespace: &str, bound: Duration) -> anyhow::Result<bool> {
    let status = Command::new(bin_dir()?.join("readstream-ready"))
        .args(["--timeout-secs", &bound.as_secs().to_string(), process])
        .env("NATS_URL", nats_url)
        .env("READSTREAM_NAMESPACE", namespace)
        .stdout(Stdio::null())
        .status()?;
    Ok(status.success())
}

/// `GET path` on a local port, as a probe asks: the status and the body.
fn probe(port: u16, path: &str) -> anyhow::Result<(u16, String)> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer.split(' ').nth(1).context("no status")?.parse()?;
    let body = answer.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    Ok((status, body))
}

fn stop(mut child: Child) -> anyhow::Result<()> {
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?;
    child.wait()?;
    Ok(())
}

#[test]
fn processes_started_before_nats_and_postgres_wait_for_them_and_become_ready() -> anyhow::Result<()> {
    let scratch = Scratch::new();
    let (nats_port, pg_port) = (free_port()?, free_port()?);
    let nats_url = format!("nats://127.0.0.1:{nats_port}");
    let database_url = format!("postgres://postgres@127.0.0.1:{pg_port}/postgres");
    let namespace = format!("t{}", uuid::Uuid::new_v4().simple());
    let (projector_health, ratings_health) = (free_port()?, free_port()?);
    let (projector_log, ratings_log) = (scratch.path("projector.log"), scratch.path("ratings.log"));
    let projector = start("projector", &nats_url, &database_url, &namespace, projector_health, &projector_log)?;
    let mut ratings = start("ratings", &nats_url, &database_url, &namespace, ratings_health, &ratings_log)?;
    // Each has tried a server, found it out of reach, and is waiting to try again.
    let retrying = "cannot reach the server yet; trying again";
    logged(&ratings_log, retrying, Duration::from_secs(30))?;
    logged(&projector_log, retrying, Duration::from_secs(30))?;
    anyhow::ensure!(ratings.try_wait()?.is_none(), "the ratings service exited while NATS was down");
    // Alive, and saying why it is not ready.
    assert_eq!(probe(ratings_health, "/healthz")?, (200, "ok\n".to_owned()));
    assert_eq!(probe(ratings_health, "/readyz")?, (503, "nats: down\n".to_owned()));
    assert_eq!(probe(projector_health, "/readyz")?, (503, "postgres: down\nnats: down\n".to_owned()));

    let data = |name| scratch.path(name).to_str().map(str::to_owned).context("a UTF-8 path");
    script("start-nats.sh", &[&data("nats")?, &nats_port.to_string(), "--throwaway"], &[])?;
    anyhow::ensure!(ready("ratings", &nats_url, &namespace, Duration::from_secs(30))?, "ratings never became ready");
    assert_eq!(probe(ratings_health, "/readyz")?, (200, "nats: ok\n".to_owned()));
    anyhow::ensure!(
        !ready("projector", &nats_url, &namespace, Duration::from_secs(2))?,
        "the projector was ready without Postgres"
    );
    script("start-postgres.sh", &[&data("postgres")?, &pg_port.to_string(), "--throwaway"], &[])?;
    anyhow::ensure!(
        ready("projector", &nats_url, &namespace, Duration::from_secs(60))?,
        "the projector never became ready"
    );
    let (status, body) = probe(projector_health, "/readyz")?;
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("postgres: ok\nnats: ok\nprojection catalog: at 0 of 0, 0 behind, 0.0 s\n"), "{body}");
    let projections = readstream_contracts::ReadModel::ALL.len();
    assert_eq!(body.lines().filter(|line| line.starts_with("projection ")).count(), projections, "{body}");
    stop(ratings)?;
    stop(projector)
}
