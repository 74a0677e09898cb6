//! Starts the whole system in-process for the end-to-end tests: every service on its own task,
//! on the NATS and Postgres servers `make test` started, in a fresh namespace and database.

use std::{future::Future, net::SocketAddr, time::Duration};

use readstream_runtime::{health::HealthConfig, DatabaseConfig, NatsConfig};
use readstream_testkit::{graphql::GraphQl, ready::Readiness};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What the test gateway signs tokens with.
const JWT_SECRET: &str = "end-to-end-test-secret-of-32-bytes-or-more";

/// Small, so the tests can make an account with more followers than fan out on write.
pub const FEED_FANOUT_LIMIT: u64 = 3;

pub struct System {
    pub base_url: String,
    /// Where the projector answers `/healthz` and `/readyz`.
    pub projector_health: SocketAddr,
    /// Where the gateway answers `/readyz` line by line, and `/metrics`.
    pub gateway_health: SocketAddr,
    pub namespace: String,
    pub database_url: String,
    nats: NatsConfig,
    sign_up_expiry: Duration,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    projector: (CancellationToken, JoinHandle<()>),
}

fn spawn<F, E>(name: &'static str, service: F) -> JoinHandle<()>
where
    F: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display,
{
    tokio::spawn(async move {
        if let Err(err) = service.await {
            panic!("{name} failed: {err}");
        }
    })
}

/// The projector, rebuilding `rebuild` (projection names) as it starts.
fn start_projector(
    nats: &NatsConfig,
    database_url: &str,
    health: SocketAddr,
    rebuild: &[&str],
) -> (CancellationToken, JoinHandle<()>) {
    let shutdown = CancellationToken::new();
    let config = readstream_projector::Config {
        nats: nats.clone(),
        database: DatabaseConfig::new(database_url),
        health: HealthConfig { health_addr: Some(health) },
        rebuild: rebuild.iter().map(|name| name.to_string()).collect(),
        feed_fanout_limit: FEED_FANOUT_LIMIT,
    };
    (shutdown.clone(), spawn("projector", readstream_projector::run(config, shutdown)))
}

/// How a test wants the system started.
#[derive(Debug, Clone)]
pub struct Options {
    /// Command services left out at the start (`start_service` starts one later).
    pub without: Vec<&'static str>,
    /// How long the gateway waits for a command service's answer.
    pub command_timeout: Duration,
    /// The gateway's limits: by default the production ones with the rate limits off, since
    /// every test client comes from one address.
    pub limits: readstream_gateway::limits::LimitsConfig,
    /// How long the social service waits before giving up on a sign-up never recorded.
    pub sign_up_expiry: Duration,
    /// How the worker's imports take turns and give up.
    pub imports: readstream_worker::import::ImportConfig,
    /// How long an access token lives (a WebSocket opened with one is closed with 4401 then).
    pub token_lifetime: Duration,
    /// How often the worker deletes the pictures nothing shows, and how long it keeps new ones.
    pub image_sweep: readstream_worker::images::ImageSweepConfig,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            without: vec![],
            command_timeout: Duration::from_secs(10),
            limits: readstream_gateway::limits::LimitsConfig::without_rate_limits(),
            sign_up_expiry: Duration::from_secs(600),
            imports: readstream_worker::import::ImportConfig::default(),
            token_lifetime: Duration::from_secs(3_600),
            // As long as a command may take to be recorded (`command_timeout`).
            image_sweep: readstream_worker::images::ImageSweepConfig { sweep_seconds: 1, grace_seconds: 10 },
        }
    }
}

/// Every command service, by the name it answers under.
pub const COMMAND_SERVICES: [&str; 5] = [
    readstream_catalog::SERVICE,
    readstream_ratings::SERVICE,
    readstream_reading::SERVICE,
    readstream_reviews::SERVICE,
    readstream_social::SERVICE,
];

impl System {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> anyhow::Result<Self> {
        let namespace = readstream_testkit::namespace();
        let database_url = readstream_testkit::fresh_database().await?;
        let nats = NatsConfig::new(readstream_testkit::nats_url(), namespace.clone());
        let database = DatabaseConfig::new(database_url.clone());
        let shutdown = CancellationToken::new();

