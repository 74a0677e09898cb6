//! The system under faults: `make run` (deploy/local/run.sh, which supervises its processes)
//! on its own data folder and ports, and the faults done to it.

use std::{
    collections::BTreeMap,
    fs::File,
    os::unix::process::CommandExt as _,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Mutex,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use readstream_testkit::free_port;

/// What a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    Gateway,
    Catalog,
    Ratings,
    Reading,
    Reviews,
    Social,
    Worker,
    Projector,
    /// The projector and the ratings service in the same instant.
    Together,
    /// All seven processes in the same instant.
    Everything,
    Nats,
    Postgres,
    /// TERM to the whole `make run` process group (as a service manager stops it), then a new
    /// `make run` on the same data.
    RunAgain,
    /// In a cluster: the node that leads the event stream.
    NatsLeader,
    /// In a cluster, once, after every cycle: the node that leads the least (nothing, if one
    /// does), killed and left down for the rest of the run.
    NodeLeftDown,
}

impl Target {
    /// Every target, in the order one cycle hits them.
    pub const ALL: [Target; 13] = [
        Target::Gateway,
        Target::Catalog,
        Target::Ratings,
        Target::Reading,
        Target::Reviews,
        Target::Social,
        Target::Worker,
        Target::Projector,
        Target::Together,
        Target::Everything,
        Target::Nats,
        Target::Postgres,
        Target::RunAgain,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Gateway => "gateway",
            Target::Catalog => "catalog",
            Target::Ratings => "ratings",
            Target::Reading => "reading",
            Target::Reviews => "reviews",
            Target::Social => "social",
            Target::Worker => "worker",
            Target::Projector => "projector",
            Target::Together => "two",
            Target::Everything => "all eight",
            Target::Nats => "NATS",
            Target::Postgres => "Postgres",
            Target::RunAgain => "make run",
            Target::NatsLeader => "NATS leader",
            Target::NodeLeftDown => "NATS node",
        }
    }

    /// What is done to it: a process gets SIGKILL (and `make run` starts it again); a server
    /// is killed and started again on its data.
    pub fn fault(self) -> &'static str {
        match self {
            Target::Nats => "kill -9, started again",
            Target::Postgres => "immediate stop (crash recovery), started again",
            Target::RunAgain => "TERM to its process group, then make run again",
            Target::NatsLeader => "the stream leader's node: kill -9, back 3 s later",
            Target::NodeLeftDown => "a node: kill -9, left down",
            Target::Together => "projector and ratings: one kill -9",
            Target::Everything => "every process: one kill -9",
            _ => "kill -9",
        }
    }
}

/// How long a client may go unanswered after a fault (the bounds): on a single node,
/// 10 s; in a cluster, 2 s after a node that led nothing dies, and one round of elections (NATS's
/// raft waits 4 to 9 s for a dead leader; `election`, measured: until everything the node led has
/// a new leader) and 1 s after one that led something, at most 10 s.
pub fn goal(target: Target, election: Option<Duration>, led: Option<&[String]>) -> Duration {
    let bound = Duration::from_secs(10);
    match (target, election, led) {
        (Target::NodeLeftDown, _, Some([])) => Duration::from_secs(2),
        (Target::NatsLeader, Some(election), _) => (election + Duration::from_secs(1)).min(bound),
        _ => bound,
    }
}

/// A cluster's nodes, as they call themselves.
const NODES: [&str; 3] = ["node-1", "node-2", "node-3"];

/// The services `readstream-ready` asks over NATS; the gateway answers on `/readyz`.
const SERVICES: [&str; 7] = ["projector", "catalog", "ratings", "reading", "reviews", "social", "worker"];

/// Every process `make run` supervises (the first of each, in a cluster).
const PROCESSES: [&str; 8] = ["projector", "catalog", "ratings", "reading", "reviews", "social", "worker", "gateway"];

/// One `make run`, its output kept in `<data>/run.log`.
pub struct System {
    /// `make run`: a new one after [`Target::RunAgain`].
    run: Mutex<Child>,
    /// The node [`Target::NodeLeftDown`] left down, and what it led when it was killed.
    left_down: Mutex<Option<(String, Vec<String>)>>,
    /// How long everything the node killed by the last [`Target::NatsLeader`] led took to
    /// elect new leaders, and what it led.
    election: Mutex<Option<(Duration, Vec<String>)>>,
    root: PathBuf,
    bin_dir: PathBuf,
    data: PathBuf,
    /// The first NATS node's port; a cluster's others take the next two.
    nats_port: u16,
    pg_port: u16,
    gateway_port: u16,
    /// In a cluster (`NATS_NODES=3`), the second gateway's port.
    second_gateway_port: Option<u16>,
}

