//! Limits that hold (issue 13 item 8): failed authentication limited per client address, rate
//! buckets kept across SIGHUP, a per-tenant concurrency cap, and the documented choice when the
//! shared limiter's Redis does not answer.
#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use std::io::Write as _;
use std::time::{Duration, Instant};

use serde_json::json;
use support::faults::{Fault, FaultServer};
use support::redis::RedisServer;
use support::{OTHER_TENANT_KEY, TENANT_KEY, TestGateway, problem, sha256_hex, stripe_config};

async fn providers_with_key(gateway: &TestGateway, key: &str) -> reqwest::Response {
    gateway.client.get(gateway.url("/v1/providers")).bearer_auth(key).send().await.expect("request")
}

#[tokio::test]
async fn an_address_that_keeps_failing_authentication_is_refused_before_its_key_is_checked() {
    let config = stripe_config("http://127.0.0.1:9", "")
        .replace("deadline_ms = 3000", "deadline_ms = 3000\nauth_failure_limit = 3\nauth_failure_window_seconds = 60");
    let gateway = TestGateway::start(&config).await;
    for guess in ["guess-1", "guess-2", "guess-3"] {
        assert_eq!(providers_with_key(&gateway, guess).await.status(), 401);
    }
    let limited = providers_with_key(&gateway, "guess-4").await;
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"].to_str().expect("text").parse().expect("seconds");
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after} within the window");
    assert_eq!(problem(limited).await["code"], "rate_limited");
    // Even the right key: answering it would tell a guesser when it found one.
    assert_eq!(providers_with_key(&gateway, TENANT_KEY).await.status(), 429);
    gateway.stop().await;
}

#[tokio::test]
async fn successful_requests_do_not_count_as_failures() {
    let config = stripe_config("http://127.0.0.1:9", "")
        .replace("deadline_ms = 3000", "deadline_ms = 3000\nauth_failure_limit = 2");
    let gateway = TestGateway::start(&config).await;
    for _ in 0..5 {
        assert_eq!(providers_with_key(&gateway, TENANT_KEY).await.status(), 200);
    }
    assert_eq!(providers_with_key(&gateway, "wrong").await.status(), 401);
    assert_eq!(providers_with_key(&gateway, TENANT_KEY).await.status(), 200, "one failure is under the limit");
    gateway.stop().await;
}

#[tokio::test]
async fn rate_limit_buckets_survive_a_reload() {
    let config = stripe_config("http://127.0.0.1:9", "rate_limit = { requests_per_second = 0.01, burst = 1 }");
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().expect("temp file");
    file.write_all(config.as_bytes()).expect("write");
    let gateway = TestGateway::start(&config).await;
    assert_eq!(gateway.get("/v1/providers").await.status(), 200);
    assert_eq!(gateway.get("/v1/providers").await.status(), 429);
    gateway.reload(file.path()).expect("reload accepted");
    assert_eq!(gateway.get("/v1/providers").await.status(), 429, "a reload hands out no fresh burst");
    gateway.stop().await;
}

#[tokio::test]
async fn a_tenant_at_its_concurrency_cap_is_refused_while_other_tenants_are_served() {
    let provider = FaultServer::start(vec![Fault::Silence]).await;
    let other_tenant = format!(
        "max_concurrency = 1\n\n[tenants.globex]\napi_key_sha256 = \"{}\"\nprovider = \"stripe-other\"",
        sha256_hex(OTHER_TENANT_KEY)
    );
    let config = stripe_config(&provider.url, &other_tenant).replace("timeout_ms = 1000", "timeout_ms = 10000");
    let gateway = TestGateway::start(&config).await;
    let held = {
        let (client, url) = (gateway.client.clone(), gateway.url("/v1/checkout/sessions/cs_slow"));
        tokio::spawn(async move {
            client.patch(url).bearer_auth(TENANT_KEY).json(&json!({ "metadata": { "a": "b" } })).send().await
        })
    };
    let started = Instant::now();
    while provider.attempts() == 0 {
        assert!(started.elapsed() < Duration::from_secs(3), "the slow update did not reach the provider");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let refused = gateway.get("/v1/providers").await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(problem(refused).await["code"], "rate_limited");
    assert_eq!(providers_with_key(&gateway, OTHER_TENANT_KEY).await.status(), 200, "another tenant is served");
    assert_eq!(held.await.expect("join").expect("response").status(), 504);
    assert_eq!(gateway.get("/v1/providers").await.status(), 200, "the slot is freed");
    gateway.stop().await;
}

fn redis_limited_config(redis_url: &str, policy: &str) -> String {
    stripe_config("http://127.0.0.1:9", "rate_limit = { requests_per_second = 100, burst = 100 }")
        .replace("deadline_ms = 3000", &format!("deadline_ms = 3000\n{policy}"))
        .replace(
            "[providers.stripe-main]",
            &format!("[idempotency]\nstore = \"redis\"\nredis_url = \"{redis_url}\"\n\n[providers.stripe-main]"),
        )
}

#[tokio::test]
async fn with_redis_down_the_limiter_fails_open_by_default_and_closed_when_configured() {
    let redis = RedisServer::start();
    let open = TestGateway::start(&redis_limited_config(&redis.url, "")).await;
    let closed =
        TestGateway::start(&redis_limited_config(&redis.url, "rate_limit_on_store_error = \"fail_closed\"")).await;
    assert_eq!(open.get("/v1/providers").await.status(), 200);
    assert_eq!(closed.get("/v1/providers").await.status(), 200);
    drop(redis);
    assert_eq!(open.get("/v1/providers").await.status(), 200, "fail_open: requests pass unlimited");
    let refused = closed.get("/v1/providers").await;
    assert_eq!(refused.status(), 503, "fail_closed: refused");
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(problem(refused).await["code"], "store_unavailable");
    open.stop().await;
    closed.stop().await;
}
