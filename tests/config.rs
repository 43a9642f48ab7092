//! Config loading: layering, validation, and errors that name the offending key.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use std::io::Write;

use checkout_gateway::config;
use support::{sha256_hex, stripe_config};

fn load(toml: &str) -> Result<config::Config, config::ConfigError> {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().expect("temp file");
    file.write_all(toml.as_bytes()).expect("write");
    config::load(file.path())
}

fn error_key(toml: &str) -> String {
    match load(toml) {
        Ok(_) => panic!("expected a config error"),
        Err(error) => error.key,
    }
}

#[test]
fn a_valid_config_loads_with_defaults() {
    let config = load(&stripe_config("http://127.0.0.1:9", "")).expect("valid");
    assert_eq!(config.server.max_body_bytes, 1_048_576);
    assert_eq!(config.tenants[0].allowed_providers, vec!["stripe-main"]);
    assert_eq!(config.providers["stripe-main"].retry.max_attempts, 3);
    assert!(config.warnings.iter().any(|w| w.contains("inline secret")));
}

#[test]
fn errors_name_the_offending_key() {
    let base = stripe_config("http://127.0.0.1:9", "");
    assert_eq!(
        error_key(&base.replace("deadline_ms = 3000", "deadline_ms = 3000\nlisten_port = 1")),
        "server.listen_port"
    );
    assert_eq!(
        error_key(&base.replace("allow_insecure_http = true\napi_key", "api_key")),
        "providers.stripe-main.base_url"
    );
    assert_eq!(
        error_key(&base.replace(
            "kind = \"stripe\"\nbase_url = \"http://127.0.0.1:9\"\nallow",
            "kind = \"nope\"\nbase_url = \"http://127.0.0.1:9\"\nallow"
        )),
        "providers.stripe-main.kind"
    );
    assert!(
        error_key(
            &base.replace("api_version = \"2025-03-31.basil\"", "api_version = \"2025-03-31.basil\"\nsurprise = 1")
        )
        .starts_with("providers.stripe-main")
    );
    assert_eq!(
        error_key(&base.replace("provider = \"stripe-main\"", "provider = \"missing\"")),
        "tenants.acme.provider"
    );
    assert_eq!(error_key(&base.replace(&sha256_hex(support::TENANT_KEY), "abc")), "tenants.acme.api_key_sha256");
    assert_eq!(
        error_key(&base.replace("max_attempts = 3", "max_attempts = 0")),
        "providers.stripe-main.retry.max_attempts"
    );
}

#[test]
fn secret_references_resolve_from_env_and_files_and_name_the_key_when_missing() {
    let dir = tempfile::tempdir().expect("dir");
    let secret_path = dir.path().join("stripe.key");
    std::fs::write(&secret_path, "sk_test_from_file\n").expect("write");
    let base = stripe_config("http://127.0.0.1:9", "");
    let from_file = base.replacen(
        &format!("api_key = {{ value = \"{}\" }}", support::STRIPE_KEY),
        &format!("api_key = {{ file = \"{}\" }}", secret_path.display()),
        1,
    );
    let config = load(&from_file).expect("file secret");
    assert!(config.secrets.iter().any(|s| s.expose() == "sk_test_from_file"));
    let from_missing_env = base.replacen(
        &format!("api_key = {{ value = \"{}\" }}", support::STRIPE_KEY),
        "api_key = { env = \"CHECKOUT_GATEWAY_TEST_SURELY_UNSET\" }",
        1,
    );
    let error = load(&from_missing_env).err().expect("missing env is an error");
    assert_eq!(error.key, "providers.stripe-main.api_key");
    assert!(!error.to_string().contains(support::STRIPE_KEY));
}

/// `config/gateway.example.toml` documents every key; it must parse and validate. Its secret
/// references become inline values in a copy (setting process environment variables would race
/// with the other tests of this binary).
#[test]
fn the_example_config_documents_a_valid_config() {
    let root = env!("CARGO_MANIFEST_DIR");
    let example = std::fs::read_to_string(format!("{root}/config/gateway.example.toml")).expect("example config");
    let mut text = example.clone();
    for name in
        ["STRIPE_SECRET_KEY", "PAYPERCUT_SECRET_KEY", "SPEED_SECRET_KEY", "PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET"]
    {
        let reference = format!("{{ env = \"{name}\" }}");
        assert!(text.contains(&reference), "the example refers to {name}");
        text = text.replace(&reference, &format!("{{ value = \"sk_test_{}\" }}", name.to_lowercase()));
    }
    let pem = format!("{root}/providers/mattilda/demo/demo-private-key.pem");
    text = text.replace("{ file = \"/run/secrets/mattilda.pem\" }", &format!("{{ file = \"{pem}\" }}"));
    let live = |line: &&str| !line.trim_start().starts_with('#');
    assert!(text.lines().filter(live).all(|line| !line.contains("{ env =")), "every live secret was substituted");
    let config = load(&text).unwrap_or_else(|e| panic!("the example config is invalid: {e}"));
    let kinds: std::collections::BTreeSet<&str> = config.providers.values().map(|p| p.kind).collect();
    let registered: std::collections::BTreeSet<&str> = checkout_gateway::registry::kinds().into_iter().collect();
    assert_eq!(kinds, registered, "every provider kind is documented");
    assert!(config.providers.values().all(|p| p.base_url.starts_with("https://")));
    assert!(!config.providers["stripe-main"].passthrough.is_empty());
    assert_eq!(config.tenants.len(), 2);
    // Every top-level table and gateway-owned provider key appears in the example.
    for key in [
        "[server]",
        "[idempotency]",
        "[simulator]",
        "[telemetry]",
        "max_response_bytes",
        "shutdown_grace_ms",
        "in_flight_wait_ms",
        "max_entries",
        "allow_insecure_http",
        "timeout_ms",
        "retry =",
        "circuit_breaker =",
        "passthrough =",
        "rate_limit =",
        "on_unsupported =",
        "allowed_providers =",
    ] {
        assert!(example.contains(key), "the example does not document `{key}`");
    }
}

#[test]
fn passthrough_allow_lists_are_validated_naming_the_key() {
    let base = stripe_config("http://127.0.0.1:9", "");
    let with = |allow: &str| {
        base.replacen(
            "api_version = \"2025-03-31.basil\"",
            &format!("api_version = \"2025-03-31.basil\"\npassthrough = {{ allow = [{allow}] }}"),
            1,
        )
    };
    let config = load(&with("\"GET /v1/checkout/sessions/*\", \"* /v1/things/**\"")).expect("valid rules");
    assert_eq!(config.providers["stripe-main"].passthrough.len(), 2);
    assert!(config.providers["stripe-other"].passthrough.is_empty(), "nothing is forwarded by default");
    for bad in ["\"GET\"", "\"get /x\"", "\"GET x\"", "\"GET /a/../b\"", "\"GET /**/x\""] {
        assert_eq!(error_key(&with(bad)), "providers.stripe-main.passthrough.allow", "{bad}");
    }
    let typo = base.replacen(
        "api_version = \"2025-03-31.basil\"",
        "api_version = \"2025-03-31.basil\"\npassthrough = { allowed = [] }",
        1,
    );
    assert!(error_key(&typo).starts_with("providers.stripe-main"), "unknown passthrough keys are errors");
}
