//! No secret is ever echoed (issue 13 item 7): a plaintext secret written where a reference
//! belongs is refused naming the key and never the value (the loader, `check-config`, the
//! SIGHUP reload log), and every provider text that reaches a client (message, param, code,
//! request id, `errors[]`, `?include=provider_data`) is scrubbed of every credential in every
//! form the gateway sent it: the configured key, HTTP Basic's base64, a per-attempt JWT.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use support::process::GatewayProcess;
use support::{STRIPE_KEY, TENANT_KEY, TestGateway, sha256_hex, stripe_config};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const LIVE_KEY: &str = "sk_live_51PlaintextSecretValue";
const PEM: &str = include_str!("../providers/mattilda/demo/demo-private-key.pem");
const MATTILDA_SESSION: &str = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b";
const SPEED_KEY: &str = "sk_test_speed_secret_51";

fn config_with(provider_table: &str) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nlog_format = \"json\"\n\n{provider_table}\n\n[tenants.acme]\napi_key_sha256 = \"{}\"\nprovider = \"main\"\n",
        sha256_hex(TENANT_KEY)
    )
}

/// Provider tables with a secret written in place of its reference, and the secret's text.
const STRIPE_TABLE: &str = "[providers.main]\nkind = \"stripe\"\nbase_url = \"https://api.stripe.com\"";

fn plaintext_secrets() -> Vec<(&'static str, String, String)> {
    let stripe = STRIPE_TABLE;
    let mattilda = "[providers.main]\nkind = \"mattilda\"\nbase_url = \"https://api.mattilda.example\"";
    let speed = "[providers.main]\nkind = \"crypto-invoice\"\nbase_url = \"https://api.tryspeed.com\"";
    let pem_body = PEM.lines().nth(1).expect("a PEM body line").to_owned();
    vec![
        ("api_key", format!("{stripe}\napi_key = \"{LIVE_KEY}\""), LIVE_KEY.to_owned()),
        ("private_key", format!("{mattilda}\nprivate_key = \"\"\"\n{PEM}\"\"\""), pem_body),
        ("token", format!("{mattilda}\ntoken = \"{LIVE_KEY}\""), LIVE_KEY.to_owned()),
        ("api_key", format!("{speed}\napi_key = 918273645546372819"), "918273645546372819".to_owned()),
        ("api_key", format!("{stripe}\napi_key = {{ env = \"{LIVE_KEY}\" }}"), LIVE_KEY.to_owned()),
        ("api_key", format!("{stripe}\napi_key = {{ file = \"{LIVE_KEY}\" }}"), LIVE_KEY.to_owned()),
        // Unquoted: a TOML syntax error, whose parser quotes the line it stopped at.
        ("", format!("{stripe}\napi_key = {LIVE_KEY}"), LIVE_KEY.to_owned()),
    ]
}

