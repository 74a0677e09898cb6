//! The system under faults: `make run` (deploy/local/run.sh, which supervises its processes)
//! on its own data folder and ports, and the faults done to it.

use std::{
    fs::File,
    os::unix::process::CommandExt as _,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
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
    Projector,
    Nats,
    Postgres,
}

impl Target {
    /// Every target, in the order one cycle hits them.
    pub const ALL: [Target; 9] = [
        Target::Gateway,
        Target::Catalog,
        Target::Ratings,
        Target::Reading,
        Target::Reviews,
        Target::Social,
        Target::Projector,
        Target::Nats,
        Target::Postgres,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Gateway => "gateway",
            Target::Catalog => "catalog",
            Target::Ratings => "ratings",
            Target::Reading => "reading",
            Target::Reviews => "reviews",
            Target::Social => "social",
            Target::Projector => "projector",
            Target::Nats => "NATS",
            Target::Postgres => "Postgres",
        }
    }

    /// What is done to it: a process gets SIGKILL (and `make run` starts it again); a server
    /// is killed and started again on its data.
    pub fn fault(self) -> &'static str {
        match self {
            Target::Nats => "kill -9, started again",
            Target::Postgres => "immediate stop (crash recovery), started again",
            _ => "kill -9",
        }
    }
}

/// The services `readstream-ready` asks over NATS; the gateway answers on `/readyz`.
const SERVICES: [&str; 6] = ["projector", "catalog", "ratings", "reading", "reviews", "social"];

/// One `make run`, its output kept in `<data>/run.log`.
pub struct System {
    run: Child,
    root: PathBuf,
    bin_dir: PathBuf,
    data: PathBuf,
    nats_port: u16,
    pg_port: u16,
    gateway_port: u16,
}

impl System {
    /// Starts `make run` from `bin_dir`'s binaries and waits until it says it is running.
    pub fn start(root: &Path, bin_dir: &Path) -> anyhow::Result<Self> {
        let data = std::env::temp_dir().join(format!("readstream-faults-{}", std::process::id()));
        std::fs::create_dir_all(&data)?;
        let (nats_port, pg_port, gateway_port) = (free_port()?, free_port()?, free_port()?);
        let log = File::create(data.join("run.log"))?;
        let run = Command::new(root.join("deploy/local/run.sh"))
            .env("DATA_DIR", &data)
            .env("BIN_DIR", bin_dir)
            .env("RUN_NATS_PORT", nats_port.to_string())
            .env("RUN_PG_PORT", pg_port.to_string())
            .env("GATEWAY_ADDR", format!("127.0.0.1:{gateway_port}"))
            .env("READY_TIMEOUT_SECS", "120")
            // Every client of the load comes from this one address, each as its own reader,
            // faster than a person: the rate limits would measure themselves, not the faults.
            .env("RATE_LIMIT_CLIENT_PER_SECOND", "1000000")
            .env("RATE_LIMIT_CLIENT_BURST", "1000000")
            .env("RATE_LIMIT_READER_PER_SECOND", "1000000")
            .env("RATE_LIMIT_READER_BURST", "1000000")
            // Sign-ups happen before the faults and are not what is measured.
            .env("PASSWORD_HASH_MEMORY_KIB", "1024")
            .env("PASSWORD_HASH_ITERATIONS", "1")
            // Each process is killed every few seconds here, far more often than the minute
            // after which the supervisor's restart delay starts over from 1 s; each kill is to
            // be measured as the first one in a while would be.
            .env("RESTART_RESET_SECS", "3")
            .env_remove("NATS_URL")
            .env_remove("DATABASE_URL")
            .env_remove("DATABASE_ADMIN_URL")
            .env_remove("READSTREAM_NAMESPACE")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting deploy/local/run.sh")?;
        let mut system =
            Self { run, root: root.to_owned(), bin_dir: bin_dir.to_owned(), data, nats_port, pg_port, gateway_port };
        let deadline = Instant::now() + Duration::from_secs(300);
        while !system.log().contains("readstream is running") {
            if let Some(status) = system.run.try_wait()? {
                anyhow::bail!("make run ended ({status}) before it was running:\n{}", system.log_tail());
            }
            anyhow::ensure!(Instant::now() < deadline, "make run was not running within 300 s:\n{}", system.log_tail());
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(system)
    }

    pub fn gateway_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.gateway_port)
    }

    pub fn nats_url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.nats_port)
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
        let output = Command::new("pgrep").args(["-g", &self.run.id().to_string(), "-x", &name]).output()?;
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
            process => {
                let pid = self.pid_of(process.name())?.with_context(|| format!("no {} process", process.name()))?;
                kill(&pid.to_string())
            }
        }
    }

    fn pg_ctl(&self) -> anyhow::Result<String> {
        let output = Command::new(self.root.join("deploy/local/install-postgres.sh")).output()?;
        let bin_dir = String::from_utf8(output.stdout)?.lines().last().context("no Postgres bin dir")?.to_owned();
        Ok(format!("{bin_dir}/pg_ctl"))
    }

    /// Whether every process answers its readiness probe within `bound`.
    pub fn ready(&self, bound: Duration) -> anyhow::Result<bool> {
        let status = Command::new(self.bin_dir.join("readstream-ready"))
            .args(["--gateway", &self.gateway_url(), "--timeout-secs", &bound.as_secs().max(1).to_string()])
            .args(SERVICES)
            .env("NATS_URL", self.nats_url())
            .env_remove("READSTREAM_NAMESPACE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        Ok(status.success())
    }
}

fn kill(pid: &str) -> anyhow::Result<()> {
    let status = Command::new("kill").args(["-KILL", pid]).status()?;
    anyhow::ensure!(status.success(), "kill -9 {pid} failed");
    Ok(())
}

impl Drop for System {
    /// Ctrl-C, as a user stops `make run`: it stops every process and both servers.
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-INT", &self.run.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while matches!(self.run.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        // Whatever of the group outlived run.sh; usually nothing is left, and kill says so.
        let group = format!("-{}", self.run.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(std::process::Stdio::null()).status();
        let _ = self.run.wait();
        // Kept for a look at what the processes said.
        let _ = std::fs::copy(self.data.join("run.log"), self.root.join("target/faults-run.log"));
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
