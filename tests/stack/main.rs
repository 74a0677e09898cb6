//! `make run` as a new user meets it: `deploy/local/run.sh` started from clean data, in a data
//! folder and on ports of its own, with its own NATS and Postgres, then stopped as Ctrl-C
//! would. It uses the binaries `make test` built in `target/debug`.

use std::{
    io::{BufRead, BufReader, Read},
    net::TcpStream,
    os::unix::process::CommandExt as _,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _};
use readstream_testkit::free_port;

mod servers;

/// How long one start may take, build excluded: servers, seven processes, the demo data.
const START_BOUND: Duration = Duration::from_secs(240);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `target/debug`, where `make test` built every binary before the tests.
fn bin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().and_then(Path::parent).context("no target directory")?.to_path_buf();
    if !dir.join("readstream-gateway").exists() || !dir.join("readstream-ready").exists() {
        bail!("{} has no readstream binaries: run `cargo build --workspace --bins` first", dir.display());
    }
    Ok(dir)
}

fn accepts(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

/// How a start is stopped.
#[derive(Debug, Clone, Copy)]
enum Stop {
    /// Ctrl-C in a terminal: SIGINT, which only run.sh acts on (its background processes ignore it).
    CtrlC,
    /// What `timeout`, a service manager or a closed terminal session does: SIGTERM to every
    /// process of the group at once, the output readers (`tee`) and NATS among them.
    TermToGroup,
}

/// One `make run`: its data folder and ports, and every line it writes.
struct Start {
    child: Child,
    lines: mpsc::Receiver<String>,
    output: Vec<String>,
    data: PathBuf,
    ports: [u16; 3],
}

impl Start {
    fn new(bin_dir: &Path, ready_timeout_secs: u64) -> anyhow::Result<Self> {
        Self::with_env(bin_dir, ready_timeout_secs, &[])
    }

    /// A start with more settings in its environment.
    fn with_env(bin_dir: &Path, ready_timeout_secs: u64, env: &[(&str, String)]) -> anyhow::Result<Self> {
        let data = std::env::temp_dir().join(format!("readstream-stack-{}", uuid::Uuid::new_v4().simple()));
        let ports = [free_port()?, free_port()?, free_port()?];
        Self::on(bin_dir, ready_timeout_secs, env, data, ports)
    }

    /// A start on a given data folder and ports (NATS, Postgres, the gateway).
    fn on(
        bin_dir: &Path,
        ready_timeout_secs: u64,
        env: &[(&str, String)],
        data: PathBuf,
        ports: [u16; 3],
    ) -> anyhow::Result<Self> {
        let mut child = Command::new(root().join("deploy/local/run.sh"))
            .env("DATA_DIR", &data)
            .env("BIN_DIR", bin_dir)
            .env("RUN_NATS_PORT", ports[0].to_string())
            .env("RUN_PG_PORT", ports[1].to_string())
            .env("GATEWAY_ADDR", format!("127.0.0.1:{}", ports[2]))
            .env("READY_TIMEOUT_SECS", ready_timeout_secs.to_string())
            // The start is under test, not the password cost: the demo's 181 sign-ups at
            // production cost are most of a start's time on 2 cores.
            .env("PASSWORD_HASH_MEMORY_KIB", "1024")
            .env("PASSWORD_HASH_ITERATIONS", "1")
            // A start ends at "readstream is running"; what loads after it is not under test.
            .env("DEMO_LIBRARIES", "0")
            .envs(env.iter().map(|(name, value)| (name, value)))
            // Its own servers, not the ones `make test` started.
            .env_remove("NATS_URL")
            .env_remove("DATABASE_URL")
            .env_remove("DATABASE_ADMIN_URL")
            // Its own process group, as a shell gives a command it runs.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting deploy/local/run.sh")?;
        let (sender, lines) = mpsc::channel();
        let stdout = child.stdout.take().context("no stdout")?;
        let stderr = child.stderr.take().context("no stderr")?;
        forward(stdout, sender.clone());
        forward(stderr, sender);
        Ok(Self { child, lines, output: vec![], data, ports })
    }

    /// Collects lines until one contains `needle`, the output ends, or the bound passes.
    fn until_line(&mut self, needle: &str, bound: Duration) -> anyhow::Result<bool> {
        self.collect(Some(needle), bound)
    }

    fn collect(&mut self, needle: Option<&str>, bound: Duration) -> anyhow::Result<bool> {
        let deadline = Instant::now() + bound;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = needle.is_some_and(|needle| line.contains(needle));
                    self.output.push(line);
                    if found {
                        return Ok(true);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(false),
            }
        }
        Ok(false)
    }

    fn printed(&self, needle: &str) -> bool {
        self.output.iter().any(|line| line.contains(needle))
    }

    fn transcript(&self) -> String {
        self.output.iter().rev().take(200).rev().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Waits, bounded, for run.sh to exit by itself.
    fn exit_status(&mut self, bound: Duration) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + bound;
        loop {
            if let Some(status) = self.child.try_wait()? {
                // What it wrote last, until its output closes.
                self.collect(None, Duration::from_secs(2))?;
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!("run.sh did not exit within {bound:?}:\n{}", self.transcript());
            }
            self.collect(None, Duration::from_millis(100))?;
        }
    }

    /// Stops it, and waits until it has stopped everything it started.
    fn stop(&mut self, stop: Stop) -> anyhow::Result<ExitStatus> {
        self.signal(stop)?;
        self.exit_status(Duration::from_secs(60))
    }

    fn signal(&self, stop: Stop) -> anyhow::Result<()> {
        let target = match stop {
            Stop::CtrlC => ["-INT".to_owned(), self.child.id().to_string()],
            Stop::TermToGroup => ["-TERM".to_owned(), format!("-{}", self.child.id())],
        };
        let status = Command::new("kill").arg(&target[0]).arg("--").arg(&target[1]).status()?;
        anyhow::ensure!(status.success(), "kill {target:?} failed");
        Ok(())
    }

    /// Nothing it started still listens, and every process stopped by itself.
    fn assert_all_stopped(&self) -> anyhow::Result<()> {
        for port in self.ports {
            anyhow::ensure!(!accepts(port), "127.0.0.1:{port} still accepts connections after the stop");
        }
        anyhow::ensure!(!self.printed("did not stop within"), "a process had to be killed:\n{}", self.transcript());
        Ok(())
    }
}

