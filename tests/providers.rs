//! Every provider end to end over real sockets: the embedded default config (gateway plus the
//! built-in simulators, as the README runs it), Mattilda's read-then-write with signed JWTs on
//! the wire, and Paypercut's idempotency key on every retry attempt.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use base64::Engine;
use checkout_provider_mattilda::jwt::{self, KeySigner};
use serde_json::{Value, json};
use support::{TENANT_KEY, TestGateway};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const DEMO_KEY: &str = "demo-tenant-key";
const MATTILDA_SESSION: &str = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b";

/// `config/gateway.toml` on free ports: the file the README runs, unchanged otherwise.
async fn embedded_default() -> TestGateway {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/gateway.toml")).expect("default config");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let text = text.replace("127.0.0.1:8081", &format!("127.0.0.1:{port}")).replace("127.0.0.1:8080", "127.0.0.1:0");
    TestGateway::start(&text).await
}

async fn update(gateway: &TestGateway, provider: &str, id: &str, body: &Value) -> (u16, Value) {
    let response = gateway
        .client
        .patch(gateway.url(&format!("/v1/checkout/sessions/{id}")))
        .bearer_auth(DEMO_KEY)
        .header("checkout-provider", provider)
        .json(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

fn readme_body() -> Value {
    json!({ "metadata": { "order_id": "42" }, "currency": "usd",
            "line_items": [ { "name": "T-shirt", "quantity": 2, "unit_amount": 2500 } ] })
}

#[tokio::test]
async fn one_unified_request_works_unchanged_on_stripe_and_mattilda_via_the_simulators() {
    let gateway = embedded_default().await;
    let (status, stripe) = update(&gateway, "stripe", "cs_demo_open", &readme_body()).await;
    assert_eq!(status, 200, "{stripe}");
    assert_eq!(stripe["metadata"]["order_id"], "42");
    assert_eq!(stripe["amounts"]["subtotal"], 5000);
    assert_eq!(stripe["currency"], "USD");

    let (status, mattilda) = update(&gateway, "mattilda", MATTILDA_SESSION, &readme_body()).await;
    assert_eq!(status, 200, "{mattilda}");
    assert_eq!(mattilda["provider_kind"], "mattilda");
    assert_eq!(mattilda["metadata"]["order_id"], "42");
    assert_eq!(mattilda["line_items"][0]["name"], "T-shirt");
    assert_eq!(mattilda["amounts"]["subtotal"], 5000);
    assert!(mattilda["metadata"].as_object().expect("metadata").len() > 1, "the read-then-write kept the other keys");

    // Removing a key is emulated on Mattilda (read, merge, full PUT) and native on Stripe.
    for (provider, id) in [("stripe", "cs_demo_open"), ("mattilda", MATTILDA_SESSION)] {
        let (status, session) = update(&gateway, provider, id, &json!({ "metadata": { "order_id": null } })).await;
        assert_eq!(status, 200, "{provider}: {session}");
        assert!(session["metadata"].get("order_id").is_none(), "{provider}: {session}");
    }
    gateway.stop().await;
}

#[tokio::test]
async fn paypercut_and_crypto_invoice_answer_through_their_simulators() {
    let gateway = embedded_default().await;
    let (status, refused) = update(&gateway, "paypercut", "chk_demo_open", &readme_body()).await;
    assert_eq!(status, 422);
    assert_eq!(refused["code"], "unsupported_field");
    let pointers: Vec<&str> =
        refused["errors"].as_array().expect("errors").iter().filter_map(|e| e["pointer"].as_str()).collect();
    assert_eq!(pointers, vec!["/currency", "/line_items/0", "/metadata/order_id"]);
    let (status, selected) =
        update(&gateway, "paypercut", "chk_demo_open", &json!({ "shipping_rate": "shr_express" })).await;
    assert_eq!(status, 200, "{selected}");
    assert_eq!(selected["shipping"]["selected_rate"], "shr_express");
    assert_eq!(selected["amounts"]["shipping"], 1500);
    let (status, unknown) =
        update(&gateway, "paypercut", "chk_demo_open", &json!({ "shipping_rate": "shr_nope" })).await;
    assert_eq!(status, 422);
    assert_eq!(unknown["code"], "provider_rejected");
    let (status, closed) =
        update(&gateway, "paypercut", "chk_demo_complete", &json!({ "shipping_rate": "shr_express" })).await;
    assert_eq!(status, 409);
    assert_eq!(closed["code"], "session_not_updatable");

    let (status, speed) = update(
        &gateway,
        "speed",
        "cs_demo_usd",
        &json!({ "page": { "title": "Acme" }, "metadata": { "order_id": "7" } }),
    )
    .await;
    assert_eq!(status, 200, "{speed}");
    assert_eq!(speed["page"]["title"], "Acme");
    assert_eq!(speed["amounts"]["total"], 45050, "450.50 USD exactly");
    let (status, paid) = update(&gateway, "speed", "cs_demo_paid", &json!({ "description": "late" })).await;
    assert_eq!(status, 409, "{paid}");
    gateway.stop().await;
}

fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("jwt part");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("base64url"))
        .expect("json")
}

