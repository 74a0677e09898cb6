//! What every readstream service shares: typed configuration, tracing, the shutdown signal,
//! Postgres and NATS connections, the command bus between the gateway and the services, and
//! the readiness probes whatever starts the stack waits for, and the list of ended sessions
//! every gateway refuses.

pub mod bus;
pub mod config;
pub mod db;
pub mod health;
pub mod live;
pub mod metrics;
pub mod positions;
pub mod ready;
pub mod service;
pub mod sessions;
pub mod traces;

use tokio_util::sync::CancellationToken;

pub use config::{DatabaseConfig, NatsConfig};

/// Every process linking the runtime (each service, the tests and the benches) allocates with
/// mimalloc: a profile of the import through the whole stack spent a quarter of its CPU in
/// glibc's malloc and free (many small, short-lived allocations across threads).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Logs to stderr, filtered by `RUST_LOG` (default `info`): lines for people, or with
/// `LOG_FORMAT=json` one JSON object per line for a log collector; and exports the spans as
/// OpenTelemetry traces when the standard `OTEL_EXPORTER_OTLP_*` variables name a collector
/// ([`traces`]).
pub fn init_tracing() {
    use tracing_subscriber::{layer::SubscriberExt as _, util::SubscriberInitExt as _};
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: `make run` also keeps each process's output in a log file.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let json = std::env::var("LOG_FORMAT").as_deref() == Ok("json");
    // When whatever reads our output is gone, a log line must fail quietly: the fallback
    // would `eprintln!` to the same closed stderr, which panics the task that logged.
    let lines = (!json).then(|| {
        tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_ansi(ansi)
            .with_writer(std::io::stderr)
            .log_internal_errors(false)
    });
    let objects = json.then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_target(false)
            .with_writer(std::io::stderr)
            .log_internal_errors(false)
    });
    let spans = traces::tracer().map(|tracer| tracing_opentelemetry::layer().with_tracer(tracer));
    // A second call (several services in one test process) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(filter).with(lines).with(objects).with(spans).try_init();
}

/// A token cancelled on Ctrl-C or SIGTERM: the one shutdown signal passed down to every task.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut terminate) => {
                    tokio::select! {
                        _ = ctrl_c => {}
                        _ = terminate.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = ctrl_c.await;
                }
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        // Cancel first: nothing, not even a failing log line, may stand between the signal
        // and the shutdown.
        cancel.cancel();
        tracing::info!("shutting down");
    });
    token
}
