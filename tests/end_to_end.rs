//! End to end over real sockets: the gateway in front of a mock Stripe (wiremock). Checks the
//! request on the wire, the mapping of answers and errors, retries, timeouts and the forwarded
//! idempotency key.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use serde_json::{Value, json};
use support::{STRIPE_KEY, TENANT_KEY, TestGateway, pointers, problem, stripe_config};
use wiremock::matchers::{header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn stripe_session(id: &str) -> Value {
    json!({
        "id": id, "object": "checkout.session", "status": "open", "payment_status": "unpaid",
        "currency": "usd", "amount_subtotal": 2000, "amount_total": 2500,
        "total_details": { "amount_discount": 0, "amount_shipping": 500, "amount_tax": 0 },
        "shipping_cost": { "shipping_rate": "shr_1", "amount_total": 500, "amount_subtotal": 500, "amount_tax": 0 },
        "shipping_options": [ { "shipping_rate": "shr_1", "shipping_amount": 500 } ],
        "metadata": { "order_id": "42" }, "url": "https://checkout.stripe.com/c/pay/cs_test",
        "livemode": false, "created": 1_763_800_000, "expires_at": 1_763_886_400,
        "success_url": "https://shop.example/ok", "cancel_url": null, "mode": "payment"
    })
}

async fn gateway_for(mock: &MockServer) -> TestGateway {
    TestGateway::start(&stripe_config(&mock.uri(), "")).await
}

#[tokio::test]
async fn update_sends_the_stripe_wire_request_and_maps_the_session() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions/cs_test_1"))
        .and(header("authorization", format!("Bearer {STRIPE_KEY}").as_str()))
        .and(header("stripe-version", "2025-03-31.basil"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(header("x-request-id", "req-e2e-1"))
        .and(header_exists("idempotency-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(stripe_session("cs_test_1")))
        .expect(1)
        .mount(&mock)
        .await;
    let gateway = gateway_for(&mock).await;
    let response = gateway
        .client
        .patch(gateway.url("/v1/checkout/sessions/cs_test_1"))
        .bearer_auth(TENANT_KEY)
        .header("x-request-id", "req-e2e-1")
        .json(&json!({ "metadata": { "order_id": "42", "coupon": null } }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "req-e2e-1");
    assert_eq!(response.headers()["checkout-provider"], "stripe-main");
    let session: Value = response.json().await.expect("json");
    assert_eq!(session["object"], "checkout_session");
    assert_eq!(session["provider"], "stripe-main");
    assert_eq!(session["provider_kind"], "stripe");
    assert_eq!(session["currency"], "USD");
    assert_eq!(session["amounts"]["total"], 2500);
    assert_eq!(session["created_at"], "2025-11-22T08:26:40Z");
    let received = mock.received_requests().await.expect("recorded");
    let body = String::from_utf8_lossy(&received[0].body).into_owned();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    assert!(pairs.contains(&("metadata[order_id]".to_owned(), "42".to_owned())), "{body}");
    assert!(pairs.contains(&("metadata[coupon]".to_owned(), String::new())), "{body}");
    gateway.stop().await;
}

#[tokio::test]
async fn retries_derive_a_fresh_key_per_attempt_and_recover_from_5xx() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(json!({ "error": { "type": "api_error", "message": "down" } })),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(stripe_session("cs_retry")))
        .with_priority(2)
        .mount(&mock)
        .await;
    let gateway = gateway_for(&mock).await;
    let response = gateway
        .client
        .patch(gateway.url("/v1/checkout/sessions/cs_retry"))
        .bearer_auth(TENANT_KEY)
        .header("idempotency-key", "order-42-update")
        .json(&json!({ "metadata": { "a": "b" } }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let received = mock.received_requests().await.expect("recorded");
    assert_eq!(received.len(), 3, "two 503 answers, then success");
    let keys: Vec<_> =
        received.iter().map(|r| r.headers["idempotency-key"].to_str().unwrap_or_default().to_owned()).collect();
    // Stripe saves a 500 under its key and replays it, so each attempt of this pure overwrite
    // carries a fresh key (providers/stripe/README.md), all derived from the one forwarded key.
    let prefixes: Vec<_> = keys.iter().filter_map(|k| k.rsplit_once(':').map(|(prefix, _)| prefix)).collect();
    assert_eq!(prefixes.len(), 3, "{keys:?}");
    assert!(prefixes.iter().all(|p| p == &prefixes[0] && p.starts_with("cg:")), "one forwarded key: {keys:?}");
    assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2], "a fresh key per attempt: {keys:?}");
    assert!(!keys[0].contains("order-42-update"), "the client key is derived per tenant, not forwarded raw");
    gateway.stop().await;
}

#[tokio::test]
async fn provider_errors_keep_their_class_and_the_providers_own_values() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions/cs_missing"))
        .respond_with(ResponseTemplate::new(404).insert_header("request-id", "req_stripe_1").set_body_json(json!({
            "error": { "type": "invalid_request_error", "code": "resource_missing", "param": "session",
                       "message": "No such checkout.session: 'cs_missing'" } })))
        .mount(&mock)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions/cs_auth"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": { "type": "invalid_request_error", "message": format!("Invalid API Key provided: {STRIPE_KEY}") } })))
        .mount(&mock)
        .await;
    let gateway = gateway_for(&mock).await;

    let missing = gateway.patch("cs_missing", &json!({ "metadata": { "a": "b" } })).await;
    assert_eq!(missing.status(), 404);
    let body = problem(missing).await;
    assert_eq!(body["code"], "session_not_found");
    assert_eq!(body["provider"]["status"], 404);
    assert_eq!(body["provider"]["code"], "resource_missing");
    assert_eq!(body["provider"]["request_id"], "req_stripe_1");
    assert!(body["request_id"].as_str().is_some_and(|id| !id.is_empty()));

    let auth = gateway.patch("cs_auth", &json!({ "metadata": { "a": "b" } })).await;
    assert_eq!(auth.status(), 502);
    let text = auth.text().await.expect("body");
    assert!(text.contains("provider_authentication_failed"), "{text}");
    assert!(!text.contains(STRIPE_KEY), "the provider's echo of our key is scrubbed: {text}");
    gateway.stop().await;
}

