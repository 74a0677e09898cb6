//! The deploy artifacts checked without a cluster or a registry (images cannot be pulled here):
//! `deploy/Dockerfile` by hadolint, `deploy/kubernetes/` by kubernetes-validate against
//! Kubernetes' schemas, and each Deployment against the configuration of the process it runs:
//! its binary is in the image, every setting it is given is one that process reads and parses,
//! the settings it needs are there, and its probes and metrics point at the port it listens on.
//! The tools come from PyPI, pinned by deploy/lint/requirements.txt (deploy/local/install-lint.sh).

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use anyhow::{bail, Context as _};
use clap::CommandFactory;
use serde_json::Value;

/// The Kubernetes version the manifests are validated against.
const KUBERNETES: &str = "1.34.0";

/// Settings every process reads outside its `Config`: the log filter and format.
const PROCESS_SETTINGS: [&str; 2] = ["RUST_LOG", "LOG_FORMAT"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn manifests() -> PathBuf {
    root().join("deploy/kubernetes")
}

/// `.tools/lint`, installed once per test process.
fn tools() -> anyhow::Result<&'static Path> {
    static TOOLS: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let installed = TOOLS.get_or_init(|| {
        let output = Command::new(root().join("deploy/local/install-lint.sh")).output().map_err(|e| e.to_string())?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).into_owned());
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        Ok(PathBuf::from(stdout.lines().last().unwrap_or_default().trim()))
    });
    installed.as_deref().map_err(|err| anyhow::anyhow!("install-lint.sh failed: {err}"))
}

/// The Kubernetes resources, each file's documents (the kustomization and the NATS chart's
/// values are not resources).
fn resource_files() -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(manifests())?.map(|entry| entry.map(|e| e.path())).collect::<Result<_, _>>()?;
    files.retain(|path| {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        name.ends_with(".yaml") && name != "kustomization.yaml" && name != "nats-values.yaml"
    });
    files.sort();
    anyhow::ensure!(!files.is_empty(), "no manifests in {}", manifests().display());
    Ok(files)
}

/// Every YAML document of `path`, as JSON (read by PyYAML, which the tools brought).
fn documents(path: &Path) -> anyhow::Result<Vec<Value>> {
    let output = Command::new("python3")
        .env("PYTHONPATH", tools()?)
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))",
        ])
        .arg(path)
        .output()?;
    anyhow::ensure!(output.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&output.stderr));
    Ok(serde_json::from_slice(&output.stdout)?)
}

