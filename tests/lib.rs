//! Starts the whole system in-process for the end-to-end tests: every service on its own task,
//! on the NATS and Postgres servers `make test` started, in a fresh namespace and database.

use std::{future::Future, time::Duration};

use readstream_runtime::{DatabaseConfig, NatsConfig};
use readstream_testkit::graphql::GraphQl;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Small, so the tests can make an account with more followers than fan out on write.
pub const FEED_FANOUT_LIMIT: u64 = 3;

pub struct System {
    pub base_url: String,
    pub namespace: String,
    pub database_url: String,
    nats: NatsConfig,
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

fn start_projector(nats: &NatsConfig, database_url: &str, rebuild: Vec<String>) -> (CancellationToken, JoinHandle<()>) {
    let shutdown = CancellationToken::new();
    let config = readstream_projector::Config {
        nats: nats.clone(),
        database: DatabaseConfig::new(database_url),
        rebuild,
        feed_fanout_limit: FEED_FANOUT_LIMIT,
    };
    (shutdown.clone(), spawn("projector", readstream_projector::run(config, shutdown)))
}

impl System {
    pub async fn start() -> anyhow::Result<Self> {
        let namespace = readstream_testkit::namespace();
        let database_url = readstream_testkit::fresh_database().await?;
        let nats = NatsConfig::new(readstream_testkit::nats_url(), namespace.clone());
        let database = DatabaseConfig::new(database_url.clone());
        let shutdown = CancellationToken::new();

        let projector = start_projector(&nats, &database_url, vec![]);
        let mut tasks = vec![];
        let catalog = readstream_catalog::Config { nats: nats.clone() };
        tasks.push(spawn("catalog", readstream_catalog::run(catalog, shutdown.clone())));
        let ratings = readstream_ratings::Config { nats: nats.clone() };
        tasks.push(spawn("ratings", readstream_ratings::run(ratings, shutdown.clone())));
        let reading = readstream_reading::Config { nats: nats.clone() };
        tasks.push(spawn("reading", readstream_reading::run(reading, shutdown.clone())));
        let reviews = readstream_reviews::Config { nats: nats.clone() };
        tasks.push(spawn("reviews", readstream_reviews::run(reviews, shutdown.clone())));
        let social = readstream_social::Config { nats: nats.clone(), database: database.clone() };
        tasks.push(spawn("social", readstream_social::run(social, shutdown.clone())));

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let gateway = readstream_gateway::Config {
            nats: nats.clone(),
            database,
            addr: listener.local_addr()?,
            jwt_secret: "end-to-end-test-secret".into(),
            jwt_lifetime_secs: 3_600,
            read_your_writes_timeout_ms: 10_000,
            print_schema: false,
        };
        tasks.push(spawn("gateway", readstream_gateway::serve(gateway, listener, shutdown.clone())));

        let client = nats.connect().await?;
        for service in ["catalog", "ratings", "reading", "reviews", "social"] {
            readstream_testkit::wait_for_service(&client, &namespace, service).await?;
        }
        readstream_testkit::wait_for_gateway(&base_url).await?;
        Ok(Self { base_url, namespace, database_url, nats, shutdown, tasks, projector })
    }

    pub fn client(&self) -> GraphQl {
        GraphQl::new(&self.base_url)
    }

    /// How many messages the namespace's event stream holds.
    pub async fn stream_messages(&self) -> anyhow::Result<u64> {
        let client = async_nats::connect(readstream_testkit::nats_url()).await?;
        let js = async_nats::jetstream::new(client);
        let mut stream = js.get_stream(readstream_eventstore::stream_name(&self.namespace)).await?;
        Ok(stream.info().await?.state.messages)
    }

    /// Stops the projector, empties these projections and rewinds them to position 0, and
    /// starts it again to rebuild them: what an operator does with `REBUILD_PROJECTIONS`.
    pub async fn rebuild(&mut self, projections: &[&str]) -> anyhow::Result<()> {
        self.projector.0.cancel();
        let stopped = std::mem::replace(&mut self.projector.1, tokio::spawn(async {}));
        tokio::time::timeout(Duration::from_secs(15), stopped).await??;
        let rebuild = projections.iter().map(|p| p.to_string()).collect();
        let config = readstream_projector::Config {
            nats: self.nats.clone(),
            database: DatabaseConfig::new(&self.database_url),
            rebuild,
            feed_fanout_limit: FEED_FANOUT_LIMIT,
        };
        readstream_projector::reset(&config).await?;
        self.projector = start_projector(&self.nats, &self.database_url, vec![]);
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