        let projector_health = SocketAddr::from(([127, 0, 0, 1], readstream_testkit::free_port()?));
        let projector = start_projector(&nats, &database_url, projector_health, &[]);
        let gateway_health = SocketAddr::from(([127, 0, 0, 1], readstream_testkit::free_port()?));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let gateway = readstream_gateway::Config {
            nats: nats.clone(),
            database,
            addr: listener.local_addr()?,
            jwt_secret: Some(JWT_SECRET.into()),
            development: false,
            access_token_lifetime_secs: options.token_lifetime.as_secs(),
            read_your_writes_timeout_ms: 10_000,
            command_timeout_ms: options.command_timeout.as_millis() as u64,
            limits: options.limits.clone(),
            health: HealthConfig { health_addr: Some(gateway_health) },
            web: Default::default(),
            print_schema: false,
        };
        let worker = readstream_worker::Config {
            nats: nats.clone(),
            database: DatabaseConfig::new(database_url.clone()),
            health: HealthConfig::default(),
            command_timeout_ms: options.command_timeout.as_millis() as u64,
            read_your_writes_timeout_ms: 10_000,
            imports: options.imports.clone(),
            images: options.image_sweep.clone(),
        };
        let tasks = vec![
            spawn("gateway", readstream_gateway::serve(gateway, listener, shutdown.clone())),
            spawn("worker", readstream_worker::run(worker, shutdown.clone())),
        ];
        let sign_up_expiry = options.sign_up_expiry;
        let mut system = Self {
            base_url,
            projector_health,
            gateway_health,
            namespace,
            database_url,
            nats,
            sign_up_expiry,
            shutdown,
            tasks,
            projector,
        };
        let services = COMMAND_SERVICES.into_iter().filter(|service| !options.without.contains(service));
        let started: Vec<&str> = services.collect();
        for service in &started {
            system.spawn_service(service)?;
        }
        let background = [readstream_projector::PROCESS, readstream_worker::PROCESS];
        system.wait_until_ready(&[&background, started.as_slice()].concat(), true).await?;
        Ok(system)
    }

    fn spawn_service(&mut self, service: &str) -> anyhow::Result<()> {
        let (nats, shutdown) = (self.nats.clone(), self.shutdown.clone());
        let task = match service {
            readstream_catalog::SERVICE => spawn(
                "catalog",
                readstream_catalog::run(readstream_catalog::Config { nats, health: HealthConfig::default() }, shutdown),
            ),
            readstream_ratings::SERVICE => spawn(
                "ratings",
                readstream_ratings::run(readstream_ratings::Config { nats, health: HealthConfig::default() }, shutdown),
            ),
            readstream_reading::SERVICE => spawn(
                "reading",
                readstream_reading::run(readstream_reading::Config { nats, health: HealthConfig::default() }, shutdown),
            ),
            readstream_reviews::SERVICE => spawn(
                "reviews",
                readstream_reviews::run(readstream_reviews::Config { nats, health: HealthConfig::default() }, shutdown),
            ),
            readstream_social::SERVICE => {
                let database = DatabaseConfig::new(&self.database_url);
                // The real argon2id at a test's cost: the tests sign up hundreds of readers at once.
                let password_hashing = readstream_social::PasswordHashing { memory_kib: 1_024, iterations: 1 };
                let session_idle_lifetime_secs = 3_600;
                let admin = Some(readstream_testkit::demo::LIBRARIAN.to_owned());
                let health = HealthConfig::default();
                let config = readstream_social::Config {
                    nats,
                    database,
                    health,
                    password_hashing,
                    admin,
                    session_idle_lifetime_secs,
                    sign_up_expiry_secs: self.sign_up_expiry.as_secs(),
                };
                spawn("social", readstream_social::run(config, shutdown))
            }
            other => anyhow::bail!("no command service named {other}"),
        };
        self.tasks.push(task);
        Ok(())
    }

    /// Starts a command service left out at the start, and waits until it answers.
    pub async fn start_service(&mut self, service: &str) -> anyhow::Result<()> {
        self.spawn_service(service)?;
        self.wait_until_ready(&[service], false).await
    }

    async fn wait_until_ready(&self, processes: &[&str], gateway: bool) -> anyhow::Result<()> {
        let client = self.nats.connect().await?;
        let readiness =
            processes.iter().fold(Readiness::new(), |r, process| r.process(&client, &self.namespace, process));
        let readiness = if gateway { readiness.gateway(&self.base_url) } else { readiness };
        readiness.wait(Duration::from_secs(10)).await?;
        Ok(())
    }

    pub fn client(&self) -> GraphQl {
        GraphQl::new(&self.base_url)
    }

    /// A client signed in as the librarian (the demo's, the tests' first admin), who adds to
    /// the catalog.
    pub async fn librarian(&self) -> anyhow::Result<GraphQl> {
        readstream_testkit::demo::librarian(&self.client(), &|_, _| {}).await
    }

