//! OpenTelemetry traces (issue 16): the real binary exports over OTLP/HTTP to an in-process
//! collector that decodes the protobuf `ExportTraceServiceRequest`. One update with a client
//! `traceparent` (its first provider attempt answered 503, the retry 200) and one passthrough
//! call arrive as spans of the client's traces, and the provider saw each attempt's own span.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message as _;
use serde_json::json;
use support::process::GatewayProcess;
use support::{STRIPE_KEY, TENANT_KEY, TestGateway, stripe_config};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";
const PASSTHROUGH_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const UNSAMPLED_TRACE: &str = "5c3e1fbb0ae24c1e9d4b7e0f6a2d8c11";
const REFUSED_TRACE: &str = "7d2b9a0c4e6f48a1b3c5d7e9f1a2b4c6";

/// One exported span as the collector decoded it, with its resource's `service.name`.
#[derive(Debug, Clone)]
struct Exported {
    service: String,
    span: opentelemetry_proto::tonic::trace::v1::Span,
}

impl Exported {
    fn trace_id(&self) -> String {
        hex::encode(&self.span.trace_id)
    }

    fn span_id(&self) -> String {
        hex::encode(&self.span.span_id)
    }

    fn parent_id(&self) -> String {
        hex::encode(&self.span.parent_span_id)
    }

    fn attribute(&self, key: &str) -> Option<String> {
        self.span.attributes.iter().find(|kv| kv.key == key).map(value_text)
    }
}

fn value_text(kv: &KeyValue) -> String {
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(text)) => text.clone(),
        Some(any_value::Value::IntValue(number)) => number.to_string(),
        Some(any_value::Value::BoolValue(flag)) => flag.to_string(),
        Some(any_value::Value::DoubleValue(number)) => number.to_string(),
        other => format!("{other:?}"),
    }
}

type Received = Arc<Mutex<Vec<Exported>>>;

/// An OTLP/HTTP receiver on loopback, on a thread and runtime of its own so it keeps answering
/// while the test blocks waiting for the gateway to exit.
fn start_collector() -> (SocketAddr, Received) {
    let received = Received::default();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind collector");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("collector addr");
    let state = Arc::clone(&received);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            let router = axum::Router::new().route("/v1/traces", axum::routing::post(receive)).with_state(state);
            axum::serve(listener, router).await.expect("collector");
        });
    });
    (addr, received)
}

async fn receive(
    State(received): State<Received>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut answer = HeaderMap::new();
    answer.insert(header::CONTENT_TYPE, "application/x-protobuf".parse().expect("media type"));
    if headers.get(header::CONTENT_TYPE).is_none_or(|t| t != "application/x-protobuf") {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, answer, Vec::new());
    }
    let Ok(export) = ExportTraceServiceRequest::decode(body) else {
        return (StatusCode::BAD_REQUEST, answer, Vec::new());
    };
    let mut spans = received.lock().expect("spans");
    for resource_spans in export.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|resource| &resource.attributes)
            .find(|kv| kv.key == "service.name")
            .map(value_text)
            .unwrap_or_default();
        for span in resource_spans.scope_spans.into_iter().flat_map(|scope| scope.spans) {
            spans.push(Exported { service: service.clone(), span });
        }
    }
    (StatusCode::OK, answer, ExportTraceServiceResponse::default().encode_to_vec())
}

