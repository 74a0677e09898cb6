//! W3C trace context (`traceparent`) in NATS headers: on a command's request, on the message
//! an append stores (kept in the stream with the event), and on a live update, so that one
//! trace follows a mutation from the gateway through its command service and the projector to
//! the push. With no tracer installed (no OTLP collector configured) spans carry no context and
//! nothing is written.

use async_nats::HeaderMap;
use opentelemetry::{
    global,
    propagation::{Extractor, Injector},
    Context,
};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The header the context travels in.
const TRACEPARENT: &str = "traceparent";

struct Inject<'a>(&'a mut HeaderMap);

impl Injector for Inject<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value);
    }
}

struct Extract<'a>(&'a HeaderMap);

impl Extractor for Extract<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|value| value.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_ref()).collect()
    }
}

/// Adds `span`'s context to `headers` (nothing when it is not traced).
pub fn inject(span: &tracing::Span, headers: &mut HeaderMap) {
    let context = span.context();
    global::get_text_map_propagator(|propagator| propagator.inject_context(&context, &mut Inject(headers)));
}

/// Headers carrying the current span's context; empty when it is not traced.
pub fn current() -> HeaderMap {
    let mut headers = HeaderMap::new();
    inject(&tracing::Span::current(), &mut headers);
    headers
}

/// The context `headers` carry, if they carry one.
pub fn extract(headers: Option<&HeaderMap>) -> Option<Context> {
    let headers = headers.filter(|headers| headers.get(TRACEPARENT).is_some())?;
    Some(global::get_text_map_propagator(|propagator| propagator.extract(&Extract(headers))))
}

/// Only the trace context of `headers` (a stored message's carry more), if they carry one.
pub fn carried(headers: Option<&HeaderMap>) -> Option<HeaderMap> {
    let traceparent = headers?.get(TRACEPARENT)?;
    let mut carried = HeaderMap::new();
    carried.insert(TRACEPARENT, traceparent.as_str());
    if let Some(state) = headers.and_then(|headers| headers.get("tracestate")) {
        carried.insert("tracestate", state.as_str());
    }
    Some(carried)
}

/// `span`, made a child of the context `headers` carry, if any.
pub fn continued(span: tracing::Span, headers: Option<&HeaderMap>) -> tracing::Span {
    if let Some(context) = extract(headers) {
        // Fails only for a span already started elsewhere, which a new span is not.
        let _ = span.set_parent(context);
    }
    span
}