    /// A client signed in as `reader_id` without signing up: for tests where the social
    /// service is not running.
    pub fn client_as(&self, reader_id: uuid::Uuid) -> anyhow::Result<GraphQl> {
        Ok(self.client().with_token(self.token_for(reader_id, Duration::from_secs(3_600))?))
    }

    /// A token for `reader_id`, signed as the gateway signs them, that ended a minute ago.
    pub fn expired_token_for(&self, reader_id: uuid::Uuid) -> anyhow::Result<String> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
        let tokens = readstream_gateway::auth::Tokens::new(JWT_SECRET, Duration::from_secs(60));
        tokens.issue_expiring(reader_id, uuid::Uuid::now_v7(), now - 60).map_err(|err| anyhow::anyhow!(err.message))
    }

    /// A token for `reader_id` that ends after `lifetime`, signed as the gateway signs them.
    pub fn token_for(&self, reader_id: uuid::Uuid, lifetime: Duration) -> anyhow::Result<String> {
        let tokens = readstream_gateway::auth::Tokens::new(JWT_SECRET, lifetime);
        let (token, _) = tokens.issue(reader_id, uuid::Uuid::now_v7()).map_err(|err| anyhow::anyhow!(err.message))?;
        Ok(token)
    }

    /// How many messages the namespace's event stream holds.
    pub async fn stream_messages(&self) -> anyhow::Result<u64> {
        let client = async_nats::connect(readstream_testkit::nats_url()).await?;
        let js = async_nats::jetstream::new(client);
        let mut stream = js.get_stream(readstream_eventstore::stream_name(&self.namespace)).await?;
        Ok(stream.info().await?.state.messages)
    }

    /// Every message of the namespace's event stream, as stored (personal fields sealed).
    pub async fn stream_payloads(&self) -> anyhow::Result<Vec<Vec<u8>>> {
        let client = async_nats::connect(readstream_testkit::nats_url()).await?;
        let js = async_nats::jetstream::new(client);
        let mut stream = js.get_stream(readstream_eventstore::stream_name(&self.namespace)).await?;
        let last = stream.info().await?.state.last_sequence;
        let mut payloads = Vec::new();
        for sequence in 1..=last {
            payloads.push(stream.get_raw_message(sequence).await?.payload.to_vec());
        }
        Ok(payloads)
    }

    /// Whether `reader_id` still has a key to their personal fields.
    pub async fn has_reader_key(&self, reader_id: uuid::Uuid) -> anyhow::Result<bool> {
        let client = async_nats::connect(readstream_testkit::nats_url()).await?;
        let js = async_nats::jetstream::new(client);
        let bucket = js.get_key_value(readstream_eventstore::keys::bucket_name(&self.namespace)).await?;
        Ok(bucket.get(reader_id.to_string()).await?.is_some_and(|key| !key.is_empty()))
    }

    /// Rebuilds these projections into fresh tables and swaps them in, while the running
    /// projector goes on: what a projector started with `REBUILD_PROJECTIONS` does. Returns once
    /// every one is swapped in.
    pub async fn rebuild(&self, projections: &[&str]) -> anyhow::Result<()> {
        let config = readstream_projector::Config {
            nats: self.nats.clone(),
            database: DatabaseConfig::new(&self.database_url),
            health: HealthConfig::default(),
            rebuild: projections.iter().map(|p| p.to_string()).collect(),
            feed_fanout_limit: FEED_FANOUT_LIMIT,
        };
        readstream_projector::rebuild(&config, &CancellationToken::new()).await?;
        Ok(())
    }

    /// Stops the projector, and starts it again with `REBUILD_PROJECTIONS` set to `rebuild`.
    pub async fn restart_projector_rebuilding(&mut self, rebuild: &[&str]) -> anyhow::Result<()> {
        self.projector.0.cancel();
        let stopped = std::mem::replace(&mut self.projector.1, tokio::spawn(async {}));
        tokio::time::timeout(Duration::from_secs(15), stopped).await??;
        self.projector = start_projector(&self.nats, &self.database_url, self.projector_health, rebuild);
        Ok(())
    }

    /// Stops every service the way Ctrl-C does, and waits for them to finish.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.projector.0.cancel();
        for task in self.tasks.into_iter().chain([self.projector.1]) {
            tokio::time::timeout(Duration::from_secs(15), task).await??;
        }
        Ok(())
    }
}