/// The spans of `trace` once at least `count` arrived (polling up to a few seconds).
fn spans_of(received: &Received, trace: &str, count: usize) -> Vec<Exported> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let spans: Vec<Exported> =
            received.lock().expect("spans").iter().filter(|s| s.trace_id() == trace).cloned().collect();
        if spans.len() >= count || Instant::now() >= deadline {
            return spans;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The update test's config: Stripe at `mock`, one passthrough rule, JSON logs, and traces to
/// `collector` with every new trace sampled.
fn traced_config(mock: &str, collector: SocketAddr) -> String {
    let base = stripe_config(mock, "").replacen("[server]\n", "[server]\nlog_format = \"json\"\n", 1).replacen(
        "[providers.stripe-other]",
        "passthrough = { allow = [\"GET /v1/checkout/sessions/*\"] }\n\n[providers.stripe-other]",
        1,
    );
    format!(
        "{base}\n[telemetry]\notlp_endpoint = \"http://{collector}\"\nsampling_ratio = 1.0\nservice_name = \"gateway-under-test\"\n"
    )
}

/// `traceparent` values the provider received, in order.
async fn traceparents(mock: &MockServer) -> Vec<String> {
    let requests = mock.received_requests().await.expect("recorded requests");
    requests
        .iter()
        .map(|r| r.headers.get("traceparent").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn an_update_and_its_provider_attempts_reach_the_collector_in_the_clients_trace() {
    let mock = MockServer::start().await;
    Mock::given(path("/v1/checkout/sessions/cs_otel"))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(json!({ "error": { "type": "api_error", "message": "down" } })),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(path("/v1/checkout/sessions/cs_otel"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "cs_otel", "object": "checkout.session", "status": "open" })),
        )
        .with_priority(2)
        .mount(&mock)
        .await;
    let (collector, received) = start_collector();
    let dir = tempfile::tempdir().expect("dir");
    let config_path = dir.path().join("gateway.toml");
    std::fs::write(&config_path, traced_config(&mock.uri(), collector)).expect("write config");
    let mut gateway = GatewayProcess::start(&config_path, "info");
    let client = reqwest::Client::new();

    let update = client
        .patch(format!("{}/v1/checkout/sessions/cs_otel", gateway.base))
        .bearer_auth(TENANT_KEY)
        .header("traceparent", format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"))
        .header("tracestate", "vendor=opaque")
        .json(&json!({ "metadata": { "order": "42" } }))
        .send()
        .await
        .expect("update");
    assert_eq!(update.status(), 200, "the retry succeeded");
    let update_parents = traceparents(&mock).await;
    let passthrough = client
        .get(format!("{}/v1/passthrough/stripe-main/v1/checkout/sessions/cs_otel", gateway.base))
        .bearer_auth(TENANT_KEY)
        .header("traceparent", format!("00-{PASSTHROUGH_TRACE}-{CLIENT_SPAN}-01"))
        .send()
        .await
        .expect("passthrough");
    assert_eq!(passthrough.status(), 200);
    // The client did not sample this one: its spans are not exported, but the trace goes on.
    let unsampled = client
        .patch(format!("{}/v1/checkout/sessions/cs_otel", gateway.base))
        .bearer_auth(TENANT_KEY)
        .header("traceparent", format!("00-{UNSAMPLED_TRACE}-{CLIENT_SPAN}-00"))
        .json(&json!({ "metadata": { "order": "43" } }))
        .send()
        .await
        .expect("unsampled update");
    assert_eq!(unsampled.status(), 200);
    // A refusal: the request span says which problem it answered.
    let refused = client
        .patch(format!("{}/v1/checkout/sessions/cs_otel", gateway.base))
        .bearer_auth(TENANT_KEY)
        .header("traceparent", format!("00-{REFUSED_TRACE}-{CLIENT_SPAN}-01"))
        .json(&json!({ "typo": 1 }))
        .send()
        .await
        .expect("refused update");
    assert_eq!(refused.status(), 422);
    let problem: serde_json::Value = refused.json().await.expect("problem body");
    let all_parents = traceparents(&mock).await;
    // SIGTERM: the graceful shutdown exports what is still batched before the process exits.
    gateway.signal("TERM");
    assert!(gateway.wait_exit(Duration::from_secs(20)), "clean exit; logs:\n{}", gateway.logs().join("\n"));

    // The update: the request span continues the client's span; two attempt spans under it.
    let spans = spans_of(&received, CLIENT_TRACE, 3);
    let request = spans.iter().find(|s| s.span.name == "request").expect("request span exported");
    assert_eq!(request.parent_id(), CLIENT_SPAN, "the client's span is the parent");
    assert_eq!(request.span.kind, SpanKind::Server as i32);
    assert_eq!(request.service, "gateway-under-test");
    assert_eq!(request.span.trace_state, "vendor=opaque");
    for (key, value) in [
        ("tenant", "acme"),
        ("provider", "stripe-main"),
        ("route", "/v1/checkout/sessions/{id}"),
        ("status", "200"),
        ("http.request.method", "PATCH"),
        ("http.response.status_code", "200"),
    ] {
        assert_eq!(request.attribute(key).as_deref(), Some(value), "{key} on {request:?}");
    }
    assert!(request.attribute("request_id").is_some_and(|id| !id.is_empty()));
    let mut attempts: Vec<&Exported> = spans.iter().filter(|s| s.span.name == "provider_attempt").collect();
    attempts.sort_by_key(|s| s.attribute("attempt"));
    assert_eq!(attempts.len(), 2, "one span per attempt: {spans:#?}");
    for (attempt, status) in attempts.iter().zip(["503", "200"]) {
        assert_eq!(attempt.parent_id(), request.span_id(), "the request span is each attempt's parent");
        assert_eq!(attempt.span.kind, SpanKind::Client as i32);
        assert_eq!(attempt.attribute("provider").as_deref(), Some("stripe-main"));
        assert_eq!(attempt.attribute("status").as_deref(), Some(status));
        assert_eq!(attempt.attribute("http.response.status_code").as_deref(), Some(status));
        assert_eq!(attempt.attribute("url.path").as_deref(), Some("/v1/checkout/sessions/cs_otel"));
        assert!(attempt.attribute("latency_ms").is_some());
    }
    assert_eq!(attempts[0].attribute("attempt").as_deref(), Some("1"));
    assert_eq!(attempts[1].attribute("attempt").as_deref(), Some("2"));
    assert_eq!(attempts[0].attribute("error.type"), None, "a 5xx answer is a status, not a failure class");
    // The provider saw each attempt's own span, in the client's trace, with its tracestate.
    let expected: Vec<String> = attempts.iter().map(|a| format!("00-{CLIENT_TRACE}-{}-01", a.span_id())).collect();
    assert_eq!(update_parents, expected);
    let requests = mock.received_requests().await.expect("recorded requests");
    assert!(requests[..2].iter().all(|r| r.headers.get("tracestate").is_some_and(|v| v == "vendor=opaque")));

    // The passthrough: its one attempt in the second client trace, named to the provider.
    let spans = spans_of(&received, PASSTHROUGH_TRACE, 2);
    let request = spans.iter().find(|s| s.span.name == "request").expect("passthrough request span");
    let attempt = spans.iter().find(|s| s.span.name == "provider_attempt").expect("passthrough attempt span");
    assert_eq!(request.parent_id(), CLIENT_SPAN);
    assert_eq!(attempt.parent_id(), request.span_id());
    assert_eq!(attempt.attribute("url.path").as_deref(), Some("/v1/checkout/sessions/cs_otel"));
    assert_eq!(all_parents[2], format!("00-{PASSTHROUGH_TRACE}-{}-01", attempt.span_id()));

    // The unsampled trace: propagated (flags 00, a span id of the gateway's), never exported.
    let sent = &all_parents[3];
    assert!(sent.starts_with(&format!("00-{UNSAMPLED_TRACE}-")) && sent.ends_with("-00"), "{sent}");
    assert!(!sent.contains(CLIENT_SPAN), "the provider is told the gateway's span, not the client's");
    assert!(spans_of(&received, UNSAMPLED_TRACE, 0).is_empty());

    // The refused update: status and problem code on its request span, no attempt.
    let spans = spans_of(&received, REFUSED_TRACE, 1);
    assert_eq!(spans.len(), 1, "no provider attempt for a refused body: {spans:#?}");
    assert_eq!(spans[0].attribute("http.response.status_code").as_deref(), Some("422"));
    assert_eq!(spans[0].attribute("error.type").as_deref(), problem["code"].as_str());
    assert!(problem["code"].as_str().is_some_and(|code| !code.is_empty()));

    // Nothing secret in any exported attribute or event.
    let everything = format!("{:?}", received.lock().expect("spans"));
    assert!(!everything.contains(STRIPE_KEY) && !everything.contains(TENANT_KEY));
}

#[tokio::test]
async fn without_telemetry_no_trace_context_reaches_the_provider() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "cs_off", "object": "checkout.session", "status": "open" })),
        )
        .mount(&mock)
        .await;
    // In process and without `[telemetry]`: no export is installed.
    let gateway = TestGateway::start(&stripe_config(&mock.uri(), "")).await;
    let response = gateway
        .client
        .patch(gateway.url("/v1/checkout/sessions/cs_off"))
        .bearer_auth(TENANT_KEY)
        .header("traceparent", format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"))
        .header("tracestate", "vendor=opaque")
        .json(&json!({ "metadata": { "a": "b" } }))
        .send()
        .await
        .expect("update");
    assert_eq!(response.status(), 200);
    let requests = mock.received_requests().await.expect("recorded requests");
    assert_eq!(requests.len(), 1);
    assert!(requests[0].headers.get("traceparent").is_none() && requests[0].headers.get("tracestate").is_none());
    gateway.stop().await;
}

