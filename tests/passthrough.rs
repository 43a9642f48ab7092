//! The passthrough proxy (DESIGN §7) over real sockets, in front of wiremock providers: the
//! allow-list, path checks, credential injection and scrubbing, hop-by-hop headers, tenant
//! rules, body limits, the circuit breaker, and a per-call JWT.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use serde_json::json;
use support::{OTHER_TENANT_KEY, STRIPE_KEY, TENANT_KEY, TestGateway, problem, sha256_hex};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const MATTILDA_KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/providers/mattilda/demo/demo-private-key.pem");

/// Providers at `mock` with allow-lists; tenant `acme` may use `stripe-main` and `mattilda`,
/// tenant `globex` only `stripe-main`. `stripe-other` allows everything but no tenant may use it.
fn config(mock: &str, server_extra: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
deadline_ms = 3000
{server_extra}

[providers.stripe-main]
kind = "stripe"
base_url = "{mock}/api"
allow_insecure_http = true
api_key = {{ value = "{STRIPE_KEY}" }}
api_version = "2025-03-31.basil"
timeout_ms = 1000
circuit_breaker = {{ failure_threshold = 2, cool_down_ms = 600000 }}
passthrough = {{ allow = ["GET /v1/checkout/sessions/*", "POST /v1/checkout/sessions/*/expire", "* /v1/echo/**"] }}

[providers.stripe-other]
kind = "stripe"
base_url = "{mock}"
allow_insecure_http = true
api_key = {{ value = "sk_test_other_provider_key" }}
passthrough = {{ allow = ["* /**"] }}

[providers.mattilda]
kind = "mattilda"
base_url = "{mock}/mattilda"
allow_insecure_http = true
merchant_account_id = "default"
private_key = {{ file = "{MATTILDA_KEY}" }}
passthrough = {{ allow = ["GET /checkout/sessions/*", "PUT /checkout/sessions/*"] }}

[tenants.acme]
api_key_sha256 = "{acme}"
provider = "stripe-main"
allowed_providers = ["stripe-main", "mattilda"]

[tenants.globex]
api_key_sha256 = "{globex}"
provider = "stripe-main"
"#,
        acme = sha256_hex(TENANT_KEY),
        globex = sha256_hex(OTHER_TENANT_KEY),
    )
}

async fn start(mock: &MockServer) -> TestGateway {
    TestGateway::start(&config(&mock.uri(), "")).await
}

async fn received(mock: &MockServer) -> Vec<Request> {
    mock.received_requests().await.expect("recorded")
}

fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Send `head` (request line and headers, without the blank line) verbatim: client libraries
/// would normalise `..` or refuse hop-by-hop headers. Returns the status code.
async fn raw(gateway: &TestGateway, head: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = gateway.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("{head}\r\nhost: {addr}\r\nauthorization: Bearer {TENANT_KEY}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace().nth(1).and_then(|code| code.parse().ok()).expect("status line")
}

#[tokio::test]
async fn an_allowed_call_carries_the_provider_credentials_query_and_request_id() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/checkout/sessions/cs_1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-provider-header", "kept")
                .set_body_json(json!({ "id": "cs_1", "object": "checkout.session" })),
        )
        .expect(1)
        .mount(&mock)
        .await;
    let gateway = start(&mock).await;
    let response = gateway
        .client
        .get(
            gateway.url("/v1/passthrough/stripe-main/v1/checkout/sessions/cs_1?expand[]=line_items&note=a%20b&x=1&x=2"),
        )
        .bearer_auth(TENANT_KEY)
        .header("x-request-id", "req-pass-1")
        .header("x-client-header", "forwarded")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["checkout-provider"], "stripe-main");
    assert_eq!(response.headers()["x-request-id"], "req-pass-1");
    assert_eq!(response.headers()["x-provider-header"], "kept");
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["id"], "cs_1");

    let sent = received(&mock).await;
    let sent = &sent[0];
    assert_eq!(sent.url.query(), Some("expand[]=line_items&note=a%20b&x=1&x=2"), "query string unchanged");
    assert_eq!(header(sent, "authorization"), Some(format!("Bearer {STRIPE_KEY}").as_str()));
    assert_eq!(header(sent, "stripe-version"), Some("2025-03-31.basil"));
    assert_eq!(header(sent, "x-request-id"), Some("req-pass-1"));
    assert_eq!(header(sent, "x-client-header"), Some("forwarded"));
    assert_eq!(header(sent, "accept-encoding"), Some("identity"));
    let everything = format!("{:?}", sent.headers);
    assert!(!everything.contains(TENANT_KEY), "the tenant key never reaches the provider");
    gateway.stop().await;
}