/// How long a killed cluster node stays down while the load goes on.
const NODE_DOWN_FOR: Duration = Duration::from_secs(3);

/// How long the stream has to elect a new leader after its leader's node is killed.
const ELECTION_BOUND: Duration = Duration::from_secs(30);

impl System {
    /// Starts `make run` from `bin_dir`'s binaries and waits until it says it is running.
    /// With `cluster`, `NATS_NODES=3 make run`: three NATS nodes and two of every process.
    pub fn start(root: &Path, bin_dir: &Path, cluster: bool) -> anyhow::Result<Self> {
        let data = std::env::temp_dir().join(format!("readstream-faults-{}", std::process::id()));
        std::fs::create_dir_all(&data)?;
        let nats_port = if cluster { three_free_ports_in_a_row()? } else { free_port()? };
        let (pg_port, gateway_port) = (free_port()?, free_port()?);
        let second_gateway_port = if cluster { Some(free_port()?) } else { None };
        File::create(data.join("run.log"))?;
        let system = Self {
            run: Mutex::new(spawn_run(root, bin_dir, &data, nats_port, pg_port, gateway_port, second_gateway_port)?),
            left_down: Mutex::new(None),
            election: Mutex::new(None),
            root: root.to_owned(),
            bin_dir: bin_dir.to_owned(),
            data,
            nats_port,
            pg_port,
            gateway_port,
            second_gateway_port,
        };
        system.wait_until_running(0, Duration::from_secs(300))?;
        Ok(system)
    }