#[tokio::test]
async fn a_collector_that_is_down_costs_requests_nothing_and_is_logged() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "cs_down", "object": "checkout.session", "status": "open" })),
        )
        .mount(&mock)
        .await;
    // A port nothing listens on any more: every export is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let dir = tempfile::tempdir().expect("dir");
    let config_path = dir.path().join("gateway.toml");
    std::fs::write(&config_path, traced_config(&mock.uri(), closed)).expect("write config");
    let mut gateway = GatewayProcess::start(&config_path, "info");
    let response = reqwest::Client::new()
        .patch(format!("{}/v1/checkout/sessions/cs_down", gateway.base))
        .bearer_auth(TENANT_KEY)
        .header("traceparent", format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"))
        .json(&json!({ "metadata": { "a": "b" } }))
        .send()
        .await
        .expect("update");
    assert_eq!(response.status(), 200);
    let sent = traceparents(&mock).await;
    assert!(sent[0].starts_with(&format!("00-{CLIENT_TRACE}-")), "still propagated: {sent:?}");
    gateway.signal("TERM");
    assert!(gateway.wait_exit(Duration::from_secs(20)), "clean exit; logs:\n{}", gateway.logs().join("\n"));
    let logs = gateway.logs().join("\n");
    let failed =
        gateway.logs().into_iter().find(|line| line.contains("\"level\":\"ERROR\"") && line.contains("Export"));
    assert!(failed.is_some(), "the failed export is logged; logs:\n{logs}");
    assert!(!logs.contains(STRIPE_KEY) && !logs.contains(TENANT_KEY));
}

#[tokio::test]
async fn a_reload_cannot_turn_the_export_on_without_a_restart() {
    let mock = MockServer::start().await;
    let gateway = TestGateway::start(&stripe_config(&mock.uri(), "")).await;
    let dir = tempfile::tempdir().expect("dir");
    let with_traces = dir.path().join("traced.toml");
    let collector: SocketAddr = "127.0.0.1:4318".parse().expect("addr");
    std::fs::write(&with_traces, traced_config(&mock.uri(), collector)).expect("write config");
    let refusal = gateway.reload(&with_traces).expect_err("a changed [telemetry] is refused");
    assert!(refusal.contains("[telemetry]"), "{refusal}");
    gateway.stop().await;
}