#[tokio::test]
async fn provider_rate_limit_is_retried_then_passed_on_with_retry_after() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0").set_body_json(json!({
            "error": { "type": "rate_limit_error", "code": "rate_limit", "message": "Too many requests" } })))
        .mount(&mock)
        .await;
    let gateway = gateway_for(&mock).await;
    let response = gateway.patch("cs_busy", &json!({ "metadata": { "a": "b" } })).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(problem(response).await["code"], "provider_rate_limited");
    assert_eq!(mock.received_requests().await.expect("recorded").len(), 3, "max_attempts = 3");
    gateway.stop().await;
}

#[tokio::test]
async fn a_provider_that_does_not_answer_in_time_is_a_timeout() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(stripe_session("cs_slow"))
                .set_delay(std::time::Duration::from_secs(5)),
        )
        .mount(&mock)
        .await;
    let gateway = gateway_for(&mock).await;
    let response = gateway.patch("cs_slow", &json!({ "metadata": { "a": "b" } })).await;
    assert_eq!(response.status(), 504);
    assert_eq!(problem(response).await["code"], "provider_timeout");
    gateway.stop().await;
}

#[tokio::test]
async fn unreachable_and_unparseable_providers_map_to_gateway_errors() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let gateway = TestGateway::start(&stripe_config(&closed_url, "")).await;
    let response = gateway.patch("cs_x", &json!({ "metadata": { "a": "b" } })).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(problem(response).await["code"], "provider_unavailable");
    gateway.stop().await;

    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{not json"))
        .mount(&mock)
        .await;
    let gateway = gateway_for(&mock).await;
    let response = gateway.patch("cs_x", &json!({ "metadata": { "a": "b" } })).await;
    assert_eq!(response.status(), 502);
    assert_eq!(problem(response).await["code"], "provider_error");
    gateway.stop().await;
}

#[tokio::test]
async fn stripe_param_errors_point_at_the_unified_field() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": { "type": "invalid_request_error", "code": "parameter_invalid_integer",
                       "param": "line_items[0][quantity]", "message": "Invalid integer" } })))
        .mount(&mock)
        .await;
    let gateway = gateway_for(&mock).await;
    let response = gateway.patch("cs_x", &json!({ "line_items": [ { "price": "price_1", "quantity": 2 } ] })).await;
    assert_eq!(response.status(), 422);
    let body = problem(response).await;
    assert_eq!(body["code"], "provider_rejected");
    assert_eq!(pointers(&body), vec!["/line_items/0/quantity"]);
    assert_eq!(body["provider"]["param"], "line_items[0][quantity]");
    gateway.stop().await;
}

#[tokio::test]
async fn retrieve_maps_the_session_and_can_include_the_raw_object() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions/cs_get"))
        .respond_with(ResponseTemplate::new(200).set_body_json(stripe_session("cs_get")))
        .mount(&mock)
        .await;
    let gateway = gateway_for(&mock).await;
    let response = gateway.get("/v1/checkout/sessions/cs_get?include=provider_data").await;
    assert_eq!(response.status(), 200);
    let session: Value = response.json().await.expect("json");
    assert_eq!(session["id"], "cs_get");
    assert_eq!(session["provider_data"]["object"], "checkout.session");
    gateway.stop().await;
}

#[tokio::test]
async fn stripe_should_retry_overrides_the_status_rule_both_ways() {
    let mock = MockServer::start().await;
    Mock::given(path("/v1/checkout/sessions/cs_no_retry"))
        .respond_with(
            ResponseTemplate::new(500)
                .insert_header("stripe-should-retry", "false")
                .set_body_json(json!({ "error": { "type": "api_error", "message": "do not retry" } })),
        )
        .mount(&mock)
        .await;
    Mock::given(path("/v1/checkout/sessions/cs_locked"))
        .respond_with(ResponseTemplate::new(409).insert_header("stripe-should-retry", "true").set_body_json(
            json!({ "error": { "type": "invalid_request_error", "code": "lock_timeout", "message": "locked" } }),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(path("/v1/checkout/sessions/cs_locked"))
        .respond_with(ResponseTemplate::new(200).set_body_json(stripe_session("cs_locked")))
        .with_priority(2)
        .mount(&mock)
        .await;
    let gateway = gateway_for(&mock).await;
    let refused = gateway.patch("cs_no_retry", &json!({ "metadata": { "a": "b" } })).await;
    assert_eq!(refused.status(), 502);
    let locked = gateway.patch("cs_locked", &json!({ "metadata": { "a": "b" } })).await;
    assert_eq!(locked.status(), 200, "a lock conflict with Should-Retry: true is retried");
    let calls = mock.received_requests().await.expect("recorded");
    let count = |id: &str| calls.iter().filter(|c| c.url.path().ends_with(id)).count();
    assert_eq!(count("cs_no_retry"), 1, "Stripe-Should-Retry: false stops retries of a 500");
    assert_eq!(count("cs_locked"), 2);
    gateway.stop().await;
}