fn write(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

#[test]
fn a_plaintext_secret_in_config_is_refused_naming_the_key_never_the_value() {
    let dir = tempfile::tempdir().expect("dir");
    for (key, table, secret) in plaintext_secrets() {
        let path = write(&dir, &config_with(&table));
        let error = checkout_gateway::config::load(&path).err().unwrap_or_else(|| panic!("accepted: {table}"));
        let text = error.to_string();
        assert!(!text.contains(&secret), "the error echoes the secret: {text}");
        if !key.is_empty() {
            assert_eq!(error.key, format!("providers.main.{key}"), "{text}");
        }
    }
}

#[test]
fn check_config_prints_the_key_and_never_the_value_from_the_file_or_the_environment() {
    let dir = tempfile::tempdir().expect("dir");
    let check = |path: &std::path::Path, env: &[(&str, &str)]| {
        let output = Command::new(env!("CARGO_BIN_EXE_checkout-gateway"))
            .args(["check-config", "--config"])
            .arg(path)
            .envs(env.iter().copied())
            .output()
            .expect("run check-config");
        assert!(!output.status.success(), "the config must be refused");
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    };
    let printed = check(&write(&dir, &config_with(&format!("{STRIPE_TABLE}\napi_key = \"{LIVE_KEY}\""))), &[]);
    assert!(printed.contains("providers.main.api_key"), "{printed}");
    assert!(!printed.contains(LIVE_KEY), "{printed}");
    // The same mistake through the environment, as a string and as a number.
    let by_reference = config_with(&format!("{STRIPE_TABLE}\napi_key = {{ env = \"UNSET_VARIABLE\" }}"));
    let path = write(&dir, &by_reference);
    for value in [LIVE_KEY, "918273645546372819"] {
        let printed = check(&path, &[("CHECKOUT_GATEWAY__PROVIDERS__MAIN__API_KEY", value)]);
        assert!(printed.contains("providers.main.api_key"), "{printed}");
        assert!(!printed.contains(value), "{printed}");
    }
}

#[test]
fn a_refused_reload_logs_the_key_and_never_the_value() {
    let dir = tempfile::tempdir().expect("dir");
    let valid = config_with(&format!("{STRIPE_TABLE}\napi_key = {{ value = \"{STRIPE_KEY}\" }}"));
    let path = write(&dir, &valid);
    let gateway = GatewayProcess::start(&path, "info");
    for (number, (_, table, secret)) in plaintext_secrets().into_iter().enumerate() {
        write(&dir, &config_with(&table));
        gateway.signal("HUP");
        // Each refusal is one more log line; wait for this one.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while gateway.logs().iter().filter(|l| l.contains("config reload refused")).count() <= number {
            assert!(std::time::Instant::now() < deadline, "no refusal logged: {:?}", gateway.logs());
            std::thread::sleep(Duration::from_millis(20));
        }
        let logs = gateway.logs().join("\n");
        assert!(!logs.contains(&secret), "the reload log echoes the secret: {logs}");
    }
    let refusal = gateway.wait_for_log("config reload refused", Duration::from_secs(1));
    assert!(refusal.contains("providers.main.api_key"), "{refusal}");
}

/// A provider (or a debugging proxy in front of it) that echoes the `Authorization` it got,
/// whole and without its scheme, into every text of its error answer.
fn echoing(answer: fn(&str, &str) -> ResponseTemplate) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync {
    move |request: &Request| {
        let sent = request.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let credential = sent.split_once(' ').map_or(sent.as_str(), |(_, c)| c).to_owned();
        answer(&sent, &credential)
    }
}

fn gateway_config(mock: &str) -> String {
    let tables = format!(
        r#"[providers.stripe]
kind = "stripe"
base_url = "{mock}/stripe"
allow_insecure_http = true
api_key = {{ value = "{STRIPE_KEY}" }}
retry = {{ max_attempts = 1 }}

[providers.mattilda]
kind = "mattilda"
base_url = "{mock}/mattilda"
allow_insecure_http = true
private_key = {{ value = """
{PEM}""" }}
retry = {{ max_attempts = 1 }}

[providers.speed]
kind = "crypto-invoice"
base_url = "{mock}/speed"
allow_insecure_http = true
api_key = {{ value = "{SPEED_KEY}" }}
retry = {{ max_attempts = 1 }}"#
    );
    config_with(&tables).replace("log_format = \"json\"\n", "").replace(
        "provider = \"main\"",
        "provider = \"stripe\"\nallowed_providers = [\"stripe\", \"mattilda\", \"speed\"]",
    )
}

async fn retrieve(gateway: &TestGateway, provider: &str, session: &str, query: &str) -> (u16, String) {
    let response = gateway
        .client
        .get(gateway.url(&format!("/v1/checkout/sessions/{session}{query}")))
        .bearer_auth(TENANT_KEY)
        .header("checkout-provider", provider)
        .send()
        .await
        .expect("request");
    (response.status().as_u16(), response.text().await.expect("body"))
}

