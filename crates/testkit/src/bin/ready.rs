//! Waits until a started stack is ready: every named process answers its readiness probe over
//! NATS and the gateway's `/readyz` answers 200. `make run` calls it before it loads the demo
//! data; on a timeout it prints the names of the processes that never answered, one a line, on
//! stdout, and exits 1.
//!
//! Usage: readstream-ready [--gateway http://127.0.0.1:8080]… [--timeout-secs 60] PROCESS…

use std::{process::ExitCode, time::Duration};

use clap::Parser;
use readstream_runtime::NatsConfig;
use readstream_testkit::ready::Readiness;

#[derive(Debug, clap::Parser)]
#[command(name = "readstream-ready", about = "Waits until every process of a started stack is ready")]
struct Args {
    #[command(flatten)]
    nats: NatsConfig,
    /// A gateway's base URL (one flag per gateway); its `/readyz` must answer 200.
    #[arg(long)]
    gateway: Vec<String>,
    /// How long to wait for all of them.
    #[arg(long, env = "READY_TIMEOUT_SECS", default_value_t = 60)]
    timeout_secs: u64,
    /// Processes that answer readiness probes in the namespace (catalog, projector, …).
    processes: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let client = match args.nats.connect().await {
        Ok(client) => client,
        Err(err) => {
            eprintln!("readstream-ready: cannot connect to NATS at {}: {err}", args.nats.nats_url);
            return ExitCode::from(2);
        }
    };
    let mut readiness = Readiness::new();
    for process in &args.processes {
        readiness = readiness.process(&client, &args.nats.namespace, process);
    }
    for gateway in &args.gateway {
        readiness = readiness.gateway(gateway);
    }
    match readiness.wait(Duration::from_secs(args.timeout_secs)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(not_ready) => {
            eprintln!("readstream-ready: {not_ready}");
            for name in not_ready.pending {
                println!("{name}");
            }
            ExitCode::FAILURE
        }
    }
}
