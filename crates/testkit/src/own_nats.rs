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
