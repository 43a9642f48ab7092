//! The one data-driven contract driver: every `providers/<kind>/contracts/*.json` case of every
//! registered provider (unified request → exact provider request; provider response → unified
//! session or error). Each case's unified request must also pass the gateway's JSON Schema, so
//! fixtures cannot use requests the gateway would refuse.
//!
//! `UPDATE_EXPECT=1 cargo test --test contracts` first rewrites every case's expected outputs with
//! what the adapter produces (`contract::rewrite_dir`), then checks them as usual; review the
//! diff. Without it nothing is written.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

use std::path::Path;

use checkout_gateway::registry::PROVIDERS;
use checkout_gateway::schema::UpdateSchema;
use checkout_provider_interface::contract::{Case, CaseError, rewrite_dir, rewrite_file, run_dir, run_file};

fn contracts_dir(kind: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("providers").join(kind).join("contracts")
}

/// `result` with its error as the report text, so `assert_eq!` prints the report.
fn reported<T>(result: Result<T, CaseError>) -> Result<T, String> {
    result.map_err(|report| report.to_string())
}

#[test]
fn every_provider_passes_its_contract_cases() {
    let update_expect = std::env::var("UPDATE_EXPECT").is_ok_and(|value| value == "1");
    let mut failures = Vec::new();
    for factory in PROVIDERS {
        if update_expect {
            match rewrite_dir(factory, &contracts_dir(factory.kind)) {
                Ok(changed) => eprintln!("UPDATE_EXPECT: {}: {changed} case files rewritten", factory.kind),
                Err(report) => failures.push(format!("{} (UPDATE_EXPECT):\n{report}", factory.kind)),
            }
        }
        match run_dir(factory, &contracts_dir(factory.kind)) {
            Ok(count) if count >= 10 => {}
            Ok(count) => failures.push(format!("{}: only {count} contract cases (at least 10 expected)", factory.kind)),
            Err(report) => failures.push(format!("{}:\n{report}", factory.kind)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_case_request_is_valid_unified_input() {
    let schema = UpdateSchema::compile().expect("schema compiles");
    let mut failures = Vec::new();
    for factory in PROVIDERS {
        let dir = contracts_dir(factory.kind);
        for entry in std::fs::read_dir(&dir).expect("contracts dir").flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|ext| ext != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read case");
            let case: Case = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            // Cases that show an adapter's own validation may overlap the schema's rules.
            let expects_validation_failure =
                case.expected_rejection.as_ref().is_some_and(|r| r["code"] == "validation_failed");
            if let Some(request) = case.unified_request.as_ref().filter(|_| !expects_validation_failure) {
                let violations = schema.violations(request);
                if !violations.is_empty() {
                    failures.push(format!("{}: {violations:?}", path.display()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A copy of `kind`'s case files in a fresh temp dir: (dir guard, copied paths with their text).
fn copy_cases(kind: &str) -> (tempfile::TempDir, Vec<(std::path::PathBuf, String)>) {
    let temp = tempfile::tempdir().expect("temp dir");
    let mut copies = Vec::new();
    for entry in std::fs::read_dir(contracts_dir(kind)).expect("contracts dir").flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "json") {
            let copy = temp.path().join(entry.file_name());
            std::fs::copy(&path, &copy).expect("copy case");
            copies.push((copy, std::fs::read_to_string(&path).expect("read case")));
        }
    }
    (temp, copies)
}

/// `text` with a stray `"broken": true` inside every expected output, written in place so the
/// file's key order stays as it was.
fn break_expectations(text: &str) -> String {
    let mut broken = text.to_owned();
    for key in ["expected_rejection", "expected_provider_request", "expected_session", "expected_error"] {
        broken =
            broken.replace(&format!("\n  \"{key}\": {{\n"), &format!("\n  \"{key}\": {{\n    \"broken\": true,\n"));
    }
    broken.replace("\n    \"expected_request\": {\n", "\n    \"expected_request\": {\n      \"broken\": true,\n")
}

#[test]
fn update_expect_rewrites_broken_expectations_back_to_the_adapters_output() {
    for factory in PROVIDERS {
        let (dir, copies) = copy_cases(factory.kind);
        for (path, original) in &copies {
            let broken = break_expectations(original);
            assert_ne!(&broken, original, "{}: no expectation to break", path.display());
            std::fs::write(path, &broken).expect("write broken case");
            // Without the rewrite the broken expectation fails, and the file stays as it was.
            assert!(run_file(factory, path).is_err(), "{}: a broken expectation passed", path.display());
            assert_eq!(
                std::fs::read_to_string(path).expect("read"),
                broken,
                "{}: written without UPDATE_EXPECT",
                path.display()
            );
        }
        let changed = rewrite_dir(factory, dir.path()).unwrap_or_else(|report| panic!("{report}"));
        assert_eq!(changed, copies.len(), "{}: every broken case is rewritten", factory.kind);
        // The fixtures pass, so the adapter's output is their expectation: byte for byte, with the
        // rest of each file and its key order untouched.
        for (path, original) in &copies {
            assert_eq!(&std::fs::read_to_string(path).expect("read"), original, "{}", path.display());
        }
        assert_eq!(reported(run_dir(factory, dir.path())), Ok(copies.len()));
        assert_eq!(
            reported(rewrite_dir(factory, dir.path())),
            Ok(0),
            "{}: a passing case is not rewritten",
            factory.kind
        );
    }
}

#[test]
fn update_expect_replaces_a_stale_expectation_with_the_produced_one() {
    let error_key = "\n  \"expected_error\": ";
    let as_json = |text: &str| serde_json::from_str::<serde_json::Value>(text).expect("json");
    let top_level_keys = |text: &str| {
        text.lines()
            .filter(|line| line.starts_with("  \""))
            .filter_map(|line| line.split(':').next())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let mut checked = 0;
    for factory in PROVIDERS {
        let (_dir, copies) = copy_cases(factory.kind);
        let Some((path, original)) = copies.iter().find(|(_, text)| text.contains(error_key)) else { continue };
        // The case now claims a session where the adapter maps the provider's answer to an error.
        std::fs::write(path, original.replace(error_key, "\n  \"expected_session\": ")).expect("write");
        assert!(run_file(factory, path).is_err(), "{}", path.display());
        assert_eq!(reported(rewrite_file(factory, path)), Ok(true), "{}", path.display());
        let rewritten = std::fs::read_to_string(path).expect("read");
        assert_eq!(
            as_json(&rewritten),
            as_json(original),
            "{}: expected_error back, expected_session gone",
            path.display()
        );
        assert_eq!(
            top_level_keys(&rewritten),
            top_level_keys(original),
            "{}: in the stale key's place",
            path.display()
        );
        assert_eq!(reported(run_file(factory, path)), Ok(()));
        checked += 1;
    }
    assert!(checked > 0, "no provider has a case expecting an error");
}

/// The report names the file, the case and the expectation, and shows both values: what a
/// reader of a failing run needs, in the form it always had.
#[test]
fn a_failing_case_reports_its_file_description_and_both_values() {
    let factory = PROVIDERS.first().expect("a provider");
    let (dir, copies) = copy_cases(factory.kind);
    let (path, original) = copies.first().expect("a case");
    let case: Case = serde_json::from_str(original).expect("case");
    std::fs::write(path, break_expectations(original)).expect("write broken case");
    let report = run_dir(factory, dir.path()).expect_err("the broken case fails").to_string();
    let prefix = format!("{}: {} — ", path.display(), case.description);
    assert!(report.starts_with(&prefix), "{report}");
    let expectation = &report[prefix.len()..];
    let (expected, got) = expectation.split_once("\n      got: ").expect("both values");
    assert!(expected.contains(" differs\n expected: {") && expected.contains("\"broken\": true"), "{report}");
    assert!(!got.contains("\"broken\""), "{report}");
}
