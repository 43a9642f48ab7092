//! Session ownership (issue 13 item 2): two tenants may share a provider entry only under an
//! ownership rule, and then neither can read, update or passthrough the other's sessions; a
//! session of another tenant answers exactly as a session the provider does not have. Real
//! sockets: a gateway on loopback in front of a wiremock Stripe.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use std::io::Write;

use serde_json::{Value, json};
use support::{OTHER_TENANT_KEY, TENANT_KEY, TestGateway, pointers, problem, sha256_hex, stripe_config};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const RULE: &str = "ownership = { metadata_key = \"tenant_id\" }";

/// `stripe_config` with tenant `globex` on `stripe-main` too (shared with `acme`), and
/// `provider_lines` added to `stripe-main`'s table.
fn shared_config(mock: &str, provider_lines: &str) -> String {
    let globex = format!(
        "\n[tenants.globex]\napi_key_sha256 = \"{}\"\nprovider = \"stripe-main\"\n",
        sha256_hex(OTHER_TENANT_KEY)
    );
    format!("{}{globex}", stripe_config(mock, ""))
        .replace("[providers.stripe-other]", &format!("{provider_lines}\n\n[providers.stripe-other]"))
}

fn load(toml: &str) -> Result<checkout_gateway::config::Config, checkout_gateway::config::ConfigError> {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().expect("temp file");
    file.write_all(toml.as_bytes()).expect("write config");
    checkout_gateway::config::load(file.path())
}

fn refusal(toml: &str) -> checkout_gateway::config::ConfigError {
    match load(toml) {
        Ok(_) => panic!("the config was accepted"),
        Err(error) => error,
    }
}

fn stripe_session(id: &str, owner: Option<&str>) -> Value {
    let metadata = owner.map_or_else(|| json!({ "order": "1" }), |owner| json!({ "tenant_id": owner, "order": "1" }));
    json!({ "id": id, "object": "checkout.session", "status": "open", "currency": "usd", "metadata": metadata })
}

/// A Stripe holding `cs_acme` (acme's), `cs_globex` (globex's) and `cs_untagged` (nobody's);
/// any other id is Stripe's 404. Updates answer the session they were sent to.
async fn stripe() -> MockServer {
    let mock = MockServer::start().await;
    for (id, owner) in [("cs_acme", Some("acme")), ("cs_globex", Some("globex")), ("cs_untagged", None)] {
        let session = ResponseTemplate::new(200).set_body_json(stripe_session(id, owner));
        let route = format!("/v1/checkout/sessions/{id}");
        Mock::given(method("GET")).and(path(route.as_str())).respond_with(session.clone()).mount(&mock).await;
        Mock::given(method("POST")).and(path(route.as_str())).respond_with(session).mount(&mock).await;
    }
    let missing = json!({ "error": { "type": "invalid_request_error", "code": "resource_missing",
        "message": "No such checkout.session: 'cs_missing'", "param": "session" } });
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions/cs_missing"))
        .respond_with(ResponseTemplate::new(404).set_body_json(missing).insert_header("request-id", "req_123"))
        .mount(&mock)
        .await;
    mock
}

async fn send(
    gateway: &TestGateway,
    method: reqwest::Method,
    url: impl AsRef<str>,
    key: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = gateway.client.request(method, gateway.url(url.as_ref())).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

/// The problem body without its request id, the one part that differs between any two answers.
async fn not_found_body(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 404);
    let mut body = problem(response).await;
    assert_eq!(body["code"], "session_not_found");
    body.as_object_mut().expect("object").remove("request_id");
    body
}

async fn posts_received(mock: &MockServer) -> Vec<String> {
    let requests = mock.received_requests().await.expect("recorded");
    requests.iter().filter(|r| r.method.as_str() == "POST").map(|r| r.url.path().to_owned()).collect()
}