/// What the provider got in `authorization` on its first call under `prefix`.
async fn sent_authorization(mock: &MockServer, prefix: &str) -> String {
    let calls = mock.received_requests().await.expect("recorded");
    let call = calls.iter().find(|c| c.url.path().starts_with(prefix)).expect("a call to the provider");
    call.headers.get("authorization").and_then(|v| v.to_str().ok()).expect("authorization").to_owned()
}

#[tokio::test]
async fn provider_texts_reaching_the_client_hold_no_credential_in_any_form() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex("^/stripe/"))
        .respond_with(echoing(|sent, key| {
            ResponseTemplate::new(400).insert_header("request-id", key).set_body_json(json!({ "error": {
                "type": "invalid_request_error", "code": key, "message": format!("Invalid API Key provided: {sent}"),
                "param": format!("metadata[{key}]") } }))
        }))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex("^/mattilda/"))
        .respond_with(echoing(|sent, jwt| {
            ResponseTemplate::new(400).insert_header("x-request-id", jwt).set_body_json(json!({
                "type": "error", "code": jwt, "status": 400, "message": format!("token {sent} refused"),
                "details": [{ "location": "body", "pointer": "/metadata", "message": format!("jwt {jwt}"), "type": "x" }] }))
        }))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex("^/speed/"))
        .respond_with(echoing(|sent, basic| {
            ResponseTemplate::new(400).set_body_json(json!({ "errors": [
                { "type": basic, "message": format!("bad credentials: {sent}"), "param": "metadata" }] }))
        }))
        .mount(&mock)
        .await;
    let gateway = TestGateway::start(&gateway_config(&mock.uri())).await;

    let (status, answer) = retrieve(&gateway, "stripe", "cs_echo", "").await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer.contains("[redacted]"), "the echo reached the answer, scrubbed: {answer}");
    assert!(!answer.contains(STRIPE_KEY), "{answer}");

    let (status, answer) = retrieve(&gateway, "mattilda", MATTILDA_SESSION, "").await;
    assert_eq!(status, 422, "{answer}");
    let jwt = sent_authorization(&mock, "/mattilda/").await.trim_start_matches("Bearer ").to_owned();
    assert!(jwt.len() > 100, "a signed token was sent: {jwt}");
    let signature = jwt.rsplit('.').next().expect("signature");
    assert!(!answer.contains(signature), "the per-attempt JWT reached the client: {answer}");

    let (status, answer) = retrieve(&gateway, "speed", "cs_speed_echo", "").await;
    assert_eq!(status, 422, "{answer}");
    let basic = STANDARD.encode(format!("{SPEED_KEY}:"));
    assert_eq!(sent_authorization(&mock, "/speed/").await, format!("Basic {basic}"));
    assert!(!answer.contains(basic.trim_end_matches('=')), "the Basic credential reached the client: {answer}");
    assert!(!answer.contains(SPEED_KEY), "{answer}");
    gateway.stop().await;
}

#[tokio::test]
async fn a_session_answer_and_its_provider_data_are_scrubbed_of_every_credential() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(echoing(|sent, key| {
            ResponseTemplate::new(200).set_body_json(json!({ "id": "cs_ok", "object": "checkout.session",
                "status": "open", "metadata": { "debug": sent, key: "echoed as a member name" } }))
        }))
        .mount(&mock)
        .await;
    let gateway = TestGateway::start(&stripe_config(&mock.uri(), "")).await;
    let (status, answer) = retrieve(&gateway, "stripe-main", "cs_ok", "?include=provider_data").await;
    assert_eq!(status, 200, "{answer}");
    let session: Value = serde_json::from_str(&answer).expect("json");
    assert_eq!(session["provider_data"]["metadata"]["debug"], "[redacted]", "{answer}");
    assert_eq!(session["metadata"]["debug"], "[redacted]", "the mapped session too: {answer}");
    assert!(!answer.contains(STRIPE_KEY), "{answer}");
    gateway.stop().await;
}
