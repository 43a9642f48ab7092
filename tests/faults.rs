//! Fault injection over real sockets: each provider fault ends in the documented code, within
//! the deadline, after the expected number of attempts, and the gateway stays healthy.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::faults::{Fault, FaultServer};
use support::{TestGateway, problem, stripe_config};

fn session() -> serde_json::Value {
    json!({ "id": "cs_f", "object": "checkout.session", "status": "open", "currency": "usd" })
}

/// Start a gateway (deadline 3 s, attempt timeout 1 s, 3 attempts, fast backoff) in front of
/// `script`, send one update, and check code, attempts, time and health afterwards.
async fn check(script: Vec<Fault>, status: u16, code: Option<&str>, attempts: usize) {
    let server = FaultServer::start(script).await;
    // The breaker would open after 5 failures; keep it out of single-fault checks.
    let config = stripe_config(&server.url, "")
        .replace("max_delay_ms = 50 }", "max_delay_ms = 50 }\ncircuit_breaker = { failure_threshold = 100 }");
    let gateway = TestGateway::start(&config).await;
    let started = Instant::now();
    let response = gateway.patch("cs_f", &json!({ "metadata": { "a": "b" } })).await;
    let elapsed = started.elapsed();
    assert_eq!(response.status(), status, "status");
    if let Some(code) = code {
        assert_eq!(problem(response).await["code"], code);
    }
    assert_eq!(server.attempts(), attempts, "attempts");
    assert!(elapsed < Duration::from_millis(3_500), "ended within the deadline: {elapsed:?}");
    let health = gateway.client.get(gateway.url("/healthz")).send().await.expect("health");
    assert_eq!(health.status(), 200);
    let providers = gateway.get("/v1/providers").await;
    assert_eq!(providers.status(), 200, "still serving");
    gateway.stop().await;
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    for status in [500, 502, 503, 504] {
        let failing = Fault::json(status, &json!({ "error": { "type": "api_error", "message": "boom" } }));
        check(vec![failing.clone(), failing, Fault::json(200, &session())], 200, None, 3).await;
    }
}

#[tokio::test]
async fn persistent_server_errors_end_as_provider_error_after_all_attempts() {
    check(
        vec![Fault::json(500, &json!({ "error": { "type": "api_error", "message": "boom" } }))],
        502,
        Some("provider_error"),
        3,
    )
    .await;
}

#[tokio::test]
async fn rate_limits_honour_retry_after_then_succeed() {
    let limited = Fault::Respond {
        status: 429,
        headers: vec![("retry-after", "0".to_owned())],
        body: json!({ "error": { "type": "rate_limit_error", "message": "slow down" } }).to_string(),
    };
    check(vec![limited, Fault::json(200, &session())], 200, None, 2).await;
}

#[tokio::test]
async fn connection_resets_mid_response_are_retried_then_reported() {
    check(vec![Fault::ResetMidResponse, Fault::json(200, &session())], 200, None, 2).await;
    check(vec![Fault::ResetMidResponse], 502, Some("provider_error"), 3).await;
}

#[tokio::test]
async fn a_silent_provider_times_out_within_the_deadline() {
    // 1 s per attempt, 3 s deadline: at most three attempts, the last one cut by the deadline.
    let server_attempts = {
        let server = FaultServer::start(vec![Fault::Silence]).await;
        let gateway = TestGateway::start(&stripe_config(&server.url, "")).await;
        let started = Instant::now();
        let response = gateway.patch("cs_f", &json!({ "metadata": { "a": "b" } })).await;
        assert_eq!(response.status(), 504);
        assert_eq!(problem(response).await["code"], "provider_timeout");
        assert!(started.elapsed() < Duration::from_millis(3_500));
        assert_eq!(gateway.client.get(gateway.url("/healthz")).send().await.expect("health").status(), 200);
        gateway.stop().await;
        server.attempts()
    };
    assert!((2..=3).contains(&server_attempts), "{server_attempts} attempts");
}

