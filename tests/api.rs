//! The unified API's own rules: authentication, provider selection, session ids, idempotency
//! keys, media type, size, schema validation, capability checks, preview redaction, and the
//! descriptive endpoints. Each refusal ends before any provider call (an `untouchable` mock);
//! only the allowed provider selection reaches one.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use serde_json::{Value, json};
use support::{OTHER_TENANT_KEY, STRIPE_KEY, TENANT_KEY, TestGateway, pointers, problem, sha256_hex, stripe_config};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};

/// A mock provider that must not be called.
async fn untouchable() -> MockServer {
    let mock = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(500)).expect(0).mount(&mock).await;
    mock
}

async fn gateway(mock: &MockServer, extra: &str) -> TestGateway {
    TestGateway::start(&stripe_config(&mock.uri(), extra)).await
}

#[tokio::test]
async fn tenant_keys_are_required_and_checked() {
    let mock = untouchable().await;
    let gateway = gateway(&mock, "").await;
    let url = gateway.url("/v1/checkout/sessions/cs_1");
    let body = json!({ "metadata": { "a": "b" } });
    let none = gateway.client.patch(&url).json(&body).send().await.expect("request");
    assert_eq!(none.status(), 401);
    assert_eq!(problem(none).await["code"], "unauthenticated");
    let wrong = gateway.client.patch(&url).bearer_auth("not-a-tenant").json(&body).send().await.expect("request");
    assert_eq!(wrong.status(), 401);
    assert_eq!(problem(wrong).await["code"], "unauthenticated");
    let providers = gateway.client.get(gateway.url("/v1/providers")).send().await.expect("request");
    assert_eq!(providers.status(), 401);
    assert_eq!(problem(providers).await["code"], "unauthenticated");
    gateway.stop().await;
}

#[tokio::test]
async fn checkout_provider_header_is_limited_to_the_allowed_providers() {
    let mock = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(404).set_body_json(json!({ "error": { "type": "invalid_request_error", "code": "resource_missing", "message": "No such session" } }))).mount(&mock).await;
    let second_tenant = format!(
        "allowed_providers = [\"stripe-main\", \"stripe-other\"]\n\n[tenants.globex]\napi_key_sha256 = \"{}\"\nprovider = \"stripe-main\"\n",
        sha256_hex(OTHER_TENANT_KEY)
    );
    // Both tenants reach `stripe-main`, which therefore needs an ownership rule (issue 13).
    let config = stripe_config(&mock.uri(), &second_tenant).replace(
        "[providers.stripe-other]",
        "ownership = { metadata_key = \"tenant_id\" }\n\n[providers.stripe-other]",
    );
    let gateway = TestGateway::start(&config).await;
    let url = gateway.url("/v1/checkout/sessions/cs_1");
    let allowed = gateway
        .client
        .get(&url)
        .bearer_auth(TENANT_KEY)
        .header("checkout-provider", "stripe-other")
        .send()
        .await
        .expect("request");
    assert_eq!(allowed.status(), 404, "reached the provider");
    assert_eq!(allowed.headers()["checkout-provider"], "stripe-other");
    let refused = gateway
        .client
        .get(&url)
        .bearer_auth(OTHER_TENANT_KEY)
        .header("checkout-provider", "stripe-other")
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), 403);
    assert_eq!(problem(refused).await["code"], "provider_not_allowed");
    let unknown = gateway
        .client
        .get(&url)
        .bearer_auth(TENANT_KEY)
        .header("checkout-provider", "nope")
        .send()
        .await
        .expect("request");
    assert_eq!(unknown.status(), 403);
    assert_eq!(problem(unknown).await["code"], "provider_not_allowed");
    assert_eq!(mock.received_requests().await.expect("recorded").len(), 1);
    gateway.stop().await;
}

