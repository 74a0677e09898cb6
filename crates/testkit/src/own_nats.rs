//! A NATS server of a test's own, started (and killed, and started again) by the script
//! `make run` uses: for tests of what a server restart does, which the shared one cannot do.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::Context as _;

pub struct OwnNats {
    dir: PathBuf,
    port: u16,
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/local").join(name)
}

impl OwnNats {
    /// Starts a throwaway server on a free port, its data in a fresh folder.
    pub fn start() -> anyhow::Result<Self> {
        let port = crate::free_port()?;
        let dir = std::env::temp_dir().join(format!("readstream-nats-{}", uuid::Uuid::new_v4().simple()));
        let nats = Self { dir, port };
        nats.start_again()?;
        Ok(nats)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server on its data and port (after `kill`).
    pub fn start_again(&self) -> anyhow::Result<()> {
        let started = Command::new(script("start-nats.sh"))
            .arg(&self.dir)
            .arg(self.port.to_string())
            .arg("--throwaway")
            .output()
            .context("running start-nats.sh")?;
        anyhow::ensure!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
        Ok(())
    }

    /// SIGKILL: the server loses what it held in memory only (consumers, watches).
    pub fn kill(&self) -> anyhow::Result<()> {
        let pid = std::fs::read_to_string(self.dir.join("nats.pid")).context("the pid file")?;
        let killed = Command::new("kill").args(["-KILL", pid.trim()]).status()?;
        anyhow::ensure!(killed.success(), "kill -9 {pid} failed");
        Ok(())
    }
}

impl Drop for OwnNats {
    fn drop(&mut self) {
        let _ = Command::new(script("stop-nats.sh")).arg(&self.dir).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A three-node JetStream cluster of a test's own (`start-nats-cluster.sh`, as
/// `NATS_NODES=3 make run` starts it), whose nodes a test kills.
pub struct OwnCluster {
    dir: PathBuf,
    first_port: u16,
}

impl OwnCluster {
    /// Starts three throwaway nodes on three consecutive free ports.
    pub fn start() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("readstream-cluster-{}", uuid::Uuid::new_v4().simple()));
        for _ in 0..50 {
            let first_port = crate::free_port()?;
            let free = first_port <= u16::MAX - 3
                && (first_port..first_port + 3).all(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
            if !free {
                continue;
            }
            let ports = [0, 1, 2].map(|i| (first_port + i).to_string());
            let started = Command::new(script("start-nats-cluster.sh"))
                .arg(&dir)
                .args(&ports)
                .arg("--throwaway")
                .output()
                .context("running start-nats-cluster.sh")?;
            let cluster = Self { dir, first_port };
            anyhow::ensure!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
            return Ok(cluster);
        }
        anyhow::bail!("no three consecutive free ports")
    }

    /// The nodes' names, as the servers call themselves.
    pub const NODES: [&'static str; 3] = ["node-1", "node-2", "node-3"];

    /// The client URL of `node` (`node-1` …).
    pub fn url(&self, node: &str) -> anyhow::Result<String> {
        let index = Self::NODES.iter().position(|n| *n == node).with_context(|| format!("no node {node}"))?;
        Ok(format!("nats://127.0.0.1:{}", self.first_port + index as u16))
    }

    /// Every node's client URL.
    pub fn urls(&self) -> Vec<String> {
        Self::NODES.iter().filter_map(|node| self.url(node).ok()).collect()
    }

    /// The node that leads the JetStream meta group, as a node's `/jsz` says.
    pub async fn meta_leader(&self) -> anyhow::Result<String> {
        let port = std::fs::read_to_string(self.dir.join("node-1/http.port")).context("node-1's http port")?;
        let jsz: serde_json::Value =
            reqwest::get(format!("http://127.0.0.1:{}/jsz", port.trim())).await?.error_for_status()?.json().await?;
        Ok(jsz["meta_cluster"]["leader"].as_str().context("no meta leader yet")?.to_owned())
    }

    /// SIGKILL to `node`, which stays down; returns once it is gone.
    pub fn kill(&self, node: &str) -> anyhow::Result<()> {
        let pid = std::fs::read_to_string(self.dir.join(node).join("nats.pid")).context("the pid file")?;
        let killed = Command::new("kill").args(["-KILL", pid.trim()]).status()?;
        anyhow::ensure!(killed.success(), "kill -9 {pid} failed");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        // Gone, or a zombie: its state, the field after the name in parentheses, is Z.
        let stat = format!("/proc/{}/stat", pid.trim());
        while std::fs::read_to_string(&stat)
            .is_ok_and(|stat| stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')))
        {
            anyhow::ensure!(std::time::Instant::now() < deadline, "{pid} still runs 10 s after kill -9");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Ok(())
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        for node in Self::NODES {
            let _ = Command::new(script("stop-nats.sh")).arg(self.dir.join(node)).output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
