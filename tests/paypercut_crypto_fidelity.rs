//! Paypercut and Speed (crypto-invoice) as their documentation describes them, end to end: the
//! real gateway over sockets against the built-in simulators, which serve what the providers
//! document (Paypercut line items with `price` ids and `unit_amount_decimal`, embedded sessions
//! with `return_url`; Speed stablecoin sessions, `ttl`, and the account's pinned API version).

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use serde_json::{Value, json};
use support::{TENANT_KEY, TestGateway};

/// Both providers on the built-in simulators; the tenant opted into `on_unsupported = "ignore"`.
async fn gateway() -> TestGateway {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:0"
deadline_ms = 5000

[simulator]
enabled = true
listen = "127.0.0.1:{port}"

[providers.paypercut]
kind = "paypercut"
base_url = "http://127.0.0.1:{port}/paypercut"
allow_insecure_http = true
api_key = {{ value = "sk_test_paypercut_demo" }}

[providers.speed]
kind = "crypto-invoice"
base_url = "http://127.0.0.1:{port}/speed"
allow_insecure_http = true
api_key = {{ value = "sk_test_speed_demo" }}
api_version = "2022-10-15"
passthrough = {{ allow = ["GET /checkout-sessions/*"] }}

[tenants.acme]
api_key_sha256 = "{tenant}"
provider = "paypercut"
allowed_providers = ["paypercut", "speed"]
on_unsupported = "ignore"
"#,
        tenant = support::sha256_hex(TENANT_KEY),
    );
    TestGateway::start(&config).await
}

async fn send(
    gateway: &TestGateway,
    method: reqwest::Method,
    path: &str,
    provider: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request =
        gateway.client.request(method, gateway.url(path)).bearer_auth(TENANT_KEY).header("checkout-provider", provider);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json body"))
}

#[tokio::test]
async fn paypercut_under_ignore_turns_a_metadata_only_update_into_a_read_with_a_warning() {
    let gateway = gateway().await;
    let body = json!({ "metadata": { "order_id": "42" } });
    let (status, session) =
        send(&gateway, reqwest::Method::PATCH, "/v1/checkout/sessions/chk_demo_open", "paypercut", Some(body)).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["id"], "chk_demo_open");
    assert_eq!(session["shipping"]["selected_rate"], "shr_standard", "nothing was changed");
    let warnings = session["warnings"].as_array().expect("warnings");
    assert!(
        warnings.iter().any(|w| w["code"] == "field_ignored" && w["pointer"] == "/metadata/order_id"),
        "{warnings:?}"
    );
    gateway.stop().await;
}

#[tokio::test]
async fn paypercut_embedded_session_returns_to_return_url_and_prices_lines_by_decimal() {
    let gateway = gateway().await;
    let (status, session) =
        send(&gateway, reqwest::Method::GET, "/v1/checkout/sessions/chk_demo_embedded", "paypercut", None).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["redirects"]["success_url"], "https://shop.example.com/return?checkout=chk_demo_embedded");
    assert_eq!(
        session["line_items"],
        json!([{ "id": null, "name": "Gift card", "quantity": 3, "unit_amount": 1990, "amount_total": null,
                 "sku": "GC-20", "external_id": null, "image_url": null }])
    );
    assert_eq!(session["warnings"], json!([]));
    gateway.stop().await;
}

#[tokio::test]
async fn speed_stablecoin_session_is_exact_in_token_units_and_expires_after_its_ttl() {
    let gateway = gateway().await;
    let (status, session) =
        send(&gateway, reqwest::Method::GET, "/v1/checkout/sessions/cs_demo_usdt", "speed", None).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["currency"], "USDT");
    assert_eq!(session["amounts"]["total"], 49_990_000, "49.99 USDT at 6 decimals");
    assert_eq!(session["created_at"], "2026-11-22T10:00:00Z");
    assert_eq!(session["expires_at"], "2026-11-22T11:00:00Z", "created + ttl (3600 s)");
    assert_eq!(session["warnings"], json!([]));
    gateway.stop().await;
}

#[tokio::test]
async fn speed_passthrough_runs_on_the_configured_api_version() {
    let gateway = gateway().await;
    let (status, raw) =
        send(&gateway, reqwest::Method::GET, "/v1/passthrough/speed/checkout-sessions/cs_demo_usd", "speed", None)
            .await;
    assert_eq!(status, 200, "{raw}");
    // Without `speed-version` the account's pinned 2022-04-15 would answer: lightning only.
    assert_eq!(raw["payment_methods"], json!(["onchain", "lightning"]));
    gateway.stop().await;
}
