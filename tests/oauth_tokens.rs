//! The core's OAuth token source (issue 18) through a real gateway, with a provider kind whose
//! adapter declares client credentials (PayPal) in front of a loopback upstream that plays both
//! the token endpoint and the API: the bearer goes on every call, concurrent calls share one
//! fetch, a refused token is replaced once and the call sent again, refused credentials are an
//! authentication failure, and neither the token nor the secret ever reaches the client.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use support::{TENANT_KEY, TestGateway, problem, sha256_hex};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const ORDER: &str = "5O190127TN364715T";
const CLIENT_SECRET: &str = "paypal-client-secret-0123456789";
/// `client-id:paypal-client-secret-0123456789`, as HTTP Basic.
const BASIC: &str = "Basic Y2xpZW50LWlkOnBheXBhbC1jbGllbnQtc2VjcmV0LTAxMjM0NTY3ODk=";

/// The token endpoint: `A21AA-access-token-1`, `-2`, … per fetch, slow enough that concurrent callers meet.
struct Tokens {
    fetched: Arc<AtomicUsize>,
    refuse: bool,
}

impl Respond for Tokens {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let basic = request.headers.get("authorization").and_then(|v| v.to_str().ok());
        let form = String::from_utf8_lossy(&request.body);
        if self.refuse || basic != Some(BASIC) || form != "grant_type=client_credentials" {
            return ResponseTemplate::new(401).set_body_json(
                json!({"error": "invalid_client", "error_description": format!("bad {CLIENT_SECRET}")}),
            );
        }
        let n = self.fetched.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200).set_delay(Duration::from_millis(150)).set_body_json(
            json!({"access_token": format!("A21AA-access-token-{n}"), "token_type": "Bearer", "expires_in": 32_400}),
        )
    }
}

/// The order API: answers only the current token (the first until `revoked`, then only newer
/// ones); a refusal quotes the token it refused, as a careless API might.
struct Orders {
    revoked: Arc<AtomicBool>,
    seen: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Respond for Orders {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let bearer = request.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        self.seen.lock().expect("seen").push(bearer.clone());
        let accepted = bearer.starts_with("Bearer A21AA-access-token-")
            && !(bearer == "Bearer A21AA-access-token-1" && self.revoked.load(Ordering::SeqCst));
        if !accepted {
            return ResponseTemplate::new(401).set_body_json(json!({
                "name": "AUTHENTICATION_FAILURE", "message": format!("Authentication failed for {bearer}"),
                "debug_id": "f0a1b2c3d4e5f"
            }));
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "id": ORDER, "intent": "CAPTURE", "status": "CREATED",
            "purchase_units": [{"reference_id": "default", "amount": {"currency_code": "USD", "value": "25.00"}}],
            "create_time": "2026-11-23T11:00:00Z"
        }))
    }
}

struct Upstream {
    server: MockServer,
    fetched: Arc<AtomicUsize>,
    revoked: Arc<AtomicBool>,
    seen: Arc<std::sync::Mutex<Vec<String>>>,
}

async fn upstream(refuse_credentials: bool) -> Upstream {
    let server = MockServer::start().await;
    let fetched = Arc::new(AtomicUsize::new(0));
    let revoked = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path("/v1/oauth2/token"))
        .respond_with(Tokens { fetched: Arc::clone(&fetched), refuse: refuse_credentials })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/checkout/orders/{ORDER}")))
        .respond_with(Orders { revoked: Arc::clone(&revoked), seen: Arc::clone(&seen) })
        .mount(&server)
        .await;
    Upstream { server, fetched, revoked, seen }
}

async fn gateway(upstream: &Upstream) -> TestGateway {
    TestGateway::start(&format!(
        r#"
[server]
listen = "127.0.0.1:0"
deadline_ms = 3000

[providers.paypal]
kind = "paypal"
base_url = "{base}"
allow_insecure_http = true
client_id = {{ value = "client-id" }}
client_secret = {{ value = "{CLIENT_SECRET}" }}
timeout_ms = 1000

[tenants.acme]
api_key_sha256 = "{tenant}"
provider = "paypal"
"#,
        base = upstream.server.uri(),
        tenant = sha256_hex(TENANT_KEY),
    ))
    .await
}

async fn retrieve(gateway: &TestGateway) -> reqwest::Response {
    gateway.get(&format!("/v1/checkout/sessions/{ORDER}")).await
}

#[tokio::test]
async fn concurrent_calls_share_one_token_and_a_refused_one_is_replaced_once() {
    let upstream = upstream(false).await;
    let gateway = gateway(&upstream).await;

    let answers = futures_util::future::join_all((0..10).map(|_| retrieve(&gateway))).await;
    for answer in answers {
        assert_eq!(answer.status(), 200);
    }
    assert_eq!(upstream.fetched.load(Ordering::SeqCst), 1, "ten calls, one token fetch");
    assert!(upstream.seen.lock().expect("seen").iter().all(|bearer| bearer == "Bearer A21AA-access-token-1"));

    // The provider stops taking the token before it expires: one 401, one new token, the call
    // sent again; the client sees only the answer.
    upstream.revoked.store(true, Ordering::SeqCst);
    upstream.seen.lock().expect("seen").clear();
    let answer = retrieve(&gateway).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(upstream.fetched.load(Ordering::SeqCst), 2);
    assert_eq!(*upstream.seen.lock().expect("seen"), ["Bearer A21AA-access-token-1", "Bearer A21AA-access-token-2"]);

    // The new token is cached for the calls after.
    assert_eq!(retrieve(&gateway).await.status(), 200);
    assert_eq!(upstream.fetched.load(Ordering::SeqCst), 2);
    gateway.stop().await;
}

#[tokio::test]
async fn refused_client_credentials_are_an_authentication_failure_that_shows_no_secret() {
    let upstream = upstream(true).await;
    let gateway = gateway(&upstream).await;
    let answer = retrieve(&gateway).await;
    assert_eq!(answer.status(), 502);
    let body: Value = problem(answer).await;
    assert_eq!(body["code"], "provider_authentication_failed");
    let text = body.to_string();
    assert!(!text.contains(CLIENT_SECRET) && !text.contains("Y2xpZW50LWlk"), "{text}");
    assert_eq!(upstream.seen.lock().expect("seen").len(), 0, "no API call without a token");
    gateway.stop().await;
}

#[tokio::test]
async fn a_provider_echo_of_the_token_is_masked() {
    let upstream = upstream(false).await;
    let gateway = gateway(&upstream).await;
    assert_eq!(retrieve(&gateway).await.status(), 200);
    // Both tokens refused from now on: the second 401 (quoting the second token) reaches the client.
    upstream.revoked.store(true, Ordering::SeqCst);
    Mock::given(method("GET"))
        .and(path(format!("/v2/checkout/orders/{ORDER}")))
        .and(wiremock::matchers::header("authorization", "Bearer A21AA-access-token-2"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "name": "AUTHENTICATION_FAILURE", "message": "Authentication failed for Bearer A21AA-access-token-2 (token A21AA-access-token-2)", "debug_id": "abc123"
        })))
        .with_priority(1)
        .mount(&upstream.server)
        .await;
    let answer = retrieve(&gateway).await;
    assert_eq!(answer.status(), 502);
    let text = problem(answer).await.to_string();
    assert!(text.contains("provider_authentication_failed"), "{text}");
    assert!(!text.contains("access-token"), "the token is masked, with or without its scheme: {text}");
    assert_eq!(upstream.fetched.load(Ordering::SeqCst), 2, "one refresh per call, not a loop");
    gateway.stop().await;
}
