//! The one wait before a started stack is used: `make run`, `make bench` and the tests all
//! wait here until every process answers its readiness probe and the gateway serves.

use std::time::Duration;

use tokio::time::Instant;

/// How long one probe may take before it counts as "not yet".
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// How long to wait between rounds of probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(20);

/// Some processes did not become ready in time.
#[derive(Debug, thiserror::Error)]
#[error("not ready within {} s: {}", timeout.as_secs_f64(), pending.join(", "))]
pub struct NotReady {
    /// The names of the processes that never answered, in the order they were listed.
    pub pending: Vec<String>,
    pub timeout: Duration,
}

enum Probe {
    /// A service process: answers on `<ns>.ready.<name>` (see `readstream_contracts::subject::ready`).
    Process { client: async_nats::Client, subject: String },
    /// The gateway: `GET <base_url>/readyz` answers 200.
    Gateway { http: reqwest::Client, url: String },
}

impl Probe {
    async fn ready(&self) -> bool {
        match self {
            Probe::Process { client, subject } => {
                let probe = async_nats::Request::new().timeout(Some(PROBE_TIMEOUT));
                client.send_request(subject.clone(), probe).await.is_ok()
            }
            Probe::Gateway { http, url } => {
                let response = http.get(url).timeout(PROBE_TIMEOUT).send().await;
                response.is_ok_and(|response| response.status().is_success())
            }
        }
    }
}

/// What must answer before a stack counts as started.
#[derive(Default)]
pub struct Readiness {
    probes: Vec<(String, Probe)>,
}

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    /// A service process in `namespace`, named as it answers probes (`catalog`, `projector`, …).
    pub fn process(mut self, client: &async_nats::Client, namespace: &str, name: &str) -> Self {
        let probe =
            Probe::Process { client: client.clone(), subject: readstream_contracts::subject::ready(namespace, name) };
        self.probes.push((name.to_owned(), probe));
        self
    }

    /// The gateway at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn gateway(mut self, base_url: &str) -> Self {
        let probe = Probe::Gateway { http: reqwest::Client::new(), url: format!("{base_url}/readyz") };
        self.probes.push(("gateway".to_owned(), probe));
        self
    }

    /// Returns once every probe has answered, or names those that had not within `timeout`.
    pub async fn wait(self, timeout: Duration) -> Result<(), NotReady> {
        let deadline = Instant::now() + timeout;
        let mut pending = self.probes;
        loop {
            let answers = futures::future::join_all(pending.iter().map(|(_, probe)| probe.ready())).await;
            let mut answers = answers.into_iter();
            pending.retain(|_| answers.next() == Some(false));
            if pending.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(NotReady { pending: pending.into_iter().map(|(name, _)| name).collect(), timeout });
            }
            tokio::time::sleep_until(deadline.min(Instant::now() + PROBE_INTERVAL)).await;
        }
    }
}
