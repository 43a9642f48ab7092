//! Every problem body carries the request id (issue 14 item 1): the id the client sent, or the
//! one the gateway chose and echoed in `X-Request-Id`, whichever layer refused the request (the
//! router's 404/405, an extractor's 401, a handler's 422, load shedding's 503, a provider's
//! failure). A replayed answer carries the id of the request that produced it. The panic 500
//! is covered by the unit test in `src/api/mod.rs` (no route panics on purpose).
#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::faults::{Fault, FaultServer};
use support::{TENANT_KEY, TestGateway, problem, stripe_config};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};

/// The problem body of `response`, checked to carry the id the response echoes; with `sent`,
/// also that this is the id the client sent.
async fn problem_with_id(response: reqwest::Response, sent: Option<&str>) -> Value {
    let echoed = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("every response echoes X-Request-Id")
        .to_owned();
    let body = problem(response).await;
    assert_eq!(body["request_id"], echoed.as_str(), "{body}");
    assert!(!echoed.is_empty());
    if let Some(sent) = sent {
        assert_eq!(echoed, sent);
    }
    body
}

#[tokio::test]
async fn refusals_from_every_layer_carry_the_request_id() {
    let mock = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(500)).expect(0).mount(&mock).await;
    let gateway = TestGateway::start(&stripe_config(&mock.uri(), "")).await;
    let client = &gateway.client;

    // The router: an unknown route, a known route with another method.
    let missing = client.get(gateway.url("/no/such/route")).header("x-request-id", "rid-404").send().await;
    let body = problem_with_id(missing.expect("request"), Some("rid-404")).await;
    assert_eq!(body["code"], "not_found");
    let method = client.delete(gateway.url("/v1/providers")).send().await.expect("request");
    assert_eq!(problem_with_id(method, None).await["code"], "method_not_allowed");

    // An extractor: no tenant key.
    let anonymous = client.get(gateway.url("/v1/providers")).header("x-request-id", "rid-401").send().await;
    assert_eq!(problem_with_id(anonymous.expect("request"), Some("rid-401")).await["code"], "unauthenticated");

    // A handler: the body breaks the schema.
    let invalid = client
        .patch(gateway.url("/v1/checkout/sessions/cs_1"))
        .bearer_auth(TENANT_KEY)
        .header("x-request-id", "rid-422")
        .json(&json!({ "currency": 7 }))
        .send()
        .await
        .expect("request");
    assert_eq!(invalid.status(), 422);
    assert_eq!(problem_with_id(invalid, Some("rid-422")).await["code"], "validation_failed");

    // `/problems/{code}` for an unknown code.
    let unknown = client.get(gateway.url("/problems/no_such_code")).send().await.expect("request");
    assert_eq!(problem_with_id(unknown, None).await["code"], "not_found");
    gateway.stop().await;
}

#[tokio::test]
async fn a_shed_request_carries_its_request_id() {
    let provider = FaultServer::start(vec![Fault::Silence]).await;
    let config = stripe_config(&provider.url, "")
        .replace("deadline_ms = 3000", "deadline_ms = 5000\nmax_concurrency = 1")
        .replace("timeout_ms = 1000", "timeout_ms = 10000");
    let gateway = TestGateway::start(&config).await;
    let (client, url) = (gateway.client.clone(), gateway.url("/v1/checkout/sessions/cs_slow"));
    let held = tokio::spawn(async move {
        let _ = client.patch(url).bearer_auth(TENANT_KEY).json(&json!({ "metadata": { "a": "b" } })).send().await;
    });
    let started = Instant::now();
    while provider.attempts() < 1 {
        assert!(started.elapsed() < Duration::from_secs(4), "the slow update did not reach the provider");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let shed = gateway
        .client
        .get(gateway.url("/v1/providers"))
        .bearer_auth(TENANT_KEY)
        .header("x-request-id", "rid-503")
        .send()
        .await
        .expect("request");
    assert_eq!(shed.status(), 503);
    assert_eq!(problem_with_id(shed, Some("rid-503")).await["code"], "overloaded");
    held.abort();
    gateway.stop().await;
}

#[tokio::test]
async fn a_replayed_provider_failure_carries_the_id_of_the_request_that_produced_it() {
    let mock = MockServer::start().await;
    let refusal = json!({ "error": { "type": "invalid_request_error", "code": "parameter_invalid", "message": "no" } });
    Mock::given(any()).respond_with(ResponseTemplate::new(400).set_body_json(refusal)).expect(1).mount(&mock).await;
    let gateway = TestGateway::start(&stripe_config(&mock.uri(), "")).await;
    let send = |request_id: &'static str| {
        gateway
            .client
            .patch(gateway.url("/v1/checkout/sessions/cs_1"))
            .bearer_auth(TENANT_KEY)
            .header("idempotency-key", "replay-1")
            .header("x-request-id", request_id)
            .json(&json!({ "metadata": { "a": "b" } }))
            .send()
    };
    let first = send("rid-first").await.expect("request");
    assert_eq!(first.status(), 422);
    assert_eq!(problem_with_id(first, Some("rid-first")).await["code"], "provider_rejected");

    let replay = send("rid-second").await.expect("request");
    assert_eq!(replay.headers().get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    assert_eq!(replay.headers().get("x-request-id").and_then(|v| v.to_str().ok()), Some("rid-second"));
    let body = problem(replay).await;
    assert_eq!(body["request_id"], "rid-first", "the stored answer is replayed as it was sent");
    gateway.stop().await;
}

#[tokio::test]
async fn admin_listener_problems_carry_a_request_id() {
    let mock = MockServer::start().await;
    let config = stripe_config(&mock.uri(), "")
        .replace("deadline_ms = 3000", "deadline_ms = 3000\nadmin_listen = \"127.0.0.1:0\"");
    let gateway = TestGateway::start(&config).await;
    let admin = gateway.admin_base.clone().expect("admin listener");
    let missing = gateway.client.get(format!("{admin}/no/such/route")).send().await.expect("request");
    assert_eq!(missing.status(), 404);
    let body = problem(missing).await;
    assert!(body["request_id"].as_str().is_some_and(|id| !id.is_empty()), "{body}");
    gateway.stop().await;
}
