//! `checkout-gateway contract-test`: the real binary sends each provider's `live_safe` contract
//! cases to a live upstream (the embedded default's simulators, or a mock answering a case's
//! recorded answer with one field changed) and reports per case; `--record` writes the live
//! answers into a copy of the case files. Against Prism: `tools/contract-check/live_check.py`.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

use std::path::{Path, PathBuf};
use std::process::Command;

use checkout_gateway::registry;
use checkout_provider_interface::contract::{run_dir, run_file};
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const STRIPE_KEY: &str = "sk_test_contract_test_key_77";
const RETRIEVE_CASE: &str = "15-retrieve-expanded-line-items";

/// (exit ok, stdout, stderr) of the binary run from the repository root.
fn gateway(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_checkout-gateway"))
        .args(args)
        .current_dir(ROOT)
        .env_remove("CHECKOUT_GATEWAY_CONFIG")
        .output()
        .expect("run the binary");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// [`gateway`] off the async runtime that serves the mock upstream.
async fn gateway_async(args: Vec<String>) -> (bool, String, String) {
    tokio::task::spawn_blocking(move || gateway(&args.iter().map(String::as_str).collect::<Vec<_>>()))
        .await
        .expect("join")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// The embedded default config with its two fixed ports moved to free ones (tests run in
/// parallel, and a demo gateway may be running).
fn embedded_config(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(Path::new(ROOT).join("config/gateway.toml")).expect("embedded config");
    let moved = text
        .replace("127.0.0.1:8081", &format!("127.0.0.1:{}", free_port()))
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{}", free_port()));
    let path = dir.join("gateway.toml");
    std::fs::write(&path, moved).expect("write config");
    path
}

/// A config with one Stripe provider at `base_url`.
fn stripe_config(dir: &Path, base_url: &str) -> PathBuf {
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"

[providers.sandbox]
kind = "stripe"
base_url = "{base_url}"
allow_insecure_http = true
api_key = {{ value = "{STRIPE_KEY}" }}
api_version = "2025-03-31.basil"
retry = {{ max_attempts = 1 }}

[tenants.team]
api_key_sha256 = "{}"
provider = "sandbox"
"#,
        checkout_gateway::api::extract::hash_key("contract-test-tenant")
    );
    let path = dir.join("sandbox.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// Copies of `kind`'s case files (all, or those named) in `dir`.
fn copy_cases(kind: &str, dir: &Path, only: &[&str]) -> PathBuf {
    let cases = dir.join(format!("{kind}-cases"));
    std::fs::create_dir_all(&cases).expect("cases dir");
    let source = Path::new(ROOT).join("providers").join(kind).join("contracts");
    for entry in std::fs::read_dir(source).expect("contracts").flatten() {
        let path = entry.path();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        if path.extension().is_some_and(|ext| ext == "json") && (only.is_empty() || only.contains(&stem.as_str())) {
            std::fs::copy(&path, cases.join(entry.file_name())).expect("copy case");
        }
    }
    cases
}

fn recorded_case(kind: &str, name: &str) -> Value {
    let path = Path::new(ROOT).join("providers").join(kind).join("contracts").join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("case")).expect("json")
}

fn arg(path: &Path) -> String {
    path.to_str().expect("utf-8 path").to_owned()
}

/// The embedded default's providers and the demo session each one's cases are sent to.
const SIMULATED: [(&str, &str, Option<&str>); 5] = [
    ("stripe", "stripe", Some("cs_demo_open")),
    // The Mattilda simulator's open demo session is the cases' own session id.
    ("mattilda", "mattilda", None),
    ("paypercut", "paypercut", Some("chk_demo_open")),
    ("speed", "crypto-invoice", Some("cs_demo_usd")),
    // Its cases name the simulator's open demo order; the gateway's token source gets its bearer.
    ("paypal", "paypal", None),
];

fn simulator_args(config: &Path, provider: &str, cases: Option<&Path>, session: Option<&str>) -> Vec<String> {
    let mut args =
        vec!["contract-test".to_owned(), "--provider".into(), provider.into(), "--config".into(), arg(config)];
    if let Some(cases) = cases {
        args.extend(["--cases".into(), arg(cases)]);
    }
    if let Some(session) = session {
        args.extend(["--session".into(), session.into()]);
    }
    args
}

#[test]
fn every_provider_is_accepted_and_parses_against_the_simulators_with_its_committed_cases() {
    let dir = tempfile::tempdir().expect("dir");
    let config = embedded_config(dir.path());
    let mut informational = 0;
    for (provider, kind, session) in SIMULATED {
        let mut args = simulator_args(&config, provider, None, session);
        args.extend(["--check".into(), "accepted,parses".into()]);
        let (ok, out, err) = gateway(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(ok, "{provider}: {out}\n{err}");
        let live = out.lines().filter(|line| line.starts_with("PASS ")).count();
        assert!(live > 0 && !out.contains("DRIFT") && !out.contains("FAIL"), "{provider} ({kind}): {out}");
        informational += out.lines().filter(|line| line.trim_start().starts_with("info: /")).count();
    }
    // Most demo sessions are not the fixtures' sessions: what differs is shown, as information.
    assert!(informational > 0, "no informational difference at all");
}

#[test]
fn recorded_simulator_answers_pass_on_the_next_run_and_keep_the_cases_valid_offline() {
    let dir = tempfile::tempdir().expect("dir");
    let config = embedded_config(dir.path());
    for (provider, kind, session) in SIMULATED {
        let cases = copy_cases(kind, dir.path(), &[]);
        let mut record = simulator_args(&config, provider, Some(&cases), session);
        record.push("--record".into());
        let (ok, out, err) = gateway(&record.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(ok, "{provider} --record: {out}\n{err}");
        assert!(out.contains("| recorded"), "{provider}: {out}");
        // The refreshed fixtures are the simulator's answers, and the offline runner agrees.
        let factory = registry::factory(kind).expect("registered");
        run_dir(factory, &cases).unwrap_or_else(|report| panic!("{provider}: {report}"));
        let args = simulator_args(&config, provider, Some(&cases), session);
        let (ok, out, err) = gateway(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(ok, "{provider} after --record: {out}\n{err}");
        assert!(!out.contains("DRIFT") && !out.contains("FAIL") && out.contains("0 drift, 0 fail"), "{out}");
    }
    let stripe = std::fs::read_to_string(dir.path().join("stripe-cases").join(format!("{RETRIEVE_CASE}.json")))
        .expect("recorded case");
    assert!(stripe.contains("\"id\": \"cs_demo_open\""), "the simulator's session was recorded: {stripe}");
    assert!(!stripe.contains("sk_test_stripe_demo"), "no credential in a recorded answer");
}

/// A mock Stripe answering every request with `body` (status 200).
async fn upstream(body: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(body)).mount(&server).await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn a_renamed_provider_field_is_drift_naming_the_case_and_the_unified_field() {
    let dir = tempfile::tempdir().expect("dir");
    let cases = copy_cases("stripe", dir.path(), &[RETRIEVE_CASE]);
    let answer = recorded_case("stripe", RETRIEVE_CASE)["provider_response"]["body"].clone();
    let run = |server: &MockServer| {
        let config = stripe_config(dir.path(), &server.uri());
        vec!["contract-test", "--provider", "sandbox", "--config", &arg(&config), "--cases", &arg(&cases)]
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };

    // The recorded answer itself: unchanged.
    let same = upstream(answer.clone()).await;
    let (ok, out, err) = gateway_async(run(&same)).await;
    assert!(ok, "{out}\n{err}");
    assert!(out.contains(&format!("PASS   {RETRIEVE_CASE}  accepted 200 | parses ok | unchanged ok")), "{out}");

    // Stripe renames `total_details.amount_tax`: the answer parses, the unified tax is gone.
    let mut renamed = answer.clone();
    let tax = renamed["total_details"].as_object_mut().expect("object").remove("amount_tax").expect("tax");
    renamed["total_details"]["tax_amount"] = tax.clone();
    let drifted = upstream(renamed).await;
    let (ok, out, err) = gateway_async(run(&drifted)).await;
    assert!(!ok, "drift exits non-zero: {out}");
    assert!(out.contains(&format!("DRIFT  {RETRIEVE_CASE}")), "{out}");
    assert!(out.contains(&format!("/amounts/tax: {tax} -> null")), "{out}");
    assert!(out.contains("0 pass, 1 drift, 0 fail") && err.contains("drifted or failed"), "{out}\n{err}");

    let mut json_args = run(&drifted);
    json_args.push("--json".into());
    let (ok, out, _) = gateway_async(json_args).await;
    assert!(!ok);
    let report: Value = serde_json::from_str(&out).expect("a JSON report");
    assert_eq!(report["cases"][0]["case"], RETRIEVE_CASE);
    assert_eq!(report["cases"][0]["verdict"], "drift");
    assert_eq!(report["cases"][0]["changes"], json!([{ "pointer": "/amounts/tax", "recorded": tax, "live": null }]));

    // An answer the adapter cannot read: the `parses` step fails.
    let mut unreadable = answer.clone();
    unreadable["status"] = json!(42);
    let (ok, out, _) = gateway_async(run(&upstream(unreadable).await)).await;
    assert!(
        !ok && out.contains(&format!("DRIFT  {RETRIEVE_CASE}  accepted 200 | parses: mapped to an error")),
        "{out}"
    );

    // A refused request: FAIL with the provider's status and code, never its credential.
    let refused = MockServer::start().await;
    let error = json!({ "error": { "type": "invalid_request_error", "code": "resource_missing", "message": format!("No such session (key {STRIPE_KEY})") } });
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(404).set_body_json(error)).mount(&refused).await;
    let (ok, out, _) = gateway_async(run(&refused)).await;
    assert!(!ok && out.contains(&format!("FAIL   {RETRIEVE_CASE}  accepted: request answered 404")), "{out}");
    assert!(out.contains("resource_missing") && !out.contains(STRIPE_KEY), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn record_writes_the_live_answer_into_the_case_for_review() {
    let dir = tempfile::tempdir().expect("dir");
    let cases = copy_cases("stripe", dir.path(), &[RETRIEVE_CASE]);
    let path = cases.join(format!("{RETRIEVE_CASE}.json"));
    let before = std::fs::read_to_string(&path).expect("case");
    let mut answer = recorded_case("stripe", RETRIEVE_CASE)["provider_response"]["body"].clone();
    answer["total_details"]["amount_tax"] = json!(1234);
    // A provider echoing the credential it was sent must not put it into a committed file.
    answer["metadata"] = json!({ "echo": STRIPE_KEY });
    let server = upstream(answer).await;
    let config = stripe_config(dir.path(), &server.uri());
    let args: Vec<String> =
        ["contract-test", "--provider", "sandbox", "--config", &arg(&config), "--cases", &arg(&cases)]
            .into_iter()
            .map(str::to_owned)
            .collect();

    let mut record = args.clone();
    record.push("--record".into());
    let (ok, out, err) = gateway_async(record).await;
    assert!(ok, "recording a drift succeeds: {out}\n{err}");
    assert!(out.contains("DRIFT") && out.contains("| recorded") && out.contains("/amounts/tax"), "{out}");

    let after = std::fs::read_to_string(&path).expect("recorded case");
    assert!(!after.contains(STRIPE_KEY), "{after}");
    let case: Value = serde_json::from_str(&after).expect("json");
    assert_eq!(case["provider_response"]["body"]["total_details"]["amount_tax"], 1234);
    assert_eq!(case["expected_session"]["amounts"]["tax"], 1234);
    assert_eq!(case["expected_session"]["metadata"], json!({ "echo": "[redacted]" }));
    assert_eq!(case["live_safe"], true);
    // Only the answer and what it maps to changed, in place: the rest keeps its text and order.
    let changed: Vec<&str> = after.lines().filter(|line| !before.lines().any(|old| old == *line)).collect();
    // The clock the answer was given at (`context.now`, after the session id and its new comma),
    // the provider's field and the echo in the answer, and the unified answer they map to.
    let expected = ["session_id", "\"now\": ", "\"metadata\": {", "\"echo\": \"[redacted]\"", "\"amount_tax\": 1234"];
    let expected = expected.iter().chain(&["\"tax\": 1234,", "\"metadata\": {", "\"echo\": \"[redacted]\""]);
    assert_eq!(changed.len(), 8, "{changed:?}");
    for (line, part) in changed.iter().zip(expected) {
        assert!(line.contains(part), "{line} should show {part}: {changed:?}");
    }
    run_file(registry::factory("stripe").expect("stripe"), &path).unwrap_or_else(|report| panic!("{report}"));

    let (ok, out, err) = gateway_async(args).await;
    assert!(ok, "the recorded answer is now the expectation: {out}\n{err}");
}

#[test]
fn a_directory_without_live_cases_and_an_unknown_check_are_refused_clearly() {
    let dir = tempfile::tempdir().expect("dir");
    let config = embedded_config(dir.path());
    let cases = copy_cases("stripe", dir.path(), &["05-unsupported-fields"]);
    let args = simulator_args(&config, "stripe", Some(&cases), None);
    let (ok, _, err) = gateway(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!ok && err.contains("is marked `live_safe`"), "{err}");
    let mut args = simulator_args(&config, "stripe", None, None);
    args.extend(["--check".into(), "accepted,fast".into()]);
    let (ok, _, err) = gateway(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!ok && err.contains("unknown check `fast`"), "{err}");
}

/// Every registered kind can be checked live, and what is marked live-safe is a case a sandbox
/// answers: a session, not a refusal or an error a provider must be made to produce.
#[test]
fn every_provider_marks_live_safe_cases_and_only_cases_that_expect_a_session() {
    for factory in registry::PROVIDERS {
        let dir = Path::new(ROOT).join("providers").join(factory.kind).join("contracts");
        let mut live = 0;
        for entry in std::fs::read_dir(&dir).expect("contracts").flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|ext| ext != "json") {
                continue;
            }
            let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("case")).expect("json");
            if case["live_safe"] != true {
                continue;
            }
            live += 1;
            assert!(
                case.get("expected_session").is_some()
                    && case.get("expected_error").is_none()
                    && case.get("expected_rejection").is_none(),
                "{}: a live-safe case expects a session",
                path.display()
            );
        }
        assert!(live > 0, "{}: no contract case is marked `live_safe`", factory.kind);
    }
}
