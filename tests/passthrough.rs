//! The passthrough proxy (DESIGN §7) over real sockets, in front of wiremock providers: the
//! allow-list, path checks, credential injection and scrubbing, the request header allow-list,
//! tenant rules, body limits, the circuit breaker (and what a client's body cannot do to it),
//! and a per-call JWT scoped to the allow rules.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use serde_json::json;
use support::{OTHER_TENANT_KEY, STRIPE_KEY, TENANT_KEY, TestGateway, problem, sha256_hex};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const MATTILDA_KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/providers/mattilda/demo/demo-private-key.pem");

/// Providers at `mock` with allow-lists; tenant `acme` may use `stripe-main` and `mattilda`,
/// tenant `globex` only its own `stripe-globex`. `stripe-other` allows everything but no tenant
/// may use it.
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

[providers.stripe-globex]
kind = "stripe"
base_url = "{mock}/globex"
allow_insecure_http = true
api_key = {{ value = "sk_test_globex_provider_key" }}

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
passthrough = {{ allow = ["GET /checkout/sessions/*", "PUT /checkout/sessions/*", "GET /transactions/*"] }}

[tenants.acme]
api_key_sha256 = "{acme}"
provider = "stripe-main"
allowed_providers = ["stripe-main", "mattilda"]

[tenants.globex]
api_key_sha256 = "{globex}"
provider = "stripe-globex"
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
    assert_eq!(header(sent, "x-client-header"), None, "not on the request header allow-list");
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
        // Path parameters (`..;` is `..` to servlet-style stacks) and double encoding.
        "/v1/passthrough/stripe-main/v1/echo/..;/..;/v1/customers",
        "/v1/passthrough/stripe-main/v1/echo/x;jsessionid=1",
        "/v1/passthrough/stripe-main/v1/echo/x%3By",
        "/v1/passthrough/stripe-main/v1/echo/%252e%252e/%252e%252e/v1/customers",
        "/v1/passthrough/stripe-main/v1/echo/100%25",
    ] {
        assert_eq!(raw(&gateway, &format!("GET {target} HTTP/1.1\r\nconnection: close")).await, 400, "{target}");
    }
    for target in ["/v1/passthrough/stripe-main/v1/echo/a%2Fb", "/v1/passthrough/stripe-main/v1/echo/%252e%252e"] {
        let response = gateway.get(target).await;
        assert_eq!(problem(response).await["code"], "invalid_passthrough_path", "{target}");
    }
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
        "GET /v1/passthrough/stripe-main/v1/echo/hops HTTP/1.1\r\nconnection: close, x-hop-secret\r\nx-hop-secret: 1\r\nkeep-alive: timeout=5\r\nproxy-authorization: Basic cHJveHk6cGFzcw==\r\nte: trailers\r\nupgrade: websocket\r\ncookie: gateway_session=1\r\ncheckout-provider: stripe-other\r\naccept: application/json",
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
    assert_eq!(header(sent, "accept"), Some("application/json"));
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
async fn provider_faults_open_the_circuit_which_then_fails_fast_and_is_counted() {
    let mock = MockServer::start().await;
    // A provider that takes the whole body and then does not answer within `timeout_ms`.
    Mock::given(path("/api/v1/echo/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_millis(1500)))
        .expect(1)
        .mount(&mock)
        .await;
    Mock::given(path("/api/v1/echo/down")).respond_with(ResponseTemplate::new(503)).expect(1).mount(&mock).await;
    let gateway = start(&mock).await;
    let url = gateway.url("/v1/passthrough/stripe-main/v1/echo/slow");
    let slow = gateway.client.post(&url).bearer_auth(TENANT_KEY).body("complete=1").send().await.expect("request");
    assert_eq!(slow.status(), 504, "a provider timeout after a complete body is the provider's");
    assert_eq!(gateway.get("/v1/passthrough/stripe-main/v1/echo/down").await.status(), 503);
    let refused = gateway.get("/v1/passthrough/stripe-main/v1/echo/down").await;
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(problem(refused).await["code"], "provider_unavailable");
    let metrics = gateway.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains(r#"gateway_provider_attempts_total{provider="stripe-main",outcome="circuit_open"}"#),
        "a refused attempt is counted: {metrics}"
    );
    gateway.stop().await;
}

#[tokio::test]
async fn client_account_selectors_range_overrides_and_forwarding_headers_never_reach_the_provider() {
    let mock = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200).set_body_string("{}")).mount(&mock).await;
    let gateway = start(&mock).await;
    let denied = [
        ("stripe-account", "acct_victim"),
        ("stripe-context", "acct_victim"),
        ("paypercut-account", "acct_victim"),
        ("range", "bytes=0-3"),
        ("if-range", "\"etag\""),
        ("x-http-method-override", "DELETE"),
        ("x-method-override", "DELETE"),
        ("x-http-method", "DELETE"),
        ("x-forwarded-for", "10.0.0.1"),
        ("x-forwarded-host", "internal.example"),
        ("forwarded", "for=10.0.0.1;host=internal.example"),
        ("via", "1.1 tenant-proxy"),
        ("x-custom", "not allow-listed"),
    ];
    let mut request = gateway
        .client
        .post(gateway.url("/v1/passthrough/stripe-main/v1/checkout/sessions/cs_1/expire"))
        .bearer_auth(TENANT_KEY)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body("a=b");
    for (name, value) in denied {
        request = request.header(name, value);
    }
    assert_eq!(request.send().await.expect("request").status(), 200);
    // Mattilda routes by a merchant header: the configured one, never the client's.
    let mattilda = gateway
        .client
        .get(gateway.url("/v1/passthrough/mattilda/checkout/sessions/9f0c2b4e-3a55-4c1e-8a53-0c4f1f6e2a10"))
        .bearer_auth(TENANT_KEY)
        .header("x-gr4vy-merchant-account-id", "victim")
        .send()
        .await
        .expect("request");
    assert_eq!(mattilda.status(), 200);

    let sent = received(&mock).await;
    let stripe = &sent[0];
    for (name, _) in denied {
        assert!(header(stripe, name).is_none(), "{name} reached the provider");
    }
    assert_eq!(header(stripe, "content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(header(stripe, "accept"), Some("application/json"));
    assert_eq!(stripe.body, b"a=b");
    assert_eq!(header(&sent[1], "x-gr4vy-merchant-account-id"), Some("default"));
    gateway.stop().await;
}

#[tokio::test]
async fn a_get_sends_no_body_and_does_not_wait_for_one() {
    let mock = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200)).mount(&mock).await;
    let gateway = start(&mock).await;
    let url = gateway.url("/v1/passthrough/stripe-main/v1/echo/read");
    let with_body = gateway.client.get(&url).bearer_auth(TENANT_KEY).body("hidden=1").send().await.expect("request");
    assert_eq!(with_body.status(), 200);
    // A body that never ends: the call is not held open for it.
    assert_eq!(unfinished_body(&gateway, "GET", true).await, 200);
    for sent in received(&mock).await {
        assert!(sent.body.is_empty(), "a GET body reached the provider");
        assert!(header(&sent, "content-length").is_none_or(|len| len == "0"));
        assert!(header(&sent, "transfer-encoding").is_none());
    }
    gateway.stop().await;
}