#[tokio::test]
async fn methods_and_paths_outside_the_allow_list_are_refused_before_any_call() {
    let mock = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200)).expect(0).mount(&mock).await;
    let gateway = start(&mock).await;
    let cases = [
        (reqwest::Method::DELETE, "/v1/passthrough/stripe-main/v1/checkout/sessions/cs_1"),
        (reqwest::Method::POST, "/v1/passthrough/stripe-main/v1/checkout/sessions/cs_1"),
        (reqwest::Method::HEAD, "/v1/passthrough/stripe-main/v1/checkout/sessions/cs_1"),
        (reqwest::Method::GET, "/v1/passthrough/stripe-main/v1/customers/cus_1"),
        (reqwest::Method::GET, "/v1/passthrough/stripe-main/v1/checkout/sessions/cs_1/line_items"),
        (reqwest::Method::GET, "/v1/passthrough/stripe-main/v1/checkout/sessions"),
        (reqwest::Method::GET, "/v1/passthrough/stripe-main/v1/echo"),
    ];
    for (verb, url) in cases {
        let response = gateway
            .client
            .request(verb.clone(), gateway.url(url))
            .bearer_auth(TENANT_KEY)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 403, "{verb} {url}");
        if verb != reqwest::Method::HEAD {
            assert_eq!(problem(response).await["code"], "passthrough_not_allowed", "{verb} {url}");
        }
    }
    gateway.stop().await;
}

#[tokio::test]
async fn path_traversal_and_ambiguous_segments_are_refused() {
    let mock = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200)).expect(0).mount(&mock).await;
    let gateway = start(&mock).await;
    for target in [
        "/v1/passthrough/stripe-main/v1/checkout/sessions/../../customers",
        "/v1/passthrough/stripe-main/v1/echo/../../v1/customers",
        "/v1/passthrough/stripe-main/v1/echo/%2e%2e/%2E%2E/customers",
        "/v1/passthrough/stripe-main/v1/echo/./x",
        "/v1/passthrough/stripe-main/v1/echo/a%2fb",
        "/v1/passthrough/stripe-main/v1/echo/a%5Cb",
        "/v1/passthrough/stripe-main/v1/echo//x",
        "/v1/passthrough/stripe-main/v1/echo/%00",
    ] {
        assert_eq!(raw(&gateway, &format!("GET {target} HTTP/1.1\r\nconnection: close")).await, 400, "{target}");
    }
    let response = gateway.get("/v1/passthrough/stripe-main/v1/echo/a%2Fb").await;
    assert_eq!(problem(response).await["code"], "invalid_passthrough_path");
    gateway.stop().await;
}

#[tokio::test]
async fn the_client_authorization_and_hop_by_hop_headers_are_not_forwarded() {
    let mock = MockServer::start().await;
    Mock::given(path("/api/v1/echo/hops"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("set-cookie", "provider_session=abc")
                .insert_header("x-kept", "yes")
                .set_body_string("ok"),
        )
        .mount(&mock)
        .await;
    let gateway = start(&mock).await;
    let status = raw(
        &gateway,
        "GET /v1/passthrough/stripe-main/v1/echo/hops HTTP/1.1\r\nconnection: close, x-hop-secret\r\nx-hop-secret: 1\r\nkeep-alive: timeout=5\r\nproxy-authorization: Basic cHJveHk6cGFzcw==\r\nte: trailers\r\nupgrade: websocket\r\ncookie: gateway_session=1\r\ncheckout-provider: stripe-other\r\nx-end-to-end: kept",
    )
    .await;
    assert_eq!(status, 200);
    let sent = received(&mock).await;
    let sent = &sent[0];
    for dropped in ["x-hop-secret", "keep-alive", "proxy-authorization", "te", "upgrade", "cookie", "checkout-provider"]
    {
        assert!(header(sent, dropped).is_none(), "{dropped} was forwarded");
    }
    assert_ne!(header(sent, "connection"), Some("close, x-hop-secret"));
    assert_eq!(header(sent, "x-end-to-end"), Some("kept"));
    assert_eq!(header(sent, "authorization"), Some(format!("Bearer {STRIPE_KEY}").as_str()));

    let response = gateway.get("/v1/passthrough/stripe-main/v1/echo/hops").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("set-cookie").is_none(), "provider cookies stay with the gateway");
    assert_eq!(response.headers()["x-kept"], "yes");
    gateway.stop().await;
}