#[tokio::test]
async fn mattilda_reads_then_writes_with_a_fresh_signed_jwt_per_call() {
    let mock = MockServer::start().await;
    let current = json!({ "id": MATTILDA_SESSION, "type": "checkout-session", "expires_at": "2099-01-01T00:00:00Z",
        "metadata": { "keep": "me", "drop": "this" }, "cart_items": [], "buyer": null, "payment_method": null });
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(&current)).mount(&mock).await;
    Mock::given(method("PUT"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "id": MATTILDA_SESSION, "type": "checkout-session",
            "expires_at": "2099-01-01T00:00:00Z", "metadata": { "keep": "me", "new": "1" }, "cart_items": [] })),
        )
        .mount(&mock)
        .await;
    let pem = include_str!("../providers/mattilda/demo/demo-private-key.pem");
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[providers.mattilda]\nkind = \"mattilda\"\nbase_url = \"{}\"\nallow_insecure_http = true\nmerchant_account_id = \"acct-1\"\nprivate_key = {{ value = \"\"\"\n{pem}\"\"\" }}\n\n[tenants.acme]\napi_key_sha256 = \"{}\"\nprovider = \"mattilda\"\n",
        mock.uri(),
        support::sha256_hex(TENANT_KEY)
    );
    let gateway = TestGateway::start(&config).await;
    let response = gateway.patch(MATTILDA_SESSION, &json!({ "metadata": { "drop": null, "new": "1" } })).await;
    assert_eq!(response.status(), 200);
    let calls = mock.received_requests().await.expect("recorded");
    assert_eq!(calls.iter().map(|c| c.method.as_str()).collect::<Vec<_>>(), vec!["GET", "PUT"], "read, then write");
    let put: Value = serde_json::from_slice(&calls[1].body).expect("json body");
    assert_eq!(put["metadata"], json!({ "keep": "me", "new": "1" }), "the merged full map");
    let mut ids = Vec::new();
    for (call, scope) in calls.iter().zip(["checkout-sessions.read", "checkout-sessions.write"]) {
        assert_eq!(call.headers["x-gr4vy-merchant-account-id"], "acct-1");
        let token =
            call.headers["authorization"].to_str().expect("text").strip_prefix("Bearer ").expect("bearer").to_owned();
        let header = jwt_part(&token, 0);
        assert_eq!(header["alg"], "ES512");
        assert!(header["kid"].as_str().is_some_and(|k| !k.is_empty()));
        let claims = jwt_part(&token, 1);
        assert!(claims["scopes"].as_array().expect("scopes").iter().any(|s| s == scope), "{claims}");
        let expires = claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat");
        assert_eq!(expires, 30);
        ids.push(claims["jti"].as_str().expect("jti").to_owned());
        let signer = KeySigner::from_pem(pem).expect("demo key");
        let verified = jwt::verify(&token, signer.verifying_key(), signer.kid(), time::OffsetDateTime::now_utc(), 5);
        assert!(verified.is_ok(), "signed by the configured key: {verified:?}");
    }
    assert_ne!(ids[0], ids[1], "a fresh jti per call");
    gateway.stop().await;
}

#[tokio::test]
async fn paypercut_gets_the_same_idempotency_key_on_every_retry_attempt() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(json!({ "type": "api_error", "code": "unavailable", "message": "try again" })),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "chk_1", "status": "open", "currency": { "iso": "eur", "scale": 2 } })),
        )
        .with_priority(2)
        .mount(&mock)
        .await;
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[providers.paypercut]\nkind = \"paypercut\"\nbase_url = \"{}\"\nallow_insecure_http = true\napi_key = {{ value = \"sk_test_pp_e2e\" }}\nretry = {{ max_attempts = 3, base_delay_ms = 5, max_delay_ms = 20 }}\n\n[tenants.acme]\napi_key_sha256 = \"{}\"\nprovider = \"paypercut\"\n",
        mock.uri(),
        support::sha256_hex(TENANT_KEY)
    );
    let gateway = TestGateway::start(&config).await;
    for client_key in [None, Some("order-7-rate")] {
        let mut request = gateway.client.patch(gateway.url("/v1/checkout/sessions/chk_1")).bearer_auth(TENANT_KEY);
        if let Some(key) = client_key {
            request = request.header("idempotency-key", key);
        }
        let before = mock.received_requests().await.expect("recorded").len();
        let response = request.json(&json!({ "shipping_rate": "shr_1" })).send().await.expect("request");
        assert_eq!(response.status(), 200);
        let calls = mock.received_requests().await.expect("recorded");
        let keys: Vec<String> =
            calls[before..].iter().map(|c| c.headers["idempotency-key"].to_str().expect("key").to_owned()).collect();
        assert!(!keys.is_empty() && keys.iter().all(|k| k == &keys[0]), "{keys:?}");
        assert!(keys[0].len() <= 255 && keys[0].bytes().all(|b| b.is_ascii_alphanumeric() || b":_-.".contains(&b)));
    }
    assert_eq!(
        mock.received_requests().await.expect("recorded").len(),
        4,
        "3 attempts for the first request, 1 for the second"
    );
    gateway.stop().await;
}
