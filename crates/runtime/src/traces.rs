//! Traces: `tracing` spans exported as OpenTelemetry spans over OTLP/HTTP (protobuf) when the
//! standard variables name a collector (`OTEL_EXPORTER_OTLP_ENDPOINT`, or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; `OTEL_SDK_DISABLED=true` turns it off), the service
//! named by `OTEL_SERVICE_NAME` or else the executable's name. Trace context crosses processes
//! as W3C `traceparent` in NATS headers (`readstream_eventstore::trace_context`).

use std::sync::OnceLock;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider, Resource};

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Whether the environment names a collector.
fn configured() -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|value| !value.trim().is_empty());
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|value| value.eq_ignore_ascii_case("true"));
    !disabled && (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
}

/// The tracer of a provider exporting to the configured collector, `None` when none is
/// configured (or the exporter cannot be built: said on stderr, and the process runs untraced).
pub(crate) fn tracer() -> Option<opentelemetry_sdk::trace::Tracer> {
    if !configured() {
        return None;
    }
    if let Some(provider) = PROVIDER.get() {
        return Some(provider.tracer("readstream"));
    }
    // Built on a thread of its own: the exporter's blocking HTTP client runs a runtime of its
    // own, which cannot be started from inside the process's.
    let built = std::thread::spawn(|| opentelemetry_otlp::SpanExporter::builder().with_http().build()).join();
    let exporter = match built {
        Ok(Ok(exporter)) => exporter,
        Ok(Err(err)) => {
            eprintln!("traces are not exported: {err}");
            return None;
        }
        Err(_) => {
            eprintln!("traces are not exported: building the OTLP exporter panicked");
            return None;
        }
    };
    let mut resource = Resource::builder();
    if std::env::var("OTEL_SERVICE_NAME").is_err() {
        let executable = std::env::current_exe().ok().and_then(|path| Some(path.file_stem()?.to_str()?.to_owned()));
        resource = resource.with_service_name(executable.unwrap_or_else(|| "readstream".to_owned()));
    }
    let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource.build()).build();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let tracer = provider.tracer("readstream");
    let _ = PROVIDER.set(provider);
    Some(tracer)
}

/// Exports every span ended so far now, rather than with the next batch; blocks until the
/// collector answered. Does nothing when traces are not exported.
pub fn flush() {
    if let Some(provider) = PROVIDER.get() {
        if let Err(err) = provider.force_flush() {
            tracing::warn!(error = %err, "could not export the traces");
        }
    }
}
