//! Idempotency (DESIGN §5) with the memory store and with a real Redis shared by two gateway
//! instances: replays, mismatches, transient outcomes not stored, and exactly one provider call
//! for concurrent identical requests.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};
use support::redis::RedisServer;
use support::{TENANT_KEY, TestGateway, problem, stripe_config};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn session() -> Value {
    json!({ "id": "cs_i", "object": "checkout.session", "status": "open", "currency": "usd", "metadata": { "a": "b" } })
}

async fn patch_with_key(gateway: &TestGateway, key: &str, body: &Value) -> reqwest::Response {
    gateway
        .client
        .patch(gateway.url("/v1/checkout/sessions/cs_i"))
        .bearer_auth(TENANT_KEY)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn a_finished_request_is_replayed_and_a_different_one_refused() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session()))
        .expect(1)
        .mount(&mock)
        .await;
    let gateway = TestGateway::start(&stripe_config(&mock.uri(), "")).await;
    let body = json!({ "metadata": { "a": "b" } });
    let first = patch_with_key(&gateway, "key-1", &body).await;
    assert_eq!(first.status(), 200);
    assert!(!first.headers().contains_key("idempotent-replayed"));
    let first_body = first.text().await.expect("body");
    // The same JSON with keys in another order is the same request.
    let replay =
        patch_with_key(&gateway, "key-1", &serde_json::from_str::<Value>(r#"{"metadata":{"a":"b"}}"#).expect("json"))
            .await;
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.headers()["checkout-provider"], "stripe-main");
    assert_eq!(replay.text().await.expect("body"), first_body);
    let other = patch_with_key(&gateway, "key-1", &json!({ "metadata": { "a": "c" } })).await;
    assert_eq!(other.status(), 422);
    assert_eq!(problem(other).await["code"], "idempotency_key_reused");
    gateway.stop().await;
}

#[tokio::test]
async fn transient_failures_are_not_stored_so_the_client_can_retry() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(json!({ "error": { "type": "api_error", "message": "down" } })),
        )
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session()))
        .with_priority(2)
        .mount(&mock)
        .await;
    let gateway = TestGateway::start(&stripe_config(&mock.uri(), "")).await;
    let body = json!({ "metadata": { "a": "b" } });
    assert_eq!(patch_with_key(&gateway, "key-2", &body).await.status(), 502, "three 503 attempts");
    let retry = patch_with_key(&gateway, "key-2", &body).await;
    assert_eq!(retry.status(), 200);
    assert!(!retry.headers().contains_key("idempotent-replayed"), "the 502 was not stored");
    gateway.stop().await;
}

#[tokio::test]
async fn transient_provider_conflicts_are_retryable_and_not_stored() {
    // Stripe's lock_timeout: another request holds the session. Retried by the gateway, then
    // answered as a retryable 409, and never stored: the client's retry with the same key must
    // reach the provider again (before, the 409 was stored and replayed for 24 h).
    let mock = MockServer::start().await;
    let lock = json!({ "error": { "type": "invalid_request_error", "code": "lock_timeout", "message": "locked" } });
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(409).set_body_json(lock))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session()))
        .with_priority(2)
        .mount(&mock)
        .await;
    let gateway = TestGateway::start(&stripe_config(&mock.uri(), "")).await;
    let body = json!({ "metadata": { "a": "b" } });
    let first = patch_with_key(&gateway, "key-lock", &body).await;
    assert_eq!(first.status(), 409, "three lock_timeout attempts");
    let first = problem(first).await;
    assert_eq!(first["code"], "provider_conflict");
    assert_eq!(first["retryable"], true);
    assert_eq!(first["provider"]["code"], "lock_timeout");
    let retry = patch_with_key(&gateway, "key-lock", &body).await;
    assert_eq!(retry.status(), 200);
    assert!(!retry.headers().contains_key("idempotent-replayed"), "the 409 was not stored");
    assert_eq!(mock.received_requests().await.expect("recorded").len(), 4);
    gateway.stop().await;
}

