//! The real binary: secrets absent from logs at every level, SIGHUP reload (valid and invalid),
//! graceful SIGTERM with a request in flight.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use std::time::Duration;

use serde_json::json;
use support::process::GatewayProcess;
use support::{OTHER_TENANT_KEY, STRIPE_KEY, TENANT_KEY, sha256_hex, stripe_config};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MATTILDA_KEY: &str = include_str!("../providers/mattilda/demo/demo-private-key.pem");

fn write_config(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

fn json_logs(config: &str) -> String {
    config.replacen("[server]\n", "[server]\nlog_format = \"json\"\n", 1)
}

/// The Stripe test config plus a Mattilda provider signing JWTs with the demo key.
fn config_with_mattilda(mock: &str) -> String {
    let base = json_logs(&stripe_config(mock, "allowed_providers = [\"stripe-main\", \"mattilda\"]"));
    base.replace(
        "[tenants.acme]",
        &format!("[providers.mattilda]\nkind = \"mattilda\"\nbase_url = \"{mock}\"\nallow_insecure_http = true\nprivate_key = {{ value = \"\"\"\n{MATTILDA_KEY}\"\"\" }}\n\n[tenants.acme]"),
    )
}

#[tokio::test]
async fn secrets_never_appear_in_logs_even_at_trace_level() {
    let mock = MockServer::start().await;
    Mock::given(path("/v1/checkout/sessions/cs_echo"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({ "error": { "type": "invalid_request_error", "message": format!("Invalid API Key provided: {STRIPE_KEY}") } })))
        .mount(&mock)
        .await;
    Mock::given(path("/v1/checkout/sessions/cs_ok"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "cs_ok", "object": "checkout.session", "status": "open" })),
        )
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({ "type": "error", "code": "not_found", "status": 404, "message": "missing" })),
        )
        .mount(&mock)
        .await;
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(&dir, &config_with_mattilda(&mock.uri()));
    let gateway = GatewayProcess::start(&config, "trace");
    let client = reqwest::Client::new();
    let update = |id: &str, provider: &str, body: serde_json::Value| {
        client
            .patch(format!("{}/v1/checkout/sessions/{id}", gateway.base))
            .bearer_auth(TENANT_KEY)
            .header("checkout-provider", provider)
            .json(&body)
            .send()
    };
    let metadata = json!({ "metadata": { "order_id": "42" } });
    let mut bodies = Vec::new();
    for (id, provider, body) in [
        ("cs_ok", "stripe-main", metadata.clone()),
        ("cs_echo", "stripe-main", metadata.clone()),
        ("cs_ok", "stripe-main", json!({ "typo": 1 })),
        ("4137b1cf-39ac-42a8-bad6-1c680d5dab6b", "mattilda", metadata.clone()),
        ("not-a-uuid", "mattilda", metadata.clone()),
    ] {
        bodies.push(update(id, provider, body).await.expect("request").text().await.expect("body"));
    }
    let preview = client
        .post(format!("{}/v1/checkout/sessions/cs_ok/preview", gateway.base))
        .bearer_auth(TENANT_KEY)
        .json(&metadata)
        .send()
        .await
        .expect("preview");
    bodies.push(preview.text().await.expect("body"));
    let wrong_tenant =
        client.get(format!("{}/v1/providers", gateway.base)).bearer_auth("wrong-key").send().await.expect("request");
    bodies.push(wrong_tenant.text().await.expect("body"));
    gateway.wait_for_log("request finished", Duration::from_secs(5));
    let logs = gateway.logs().join("\n");
    assert!(logs.len() > 1000, "trace logging produced output");
    let pem_body: Vec<&str> = MATTILDA_KEY.lines().filter(|l| !l.starts_with("-----")).collect();
    for (what, text) in [("logs", &logs), ("bodies", &bodies.join("\n"))] {
        assert!(!text.contains(STRIPE_KEY), "Stripe key in {what}");
        assert!(!text.contains(TENANT_KEY), "tenant key in {what}");
        assert!(!text.contains("Bearer "), "a bearer credential in {what}");
        for line in &pem_body {
            assert!(!text.contains(line), "Mattilda private key in {what}");
        }
    }
}

#[tokio::test]
async fn sighup_reloads_a_valid_config_and_keeps_the_old_one_when_invalid() {
    let mock = MockServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let base = json_logs(&stripe_config(&mock.uri(), ""));
    let path = write_config(&dir, &base);
    let gateway = GatewayProcess::start(&path, "info");
    let client = reqwest::Client::new();
    let providers_as = |key: &'static str| client.get(format!("{}/v1/providers", gateway.base)).bearer_auth(key).send();
    assert_eq!(providers_as(OTHER_TENANT_KEY).await.expect("request").status(), 401);

    let with_globex = format!(
        "{base}\n[tenants.globex]\napi_key_sha256 = \"{}\"\nprovider = \"stripe-other\"\n",
        sha256_hex(OTHER_TENANT_KEY)
    );
    std::fs::write(&path, &with_globex).expect("write");
    gateway.signal("HUP");
    gateway.wait_for_log("config reloaded", Duration::from_secs(10));
    assert_eq!(providers_as(OTHER_TENANT_KEY).await.expect("request").status(), 200, "the new tenant is live");

    std::fs::write(&path, format!("{with_globex}\n[surprise]\nkey = 1\n")).expect("write");
    gateway.signal("HUP");
    gateway.wait_for_log("config reload refused", Duration::from_secs(10));
    assert_eq!(providers_as(OTHER_TENANT_KEY).await.expect("request").status(), 200, "the old config stays");
    assert_eq!(providers_as(TENANT_KEY).await.expect("request").status(), 200);
}

#[tokio::test]
async fn sigterm_lets_the_request_in_flight_finish() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "cs_slow", "object": "checkout.session", "status": "open" }))
                .set_delay(Duration::from_millis(800)),
        )
        .mount(&mock)
        .await;
    let dir = tempfile::tempdir().expect("dir");
    let path = write_config(&dir, &json_logs(&stripe_config(&mock.uri(), "")));
    let mut gateway = GatewayProcess::start(&path, "info");
    let url = format!("{}/v1/checkout/sessions/cs_slow", gateway.base);
    let in_flight = tokio::spawn(async move {
        reqwest::Client::new()
            .patch(url)
            .bearer_auth(TENANT_KEY)
            .json(&json!({ "metadata": { "a": "b" } }))
            .send()
            .await
    });
    let started = std::time::Instant::now();
    while mock.received_requests().await.is_none_or(|r| r.is_empty()) {
        assert!(started.elapsed() < Duration::from_secs(5), "the request never reached the provider");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    gateway.signal("TERM");
    let response = in_flight.await.expect("join").expect("the in-flight request was answered");
    assert_eq!(response.status(), 200);
    assert!(gateway.wait_exit(Duration::from_secs(10)), "clean exit");
    gateway.wait_for_log("shutting down", Duration::from_secs(1));
}