#[test]
fn the_dockerfile_passes_hadolint() -> anyhow::Result<()> {
    let output = Command::new(tools()?.join("bin/hadolint")).arg(root().join("deploy/Dockerfile")).output()?;
    anyhow::ensure!(
        output.status.success(),
        "hadolint:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

#[test]
fn the_manifests_are_valid_kubernetes_resources() -> anyhow::Result<()> {
    let output = Command::new("python3")
        .env("PYTHONPATH", tools()?)
        .args(["-m", "kubernetes_validate", "--strict", "-k", KUBERNETES])
        .args(resource_files()?)
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "kubernetes-validate:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// What one process reads: its settings by environment variable (with the flag that sets each
/// on the command line), those it cannot start without, and where it listens.
struct Process {
    command: clap::Command,
    needs: &'static [&'static str],
    /// The setting holding the address its probes and metrics answer on.
    listens: &'static str,
}

fn process(binary: &str) -> anyhow::Result<Process> {
    let (command, needs, listens): (clap::Command, &[&str], &str) = match binary {
        "readstream-gateway" => {
            (readstream_gateway::Config::command(), &["NATS_URL", "DATABASE_URL", "JWT_SECRET"], "HEALTH_ADDR")
        }
        "readstream-social" => (readstream_social::Config::command(), &["NATS_URL", "DATABASE_URL"], "HEALTH_ADDR"),
        "readstream-projector" => {
            (readstream_projector::Config::command(), &["NATS_URL", "DATABASE_URL"], "HEALTH_ADDR")
        }
        "readstream-catalog" => (readstream_catalog::Config::command(), &["NATS_URL"], "HEALTH_ADDR"),
        "readstream-ratings" => (readstream_ratings::Config::command(), &["NATS_URL"], "HEALTH_ADDR"),
        "readstream-reading" => (readstream_reading::Config::command(), &["NATS_URL"], "HEALTH_ADDR"),
        "readstream-reviews" => (readstream_reviews::Config::command(), &["NATS_URL"], "HEALTH_ADDR"),
        "readstream-worker" => (readstream_worker::Config::command(), &["NATS_URL", "DATABASE_URL"], "HEALTH_ADDR"),
        other => bail!("no readstream process is called {other}"),
    };
    Ok(Process { command, needs, listens })
}

impl Process {
    /// The flag that sets the setting `env`, if the process reads it.
    fn flag(&self, env: &str) -> Option<String> {
        self.command
            .get_arguments()
            .find(|arg| arg.get_env().is_some_and(|e| e == env))
            .and_then(|arg| arg.get_long())
            .map(|long| format!("--{long}"))
    }

    /// Whether the process starts with these literal settings: each parsed as it would be.
    fn parses(&self, literal: &BTreeMap<String, String>) -> Result<(), String> {
        let mut args = vec![self.command.get_name().to_owned()];
        for (env, value) in literal {
            if let Some(flag) = self.flag(env) {
                args.push(format!("{flag}={value}"));
            }
        }
        self.command.clone().try_get_matches_from(args).map(|_| ()).map_err(|err| err.to_string())
    }
}

/// The ConfigMaps of the manifests, by name: their data.
fn config_maps(resources: &[Value]) -> BTreeMap<String, BTreeMap<String, String>> {
    resources
        .iter()
        .filter(|r| r["kind"] == "ConfigMap")
        .map(|r| {
            let data = r["data"].as_object().into_iter().flatten();
            let data = data.map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect();
            (r["metadata"]["name"].as_str().unwrap_or_default().to_owned(), data)
        })
        .collect()
}

/// The port a probe or annotation names: a number, or a container port's name.
fn port_of(container: &Value, port: &Value) -> Option<u64> {
    port.as_u64().or_else(|| {
        let name = port.as_str()?;
        container["ports"].as_array()?.iter().find(|p| p["name"] == name)?["containerPort"].as_u64()
    })
}

#[test]
fn each_deployment_runs_a_process_of_the_image_with_settings_it_reads_and_probes_where_it_listens() -> anyhow::Result<()>
{
    let mut resources = Vec::new();
    for file in resource_files()? {
        resources.extend(documents(&file)?);
    }
    let maps = config_maps(&resources);
    let dockerfile = std::fs::read_to_string(root().join("deploy/Dockerfile"))?;
    let mut problems = Vec::new();
    let mut deployed = BTreeSet::new();
    for deployment in resources.iter().filter(|r| r["kind"] == "Deployment") {
        let name = deployment["metadata"]["name"].as_str().unwrap_or_default();
        let template = &deployment["spec"]["template"];
        for container in template["spec"]["containers"].as_array().into_iter().flatten() {
            let binary = container["command"][0].as_str().and_then(|c| c.strip_prefix("/usr/local/bin/"));
            let Some(binary) = binary else {
                problems.push(format!("{name}: its command is not a binary in /usr/local/bin"));
                continue;
            };
            if !dockerfile.contains(&format!("target/release/{binary}")) {
                problems.push(format!("{name}: the image has no {binary}"));
            }
            let process = process(binary)?;
            deployed.insert(binary.to_owned());
            // Its settings: the ConfigMaps it takes whole, then its own (which win).
            let mut literal = BTreeMap::new();
            let mut set = BTreeSet::new();
            for from in container["envFrom"].as_array().into_iter().flatten() {
                let map = from["configMapRef"]["name"].as_str().unwrap_or_default();
                match maps.get(map) {
                    Some(data) => literal.extend(data.clone()),
                    None => problems.push(format!("{name}: no ConfigMap {map}")),
                }
            }
            for env in container["env"].as_array().into_iter().flatten() {
                let key = env["name"].as_str().unwrap_or_default().to_owned();
                match env["value"].as_str() {
                    Some(value) => {
                        literal.insert(key, value.to_owned());
                    }
                    None => {
                        set.insert(key);
                    }
                }
            }
            set.extend(literal.keys().cloned());
            for key in &set {
                if process.flag(key).is_none() && !PROCESS_SETTINGS.contains(&key.as_str()) {
                    problems.push(format!("{name}: {binary} reads no setting {key}"));
                }
            }
            for needed in process.needs.iter().chain([&process.listens]) {
                if !set.contains(*needed) {
                    problems.push(format!("{name}: {needed} is not set"));
                }
            }
            if let Err(err) = process.parses(&literal) {
                problems.push(format!("{name}: {binary} refuses its settings: {err}"));
            }
            // Where it listens, and that its probes, port and metrics annotation say so.
            let listens = literal.get(process.listens).and_then(|addr| addr.rsplit_once(':')?.1.parse::<u64>().ok());
            let Some(port) = listens else {
                problems.push(format!("{name}: {} has no port", process.listens));
                continue;
            };
            if literal.get(process.listens).is_some_and(|addr| addr.starts_with("127.")) {
                problems.push(format!("{name}: {} listens on loopback, out of the kubelet's reach", process.listens));
            }
            for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
                let get = &container[probe]["httpGet"];
                if get["path"] != path || port_of(container, &get["port"]) != Some(port) {
                    problems.push(format!("{name}: its {probe} is not GET {path} on port {port}: {get}"));
                }
            }
            let scraped = template["metadata"]["annotations"]["prometheus.io/port"].as_str();
            if scraped.and_then(|p| p.parse::<u64>().ok()) != Some(port)
                || template["metadata"]["annotations"]["prometheus.io/path"] != "/metrics"
            {
                problems.push(format!("{name}: Prometheus is not pointed at /metrics on port {port}"));
            }
        }
    }
    let every: BTreeSet<String> = [
        "readstream-gateway",
        "readstream-catalog",
        "readstream-social",
        "readstream-ratings",
        "readstream-reading",
        "readstream-reviews",
        "readstream-projector",
        "readstream-worker",
    ]
    .map(str::to_owned)
    .into();
    for missing in every.difference(&deployed) {
        problems.push(format!("no Deployment runs {missing}"));
    }
    anyhow::ensure!(problems.is_empty(), "the manifests against the processes:\n  {}", problems.join("\n  "));
    Ok(())
}

#[test]
fn the_stream_has_a_replica_on_each_of_the_nats_charts_three_nodes() -> anyhow::Result<()> {
    let values = documents(&manifests().join("nats-values.yaml"))?;
    let cluster = &values.first().context("no values")?["config"]["cluster"];
    anyhow::ensure!(cluster["enabled"] == true && cluster["replicas"] == 3, "the chart's cluster: {cluster}");
    let resources = documents(&manifests().join("config.yaml"))?;
    let config = config_maps(&resources).remove("readstream-config").context("no readstream-config")?;
    assert_eq!(config.get("READSTREAM_STREAM_REPLICAS").map(String::as_str), Some("3"));
    let seeds = config.get("NATS_URL").context("no NATS_URL")?.split(',').count();
    assert_eq!(seeds, 3, "every node a seed: {config:?}");
    Ok(())
}

#[test]
fn the_grafana_dashboard_charts_every_metric_the_processes_serve_and_no_other() -> anyhow::Result<()> {
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("deploy/grafana/readstream.json"))?)?;
    let exprs: Vec<&str> = dashboard["panels"]
        .as_array()
        .context("no panels")?
        .iter()
        .flat_map(|panel| panel["targets"].as_array().into_iter().flatten())
        .filter_map(|target| target["expr"].as_str())
        .collect();
    // Every series a query names, without a histogram's suffixes.
    let mut charted = BTreeSet::new();
    for expr in &exprs {
        for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.starts_with("readstream_") {
                let metric =
                    ["_bucket", "_count", "_sum"].iter().fold(word, |w, suffix| w.strip_suffix(suffix).unwrap_or(w));
                charted.insert(metric.to_owned());
            }
        }
    }
    let served: BTreeSet<String> = readstream_runtime::metrics::ALL.iter().map(|name| (*name).to_owned()).collect();
    assert_eq!(charted, served, "charted (left) against served (right)");
    Ok(())
}