#[tokio::test]
async fn provider_refusals_are_stored_and_replayed() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({ "error": { "type": "invalid_request_error", "code": "resource_missing", "message": "No such session" } })))
        .expect(1)
        .mount(&mock)
        .await;
    let gateway = TestGateway::start(&stripe_config(&mock.uri(), "")).await;
    let body = json!({ "metadata": { "a": "b" } });
    assert_eq!(patch_with_key(&gateway, "key-3", &body).await.status(), 404);
    let replay = patch_with_key(&gateway, "key-3", &body).await;
    assert_eq!(replay.status(), 404);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(problem(replay).await["code"], "session_not_found");
    gateway.stop().await;
}

#[tokio::test]
async fn an_identical_request_still_in_flight_waits_or_gets_409() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session()).set_delay(Duration::from_millis(600)))
        .mount(&mock)
        .await;
    let impatient = stripe_config(&mock.uri(), "")
        .replace("[providers.stripe-main]", "[idempotency]\nin_flight_wait_ms = 100\n\n[providers.stripe-main]");
    let gateway = TestGateway::start(&impatient).await;
    let body = json!({ "metadata": { "a": "b" } });
    let (first, second) = tokio::join!(patch_with_key(&gateway, "key-4", &body), async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        patch_with_key(&gateway, "key-4", &body).await
    });
    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 409);
    assert_eq!(problem(second).await["code"], "idempotency_key_in_use");
    gateway.stop().await;
}

fn redis_config(mock: &str, redis_url: &str) -> String {
    stripe_config(mock, "rate_limit = { requests_per_second = 1000, burst = 1000 }").replace(
        "[providers.stripe-main]",
        &format!("[idempotency]\nstore = \"redis\"\nredis_url = \"{redis_url}\"\n\n[providers.stripe-main]"),
    )
}

#[tokio::test]
async fn two_instances_sharing_redis_make_exactly_one_provider_call_for_fifty_identical_requests() {
    let redis = RedisServer::start();
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session()).set_delay(Duration::from_millis(300)))
        .mount(&mock)
        .await;
    let config = redis_config(&mock.uri(), &redis.url);
    let (a, b) = (TestGateway::start(&config).await, TestGateway::start(&config).await);
    let body = json!({ "metadata": { "a": "b" } });
    let requests = (0..50).map(|i| patch_with_key(if i % 2 == 0 { &a } else { &b }, "shared-key", &body));
    let responses = join_all(requests).await;
    let mut bodies = Vec::new();
    for response in responses {
        assert_eq!(response.status(), 200);
        bodies.push(response.text().await.expect("body"));
    }
    assert!(bodies.iter().all(|b| b == &bodies[0]), "every client got the same body");
    assert_eq!(mock.received_requests().await.expect("recorded").len(), 1, "exactly one provider call");
    let ready: Value = a.client.get(a.url("/readyz")).send().await.expect("ready").json().await.expect("json");
    assert_eq!(ready["store"], "ok");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn the_tenant_rate_limit_is_shared_through_redis() {
    let redis = RedisServer::start();
    let mock = MockServer::start().await;
    let config = stripe_config(&mock.uri(), "rate_limit = { requests_per_second = 0.1, burst = 3 }").replace(
        "[providers.stripe-main]",
        &format!("[idempotency]\nstore = \"redis\"\nredis_url = \"{}\"\n\n[providers.stripe-main]", redis.url),
    );
    let (a, b) = (TestGateway::start(&config).await, TestGateway::start(&config).await);
    let mut statuses = Vec::new();
    for gateway in [&a, &b, &a, &b] {
        statuses.push(gateway.get("/v1/providers").await.status().as_u16());
    }
    assert_eq!(statuses, vec![200, 200, 200, 429], "one bucket of 3 across both instances");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn an_unreachable_redis_makes_the_gateway_not_ready_and_refuses_keyed_updates() {
    let redis = RedisServer::start();
    let mock = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200).set_body_json(session())).mount(&mock).await;
    let gateway = TestGateway::start(&redis_config(&mock.uri(), &redis.url)).await;
    drop(redis);
    let ready = gateway.client.get(gateway.url("/readyz")).send().await.expect("ready");
    assert_eq!(ready.status(), 503);
    let keyed = patch_with_key(&gateway, "key-5", &json!({ "metadata": { "a": "b" } })).await;
    assert_eq!(keyed.status(), 503);
    assert_eq!(problem(keyed).await["code"], "store_unavailable");
    assert!(mock.received_requests().await.expect("recorded").is_empty());
    gateway.stop().await;
}
