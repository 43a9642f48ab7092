//! W3C trace context in and out, and the OpenTelemetry attributes of the request and attempt
//! spans beyond the fields they log. Every function here is a no-op (one atomic load) unless
//! the trace export is installed: without it the gateway takes no part in a trace, so it
//! neither continues the client's `traceparent` nor sends one to providers.

use std::sync::atomic::{AtomicBool, Ordering};

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::trace::Status;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// The span field naming the OTel span kind. The spans declare it empty, so logs show it only
/// while traces are exported; it must be recorded before the span starts (before its first
/// entry, or before its context is taken for a `traceparent`).
const KIND: &str = "otel.kind";

pub(super) fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// Whether spans are exported.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Mark `span` as the server side of the client's trace: its `traceparent` (and `tracestate`)
/// becomes the span's parent. Must run before the span is first entered. A missing or
/// malformed `traceparent` starts a new trace.
pub fn continue_trace(span: &Span, headers: &HeaderMap) {
    if !enabled() {
        return;
    }
    span.record(KIND, "server");
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    // Fails only when the span is disabled (filtered out): then there is nothing to continue.
    let _ = span.set_parent(parent);
}

/// The finished request's HTTP attributes (semantic conventions), beside the logged fields.
pub fn end_request(span: &Span, method: &Method, route: &str, status: u16) {
    if !enabled() {
        return;
    }
    span.set_attribute("http.request.method", method.as_str().to_owned());
    span.set_attribute("http.route", route.to_owned());
    span.set_attribute("http.response.status_code", i64::from(status));
    if status >= 500 {
        span.set_status(Status::error(""));
    }
}

/// The problem code a request answered with (`error.type`), on the current (request) span.
pub fn record_error_code(code: &'static str) {
    if enabled() {
        Span::current().set_attribute("error.type", code);
    }
}

/// Describe one provider attempt on its span (method and path, never the query: it may carry
/// identifiers a provider treats as sensitive) and send a `traceparent` naming that span.
pub fn start_attempt<B>(span: &Span, request: &mut http::Request<B>) {
    if !enabled() {
        return;
    }
    attempt_attributes(span, request.method(), request.uri().path());
    inject(span, request.headers_mut());
}

/// [`start_attempt`] for the passthrough, whose request is still in parts.
pub fn start_streamed_attempt(span: &Span, method: &Method, path_and_query: &str, headers: &mut HeaderMap) {
    if !enabled() {
        return;
    }
    let path = path_and_query.split_once('?').map_or(path_and_query, |(path, _)| path);
    attempt_attributes(span, method, path);
    inject(span, headers);
}

/// How an attempt ended: the provider's status (a 5xx marks the span failed), or why there was
/// no usable answer (the metrics' outcome label, as `error.type`).
pub fn attempt_ended(span: &Span, outcome: Result<u16, &'static str>) {
    if !enabled() {
        return;
    }
    match outcome {
        Ok(status) => {
            span.set_attribute("http.response.status_code", i64::from(status));
            if status >= 500 {
                span.set_status(Status::error(""));
            }
        }
        Err(failure) => {
            span.set_attribute("error.type", failure);
            span.set_status(Status::error(""));
        }
    }
}

fn attempt_attributes(span: &Span, method: &Method, path: &str) {
    span.record(KIND, "client");
    span.set_attribute("http.request.method", method.as_str().to_owned());
    span.set_attribute("url.path", path.to_owned());
}

/// `traceparent` (and `tracestate`) for `span`, replacing any the request carried.
fn inject(span: &Span, headers: &mut HeaderMap) {
    TraceContextPropagator::new().inject_context(&span.context(), &mut HeaderInjector(headers));
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(key.as_bytes()), HeaderValue::from_str(&value)) {
            self.0.insert(name, value);
        }
    }
}