/// Send `verb` to the echo path declaring a 1000-byte body and sending 11 bytes of it: `slow`
/// keeps the connection open (and returns the status), otherwise the client hangs up mid-body
/// (and returns 0).
async fn unfinished_body(gateway: &TestGateway, verb: &str, slow: bool) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = gateway.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "{verb} /v1/passthrough/stripe-main/v1/echo/upload HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {TENANT_KEY}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(b"{\"partial\":").await.expect("write");
    if !slow {
        let _ = stream.set_zero_linger();
        return 0;
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0)
}

/// A Stripe session owned by `tenant` (the ownership rule's `tenant_id`), for updates.
fn stripe_session(id: &str, tenant: &str) -> serde_json::Value {
    json!({
        "id": id, "object": "checkout.session", "status": "open", "payment_status": "unpaid",
        "currency": "eur", "amount_subtotal": 1000, "amount_total": 1000,
        "metadata": { "tenant_id": tenant }, "line_items": { "object": "list", "data": [], "has_more": false }
    })
}

#[tokio::test]
async fn slow_and_aborted_passthrough_bodies_do_not_open_the_circuit() {
    let mock = MockServer::start().await;
    Mock::given(path("/api/v1/echo/upload")).respond_with(ResponseTemplate::new(200)).mount(&mock).await;
    Mock::given(path("/api/v1/checkout/sessions/cs_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(stripe_session("cs_1", "acme")))
        .mount(&mock)
        .await;
    let gateway = start(&mock).await;
    // Five bodies cut off mid-way, then five left hanging past the provider's timeout
    // (failure_threshold is 2: any two of them, counted, would open the circuit).
    for _ in 0..5 {
        unfinished_body(&gateway, "POST", false).await;
    }
    let slow = futures_util::future::join_all((0..5).map(|_| unfinished_body(&gateway, "POST", true))).await;
    assert_eq!(slow, [408; 5], "a body still arriving when the provider gives up is the client's fault");
    let update = gateway.patch("cs_1", &json!({ "metadata": { "note": "still served" } })).await;
    assert_eq!(update.status(), 200, "{:?}", update.text().await);
    gateway.stop().await;
}

/// `stripe-main` shared by `acme` and `globex` under an ownership rule (so read rules only).
fn shared_config(mock: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
deadline_ms = 3000

[providers.stripe-main]
kind = "stripe"
base_url = "{mock}/api"
allow_insecure_http = true
api_key = {{ value = "{STRIPE_KEY}" }}
timeout_ms = 1000
retry = {{ max_attempts = 1 }}
circuit_breaker = {{ failure_threshold = 2, cool_down_ms = 600000 }}
passthrough = {{ allow = ["GET /v1/echo/**"] }}
ownership = {{ metadata_key = "tenant_id" }}

[tenants.acme]
api_key_sha256 = "{acme}"
provider = "stripe-main"

[tenants.globex]
api_key_sha256 = "{globex}"
provider = "stripe-main"
"#,
        acme = sha256_hex(TENANT_KEY),
        globex = sha256_hex(OTHER_TENANT_KEY),
    )
}

/// A provider front end that reads each request's whole body (by `Content-Length` or to the
/// last chunk) before it answers (as real ones do), one request per connection: `session` on a
/// checkout session path, an object acme owns elsewhere. Returns its base URL.
async fn buffering_provider(session: serde_json::Value) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let session = session.to_string();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let session = session.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buffer = [0_u8; 4096];
                loop {
                    if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&seen[..end]).to_lowercase();
                        let rest = &seen[end + 4..];
                        let length = head.lines().find_map(|l| l.strip_prefix("content-length:"));
                        let whole = match length.and_then(|v| v.trim().parse::<usize>().ok()) {
                            Some(length) => rest.len() >= length,
                            None if head.contains("transfer-encoding: chunked") => rest.ends_with(b"0\r\n\r\n"),
                            None => true,
                        };
                        if whole {
                            break;
                        }
                    }
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buffer[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&seen[..seen.len().min(200)]).into_owned();
                // Elsewhere: an object acme owns, so the ownership check (which fails closed)
                // lets the passthrough answer through.
                let echo = r#"{"object":"echo","metadata":{"tenant_id":"acme"}}"#;
                let body = if line.contains("/checkout/sessions/") { session.as_str() } else { echo };
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(body.as_bytes()).await;
            });
        }
    });
    url
}