#[tokio::test]
async fn an_echoed_credential_never_reaches_the_client() {
    let mock = MockServer::start().await;
    let echo = format!("{{\"received\":\"Bearer {STRIPE_KEY}\",\"key\":\"{STRIPE_KEY}\",\"other\":\"visible\"}}");
    Mock::given(path("/api/v1/echo/auth"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("x-echo", format!("Bearer {STRIPE_KEY}").as_str())
                .insert_header("content-type", "application/json")
                .set_body_string(echo.clone()),
        )
        .mount(&mock)
        .await;
    let gateway = start(&mock).await;
    let response = gateway.get("/v1/passthrough/stripe-main/v1/echo/auth").await;
    assert_eq!(response.status(), 400, "the provider's status passes through");
    assert!(response.headers().get("x-echo").is_none(), "a header holding the credential is dropped");
    let body = response.text().await.expect("body");
    assert!(!body.contains(STRIPE_KEY), "{body}");
    assert_eq!(body.len(), echo.len(), "masked in place, so Content-Length holds");
    let masked: serde_json::Value = serde_json::from_str(&body).expect("still JSON");
    assert_eq!(masked["other"], "visible");
    gateway.stop().await;
}

#[tokio::test]
async fn providers_outside_the_tenant_allow_list_are_refused() {
    let mock = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200)).expect(0).mount(&mock).await;
    let gateway = start(&mock).await;
    for (key, url) in [
        (TENANT_KEY, "/v1/passthrough/stripe-other/v1/anything"),
        (TENANT_KEY, "/v1/passthrough/no-such-provider/v1/anything"),
        (OTHER_TENANT_KEY, "/v1/passthrough/mattilda/checkout/sessions/x"),
    ] {
        let response = gateway.client.get(gateway.url(url)).bearer_auth(key).send().await.expect("request");
        assert_eq!(response.status(), 403, "{url}");
        assert_eq!(problem(response).await["code"], "provider_not_allowed");
    }
    let anonymous = gateway.client.get(gateway.url("/v1/passthrough/stripe-main/v1/echo/x")).send().await.expect("req");
    assert_eq!(anonymous.status(), 401);
    gateway.stop().await;
}

#[tokio::test]
async fn bodies_stream_through_within_the_limit_and_413_beyond_it() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/checkout/sessions/cs_1/expire"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"status\":\"expired\"}"))
        .mount(&mock)
        .await;
    let gateway = TestGateway::start(&config(&mock.uri(), "max_body_bytes = 64")).await;
    let url = gateway.url("/v1/passthrough/stripe-main/v1/checkout/sessions/cs_1/expire");
    let small = gateway
        .client
        .post(&url)
        .bearer_auth(TENANT_KEY)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("idempotency-key", "client-key-1")
        .body("metadata[a]=b")
        .send()
        .await
        .expect("request");
    assert_eq!(small.status(), 200);
    let sent = received(&mock).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body, b"metadata[a]=b");
    assert_eq!(header(&sent[0], "content-type"), Some("application/x-www-form-urlencoded"));
    let forwarded_key = header(&sent[0], "idempotency-key").expect("a key is forwarded");
    assert!(forwarded_key.starts_with("cg:") && !forwarded_key.contains("client-key-1"), "{forwarded_key}");

    let declared = gateway.client.post(&url).bearer_auth(TENANT_KEY).body("x".repeat(65)).send().await.expect("req");
    assert_eq!(declared.status(), 413);
    assert_eq!(problem(declared).await["code"], "payload_too_large");
    // No Content-Length: counted while streaming.
    let chunks: Vec<Result<&'static str, std::io::Error>> = (0..10).map(|_| Ok("0123456789")).collect();
    let streamed = gateway
        .client
        .post(&url)
        .bearer_auth(TENANT_KEY)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await
        .expect("request");
    assert_eq!(streamed.status(), 413);
    assert_eq!(received(&mock).await.len(), 1, "no oversized body reached the provider in full");
    gateway.stop().await;
}

