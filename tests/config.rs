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