/// What `make bench`'s programs share: a database of their own on the server `DATABASE_URL`
/// names, and a gateway over it.
pub mod bench {
    pub mod pages;

    use std::time::Duration;

    use anyhow::Context as _;
    use readstream_gateway::limits::LimitsConfig;
    use readstream_runtime::{config::StartError, DatabaseConfig, NatsConfig};
    use sqlx::{Connection, PgConnection};
    use tokio::task::JoinHandle;
    use tokio_util::sync::CancellationToken;

    /// One bench run's database (`bench_<what>_<run>`, migrated) and namespace on the servers
    /// `NATS_URL` and `DATABASE_URL` name.
    pub struct Run {
        pub nats_url: String,
        pub database_url: String,
        pub namespace: String,
    }

    impl Run {
        pub async fn start(what: &str) -> anyhow::Result<Self> {
            let nats_url = std::env::var("NATS_URL").context("set NATS_URL")?;
            let admin_url = std::env::var("DATABASE_URL").context("set DATABASE_URL")?;
            let run_id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
            let mut admin = PgConnection::connect(&admin_url).await?;
            let name = format!("bench_{what}_{run_id}");
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
            let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
            let database_url = format!("{base}/{name}");
            readstream_runtime::db::connect_and_migrate(&DatabaseConfig::new(&database_url), &CancellationToken::new())
                .await?;
            Ok(Run { nats_url, database_url, namespace: format!("bench{run_id}") })
        }
    }

    /// A gateway over a run's database, with `limits`, on a port of its own.
    pub struct Gateway {
        pub base_url: String,
        shutdown: CancellationToken,
        task: JoinHandle<Result<(), StartError>>,
    }

    impl Gateway {
        /// Starts it and waits until it is ready.
        pub async fn start(run: &Run, limits: LimitsConfig) -> anyhow::Result<Self> {
            Self::start_signing(run, limits, None).await
        }

        /// Starts one that accepts tokens signed with `secret`, as a bench issues them.
        pub async fn start_with_secret(run: &Run, limits: LimitsConfig, secret: &str) -> anyhow::Result<Self> {
            Self::start_signing(run, limits, Some(secret.to_owned())).await
        }

        async fn start_signing(run: &Run, limits: LimitsConfig, jwt_secret: Option<String>) -> anyhow::Result<Self> {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let base_url = format!("http://{}", listener.local_addr()?);
            let shutdown = CancellationToken::new();
            let config = readstream_gateway::Config {
                nats: NatsConfig::new(run.nats_url.clone(), run.namespace.clone()),
                database: DatabaseConfig::new(&run.database_url),
                addr: listener.local_addr()?,
                development: jwt_secret.is_none(),
                jwt_secret,
                access_token_lifetime_secs: 60,
                read_your_writes_timeout_ms: 1_000,
                command_timeout_ms: 10_000,
                limits,
                health: readstream_runtime::health::HealthConfig::default(),
                web: Default::default(),
                print_schema: false,
            };
            let task = tokio::spawn(readstream_gateway::serve(config, listener, shutdown.clone()));
            readstream_testkit::ready::Readiness::new().gateway(&base_url).wait(Duration::from_secs(10)).await?;
            Ok(Gateway { base_url, shutdown, task })
        }

        pub async fn stop(self) -> anyhow::Result<()> {
            self.shutdown.cancel();
            self.task.await??;
            Ok(())
        }
    }

