//! The command line of DESIGN §8 on the embedded default config.

#![allow(clippy::expect_used, reason = "test helpers fail the test loudly")]

use std::io::Write;
use std::process::{Command, Stdio};

fn gateway(args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_checkout-gateway"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write");
    let output = child.wait_with_output().expect("wait");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn hash_key_prints_the_sha256_the_config_expects() {
    let (ok, out, _) = gateway(&["hash-key"], "demo-tenant-key\n");
    assert!(ok);
    assert_eq!(out.trim(), "01ea27eafbe8e5c7b672de58156a9277d5db106dafb491360d397f6b70b87bcc");
    let config = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/gateway.toml")).expect("config");
    assert!(config.contains(out.trim()), "the README's demo key is the configured one");
}

#[test]
fn check_config_lists_providers_without_secrets_and_fails_on_errors() {
    let (ok, out, _) = gateway(&["check-config"], "");
    assert!(ok);
    assert!(
        out.contains("stripe")
            && out.contains("mattilda")
            && out.contains("paypercut")
            && out.contains("crypto-invoice")
    );
    assert!(!out.contains("sk_test_") && !out.contains("PRIVATE KEY"), "{out}");
    let dir = tempfile::tempdir().expect("dir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[server]\nlisten = 5\n").expect("write");
    let (ok, _, err) = gateway(&["check-config", "--config", bad.to_str().expect("utf8")], "");
    assert!(!ok);
    assert!(err.contains("server.listen"), "{err}");
}

#[test]
fn translate_prints_the_provider_requests_with_credentials_redacted() {
    let body = r#"{"metadata":{"order_id":"42"}}"#;
    let (ok, out, err) = gateway(&["translate", "--provider", "stripe", "--session", "cs_demo_open", "-"], body);
    assert!(ok, "{err}");
    let preview: serde_json::Value = serde_json::from_str(&out).expect("json");
    let call = &preview["requests"][0];
    assert_eq!(call["method"], "POST");
    assert_eq!(call["path"], "/v1/checkout/sessions/cs_demo_open");
    assert_eq!(call["headers"]["authorization"], "[redacted]");
    // The update asks for the items back, as retrieve does (providers/stripe/README.md).
    assert_eq!(call["body"], "expand[0]=line_items&expand[1]=line_items.data.price.product&metadata[order_id]=42");
    assert_eq!(call["headers"]["idempotency-key"].as_str().map(|k| k.matches(':').count()), Some(1), "attempt 1's key");
    let (ok, out, _) = gateway(&["translate", "--provider", "mattilda", "-"], body);
    assert!(ok);
    let preview: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(preview["requests"].as_array().expect("requests").len(), 2, "read, then write");
    assert!(!out.contains("eyJ"), "no JWT in the output");
    let (ok, _, err) = gateway(&["translate", "--provider", "paypercut", "-"], body);
    assert!(!ok);
    assert!(err.contains("unsupported_field"), "{err}");
}
