//! Mattilda as Gr4vy documents it, end to end over real sockets: the real gateway against a
//! wiremock Mattilda (retries, slow reads, requests that must never be sent) or against the
//! built-in simulator, which models the documented behaviour the adapter relies on (every PUT
//! sets a new expiry, 3600 s by default; a stated amount must match the cart; a JWT is good for
//! one request).

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use std::time::Duration;

use checkout_provider_mattilda::jwt::{self, KeySigner};
use serde_json::{Value, json};
use support::{TENANT_KEY, TestGateway};
use time::OffsetDateTime;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const DEMO_KEY: &str = "demo-tenant-key";
const PEM: &str = include_str!("../providers/mattilda/demo/demo-private-key.pem");
/// The simulator's demo sessions: open for a day with a cart of 2 × 1299 and `amount` 2598,
/// and one that expired on 2022-01-01.
const OPEN: &str = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b";
const EXPIRED: &str = "8d3fe99b-1422-42e6-bbb3-932d95ae5f79";

/// A gateway whose only provider is Mattilda at `base_url`, signing JWTs with the demo key.
async fn gateway_at(base_url: &str) -> TestGateway {
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ndeadline_ms = 10000\n\n[providers.mattilda]\nkind = \"mattilda\"\nbase_url = \"{base_url}\"\nallow_insecure_http = true\nmerchant_account_id = \"default\"\ntimeout_ms = 5000\nretry = {{ max_attempts = 3, base_delay_ms = 10, max_delay_ms = 50 }}\nprivate_key = {{ value = \"\"\"\n{PEM}\"\"\" }}\n\n[tenants.acme]\napi_key_sha256 = \"{}\"\nprovider = \"mattilda\"\n",
        support::sha256_hex(TENANT_KEY)
    );
    TestGateway::start(&config).await
}

/// `config/gateway.toml` (gateway plus simulators) on free ports.
async fn embedded_default() -> TestGateway {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/gateway.toml")).expect("default config");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let text = text.replace("127.0.0.1:8081", &format!("127.0.0.1:{port}")).replace("127.0.0.1:8080", "127.0.0.1:0");
    TestGateway::start(&text).await
}

async fn call(gateway: &TestGateway, method: reqwest::Method, id: &str, body: Option<&Value>) -> (u16, Value) {
    let mut request = gateway
        .client
        .request(method, gateway.url(&format!("/v1/checkout/sessions/{id}")))
        .bearer_auth(DEMO_KEY)
        .header("checkout-provider", "mattilda");
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("request");
    (response.status().as_u16(), response.json().await.expect("json"))
}

/// Seconds from now until the session's `expires_at`.
fn seconds_left(session: &Value) -> i64 {
    let at = session["expires_at"].as_str().and_then(checkout_provider_interface::timestamp::parse);
    at.map_or(i64::MIN, |at| (at - OffsetDateTime::now_utc()).whole_seconds())
}

/// The verified claims of a recorded request's bearer JWT.
fn claims(request: &wiremock::Request) -> jwt::Claims {
    let token = request.headers["authorization"].to_str().expect("text").strip_prefix("Bearer ").expect("bearer");
    let signer = KeySigner::from_pem(PEM).expect("demo key");
    jwt::verify(token, signer.verifying_key(), signer.kid(), OffsetDateTime::now_utc(), 5)
        .unwrap_or_else(|why| panic!("the token must verify: {why:?}"))
}

fn session_body(expires_at: &str) -> Value {
    json!({ "type": "checkout-session", "id": OPEN, "expires_at": expires_at, "metadata": { "a": "1" },
            "cart_items": null, "buyer": null, "airline": null, "amount": null, "currency": "USD",
            "payment_service_id": null, "payment_method": null })
}

#[tokio::test]
async fn a_retried_put_carries_a_freshly_signed_token_with_its_own_jti() {
    let mock = MockServer::start().await;
    let later = (OffsetDateTime::now_utc() + time::Duration::hours(20)).unix_timestamp();
    let expires_at = checkout_provider_interface::timestamp::from_unix_seconds(later).expect("time");
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_body(&expires_at)))
        .mount(&mock)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({ "type": "error", "code": "server_error",
            "status": 500, "message": "Request could not be processed", "details": [] })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_body(&expires_at)))
        .with_priority(2)
        .mount(&mock)
        .await;
    let gateway = gateway_at(&mock.uri()).await;
    let response = gateway.patch(OPEN, &json!({ "metadata": { "b": "2" } })).await;
    assert_eq!(response.status(), 200);
    let calls = mock.received_requests().await.expect("recorded");
    let puts: Vec<&wiremock::Request> = calls.iter().filter(|c| c.method.as_str() == "PUT").collect();
    assert_eq!(puts.len(), 2, "the 500 was retried once");
    let ids: Vec<String> = puts.iter().map(|put| claims(put).jti).collect();
    assert_ne!(ids[0], ids[1], "each attempt is signed anew, never the first attempt's token resent");
    for put in &puts {
        assert_eq!(claims(put).scopes, ["checkout-sessions.write"]);
    }
    gateway.stop().await;
}

