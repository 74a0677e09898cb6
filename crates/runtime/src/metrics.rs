//! Prometheus metrics: every process records into one registry through the `metrics` facade
//! and answers `GET /metrics` with it in Prometheus' text format (the gateway beside `/graphql`,
//! the others beside their health probes). Every name starts with `readstream_`; the names are
//! here, so the processes, the tests and the Grafana dashboard (`deploy/grafana/`) agree.

use std::{sync::OnceLock, time::Duration};

use metrics::Unit;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// A GraphQL query or mutation, from its arrival to its answer, by `outcome` (`ok`, `error`).
pub const GRAPHQL_REQUEST_SECONDS: &str = "readstream_graphql_request_seconds";
/// A command as the gateway sees it, sent until its reply, by `service`, `command` and
/// `outcome` (`accepted`, `rejected`, `failed`: no reply).
pub const COMMAND_REQUEST_SECONDS: &str = "readstream_command_request_seconds";
/// A command as its service sees it, decoded until its reply is sent, by `service`, `command`
/// and `outcome` (`accepted`, `rejected`).
pub const COMMAND_HANDLE_SECONDS: &str = "readstream_command_handle_seconds";
/// Events appended to the stream by accepted commands, by `service`.
pub const EVENTS_APPENDED: &str = "readstream_events_appended_total";
/// How many stream positions a projection has yet to apply, by `projection`.
pub const PROJECTION_LAG_POSITIONS: &str = "readstream_projection_lag_positions";
/// The age of the oldest message a projection has yet to apply, by `projection` (0 when caught up).
pub const PROJECTION_LAG_SECONDS: &str = "readstream_projection_lag_seconds";
/// Messages a projection set aside because applying them failed, by `projection`.
pub const DEAD_LETTERS: &str = "readstream_dead_letters";
/// GraphQL subscriptions open on this gateway.
pub const SUBSCRIPTIONS_OPEN: &str = "readstream_subscriptions_open";
/// Executions of subscriptions that every subscriber alike shares, running on this gateway.
pub const SHARED_EXECUTIONS: &str = "readstream_shared_executions";
/// Times this process's connection to NATS came back after it was lost.
pub const NATS_RECONNECTS: &str = "readstream_nats_reconnects_total";

/// Every metric a readstream process may serve.
pub const ALL: [&str; 10] = [
    GRAPHQL_REQUEST_SECONDS,
    COMMAND_REQUEST_SECONDS,
    COMMAND_HANDLE_SECONDS,
    EVENTS_APPENDED,
    PROJECTION_LAG_POSITIONS,
    PROJECTION_LAG_SECONDS,
    DEAD_LETTERS,
    SUBSCRIPTIONS_OPEN,
    SHARED_EXECUTIONS,
    NATS_RECONNECTS,
];

/// Latency buckets of every `_seconds` histogram: 1 ms to 10 s.
const SECONDS_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// How often the registry drains its histograms' samples into their buckets.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static REGISTRY: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's registry, installed as the `metrics` recorder on first use; `None` if another
/// recorder was installed first (nothing is recorded then, and `/metrics` says so).
pub fn registry() -> Option<&'static PrometheusHandle> {
    REGISTRY.get_or_init(install).as_ref()
}

/// Everything recorded so far, in Prometheus' text format.
pub fn render() -> String {
    match registry() {
        Some(registry) => registry.render(),
        None => "# no metrics: another recorder was installed in this process\n".to_owned(),
    }
}

/// A `GET /metrics` answer: everything recorded, as Prometheus' text format.
pub fn response() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], render())
}

fn install() -> Option<PrometheusHandle> {
    let builder = PrometheusBuilder::new().set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS);
    let registry = match builder.and_then(PrometheusBuilder::install_recorder) {
        Ok(registry) => registry,
        Err(err) => {
            tracing::warn!(error = %err, "metrics are not recorded");
            return None;
        }
    };
    describe();
    let upkeep = registry.clone();
    let spawned = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || loop {
        std::thread::sleep(UPKEEP_EVERY);
        upkeep.run_upkeep();
    });
    if let Err(err) = spawned {
        tracing::warn!(error = %err, "metrics upkeep did not start; histograms drain at each scrape only");
    }
    Some(registry)
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(GRAPHQL_REQUEST_SECONDS, Unit::Seconds, "GraphQL requests, arrival to answer");
    describe_histogram!(COMMAND_REQUEST_SECONDS, Unit::Seconds, "Commands sent by the gateway, until their reply");
    describe_histogram!(COMMAND_HANDLE_SECONDS, Unit::Seconds, "Commands handled by a service, until the reply");
    describe_counter!(EVENTS_APPENDED, Unit::Count, "Events appended to the stream by accepted commands");
    describe_gauge!(PROJECTION_LAG_POSITIONS, Unit::Count, "Stream positions a projection has yet to apply");
    describe_gauge!(PROJECTION_LAG_SECONDS, Unit::Seconds, "Age of the oldest message a projection has yet to apply");
    describe_gauge!(DEAD_LETTERS, Unit::Count, "Messages a projection set aside after failing to apply them");
    describe_gauge!(SUBSCRIPTIONS_OPEN, Unit::Count, "GraphQL subscriptions open on this gateway");
    describe_gauge!(
        SHARED_EXECUTIONS,
        Unit::Count,
        "Executions of subscriptions that their subscribers share, running on this gateway"
    );
    describe_counter!(NATS_RECONNECTS, Unit::Count, "Times the connection to NATS came back after it was lost");
    // A counter shows from the start, at 0, so a dashboard's rate has a series before the first
    // reconnect.
    metrics::counter!(NATS_RECONNECTS).absolute(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_recorded_is_rendered_with_its_help_and_buckets() {
        assert!(registry().is_some());
        metrics::histogram!(COMMAND_HANDLE_SECONDS, "service" => "ratings", "command" => "rate_book", "outcome" => "accepted")
            .record(0.003);
        let text = render();
        assert!(text.contains("# HELP readstream_command_handle_seconds"), "{text}");
        assert!(
            text.contains(
                r#"readstream_command_handle_seconds_bucket{service="ratings",command="rate_book",outcome="accepted",le="0.005"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains("readstream_nats_reconnects_total 0"), "{text}");
    }
}
