//! Tenant routes (DESIGN §12): the published session-id formats, the config rules and their
//! errors, the overlap warnings (`check-config`), the selection order over real sockets, and the
//! switch report's `routes` section.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use std::io::Write;

use checkout_gateway::config;
use serde_json::{Value, json};
use support::{STRIPE_KEY, TENANT_KEY, TestGateway, sha256_hex};
use wiremock::matchers::path_regex;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn temp_config(toml: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().expect("temp file");
    file.write_all(toml.as_bytes()).expect("write");
    file
}

fn load(toml: &str) -> Result<config::Config, config::ConfigError> {
    config::load(temp_config(toml).path())
}

/// Providers `old` and `new` (Stripe at `old_url` and `new_url`), `mattilda` and `speed` (never
/// called), and the tenant `acme` with `tenant` appended to its table.
fn config_with(old_url: &str, new_url: &str, tenant: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
deadline_ms = 3000

[providers.old]
kind = "stripe"
base_url = "{old_url}"
allow_insecure_http = true
api_key = {{ value = "{STRIPE_KEY}" }}
retry = {{ max_attempts = 1 }}

[providers.new]
kind = "stripe"
base_url = "{new_url}"
allow_insecure_http = true
api_key = {{ value = "{STRIPE_KEY}" }}
retry = {{ max_attempts = 1 }}

[providers.mattilda]
kind = "mattilda"
base_url = "http://127.0.0.1:9"
allow_insecure_http = true
token = {{ value = "mattilda-test-token" }}

[providers.speed]
kind = "crypto-invoice"
base_url = "http://127.0.0.1:9"
allow_insecure_http = true
api_key = {{ value = "sk_test_speed" }}

[tenants.acme]
api_key_sha256 = "{key}"
allowed_providers = ["old", "new", "mattilda", "speed"]
{tenant}
"#,
        key = sha256_hex(TENANT_KEY)
    )
}

fn offline(tenant: &str) -> String {
    config_with("http://127.0.0.1:9", "http://127.0.0.1:9", tenant)
}

#[test]
fn every_published_format_matches_its_example_and_its_adapter_accepts_it() {
    let config = config::load(concat!(env!("CARGO_MANIFEST_DIR"), "/config/gateway.toml").as_ref())
        .unwrap_or_else(|e| panic!("embedded default: {e}"));
    let gateway_rule = regex::Regex::new(r"^[A-Za-z0-9_\-:.]{1,200}$").expect("rule");
    for factory in checkout_gateway::registry::PROVIDERS {
        let provider = config
            .providers
            .values()
            .find(|p| p.kind == factory.kind)
            .unwrap_or_else(|| panic!("the embedded default configures no `{}` provider", factory.kind));
        let format = factory.session_ids;
        let pattern = regex::Regex::new(format.pattern).unwrap_or_else(|e| panic!("{}: {e}", factory.kind));
        assert!(format.pattern.starts_with('^') && format.pattern.ends_with('$'), "{}: anchored", factory.kind);
        assert!(
            pattern.is_match(format.example),
            "{}: example {} outside {}",
            factory.kind,
            format.example,
            format.pattern
        );
        assert!(gateway_rule.is_match(format.example), "{}: the gateway refuses its example", factory.kind);
        provider
            .adapter
            .check_session_id(format.example)
            .unwrap_or_else(|e| panic!("{}: the adapter refuses its published example: {e}", factory.kind));
        assert!(!format.described.is_empty());
    }
}