#[tokio::test]
async fn session_ids_and_idempotency_keys_are_checked_before_any_call() {
    let mock = untouchable().await;
    let gateway = gateway(&mock, "").await;
    let body = json!({ "metadata": { "a": "b" } });
    // Sent raw: a client library would resolve the dot segments before the gateway saw them.
    for id in ["%2E%2E", ".", "..", "a%2F..%2Fb"] {
        let (status, body) =
            gateway.raw(&format!("PATCH /v1/checkout/sessions/{id}"), r#"{"metadata":{"a":"b"}}"#).await;
        assert_eq!(status, 400, "{id}: {body}");
        let code = serde_json::from_str::<Value>(&body).map(|problem| problem["code"].clone());
        assert_eq!(code.ok(), Some(json!("invalid_session_id")), "{id}: {body}");
    }
    for id in ["a%2Fb", "a%3Fb", "a%23b", "a%0D%0Ab", "caf%C3%A9", &"x".repeat(201), "a%20b"] {
        let response = gateway.patch(id, &body).await;
        assert_eq!(response.status(), 400, "{id}");
        assert_eq!(problem(response).await["code"], "invalid_session_id", "{id}");
    }
    for key in ["has space", &"k".repeat(256), "semi;colon"] {
        let response = gateway
            .client
            .patch(gateway.url("/v1/checkout/sessions/cs_1"))
            .bearer_auth(TENANT_KEY)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 400, "{key}");
        assert_eq!(problem(response).await["code"], "invalid_idempotency_key");
    }
    assert!(mock.received_requests().await.expect("recorded").is_empty(), "refused before any provider call");
    gateway.stop().await;
}

#[tokio::test]
async fn bodies_must_be_json_objects_within_the_size_limit() {
    let mock = untouchable().await;
    let gateway = TestGateway::start(
        &stripe_config(&mock.uri(), "").replace("deadline_ms = 3000", "deadline_ms = 3000\nmax_body_bytes = 2048"),
    )
    .await;
    let url = gateway.url("/v1/checkout/sessions/cs_1");
    let send = |content_type: &'static str, body: Vec<u8>| {
        gateway.client.patch(&url).bearer_auth(TENANT_KEY).header("content-type", content_type).body(body).send()
    };
    let cases: [(&str, Vec<u8>, u16, &str); 6] = [
        ("text/plain", b"{}".to_vec(), 415, "unsupported_media_type"),
        ("application/json", b"{not json".to_vec(), 400, "malformed_json"),
        ("application/json", b"[1,2]".to_vec(), 400, "malformed_json"),
        ("application/json", b"{}".to_vec(), 422, "validation_failed"),
        ("application/json", vec![b' '; 4096], 413, "payload_too_large"),
        ("application/merge-patch+json; charset=utf-8", b"{\"metadat\": {}}".to_vec(), 422, "validation_failed"),
    ];
    for (content_type, body, status, code) in cases {
        let response = send(content_type, body).await.expect("request");
        assert_eq!(response.status(), status, "{content_type} {code}");
        assert_eq!(problem(response).await["code"], code);
    }
    gateway.stop().await;
}

#[tokio::test]
async fn every_schema_violation_is_reported_with_its_pointer() {
    let mock = untouchable().await;
    let gateway = gateway(&mock, "").await;
    let body = json!({
        "metadata": { "k": 5 },
        "line_items": [ { "name": "x", "quantity": 0, "unit_amount": 100 } ],
        "currency": "dollars",
        "expires_in": 5,
        "redirects": { "success_url": "https://a.example/ok", "success_message": "thanks" },
        "typo": true
    });
    let response = gateway.patch("cs_1", &body).await;
    assert_eq!(response.status(), 422);
    let problem = problem(response).await;
    assert_eq!(problem["code"], "validation_failed");
    let pointers = pointers(&problem);
    for expected in ["/metadata/k", "/line_items/0/quantity", "/currency", "/expires_in", "/redirects", "/typo"] {
        assert!(pointers.iter().any(|p| p == expected), "{expected} missing from {pointers:?}");
    }
    gateway.stop().await;
}

#[tokio::test]
async fn unsupported_fields_are_all_listed_or_ignored_with_warnings() {
    let mock = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "cs_1", "object": "checkout.session", "status": "open" })),
        )
        .mount(&mock)
        .await;
    let body = json!({ "metadata": { "a": "b" }, "expires_in": 3600, "page": { "title": "Shop" }, "description": "x" });
    let strict = gateway(&mock, "").await;
    let response = strict.patch("cs_1", &body).await;
    assert_eq!(response.status(), 422);
    let refused = problem(response).await;
    assert_eq!(refused["code"], "unsupported_field");
    assert_eq!(pointers(&refused), vec!["/description", "/expires_in", "/page/title"]);
    assert!(mock.received_requests().await.expect("recorded").is_empty());
    strict.stop().await;

    let lenient = gateway(&mock, "on_unsupported = \"ignore\"").await;
    let response = lenient.patch("cs_1", &body).await;
    assert_eq!(response.status(), 200);
    let session: Value = response.json().await.expect("json");
    let warned: Vec<&str> = session["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter(|w| w["code"] == "field_ignored")
        .filter_map(|w| w["pointer"].as_str())
        .collect();
    assert_eq!(warned, vec!["/description", "/expires_in", "/page/title"]);
    let sent = mock.received_requests().await.expect("recorded");
    assert_eq!(sent.len(), 1);
    let form = String::from_utf8_lossy(&sent[0].body).into_owned();
    assert!(form.contains("metadata") && !form.contains("expires") && !form.contains("title"), "{form}");
    lenient.stop().await;
}

