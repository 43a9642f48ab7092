//! `/metrics` after real traffic: the DESIGN §9 series with their labels, and no secrets.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use serde_json::json;
use support::{STRIPE_KEY, TENANT_KEY, TestGateway, stripe_config};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn metrics_expose_requests_attempts_retries_circuits_replays_and_reloads() {
    let mock = MockServer::start().await;
    Mock::given(path("/v1/checkout/sessions/cs_flaky"))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(json!({ "error": { "type": "api_error", "message": "down" } })),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "cs_m", "object": "checkout.session", "status": "open" })),
        )
        .with_priority(2)
        .mount(&mock)
        .await;
    let config = stripe_config(&mock.uri(), "");
    let gateway = TestGateway::start(&config).await;
    let body = json!({ "metadata": { "a": "b" } });
    assert_eq!(gateway.patch("cs_flaky", &body).await.status(), 200, "one retry");
    for _ in 0..2 {
        let response = gateway
            .client
            .patch(gateway.url("/v1/checkout/sessions/cs_m"))
            .bearer_auth(TENANT_KEY)
            .header("idempotency-key", "metrics-key")
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
    }
    assert_eq!(gateway.patch("cs_m", &json!({ "typo": 1 })).await.status(), 422);
    let dir = tempfile::tempdir().expect("dir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[nonsense]\n").expect("write");
    assert!(gateway.reload(&bad).is_err());

    let text = gateway.client.get(gateway.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    let has = |needle: &str| text.lines().any(|line| !line.starts_with('#') && line.contains(needle));
    assert!(
        has(
            r#"gateway_requests_total{tenant="acme",provider="stripe-main",route="/v1/checkout/sessions/{id}",status="200"}"#
        ),
        "{text}"
    );
    assert!(
        has(r#"gateway_requests_total{tenant="acme",provider="",route="/v1/checkout/sessions/{id}",status="422"} 1"#),
        "{text}"
    );
    assert!(has("gateway_request_duration_seconds_bucket{route=\"/v1/checkout/sessions/{id}\""), "{text}");
    assert!(has(r#"gateway_provider_attempts_total{provider="stripe-main",outcome="503"} 1"#), "{text}");
    assert!(has("gateway_provider_duration_seconds_bucket{provider=\"stripe-main\""), "{text}");
    assert!(has(r#"gateway_provider_retries_total{provider="stripe-main"} 1"#), "{text}");
    assert!(has(r#"gateway_circuit_state{provider="stripe-main"} 0"#), "{text}");
    assert!(has(r#"gateway_idempotent_replays_total{tenant="acme"} 1"#), "{text}");
    assert!(has(r#"gateway_config_reloads_total{result="refused"} 1"#), "{text}");
    assert!(!text.contains(STRIPE_KEY) && !text.contains(TENANT_KEY));
    gateway.stop().await;
}