#[tokio::test]
async fn the_put_is_signed_after_a_slow_read_not_before_it() {
    let mock = MockServer::start().await;
    let later = (OffsetDateTime::now_utc() + time::Duration::hours(20)).unix_timestamp();
    let expires_at = checkout_provider_interface::timestamp::from_unix_seconds(later).expect("time");
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(session_body(&expires_at)).set_delay(Duration::from_secs(2)),
        )
        .mount(&mock)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_body(&expires_at)))
        .mount(&mock)
        .await;
    let gateway = gateway_at(&mock.uri()).await;
    let started = OffsetDateTime::now_utc().unix_timestamp();
    let response = gateway.patch(OPEN, &json!({ "metadata": { "b": "2" } })).await;
    assert_eq!(response.status(), 200);
    let calls = mock.received_requests().await.expect("recorded");
    let read = calls.iter().find(|c| c.method.as_str() == "GET").expect("a read");
    let put = calls.iter().find(|c| c.method.as_str() == "PUT").expect("a write");
    let (read, put) = (claims(read), claims(put));
    assert!(read.iat <= started + 1, "the read is signed when it is sent");
    // The read took 2 s: a token signed at the start of the request would have iat ≈ started.
    assert!(
        put.iat >= started + 2,
        "the PUT's iat {} is from its own send time, not the request's start {started}",
        put.iat
    );
    assert_eq!((put.nbf, put.exp), (put.iat, put.iat + 30));
    gateway.stop().await;
}

#[tokio::test]
async fn values_over_mattildas_limits_are_refused_before_any_call() {
    let mock = MockServer::start().await;
    let gateway = gateway_at(&mock.uri()).await;
    let body = json!({ "line_items": [ { "name": "Tripod", "quantity": 1, "unit_amount": 2500, "sku": "s".repeat(201) } ],
                       "shipping_details": { "address": { "city": "c".repeat(101) } } });
    let response = gateway.patch(OPEN, &body).await;
    assert_eq!(response.status(), 422);
    let problem = support::problem(response).await;
    assert_eq!(problem["code"], "unsupported_field");
    assert_eq!(support::pointers(&problem), ["/line_items/0/sku", "/shipping_details/address/city"]);
    assert!(mock.received_requests().await.expect("recorded").is_empty(), "not even the read was sent");
    gateway.stop().await;
}

#[tokio::test]
async fn updates_through_the_simulator_keep_expiry_and_send_a_cart_total_mattilda_accepts() {
    let gateway = embedded_default().await;
    let (status, before) = call(&gateway, reqwest::Method::GET, OPEN, None).await;
    assert_eq!(status, 200, "{before}");
    let day = seconds_left(&before);
    assert!(day > 86_000, "the demo session is open for a day: {day} s");

    // A metadata change must not shorten the day-long session to Mattilda's default hour.
    let (status, updated) =
        call(&gateway, reqwest::Method::PATCH, OPEN, Some(&json!({ "metadata": { "order_id": "43" } }))).await;
    assert_eq!(status, 200, "{updated}");
    let left = seconds_left(&updated);
    assert!((day - 30..=day + 30).contains(&left), "expiry kept: {day} s before, {left} s after");
    assert_eq!(updated["warnings"], json!([]));

    // A new cart on a session that states an amount: sent with the new cart's total, accepted.
    let cart = json!({ "line_items": [
        { "name": "Tripod", "quantity": 2, "unit_amount": 2500, "tax_amount": 400,
          "provider_options": { "mattilda": { "shipping_amount": 300, "upc": "012345678905" } } },
        { "name": "SPRING10", "quantity": 1, "unit_amount": 1000, "product_type": "discount" } ] });
    let (status, updated) = call(&gateway, reqwest::Method::PATCH, OPEN, Some(&cart)).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        updated["amounts"],
        json!({ "subtotal": 5000, "discount": 1000, "tax": 400, "shipping": 300, "total": 4700 })
    );
    let (_, read_back) = call(&gateway, reqwest::Method::GET, OPEN, None).await;
    assert_eq!(read_back["amounts"]["total"], 4700);
    assert!(seconds_left(&read_back) > 86_000 - 120, "still a day: {}", seconds_left(&read_back));
    gateway.stop().await;
}

#[tokio::test]
async fn an_expired_session_is_not_reopened_by_an_update() {
    let gateway = embedded_default().await;
    let (status, refused) =
        call(&gateway, reqwest::Method::PATCH, EXPIRED, Some(&json!({ "metadata": { "key": "new" } }))).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["code"], "session_not_updatable");
    let (status, session) = call(&gateway, reqwest::Method::GET, EXPIRED, None).await;
    assert_eq!(status, 200);
    assert_eq!(session["status"], "expired");
    assert_eq!(session["metadata"], json!({ "key": "value" }), "nothing was written");
    gateway.stop().await;
}