impl Drop for Start {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

fn forward(stream: impl Read + Send + 'static, sender: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
}

#[test]
fn ten_starts_from_clean_data_each_load_the_demo_and_print_the_url() -> anyhow::Result<()> {
    let bin_dir = bin_dir()?;
    for attempt in 1..=10 {
        let mut start = Start::new(&bin_dir, 60)?;
        let running = start.until_line("readstream is running", START_BOUND)?;
        let gateway = format!("http://127.0.0.1:{}/graphql", start.ports[2]);
        anyhow::ensure!(
            running && start.printed(&gateway),
            "start {attempt} never printed the URL:\n{}",
            start.transcript()
        );
        anyhow::ensure!(
            start.printed("demo data loaded: \"Moscow 1956\"")
                && start.printed(", 33 ratings, average ")
                && start.printed(
                    ", 11 reviews; 6 currently reading, 141 want to read; its author has 4 books and 5 followers; \
                     its first reviewer is an author of 3 books with 27 followers"
                ),
            "start {attempt} did not load the demo data:\n{}",
            start.transcript()
        );
        let stop = if attempt % 2 == 0 { Stop::TermToGroup } else { Stop::CtrlC };
        let status = start.stop(stop)?;
        anyhow::ensure!(status.success(), "start {attempt}: {stop:?} ended run.sh with {status}");
        start.assert_all_stopped()?;
    }
    Ok(())
}

/// A copy of target/debug's binaries with one process replaced by `script`.
fn bin_dir_with(process: &str, script: &str) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::{symlink, PermissionsExt as _};
    let real = bin_dir()?;
    let dir = std::env::temp_dir().join(format!("readstream-bin-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    for name in
        ["projector", "catalog", "ratings", "reading", "reviews", "social", "worker", "gateway", "ready", "seed"]
    {
        let binary = format!("readstream-{name}");
        if name == process {
            let path = dir.join(&binary);
            std::fs::write(&path, format!("#!/bin/sh\n{script}\n"))?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        } else {
            symlink(real.join(&binary), dir.join(&binary))?;
        }
    }
    Ok(dir)
}

/// A start with `process` replaced by `script`, run until it exits; it must have failed.
fn failed_start(process: &str, script: &str, ready_timeout_secs: u64) -> anyhow::Result<Start> {
    let bin_dir = bin_dir_with(process, script)?;
    let mut start = Start::new(&bin_dir, ready_timeout_secs)?;
    let status = start.exit_status(START_BOUND)?;
    std::fs::remove_dir_all(&bin_dir)?;
    anyhow::ensure!(!status.success(), "run.sh succeeded without a {process} service:\n{}", start.transcript());
    Ok(start)
}

#[test]
fn a_process_that_never_becomes_ready_stops_the_start_with_its_name() -> anyhow::Result<()> {
    let start = failed_start("reviews", "echo 'reviews: waiting for a disk that never answers'\nexec sleep 600", 5)?;
    anyhow::ensure!(
        start.printed("readstream: reviews was not ready within 5 s")
            && start.printed("| reviews: waiting for a disk that never answers"),
        "run.sh did not name the reviews service with its last lines:\n{}",
        start.transcript()
    );
    anyhow::ensure!(!start.printed("readstream is running"), "a failed start printed the URL");
    for other in ["projector", "catalog", "ratings", "reading", "social", "gateway"] {
        anyhow::ensure!(!start.printed(&format!("readstream: {other} was not")), "{other} was named as well");
    }
    start.assert_all_stopped()
}

#[test]
fn a_process_that_exits_during_start_stops_it_at_once_with_its_name() -> anyhow::Result<()> {
    // A long readiness bound: the start must stop as soon as the process exits, not at the bound.
    let start = failed_start("ratings", "echo 'ratings: cannot open its store' >&2\nexit 3", 600)?;
    anyhow::ensure!(
        start.printed("readstream: ratings exited (status 3) before it was ready")
            && start.printed("| ratings: cannot open its store"),
        "run.sh did not name the ratings service with its last lines:\n{}",
        start.transcript()
    );
    start.assert_all_stopped()
}

/// The pid of `process` among the processes of this start's group.
fn pid_in_group(start: &Start, process: &str) -> anyhow::Result<Option<u32>> {
    let output = Command::new("pgrep")
        // The kernel keeps 15 characters of a process's name.
        .args([
            "-g",
            &start.child.id().to_string(),
            "-x",
            &format!("readstream-{process}").chars().take(15).collect::<String>(),
        ])
        .output()?;
    Ok(String::from_utf8(output.stdout)?.lines().next().and_then(|pid| pid.trim().parse().ok()))
}

#[test]
fn a_service_killed_with_sigkill_is_started_again_and_answers() -> anyhow::Result<()> {
    let bin_dir = bin_dir()?;
    let mut start = Start::new(&bin_dir, 60)?;
    anyhow::ensure!(start.until_line("readstream is running", START_BOUND)?, "no start:\n{}", start.transcript());
    for process in ["ratings", "projector"] {
        let pid = pid_in_group(&start, process)?.with_context(|| format!("no {process} process"))?;
        Command::new("kill").args(["-KILL", &pid.to_string()]).status()?;
        let restarting = format!("readstream: {process} exited (status 137); starting it again in 1 s");
        anyhow::ensure!(
            start.until_line(&restarting, Duration::from_secs(30))?,
            "{process} was not started again:\n{}",
            start.transcript()
        );
        let ready = Command::new(bin_dir.join("readstream-ready"))
            .args(["--timeout-secs", "60", process])
            .env("NATS_URL", format!("nats://127.0.0.1:{}", start.ports[0]))
            .env_remove("READSTREAM_NAMESPACE")
            .stdout(Stdio::null())
            .status()?;
        anyhow::ensure!(ready.success(), "{process} did not answer after its restart:\n{}", start.transcript());
        anyhow::ensure!(pid_in_group(&start, process)? != Some(pid), "the same {process} process");
    }
    let status = start.stop(Stop::CtrlC)?;
    anyhow::ensure!(status.success(), "Ctrl-C ended run.sh with {status}");
    start.assert_all_stopped()
}

/// Whether every process of the start answers its readiness probe within `bound`.
fn all_ready(start: &Start, bin_dir: &Path, bound: Duration) -> anyhow::Result<bool> {
    let ready = Command::new(bin_dir.join("readstream-ready"))
        .arg(format!("--gateway=http://127.0.0.1:{}", start.ports[2]))
        .args(["--timeout-secs", &bound.as_secs().to_string()])
        .args(["projector", "catalog", "ratings", "reading", "reviews", "social", "worker"])
        .env("NATS_URL", format!("nats://127.0.0.1:{}", start.ports[0]))
        .env_remove("READSTREAM_NAMESPACE")
        .stdout(Stdio::null())
        .status()?;
    Ok(ready.success())
}

#[test]
fn processes_killed_in_the_same_instant_are_each_started_again() -> anyhow::Result<()> {
    let bin_dir = bin_dir()?;
    let mut start = Start::new(&bin_dir, 60)?;
    anyhow::ensure!(start.until_line("readstream is running", START_BOUND)?, "no start:\n{}", start.transcript());
    let two = ["projector", "ratings"];
    let all = ["projector", "catalog", "ratings", "reading", "reviews", "social", "worker", "gateway"];
    for (round, killed) in [&two[..], &all[..]].into_iter().enumerate() {
        let mut pids = Vec::new();
        for process in killed {
            pids.push(pid_in_group(&start, process)?.with_context(|| format!("no {process} process"))?);
        }
        // One kill: every one of them dies in the same instant.
        Command::new("kill").arg("-KILL").args(pids.iter().map(u32::to_string)).status()?;
        for process in killed {
            let restarting = format!("readstream: {process} exited (status 137); starting it again in");
            let deadline = Instant::now() + Duration::from_secs(30);
            while !start.printed(&restarting) && Instant::now() < deadline {
                start.collect(None, Duration::from_millis(200))?;
            }
            anyhow::ensure!(
                start.printed(&restarting),
                "round {round}: {process} was not started again:\n{}",
                start.transcript()
            );
        }
        anyhow::ensure!(
            all_ready(&start, &bin_dir, Duration::from_secs(60))?,
            "round {round}: not every process answered after {killed:?} were killed together:\n{}",
            start.transcript()
        );
        for (process, pid) in killed.iter().zip(&pids) {
            anyhow::ensure!(pid_in_group(&start, process)? != Some(*pid), "the same {process} process");
        }
        start.output.retain(|line| !line.contains("starting it again"));
    }
    let status = start.stop(Stop::CtrlC)?;
    anyhow::ensure!(status.success(), "Ctrl-C ended run.sh with {status}");
    start.assert_all_stopped()
}

#[test]
fn a_second_term_during_the_stop_does_not_cut_it_short() -> anyhow::Result<()> {
    let bin_dir = bin_dir()?;
    let mut start = Start::new(&bin_dir, 60)?;
    anyhow::ensure!(start.until_line("readstream is running", START_BOUND)?, "no start:\n{}", start.transcript());
    // What `make` does when its group is sent TERM: the group's TERM, then its own to run.sh.
    start.signal(Stop::TermToGroup)?;
    anyhow::ensure!(start.until_line("stopping readstream", Duration::from_secs(10))?, "{}", start.transcript());
    start.signal(Stop::TermToGroup)?;
    Command::new("kill").args(["-TERM", &start.child.id().to_string()]).status()?;
    start.exit_status(Duration::from_secs(60))?;
    // Postgres, which pg_ctl detaches from the group, is stopped as well.
    start.assert_all_stopped()
}

#[test]
fn a_postgres_an_earlier_run_left_behind_is_stopped_by_the_next_run() -> anyhow::Result<()> {
    let bin_dir = bin_dir()?;
    let mut first = Start::new(&bin_dir, 60)?;
    anyhow::ensure!(first.until_line("readstream is running", START_BOUND)?, "no start:\n{}", first.transcript());
    // Cut short with no chance to stop anything: every process of the group dies, but
    // Postgres, detached by pg_ctl, runs on; then `make clean-data` removes its folder.
    Command::new("kill").args(["-KILL", "--", &format!("-{}", first.child.id())]).status()?;
    first.exit_status(Duration::from_secs(10))?;
    anyhow::ensure!(accepts(first.ports[1]), "no Postgres was left running: the test shows nothing");
    std::fs::remove_dir_all(&first.data)?;

    let mut second = Start::on(&bin_dir, 60, &[], first.data.clone(), first.ports)?;
    anyhow::ensure!(
        second.until_line("readstream is running", START_BOUND)?,
        "the next run did not start:\n{}",
        second.transcript()
    );
    anyhow::ensure!(second.printed("still holds port"), "the earlier server was not named:\n{}", second.transcript());
    let status = second.stop(Stop::CtrlC)?;
    anyhow::ensure!(status.success(), "Ctrl-C ended run.sh with {status}");
    second.assert_all_stopped()
}

/// Eight consecutive ports free now, for `HEALTH_PORT_BASE`: the seven services', the gateway's.
fn eight_free_ports_in_a_row() -> anyhow::Result<u16> {
    for _ in 0..50 {
        let base = free_port()?;
        let free = base <= u16::MAX - 8
            && (base..base + 8).all(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
        if free {
            return Ok(base);
        }
    }
    bail!("no eight consecutive free ports")
}

/// `GET /metrics` on a local port: Prometheus' text, or the status that refused it.
fn scrape(port: u16) -> anyhow::Result<String> {
    use std::io::Write as _;
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let (head, body) = answer.split_once("\r\n\r\n").context("no HTTP answer")?;
    anyhow::ensure!(head.starts_with("HTTP/1.1 200"), "GET /metrics on {port}: {head}");
    anyhow::ensure!(head.to_ascii_lowercase().contains("content-type: text/plain; version=0.0.4"), "{head}");
    Ok(body.to_owned())
}

#[test]
fn every_process_serves_its_metrics_for_prometheus() -> anyhow::Result<()> {
    let bin_dir = bin_dir()?;
    let health_base = eight_free_ports_in_a_row()?;
    let mut start = Start::with_env(&bin_dir, 60, &[("HEALTH_PORT_BASE", health_base.to_string())])?;
    anyhow::ensure!(start.until_line("readstream is running", START_BOUND)?, "no start:\n{}", start.transcript());
    // The demo data went in through the gateway: ratings, shelves, reviews and follows.
    // The gateway's metrics are on its health address only, not beside its GraphQL.
    anyhow::ensure!(scrape(start.ports[2]).is_err(), "the gateway serves /metrics on its public port");
    let gateway = scrape(health_base + 7)?;
    let services = ["projector", "catalog", "ratings", "reading", "reviews", "social", "worker"];
    let scraped: Vec<(&str, String)> = services
        .iter()
        .enumerate()
        .map(|(i, name)| Ok((*name, scrape(health_base + i as u16)?)))
        .collect::<anyhow::Result<_>>()?;
    let has = |text: &str, what: &str| text.lines().any(|line| !line.starts_with('#') && line.contains(what));
    for (name, text) in scraped.iter().map(|(n, t)| (*n, t.as_str())).chain([("gateway", gateway.as_str())]) {
        anyhow::ensure!(has(text, "readstream_nats_reconnects_total 0"), "{name}:\n{text}");
        let foreign = text
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with("readstream_"))
            .count();
        anyhow::ensure!(foreign == 0, "{name} has metrics without the readstream_ prefix:\n{text}");
    }
    for expected in [
        r#"readstream_graphql_request_seconds_bucket{outcome="ok",le="0.005"}"#,
        r#"readstream_command_request_seconds_count{service="ratings",command="rate_book",outcome="accepted"}"#,
        "readstream_subscriptions_open 0",
    ] {
        anyhow::ensure!(has(&gateway, expected), "the gateway has no {expected}:\n{gateway}");
    }
    let of = |name: &str| scraped.iter().find(|(n, _)| *n == name).map(|(_, text)| text.as_str()).unwrap_or_default();
    for expected in [
        r#"readstream_command_handle_seconds_count{service="ratings",command="rate_book",outcome="accepted"}"#,
        r#"readstream_events_appended_total{service="ratings"}"#,
    ] {
        anyhow::ensure!(has(of("ratings"), expected), "ratings has no {expected}:\n{}", of("ratings"));
    }
    for expected in [
        r#"readstream_projection_lag_positions{projection="ratings"}"#,
        r#"readstream_projection_lag_seconds{projection="feed"}"#,
        r#"readstream_dead_letters{projection="reviews"} 0"#,
    ] {
        anyhow::ensure!(has(of("projector"), expected), "the projector has no {expected}:\n{}", of("projector"));
    }
    let status = start.stop(Stop::CtrlC)?;
    anyhow::ensure!(status.success(), "Ctrl-C ended run.sh with {status}");
    start.assert_all_stopped()
}