#[tokio::test]
async fn invalid_json_and_oversized_bodies_are_provider_errors() {
    check(
        vec![Fault::Respond { status: 200, headers: vec![], body: "{not json".to_owned() }],
        502,
        Some("provider_error"),
        1,
    )
    .await;
    // 50 MB against the 2 MiB response limit: refused without reading it all, not retried.
    check(vec![Fault::Huge { bytes: 50 * 1024 * 1024 }], 502, Some("provider_error"), 1).await;
}

#[tokio::test]
async fn a_slow_drip_is_cut_by_the_attempt_timeout() {
    let drip = Fault::Drip { interval: Duration::from_millis(100) };
    check(vec![drip], 504, Some("provider_timeout"), 3).await;
}

#[tokio::test]
async fn refused_connections_end_as_provider_unavailable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let gateway = TestGateway::start(&stripe_config(&url, "")).await;
    let started = Instant::now();
    let response = gateway.patch("cs_f", &json!({ "metadata": { "a": "b" } })).await;
    assert_eq!(response.status(), 503);
    assert_eq!(problem(response).await["code"], "provider_unavailable");
    assert!(started.elapsed() < Duration::from_secs(3));
    gateway.stop().await;
}

#[tokio::test]
async fn the_circuit_opens_after_repeated_failures_and_fails_fast() {
    let server =
        FaultServer::start(vec![Fault::json(503, &json!({ "error": { "type": "api_error", "message": "down" } }))])
            .await;
    let config = stripe_config(&server.url, "")
        .replace(
            "max_delay_ms = 50 }",
            "max_delay_ms = 50 }\ncircuit_breaker = { failure_threshold = 3, cool_down_ms = 60000 }",
        )
        .replace("deadline_ms = 3000", "deadline_ms = 3000\nadmin_listen = \"127.0.0.1:0\"");
    let gateway = TestGateway::start(&config).await;
    let first = gateway.patch("cs_f", &json!({ "metadata": { "a": "b" } })).await;
    assert_eq!(first.status(), 502, "three failed attempts open the circuit");
    let second = gateway.patch("cs_f", &json!({ "metadata": { "a": "b" } })).await;
    assert_eq!(second.status(), 503);
    assert!(second.headers().contains_key("retry-after"));
    assert_eq!(problem(second).await["code"], "provider_unavailable");
    assert_eq!(server.attempts(), 3, "the open circuit sent nothing");
    // The public /readyz says only ready or not; circuit states are in the admin listener's.
    let admin = gateway.admin_base.clone().expect("admin listener");
    let ready: serde_json::Value =
        gateway.client.get(format!("{admin}/readyz")).send().await.expect("ready").json().await.expect("json");
    assert_eq!(ready["circuits"]["stripe-main"], "open");
    gateway.stop().await;
}

#[tokio::test]
async fn beyond_the_concurrency_limit_requests_are_shed_with_503() {
    let server = FaultServer::start(vec![Fault::Drip { interval: Duration::from_millis(10) }]).await;
    let config =
        stripe_config(&server.url, "").replace("deadline_ms = 3000", "deadline_ms = 3000\nmax_concurrency = 1");
    let gateway = TestGateway::start(&config).await;
    let body = json!({ "metadata": { "a": "b" } });
    let slow = gateway.patch("cs_f", &body);
    let shed = async {
        // Wait until the first request holds the only slot (it has reached the provider).
        let started = Instant::now();
        while server.attempts() == 0 {
            assert!(started.elapsed() < Duration::from_secs(5));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        gateway.patch("cs_f", &body).await
    };
    let (first, second) = tokio::join!(slow, shed);
    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 503);
    assert!(second.headers().contains_key("retry-after"));
    assert_eq!(problem(second).await["code"], "overloaded");
    gateway.stop().await;
}