#[tokio::test]
async fn preview_shows_the_provider_request_with_credentials_redacted() {
    let mock = untouchable().await;
    let gateway = gateway(&mock, "").await;
    let response = gateway
        .client
        .post(gateway.url("/v1/checkout/sessions/cs_1/preview"))
        .bearer_auth(TENANT_KEY)
        .json(&json!({ "metadata": { "order_id": "42" } }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("body");
    assert!(!text.contains(STRIPE_KEY) && !text.contains(TENANT_KEY), "{text}");
    let preview: Value = serde_json::from_str(&text).expect("json");
    let call = &preview["requests"][0];
    assert_eq!(call["method"], "POST");
    assert_eq!(call["path"], "/v1/checkout/sessions/cs_1");
    assert_eq!(call["headers"]["authorization"], "[redacted]");
    assert!(call["body"].as_str().is_some_and(|b| b.contains("42")));
    gateway.stop().await;
}

#[tokio::test]
async fn descriptive_endpoints_answer() {
    let mock = untouchable().await;
    let gateway = gateway(&mock, "").await;
    assert_eq!(gateway.client.get(gateway.url("/healthz")).send().await.expect("request").status(), 200);
    let ready = gateway.client.get(gateway.url("/readyz")).send().await.expect("request");
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.expect("json"), json!({ "status": "ready" }));
    let providers: Value = gateway.get("/v1/providers").await.json().await.expect("json");
    let stripe = &providers["data"][0];
    assert_eq!(stripe["name"], "stripe-main");
    assert_eq!(stripe["default"], true);
    let matrix = stripe["capabilities"].as_array().expect("matrix");
    let support = |feature: &str| matrix.iter().find(|f| f["feature"] == feature).map(|f| f["support"].clone());
    assert_eq!(support("metadata_set"), Some(json!("native")));
    assert_eq!(support("expires_in"), Some(json!("unsupported")));
    let openapi: Value =
        gateway.client.get(gateway.url("/openapi.json")).send().await.expect("request").json().await.expect("json");
    assert_eq!(openapi["openapi"], "3.1.0");
    assert!(openapi["components"]["schemas"]["UpdateRequest"].is_object());
    assert!(openapi["components"]["schemas"]["UnifiedSession"].is_object());
    assert!(openapi["components"]["schemas"]["LineItem"].is_object());
    let explained: Value = gateway
        .client
        .get(gateway.url("/problems/unsupported_field"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(explained["status"], 422);
    let unknown = gateway.client.get(gateway.url("/problems/nope")).send().await.expect("request");
    assert_eq!(unknown.status(), 404);
    assert_eq!(problem(unknown).await["code"], "not_found");
    let nowhere = gateway.client.get(gateway.url("/v2/nowhere")).send().await.expect("request");
    assert_eq!(nowhere.status(), 404);
    assert_eq!(problem(nowhere).await["code"], "not_found");
    let wrong_method = gateway
        .client
        .delete(gateway.url("/v1/checkout/sessions/cs_1"))
        .bearer_auth(TENANT_KEY)
        .send()
        .await
        .expect("request");
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(problem(wrong_method).await["code"], "method_not_allowed");
    gateway.stop().await;
}

#[tokio::test]
async fn the_tenant_rate_limit_answers_429_with_retry_after() {
    let mock = untouchable().await;
    let gateway = gateway(&mock, "rate_limit = { requests_per_second = 0.5, burst = 2 }").await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(gateway.get("/v1/providers").await);
    }
    assert_eq!(statuses[0].status(), 200);
    assert_eq!(statuses[1].status(), 200);
    let limited = statuses.pop().expect("third");
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(problem(limited).await["code"], "rate_limited");
    gateway.stop().await;
}