#[test]
fn a_provider_two_tenants_share_needs_an_ownership_rule_with_a_value_per_tenant() {
    let mock = "http://127.0.0.1:9";
    let error = refusal(&shared_config(mock, ""));
    assert_eq!(error.key, "providers.stripe-main.ownership");
    assert!(error.message.contains("`acme`") && error.message.contains("`globex`"), "{}", error.message);

    let config = load(&shared_config(mock, RULE)).unwrap_or_else(|e| panic!("{e}"));
    let values: Vec<&str> = config.tenants.iter().map(|t| t.ownership_value.as_str()).collect();
    assert_eq!(values, ["acme", "globex"], "the tenant's name by default");

    // Reaching it through allowed_providers counts as sharing too.
    let through_allowed = stripe_config(mock, "allowed_providers = [\"stripe-main\", \"stripe-other\"]")
        + &format!(
            "\n[tenants.globex]\napi_key_sha256 = \"{}\"\nprovider = \"stripe-other\"\n",
            sha256_hex(OTHER_TENANT_KEY)
        );
    assert_eq!(refusal(&through_allowed).key, "providers.stripe-other.ownership");

    let same_value = shared_config(mock, RULE)
        .replace("provider = \"stripe-main\"\n", "provider = \"stripe-main\"\nownership_value = \"shop\"\n");
    assert_eq!(refusal(&same_value).key, "tenants.globex.ownership_value");

    let with_write =
        shared_config(mock, &format!("{RULE}\npassthrough = {{ allow = [\"POST /v1/checkout/sessions/*/expire\"] }}"));
    assert_eq!(refusal(&with_write).key, "providers.stripe-main.passthrough.allow");
    let long_key = shared_config(mock, &RULE.replace("tenant_id", &"k".repeat(41)));
    assert_eq!(refusal(&long_key).key, "providers.stripe-main.ownership.metadata_key");
}

#[tokio::test]
async fn a_reload_that_shares_a_provider_without_a_rule_is_refused_and_the_old_config_stays() {
    let mock = MockServer::start().await;
    let gateway = TestGateway::start(&stripe_config(&mock.uri(), "")).await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, shared_config(&mock.uri(), "")).expect("write");

    let error = gateway.reload(&path).expect_err("the shared provider without a rule is refused");
    assert!(error.contains("providers.stripe-main.ownership"), "{error}");
    assert_eq!(
        send(&gateway, reqwest::Method::GET, "/v1/providers", OTHER_TENANT_KEY, None).await.status(),
        401,
        "globex is not live"
    );
    assert_eq!(
        send(&gateway, reqwest::Method::GET, "/v1/providers", TENANT_KEY, None).await.status(),
        200,
        "the old config stays"
    );
    let metrics =
        gateway.client.get(gateway.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("gateway_config_reloads_total{result=\"refused\"}"), "the refusal is counted");

    std::fs::write(&path, shared_config(&mock.uri(), RULE)).expect("write");
    gateway.reload(&path).unwrap_or_else(|e| panic!("with a rule the reload is accepted: {e}"));
    assert_eq!(send(&gateway, reqwest::Method::GET, "/v1/providers", OTHER_TENANT_KEY, None).await.status(), 200);
    gateway.stop().await;
}

#[tokio::test]
async fn a_tenant_reads_and_updates_its_own_sessions_only_and_others_look_missing() {
    let mock = stripe().await;
    let gateway = TestGateway::start(&shared_config(&mock.uri(), RULE)).await;
    let get = |id: &str, key: &'static str| {
        send(&gateway, reqwest::Method::GET, format!("/v1/checkout/sessions/{id}"), key, None)
    };

    let own = get("cs_acme", TENANT_KEY).await;
    assert_eq!(own.status(), 200);
    assert_eq!(own.json::<Value>().await.expect("session")["metadata"]["tenant_id"], "acme");
    assert_eq!(get("cs_globex", OTHER_TENANT_KEY).await.status(), 200, "globex reads its own");

    let missing = not_found_body(get("cs_missing", TENANT_KEY).await).await;
    assert_eq!(missing["provider"]["name"], "stripe-main");
    assert!(!missing.to_string().contains("cs_missing"), "no provider text that could differ: {missing}");
    for foreign in ["cs_globex", "cs_untagged"] {
        assert_eq!(not_found_body(get(foreign, TENANT_KEY).await).await, missing, "{foreign} looks like an unknown id");
        let with_data = send(
            &gateway,
            reqwest::Method::GET,
            format!("/v1/checkout/sessions/{foreign}?include=provider_data"),
            TENANT_KEY,
            None,
        );
        assert_eq!(not_found_body(with_data.await).await, missing);
    }

    let body = json!({ "metadata": { "order": "2" } });
    let patch = |id: &str, key: &'static str, body: &Value| {
        send(&gateway, reqwest::Method::PATCH, format!("/v1/checkout/sessions/{id}"), key, Some(body.clone()))
    };
    assert_eq!(
        not_found_body(patch("cs_globex", TENANT_KEY, &body).await).await,
        missing,
        "update of another's session"
    );
    assert_eq!(not_found_body(patch("cs_untagged", TENANT_KEY, &body).await).await, missing);
    assert_eq!(not_found_body(patch("cs_missing", TENANT_KEY, &body).await).await, missing);
    assert!(posts_received(&mock).await.is_empty(), "no write reached another tenant's session");

    assert_eq!(patch("cs_acme", TENANT_KEY, &body).await.status(), 200, "acme updates its own");
    assert_eq!(posts_received(&mock).await, ["/v1/checkout/sessions/cs_acme"]);
    gateway.stop().await;
}