#[test]
fn a_strict_adapter_refuses_what_its_format_excludes() {
    let config = load(&offline(r#"provider = "mattilda""#)).expect("valid");
    let mattilda = &config.providers["mattilda"];
    let pattern = regex::Regex::new(mattilda.factory.session_ids.pattern).expect("pattern");
    for id in ["cs_test_a1", "4137b1cf39ac42a8bad61c680d5dab6b", "4137b1cf-39ac-42a8-bad6-1c680d5dab6"] {
        assert!(!pattern.is_match(id), "{id}");
        assert!(mattilda.adapter.check_session_id(id).is_err(), "{id}");
    }
}

#[test]
fn provider_format_takes_the_published_pattern_and_expressions_are_kept_as_written() {
    let config = load(&offline(
        r#"provider = "new"
routes = [ { provider = "old", session_ids = "provider_format" }, { provider = "mattilda", session_ids = "^9" } ]"#,
    ))
    .expect("valid");
    let routes = &config.tenants[0].routes;
    assert_eq!(routes[0].pattern.as_str(), config.providers["old"].factory.session_ids.pattern);
    assert_eq!(routes[0].provider, "old");
    assert_eq!(routes[1].pattern.as_str(), "^9");
    assert_eq!(routes[1].label(), "routes[1]");
}

#[test]
fn route_errors_name_the_key() {
    let key = |tenant: &str| match load(&offline(tenant)) {
        Ok(_) => panic!("expected a config error for {tenant}"),
        Err(error) => (error.key, error.message),
    };
    let (at, why) = key(r#"provider = "new"
routes = [ { provider = "old", session_ids = "^cs_" }, { provider = "old", session_ids = "^cs_(" } ]"#);
    assert_eq!(at, "tenants.acme.routes[1].session_ids");
    assert_eq!(why, "not a valid regular expression (error: unclosed group)");
    let (at, _) = key(r#"provider = "new"
routes = [ { provider = "elsewhere", session_ids = "^cs_" } ]"#);
    assert_eq!(at, "tenants.acme.routes[0].provider");
    // A configured provider the tenant may not use is refused too.
    let narrow = offline(
        r#"provider = "new"
routes = [ { provider = "speed", session_ids = "^cs_" } ]"#,
    )
    .replace(r#"allowed_providers = ["old", "new", "mattilda", "speed"]"#, r#"allowed_providers = ["new"]"#);
    assert_eq!(load(&narrow).err().map(|e| e.key).as_deref(), Some("tenants.acme.routes[0].provider"));
    let (at, _) = key(r#"provider = "new"
routes = [ { provider = "old", session_ids = "^cs_", extra = 1 } ]"#);
    assert!(at.starts_with("tenants.acme.routes"), "{at}");
}

fn route_warnings(tenant: &str) -> Vec<String> {
    let config = load(&offline(tenant)).expect("valid");
    config.warnings.into_iter().filter(|w| w.starts_with("tenants.acme.routes")).collect()
}

#[test]
fn overlapping_rules_to_different_providers_are_warned_with_an_id_both_match() {
    // Stripe's `cs_(test|live)_…` and Speed's `cs_…` share ids; the shortest is named.
    let warnings = route_warnings(
        r#"provider = "new"
routes = [ { provider = "old", session_ids = "provider_format" }, { provider = "speed", session_ids = "provider_format" } ]"#,
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("overlapping rules: routes[0]") && warnings[0].contains("routes[1]"), "{warnings:?}");
    assert!(warnings[0].contains("`cs_live_0`") && warnings[0].contains("the first listed wins"), "{warnings:?}");
    // An expression overlapping a published format: found on the automata, not by a prefix.
    let warnings = route_warnings(
        r#"provider = "new"
routes = [ { provider = "mattilda", session_ids = "provider_format" }, { provider = "old", session_ids = "-4[0-9a-f]{3}-" } ]"#,
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("`00000000-0000-0000-4000-000000000000`"), "{warnings:?}");
}

#[test]
fn disjoint_rules_and_rules_to_one_provider_are_not_warned() {
    assert!(
        route_warnings(
            r#"provider = "new"
routes = [ { provider = "old", session_ids = "provider_format" }, { provider = "mattilda", session_ids = "provider_format" },
           { provider = "old", session_ids = "^cs_" } ]"#
        )
        .is_empty()
    );
}

#[test]
fn a_rule_behind_a_catch_all_is_warned_as_never_chosen() {
    let warnings = route_warnings(
        r#"provider = "new"
routes = [ { provider = "old", session_ids = "^cs_" }, { provider = "old", session_ids = "^cs_test_" },
           { provider = "speed", session_ids = "^cs_x" } ]"#,
    );
    let never: Vec<&String> = warnings.iter().filter(|w| w.contains("is never chosen")).collect();
    assert_eq!(never.len(), 2, "{warnings:?}");
    assert!(never[0].contains("routes[1] (`^cs_test_` -> old)") && never[1].contains("routes[2]"), "{warnings:?}");
}

#[test]
fn a_rule_matching_no_acceptable_id_is_warned() {
    let warnings = route_warnings(
        r#"provider = "new"
routes = [ { provider = "old", session_ids = "^cs/" } ]"#,
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("matches no session id the gateway accepts"), "{warnings:?}");
}

#[test]
fn check_config_prints_the_rules_and_warns_about_overlaps() {
    let file = temp_config(&offline(
        r#"provider = "new"
routes = [ { provider = "old", session_ids = "^cs_" }, { provider = "speed", session_ids = "provider_format" } ]"#,
    ));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_checkout-gateway"))
        .args(["check-config", "--config"])
        .arg(file.path())
        .output()
        .expect("run check-config");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("routes[0]") && out.contains("session ids `^cs_` -> old"), "{out}");
    assert!(out.contains("session ids provider_format (`^cs_[A-Za-z0-9_]+$`) -> speed"), "{out}");
    let warning =
        out.lines().find(|l| l.starts_with("warning: tenants.acme.routes: overlapping rules")).unwrap_or_default();
    assert!(warning.contains("`cs_0`"), "{out}");
    assert!(!out.contains(STRIPE_KEY), "{out}");
}

fn session(id: &str) -> Value {
    json!({ "id": id, "object": "checkout.session", "status": "open", "currency": "usd" })
}

/// A Stripe mock answering every read and update with the session the path names.
async fn stripe_mock() -> MockServer {
    let mock = MockServer::start().await;
    Mock::given(path_regex("^/v1/checkout/sessions/[^/]+$"))
        .respond_with(|request: &wiremock::Request| {
            let id = request.url.path().rsplit('/').next().unwrap_or_default().to_owned();
            ResponseTemplate::new(200).set_body_json(session(&id))
        })
        .mount(&mock)
        .await;
    mock
}

async fn paths(mock: &MockServer) -> Vec<String> {
    let requests = mock.received_requests().await.unwrap_or_default();
    requests.iter().map(|r| format!("{} {}", r.method, r.url.path())).collect()
}

/// Send `verb path` as the tenant (with a small update body unless it is a read), expect 200,
/// and return the provider the answer names.
async fn send(gateway: &TestGateway, verb: reqwest::Method, path: &str, header: Option<&str>) -> String {
    let mut request = gateway.client.request(verb.clone(), gateway.url(path)).bearer_auth(TENANT_KEY);
    if let Some(name) = header {
        request = request.header("checkout-provider", name);
    }
    if verb != reqwest::Method::GET {
        request = request.json(&json!({ "metadata": { "k": "v" } }));
    }
    let response = request.send().await.expect("request");
    assert_eq!(response.status(), 200, "{path}");
    response.headers()["checkout-provider"].to_str().expect("text").to_owned()
}

#[tokio::test]
async fn checkout_provider_wins_then_the_first_matching_route_then_the_default() {
    let (old, new) = (stripe_mock().await, stripe_mock().await);
    let gateway = TestGateway::start(&config_with(
        &old.uri(),
        &new.uri(),
        r#"provider = "new"
routes = [ { provider = "old", session_ids = "^cs_old_" }, { provider = "new", session_ids = "^cs_" } ]"#,
    ))
    .await;
    let patch = reqwest::Method::PATCH;
    assert_eq!(send(&gateway, patch.clone(), "/v1/checkout/sessions/cs_old_1", None).await, "old", "routes[0]");
    assert_eq!(send(&gateway, patch.clone(), "/v1/checkout/sessions/cs_new_1", None).await, "new", "routes[1]");
    assert_eq!(send(&gateway, patch.clone(), "/v1/checkout/sessions/other_1", None).await, "new", "the default");
    assert_eq!(
        send(&gateway, patch.clone(), "/v1/checkout/sessions/cs_old_2", Some("new")).await,
        "new",
        "the header wins"
    );
    assert_eq!(send(&gateway, reqwest::Method::GET, "/v1/checkout/sessions/cs_old_get", None).await, "old", "retrieve");
    assert_eq!(
        send(&gateway, reqwest::Method::POST, "/v1/checkout/sessions/cs_old_3/preview", None).await,
        "old",
        "preview"
    );
    // Only the routed provider was called, and the preview called nobody.
    assert_eq!(paths(&old).await, ["POST /v1/checkout/sessions/cs_old_1", "GET /v1/checkout/sessions/cs_old_get"]);
    assert_eq!(
        paths(&new).await,
        [
            "POST /v1/checkout/sessions/cs_new_1",
            "POST /v1/checkout/sessions/other_1",
            "POST /v1/checkout/sessions/cs_old_2"
        ]
    );
    gateway.stop().await;
}

#[tokio::test]
async fn a_routed_provider_still_checks_its_own_id_format() {
    // `^9` sends a non-UUID to Mattilda: its adapter refuses it before any call.
    let gateway = TestGateway::start(&offline(
        r#"provider = "new"
routes = [ { provider = "mattilda", session_ids = "^9" } ]"#,
    ))
    .await;
    let response = gateway.patch("9f0c", &json!({ "metadata": { "k": "v" } })).await;
    assert_eq!(response.status(), 400);
    let problem = support::problem(response).await;
    assert_eq!(problem["code"], "invalid_session_id", "{problem}");
    gateway.stop().await;
}

async fn report(gateway: &TestGateway, query: &str) -> Value {
    let response = gateway.get(&format!("/v1/providers/compatibility?{query}")).await;
    assert_eq!(response.status(), 200, "{query}");
    response.json::<Value>().await.expect("json")["routes"].clone()
}

#[tokio::test]
async fn the_switch_report_says_which_rules_keep_sessions_on_the_old_provider() {
    // Before the cutover: no rule, so Stripe's sessions would all go to Mattilda.
    let gateway = TestGateway::start(&offline(r#"provider = "old""#)).await;
    let routes = report(&gateway, "to=mattilda").await;
    assert_eq!(routes["from"], "old");
    assert_eq!(routes["kept"], json!([]));
    assert_eq!(routes["left"]["example"], "cs_live_0");
    assert_eq!(routes["left"]["goes_to"], "mattilda");
    assert!(routes["left"]["says"].as_str().unwrap_or_default().contains("session_ids = \"provider_format\""));
    assert_eq!(routes["diverted"], Value::Null);
    gateway.stop().await;

    // After: the default is Mattilda and a rule keeps Stripe's format on the old provider.
    let gateway = TestGateway::start(&offline(
        r#"provider = "mattilda"
routes = [ { provider = "old", session_ids = "provider_format" } ]"#,
    ))
    .await;
    let routes = report(&gateway, "to=mattilda&from=old").await;
    assert_eq!(routes["kept"][0]["route"], "routes[0]");
    assert_eq!(
        routes["kept"][0]["says"],
        "sessions matching provider_format (`^cs_(test|live)_[A-Za-z0-9]+$`) stay on old by routes[0]"
    );
    assert_eq!(routes["left"], Value::Null);
    assert_eq!(routes["diverted"], Value::Null);
    gateway.stop().await;

    // A catch-all rule to the old provider would take the new provider's sessions too.
    let gateway = TestGateway::start(&offline(
        r#"provider = "mattilda"
routes = [ { provider = "old", session_ids = "." } ]"#,
    ))
    .await;
    let routes = report(&gateway, "to=mattilda&from=old").await;
    assert_eq!(routes["diverted"]["example"], "00000000-0000-0000-0000-000000000000");
    assert_eq!(routes["diverted"]["goes_to"], "old");
    // Staying put moves nothing: no id is left behind or diverted.
    let same = report(&gateway, "to=old&from=old").await;
    assert_eq!((&same["left"], &same["diverted"]), (&Value::Null, &Value::Null), "{same}");
    let outside = gateway.get("/v1/providers/compatibility?to=mattilda&from=nope").await;
    assert_eq!(outside.status(), 403);
    gateway.stop().await;
}

#[tokio::test]
async fn the_passthrough_is_addressed_by_name_and_ignores_routes() {
    let (old, new) = (stripe_mock().await, stripe_mock().await);
    let toml = config_with(
        &old.uri(),
        &new.uri(),
        r#"provider = "new"
routes = [ { provider = "old", session_ids = "^cs_" } ]"#,
    )
    .replace("[providers.new]\n", "[providers.new]\npassthrough = { allow = [\"GET /v1/checkout/sessions/*\"] }\n");
    let gateway = TestGateway::start(&toml).await;
    let response = gateway.get("/v1/passthrough/new/v1/checkout/sessions/cs_1").await;
    assert_eq!(response.status(), 200);
    assert_eq!(paths(&new).await, ["GET /v1/checkout/sessions/cs_1"]);
    assert!(paths(&old).await.is_empty());
    gateway.stop().await;
}