#[tokio::test]
async fn oversized_provider_answers_become_provider_errors() {
    let mock = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200).set_body_string("y".repeat(500))).mount(&mock).await;
    let gateway = TestGateway::start(&config(&mock.uri(), "max_response_bytes = 100")).await;
    let response = gateway.get("/v1/passthrough/stripe-main/v1/echo/big").await;
    assert_eq!(response.status(), 502);
    assert_eq!(problem(response).await["code"], "provider_error");
    gateway.stop().await;
}

#[tokio::test]
async fn a_streamed_answer_growing_past_the_limit_is_aborted() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A provider that streams 10 chunks of 50 bytes with no Content-Length, for one connection.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let provider = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0_u8; 1];
            if stream.read(&mut byte).await.expect("read") == 0 {
                return;
            }
            head.push(byte[0]);
        }
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").await;
        for _ in 0..10 {
            let _ = stream.write_all(format!("32\r\n{}\r\n", "z".repeat(50)).as_bytes()).await;
        }
        let _ = stream.write_all(b"0\r\n\r\n").await;
    });
    let gateway = TestGateway::start(&config(&format!("http://{addr}"), "max_response_bytes = 120")).await;
    let response = gateway.get("/v1/passthrough/stripe-main/v1/echo/stream").await;
    assert_eq!(response.status(), 200, "the answer had started");
    assert!(response.bytes().await.is_err(), "the body is cut off, not delivered whole");
    provider.await.expect("provider task");
    gateway.stop().await;
}

#[tokio::test]
async fn an_open_circuit_fails_fast_without_calling_the_provider() {
    let mock = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(503)).expect(2).mount(&mock).await;
    let gateway = start(&mock).await;
    for _ in 0..2 {
        assert_eq!(gateway.get("/v1/passthrough/stripe-main/v1/echo/down").await.status(), 503);
    }
    let refused = gateway.get("/v1/passthrough/stripe-main/v1/echo/down").await;
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(problem(refused).await["code"], "provider_unavailable");
    gateway.stop().await;
}

#[tokio::test]
async fn a_fresh_jwt_is_signed_for_each_call() {
    let mock = MockServer::start().await;
    Mock::given(path("/mattilda/checkout/sessions/9f0c2b4e-3a55-4c1e-8a53-0c4f1f6e2a10"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .expect(2)
        .mount(&mock)
        .await;
    let gateway = start(&mock).await;
    let url = "/v1/passthrough/mattilda/checkout/sessions/9f0c2b4e-3a55-4c1e-8a53-0c4f1f6e2a10";
    assert_eq!(gateway.get(url).await.status(), 200);
    let put = gateway.client.put(gateway.url(url)).bearer_auth(TENANT_KEY).json(&json!({})).send().await.expect("req");
    assert_eq!(put.status(), 200);
    let sent = received(&mock).await;
    let tokens: Vec<&str> = sent
        .iter()
        .map(|request| {
            let value = header(request, "authorization").expect("authorization");
            let token = value.strip_prefix("Bearer ").unwrap_or_else(|| panic!("not a bearer token: {value}"));
            assert_eq!(token.split('.').count(), 3, "a compact JWT");
            assert!(!token.contains(TENANT_KEY));
            assert_eq!(header(request, "x-gr4vy-merchant-account-id"), Some("default"));
            token
        })
        .collect();
    assert_ne!(tokens[0], tokens[1], "signed per call");
    gateway.stop().await;
}
