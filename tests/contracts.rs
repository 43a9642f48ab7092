//! The one data-driven contract driver: every `providers/<kind>/contracts/*.json` case of every
//! registered provider (unified request → exact provider request; provider response → unified
//! session or error). Each case's unified request must also pass the gateway's JSON Schema, so
//! fixtures cannot use requests the gateway would refuse.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

use std::path::Path;

use checkout_gateway::registry::PROVIDERS;
use checkout_gateway::schema::UpdateSchema;
use checkout_provider_interface::contract::{Case, run_dir};

fn contracts_dir(kind: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("providers").join(kind).join("contracts")
}

#[test]
fn every_provider_passes_its_contract_cases() {
    let mut failures = Vec::new();
    for factory in PROVIDERS {
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