#[tokio::test]
async fn an_update_cannot_change_or_remove_the_ownership_key() {
    let mock = stripe().await;
    let gateway = TestGateway::start(&shared_config(&mock.uri(), RULE)).await;
    let cases = [
        (json!({ "metadata": { "tenant_id": "globex" } }), "/metadata/tenant_id"),
        (json!({ "metadata": { "tenant_id": null } }), "/metadata/tenant_id"),
        (json!({ "metadata": null }), "/metadata"),
        (
            json!({ "provider_options": { "stripe": { "metadata[tenant_id]": "globex" } } }),
            "/provider_options/stripe/metadata[tenant_id]",
        ),
        (json!({ "provider_options": { "stripe": { "metadata": "" } } }), "/provider_options/stripe/metadata"),
    ];
    for (body, pointer) in cases {
        for route in ["/v1/checkout/sessions/cs_acme", "/v1/checkout/sessions/cs_acme/preview"] {
            let method = if route.ends_with("preview") { reqwest::Method::POST } else { reqwest::Method::PATCH };
            let response = send(&gateway, method, route, TENANT_KEY, Some(body.clone())).await;
            assert_eq!(response.status(), 422, "{route} {body}");
            let problem = problem(response).await;
            assert_eq!(problem["code"], "validation_failed");
            assert_eq!(pointers(&problem), [pointer], "{body}");
        }
    }
    assert!(posts_received(&mock).await.is_empty(), "nothing was written");
    let unchanged = json!({ "metadata": { "tenant_id": "acme", "order": "3" } });
    let response =
        send(&gateway, reqwest::Method::PATCH, "/v1/checkout/sessions/cs_acme", TENANT_KEY, Some(unchanged)).await;
    assert_eq!(response.status(), 200, "the tenant's own value is no change");
    gateway.stop().await;
}

#[tokio::test]
async fn the_passthrough_shows_a_tenant_its_own_sessions_only() {
    let mock = stripe().await;
    let rule = format!("{RULE}\npassthrough = {{ allow = [\"GET /v1/checkout/sessions/*\"] }}");
    let gateway = TestGateway::start(&shared_config(&mock.uri(), &rule)).await;
    let through = |id: &str| {
        send(
            &gateway,
            reqwest::Method::GET,
            format!("/v1/passthrough/stripe-main/v1/checkout/sessions/{id}"),
            TENANT_KEY,
            None,
        )
    };
    let own = through("cs_acme").await;
    assert_eq!(own.status(), 200);
    assert_eq!(own.json::<Value>().await.expect("json"), stripe_session("cs_acme", Some("acme")), "passed unchanged");

    let unified_missing = send(&gateway, reqwest::Method::GET, "/v1/checkout/sessions/cs_missing", TENANT_KEY, None);
    let missing = not_found_body(unified_missing.await).await;
    assert_eq!(not_found_body(through("cs_missing").await).await, missing, "the provider's 404 in the gateway's form");
    for foreign in ["cs_globex", "cs_untagged"] {
        assert_eq!(not_found_body(through(foreign).await).await, missing, "{foreign} looks like an unknown id");
    }
    gateway.stop().await;
}

#[tokio::test]
async fn a_passthrough_answer_without_an_owner_fails_closed() {
    // A sub-resource (another tenant's session's line items) names no owner: it must not pass.
    let mock = stripe().await;
    let items =
        json!({ "object": "list", "data": [{ "id": "li_1", "description": "Secret gift" }], "has_more": false });
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions/cs_globex/line_items"))
        .respond_with(ResponseTemplate::new(200).set_body_json(items))
        .mount(&mock)
        .await;
    let rule = format!("{RULE}\npassthrough = {{ allow = [\"GET /v1/checkout/sessions/**\"] }}");
    let gateway = TestGateway::start(&shared_config(&mock.uri(), &rule)).await;
    let url = "/v1/passthrough/stripe-main/v1/checkout/sessions/cs_globex/line_items";
    let answer = send(&gateway, reqwest::Method::GET, url, TENANT_KEY, None).await;
    assert_eq!(answer.status(), 404);
    assert!(!answer.text().await.expect("body").contains("Secret gift"));
    gateway.stop().await;
}