    /// Records one of the targets `make bench` checks as this run measured it: a row of the
    /// table bench.sh prints at its end, appended to the file `BENCH_TARGETS` names (nothing
    /// when unset: each program prints its own figures as well).
    pub fn target(what: &str, measured: &str, target: &str, met: bool) -> anyhow::Result<()> {
        use std::io::Write as _;
        let Ok(path) = std::env::var("BENCH_TARGETS") else { return Ok(()) };
        let verdict = if met { "met" } else { "NOT met" };
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path).context("BENCH_TARGETS")?;
        writeln!(file, "{what}\t{measured}\t{target}\t{verdict}")?;
        Ok(())
    }

    /// A page's p50 against the same page's at the small size, as a target: the size costs
    /// nothing (≤ 1.1×).
    pub fn flat(what: &str, p50_ms: f64, small_ms: f64) -> anyhow::Result<()> {
        let ratio = p50_ms / small_ms;
        target(what, &format!("{ratio:.2}x the p50 ({p50_ms:.2} ms against {small_ms:.2} ms)"), "<= 1.1x", ratio <= 1.1)
    }

    /// The value after `name` on the command line (`--books 1000`), or `default` without one.
    pub fn arg(name: &str, default: u64) -> anyhow::Result<u64> {
        let args: Vec<String> = std::env::args().collect();
        match args.iter().position(|a| a == name) {
            Some(i) => args.get(i + 1).context("missing value")?.parse().context(name.to_owned()),
            None => Ok(default),
        }
    }

    /// This process's resident memory now, in bytes.
    pub fn resident() -> u64 {
        status_kb("VmRSS:") * 1024
    }

    /// The most resident memory this process has held, in bytes.
    pub fn peak_resident() -> u64 {
        status_kb("VmHWM:") * 1024
    }

    fn status_kb(field: &str) -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
    }

    /// The CPU time this process has used so far (user and system), in seconds.
    pub fn cpu_seconds() -> f64 {
        let (user, system) = user_and_system_cpu_seconds();
        user + system
    }

    /// This process's CPU seconds so far: in user space, and in the kernel.
    pub fn user_and_system_cpu_seconds() -> (f64, f64) {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // The fields after the command's name (which may hold spaces) in parentheses; utime
        // and stime are the 14th and 15th fields, in clock ticks of 1/100 s.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|field| field.parse::<u64>().ok()).unwrap_or(0);
        (ticks(11) as f64 / 100.0, ticks(12) as f64 / 100.0)
    }

    /// The `p` quantile (0 to 1) of sorted timings.
    pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
        sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
    }

    /// CPU seconds (user and system) used so far by `pid` and every process below it.
    pub fn tree_cpu_seconds(pid: u32) -> f64 {
        processes().filter(|p| p.pid == pid || descends_from(p.pid, pid)).map(|p| p.cpu_seconds).sum()
    }

    /// Peak resident memory, summed over `pid` and every process below it, in bytes.
    pub fn tree_peak_resident(pid: u32) -> u64 {
        processes()
            .filter(|p| p.pid == pid || descends_from(p.pid, pid))
            .map(|p| {
                let status = std::fs::read_to_string(format!("/proc/{}/status", p.pid)).unwrap_or_default();
                status
                    .lines()
                    .find_map(|line| line.strip_prefix("VmHWM:"))
                    .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                    .unwrap_or(0)
                    * 1024
            })
            .sum()
    }

    /// CPU seconds used so far by Postgres: every process of it alive (its connections' backends
    /// among them), and those that ended (the server's main process counts its ended children).
    pub fn postgres_cpu_seconds() -> f64 {
        let postgres: Vec<Process> = processes().filter(|p| p.command == "postgres").collect();
        let main = |p: &Process| !postgres.iter().any(|q| q.pid == p.parent);
        postgres.iter().map(|p| p.cpu_seconds + if main(p) { p.ended_children_cpu_seconds } else { 0.0 }).sum()
    }

    struct Process {
        pid: u32,
        parent: u32,
        command: String,
        cpu_seconds: f64,
        /// What its children that ended (and were waited for) used.
        ended_children_cpu_seconds: f64,
    }

    fn processes() -> impl Iterator<Item = Process> {
        std::fs::read_dir("/proc").into_iter().flatten().flatten().filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let (head, rest) = stat.rsplit_once(')')?;
            let command = head.split_once('(')?.1.to_owned();
            // After the name: state, ppid, …; utime, stime, cutime and cstime are fields 12 to 15
            // (clock ticks).
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
            Some(Process {
                pid,
                parent: fields.get(1)?.parse().ok()?,
                command,
                cpu_seconds: (ticks(11) + ticks(12)) as f64 / 100.0,
                ended_children_cpu_seconds: (ticks(13) + ticks(14)) as f64 / 100.0,
            })
        })
    }

    fn descends_from(mut pid: u32, ancestor: u32) -> bool {
        for _ in 0..64 {
            let Some(parent) = processes().find(|p| p.pid == pid).map(|p| p.parent) else { return false };
            if parent == ancestor {
                return true;
            }
            if parent <= 1 {
                return false;
            }
            pid = parent;
        }
        false
    }

    /// The process whose id the environment variable `name` holds (bench.sh sets `NATS_PID` and
    /// `NATS_PID_DEFAULT_SYNC`), if it is set.
    pub fn pid_from_env(name: &str) -> anyhow::Result<Option<u32>> {
        match std::env::var(name) {
            Ok(pid) => Ok(Some(pid.trim().parse().with_context(|| format!("{name}: a process id"))?)),
            Err(_) => Ok(None),
        }
    }
}