    /// Waits until `make run` says it is running, in what it printed past `offset`.
    fn wait_until_running(&self, offset: usize, bound: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + bound;
        while !self.log().get(offset..).unwrap_or_default().contains("readstream is running") {
            if let Some(status) = self.run.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).try_wait()? {
                anyhow::bail!("make run ended ({status}) before it was running:\n{}", self.log_tail());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "make run was not running within {} s:\n{}",
                bound.as_secs(),
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    }

    /// TERM to `make run`'s whole process group, as a service manager stops it; once it has
    /// stopped (every process, NATS, Postgres), a new `make run` on the same data and ports.
    fn run_again(&self) -> anyhow::Result<()> {
        let mut run = self.run.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let group = format!("-{}", run.id());
        let status = Command::new("kill").args(["-TERM", "--", &group]).status()?;
        anyhow::ensure!(status.success(), "kill -TERM {group} failed");
        let deadline = Instant::now() + Duration::from_secs(60);
        while run.try_wait()?.is_none() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "make run did not stop within 60 s of TERM:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let offset = self.log().len();
        *run = spawn_run(
            &self.root,
            &self.bin_dir,
            &self.data,
            self.nats_port,
            self.pg_port,
            self.gateway_port,
            self.second_gateway_port,
        )?;
        drop(run);
        self.wait_until_running(offset, Duration::from_secs(120))
    }

    pub fn gateway_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.gateway_port)
    }

    /// The second gateway's, in a cluster.
    pub fn second_gateway_url(&self) -> Option<String> {
        self.second_gateway_port.map(|port| format!("http://127.0.0.1:{port}"))
    }

    /// Every running NATS node's URL (not the one [`Target::NodeLeftDown`] left down: a client
    /// given it may try it first and give up).
    pub fn nats_urls(&self) -> Vec<String> {
        let nodes = if self.second_gateway_port.is_some() { 3 } else { 1 };
        let down = self.left_down().map(|(node, _)| node);
        (0..nodes)
            .filter(|i| down.as_deref() != Some(format!("node-{}", i + 1).as_str()))
            .map(|i| format!("nats://127.0.0.1:{}", self.nats_port + i))
            .collect()
    }

    /// The database `make run` keeps the read models in.
    pub fn database_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/readstream", self.pg_port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.data.join("run.log")).unwrap_or_default()
    }

    pub fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// The pid of `process` among `make run`'s processes.
    fn pid_of(&self, process: &str) -> anyhow::Result<Option<u32>> {
        // The kernel keeps 15 characters of a process's name.
        let name: String = format!("readstream-{process}").chars().take(15).collect();
        let group = self.run.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).id().to_string();
        let output = Command::new("pgrep").args(["-g", &group, "-x", &name]).output()?;
        Ok(String::from_utf8(output.stdout)?.lines().next().and_then(|pid| pid.trim().parse().ok()))
    }

    fn script(&self, name: &str, args: &[&str]) -> anyhow::Result<()> {
        let output = Command::new(self.root.join("deploy/local").join(name)).args(args).output()?;
        anyhow::ensure!(
            output.status.success(),
            "{name} {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Ok(())
    }

    /// Does `target`'s fault; a server is started again before this returns.
    pub fn fault(&self, target: Target) -> anyhow::Result<()> {
        match target {
            Target::Nats => {
                let nats = self.data.join("nats");
                let pid = std::fs::read_to_string(nats.join("nats.pid"))?;
                kill(pid.trim())?;
                let nats = nats.to_string_lossy();
                self.script("start-nats.sh", &[&nats, &self.nats_port.to_string()])
            }
            Target::NatsLeader => {
                let runtime = tokio::runtime::Handle::current();
                let leader = runtime.block_on(self.stream_leader())?;
                let survivor = *NODES.iter().find(|node| **node != leader).context("no other node")?;
                let led = runtime.block_on(self.leaderships(survivor))?.remove(&leader).unwrap_or_default();
                let node = self.data.join("nats").join(&leader);
                let pid =
                    std::fs::read_to_string(node.join("nats.pid")).with_context(|| format!("no node {leader}"))?;
                let killed = Instant::now();
                kill(pid.trim())?;
                // Asked of a node that stays up: when everything the killed node led has a
                // new leader.
                let mut elected = None;
                while elected.is_none() && killed.elapsed() < NODE_DOWN_FOR {
                    elected = runtime.block_on(self.led_again(survivor, &leader, &led)).then(|| killed.elapsed());
                }
                std::thread::sleep(NODE_DOWN_FOR.saturating_sub(killed.elapsed()));
                let nats = self.data.join("nats");
                let ports = [0, 1, 2].map(|i| (self.nats_port + i).to_string());
                self.script("start-nats-cluster.sh", &[&nats.to_string_lossy(), &ports[0], &ports[1], &ports[2]])?;
                while elected.is_none() && killed.elapsed() < ELECTION_BOUND {
                    elected = runtime.block_on(self.led_again(survivor, &leader, &led)).then(|| killed.elapsed());
                }
                *self.election.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = elected.map(|at| (at, led));
                Ok(())
            }
            Target::Postgres => {
                let postgres = self.data.join("postgres");
                let postgres = postgres.to_string_lossy();
                let stopped = Command::new("runuser")
                    .args(["-u", "postgres", "--", &self.pg_ctl()?, "-D", &postgres, "-m", "immediate", "-w", "stop"])
                    .current_dir("/")
                    .output()?;
                anyhow::ensure!(stopped.status.success(), "pg_ctl stop: {}", String::from_utf8_lossy(&stopped.stderr));
                self.script("start-postgres.sh", &[&postgres, &self.pg_port.to_string()])
            }
            Target::NodeLeftDown => {
                let led = tokio::runtime::Handle::current().block_on(self.leaderships(NODES[0]))?;
                let (node, leads) = led.into_iter().min_by_key(|(_, leads)| leads.len()).context("no nodes")?;
                let pid = std::fs::read_to_string(self.data.join("nats").join(&node).join("nats.pid"))
                    .with_context(|| format!("no node {node}"))?;
                kill(pid.trim())?;
                *self.left_down.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((node, leads));
                Ok(())
            }
            Target::RunAgain => self.run_again(),
            Target::Together => self.kill_at_once(&["projector", "ratings"]),
            Target::Everything => self.kill_at_once(&PROCESSES),
            process => self.kill_at_once(&[process.name()]),
        }
    }

    /// SIGKILL to every one of `processes` from one `kill` command: they die in the same instant.
    fn kill_at_once(&self, processes: &[&str]) -> anyhow::Result<()> {
        let mut pids = Vec::with_capacity(processes.len());
        for process in processes {
            pids.push(self.pid_of(process)?.with_context(|| format!("no {process} process"))?.to_string());
        }
        let status = Command::new("kill").arg("-KILL").args(&pids).status()?;
        anyhow::ensure!(status.success(), "kill -9 {pids:?} failed");
        Ok(())
    }

    /// The name of the cluster node that leads the event stream (`node-1` …).
    async fn stream_leader(&self) -> anyhow::Result<String> {
        let jetstream = async_nats::jetstream::new(async_nats::connect(self.nats_urls()).await?);
        let mut stream = jetstream.get_stream(readstream_eventstore::stream_name("rs")).await?;
        let info = stream.info().await?;
        info.cluster.as_ref().and_then(|cluster| cluster.leader.clone()).context("the stream has no leader")
    }

    /// What each cluster node leads: the JetStream meta group (`meta`, as `/jsz` says) and each
    /// stream (the event stream and the buckets), by name; asked of node `ask`. Something
    /// without a leader now is left out.
    async fn leaderships(&self, ask: &str) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
        let mut led: BTreeMap<String, Vec<String>> = NODES.iter().map(|node| (node.to_string(), Vec::new())).collect();
        let port = std::fs::read_to_string(self.data.join("nats").join(ask).join("http.port"))?;
        let jsz: serde_json::Value =
            reqwest::get(format!("http://127.0.0.1:{}/jsz", port.trim())).await?.error_for_status()?.json().await?;
        if let Some(meta) = jsz["meta_cluster"]["leader"].as_str() {
            led.entry(meta.to_owned()).or_default().push("meta".into());
        }
        let jetstream = async_nats::jetstream::new(async_nats::connect(self.node_url(ask)?).await?);
        let mut streams = jetstream.streams();
        while let Some(info) = futures::StreamExt::next(&mut streams).await {
            let info = info?;
            if let Some(leader) = info.cluster.and_then(|cluster| cluster.leader) {
                led.entry(leader).or_default().push(info.config.name);
            }
        }
        Ok(led)
    }

    /// Whether everything in `led` has a leader again, none of them `killed`.
    async fn led_again(&self, ask: &str, killed: &str, led: &[String]) -> bool {
        let asked = tokio::time::timeout(Duration::from_millis(500), self.leaderships(ask)).await;
        let again = matches!(&asked, Ok(Ok(now)) if led.iter().all(|item| {
            now.iter().any(|(node, items)| node != killed && items.contains(item))
        }));
        if !again {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        again
    }

    /// The client URL of cluster node `node` (`node-1` …).
    fn node_url(&self, node: &str) -> anyhow::Result<String> {
        let index = NODES.iter().position(|n| *n == node).with_context(|| format!("no node {node}"))?;
        Ok(format!("nats://127.0.0.1:{}", self.nats_port + index as u16))
    }

    /// How long everything the node killed by the last [`Target::NatsLeader`] led took to elect
    /// new leaders, and what it led.
    pub fn last_election(&self) -> Option<(Duration, Vec<String>)> {
        self.election.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// The node [`Target::NodeLeftDown`] left down, and what it led.
    pub fn left_down(&self) -> Option<(String, Vec<String>)> {
        self.left_down.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn pg_ctl(&self) -> anyhow::Result<String> {
        let output = Command::new(self.root.join("deploy/local/install-postgres.sh")).output()?;
        let bin_dir = String::from_utf8(output.stdout)?.lines().last().context("no Postgres bin dir")?.to_owned();
        Ok(format!("{bin_dir}/pg_ctl"))
    }

    /// Whether every process answers its readiness probe within `bound`; if not, which did not.
    pub fn ready(&self, bound: Duration) -> anyhow::Result<()> {
        let gateways = [Some(self.gateway_url()), self.second_gateway_url()].into_iter().flatten();
        let output = Command::new(self.bin_dir.join("readstream-ready"))
            .args(gateways.map(|url| format!("--gateway={url}")))
            .args(["--timeout-secs", &bound.as_secs().max(1).to_string()])
            .args(SERVICES)
            .env("NATS_URL", self.nats_urls().join(","))
            .env_remove("READSTREAM_NAMESPACE")
            .stdin(Stdio::null())
            .output()?;
        anyhow::ensure!(
            output.status.success(),
            "not every process was ready within {} s: {}{}",
            bound.as_secs(),
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Ok(())
    }
}

/// Starts `make run` (deploy/local/run.sh) in a process group of its own, appending what it
/// prints to `<data>/run.log`.
fn spawn_run(
    root: &Path,
    bin_dir: &Path,
    data: &Path,
    nats_port: u16,
    pg_port: u16,
    gateway_port: u16,
    second_gateway_port: Option<u16>,
) -> anyhow::Result<Child> {
    let log = File::options().append(true).open(data.join("run.log"))?;
    let mut command = Command::new(root.join("deploy/local/run.sh"));
    if let Some(port) = second_gateway_port {
        command.env("NATS_NODES", "3").env("GATEWAY2_ADDR", format!("127.0.0.1:{port}"));
    }
    command
        .env("DATA_DIR", data)
        .env("BIN_DIR", bin_dir)
        .env("RUN_NATS_PORT", nats_port.to_string())
        .env("RUN_PG_PORT", pg_port.to_string())
        .env("GATEWAY_ADDR", format!("127.0.0.1:{gateway_port}"))
        .env("READY_TIMEOUT_SECS", "120")
        // The load is measured, not the demo's reviewer libraries importing beside it.
        .env("DEMO_LIBRARIES", "0")
        // Every client of the load comes from this one address, each as its own reader,
        // faster than a person: the rate limits would measure themselves, not the faults.
        .env("RATE_LIMIT_CLIENT_PER_SECOND", "1000000")
        .env("RATE_LIMIT_CLIENT_BURST", "1000000")
        .env("RATE_LIMIT_READER_PER_SECOND", "1000000")
        .env("RATE_LIMIT_READER_BURST", "1000000")
        // The load's readers sign up once, before the faults; a full run outlasts the
        // default 15 minutes of an access token, and sessions are not what is measured.
        .env("ACCESS_TOKEN_LIFETIME_SECS", "86400")
        // Sign-ups happen before the faults and are not what is measured.
        .env("PASSWORD_HASH_MEMORY_KIB", "1024")
        .env("PASSWORD_HASH_ITERATIONS", "1")
        // Each process is killed every few seconds here, far more often than the minute
        // after which the supervisor's restart delay starts over from 1 s; each kill is to
        // be measured as the first one in a while would be (at 3 s, a projector killed alone,
        // then with ratings, then with every process, ran under 3 s in between and waited 4 s
        // the third time).
        .env("RESTART_RESET_SECS", "1")
        .env_remove("NATS_URL")
        .env_remove("DATABASE_URL")
        .env_remove("DATABASE_ADMIN_URL")
        .env_remove("READSTREAM_NAMESPACE")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting deploy/local/run.sh")
}

/// The first of three consecutive ports free now.
fn three_free_ports_in_a_row() -> anyhow::Result<u16> {
    for _ in 0..50 {
        let first = free_port()?;
        let free = first <= u16::MAX - 3
            && (first..first + 3).all(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
        if free {
            return Ok(first);
        }
    }
    anyhow::bail!("no three consecutive free ports")
}

/// SIGKILL to a server, returning once it is gone: a server still exiting would be taken by
/// the start script for a live one to reuse (a full run once lost its NATS so, at cycle 10).
fn kill(pid: &str) -> anyhow::Result<()> {
    let status = Command::new("kill").args(["-KILL", pid]).status()?;
    anyhow::ensure!(status.success(), "kill -9 {pid} failed");
    let stat = format!("/proc/{pid}/stat");
    let deadline = Instant::now() + Duration::from_secs(10);
    // Gone, or a zombie: its state, the field after the name in parentheses, is Z.
    let exiting = || {
        std::fs::read_to_string(&stat)
            .is_ok_and(|stat| stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')))
    };
    while exiting() {
        anyhow::ensure!(Instant::now() < deadline, "{pid} still runs 10 s after kill -9");
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

impl Drop for System {
    /// TERM, as a service manager stops `make run`: it stops every process and both servers.
    /// (Not Ctrl-C's INT: a shell starts a background job with INT ignored, for good, so a
    /// `make faults` started in the background could not stop its `make run` so.)
    fn drop(&mut self) {
        let run = self.run.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = Command::new("kill").args(["-TERM", &run.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while matches!(run.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        // Whatever of the group outlived run.sh; usually nothing is left, and kill says so.
        let group = format!("-{}", run.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(std::process::Stdio::null()).status();
        let _ = run.wait();
        // Kept for a look at what the processes said.
        let _ = std::fs::copy(self.data.join("run.log"), self.root.join("target/faults-run.log"));
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