#[tokio::test]
async fn one_tenants_dribbled_get_bodies_do_not_open_a_shared_providers_circuit_for_another() {
    let provider = buffering_provider(stripe_session("cs_other", "globex")).await;
    let gateway = TestGateway::start(&shared_config(&provider)).await;
    // The review's scenario: a read rule, and a body that never ends.
    let held = futures_util::future::join_all((0..5).map(|_| unfinished_body(&gateway, "GET", true))).await;
    let update = gateway
        .client
        .patch(gateway.url("/v1/checkout/sessions/cs_other"))
        .bearer_auth(OTHER_TENANT_KEY)
        .json(&json!({ "metadata": { "note": "still served" } }))
        .send()
        .await
        .expect("request");
    assert_eq!(update.status(), 200, "{:?}", update.text().await);
    assert_eq!(held, [200; 5], "the body of a GET is neither read nor forwarded");
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
    assert_eq!(scopes(tokens[0]), ["checkout-sessions.read"], "the GET rule's resource, read");
    assert_eq!(scopes(tokens[1]), ["checkout-sessions.write"], "the PUT rule's resource, write");
    gateway.stop().await;
}

/// The `scopes` claim of a compact JWT (its signature is checked by the Mattilda unit tests).
fn scopes(token: &str) -> Vec<String> {
    use base64::Engine;
    let claims = token.split('.').nth(1).expect("claims");
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims).expect("base64url");
    let claims: serde_json::Value = serde_json::from_slice(&claims).expect("json");
    serde_json::from_value(claims["scopes"].clone()).expect("scopes")
}

#[tokio::test]
async fn a_mattilda_token_carries_only_the_scopes_of_the_rules_that_admit_the_call() {
    let mock = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200).set_body_string("{}")).mount(&mock).await;
    let gateway = start(&mock).await;
    let id = "9f0c2b4e-3a55-4c1e-8a53-0c4f1f6e2a10";
    assert_eq!(gateway.get(&format!("/v1/passthrough/mattilda/transactions/{id}")).await.status(), 200);
    let sent = received(&mock).await;
    let value = header(&sent[0], "authorization").expect("authorization");
    assert_eq!(scopes(value.trim_start_matches("Bearer ")), ["transactions.read"], "never *.read / *.write");
    gateway.stop().await;
}
