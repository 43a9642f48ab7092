//! JSON Schema validation of the unified body (`UpdateSchema::violations`), compiled once as the
//! gateway does; the one-off compile is measured too, to show why it must stay out of requests.
//! Run: `cargo bench --bench schema`.
#![allow(clippy::expect_used, clippy::panic, reason = "a benchmark with a broken fixture must stop loudly")]

mod support;

use std::hint::black_box;
use std::time::SystemTime;

use checkout_gateway::schema::UpdateSchema;
use criterion::Criterion;
use serde_json::Value;
use support::cpu_clock::ThreadCpu;

fn validate(c: &mut Criterion<ThreadCpu>) {
    let schema = UpdateSchema::compile().expect("embedded schema compiles");
    let metadata = support::case("stripe", "01-metadata-set-and-remove.json").unified_request.expect("update case");
    let bodies: [(&str, Value); 3] = [
        ("metadata", metadata),
        ("load_1k", support::load_body()),
        ("items_100", support::items_update(100, "USD", None)),
    ];
    let mut group = c.benchmark_group("schema");
    for (name, body) in &bodies {
        assert!(schema.violations(body).is_empty(), "the {name} fixture must be valid");
        group.bench_function(format!("validate/{name}"), |b| b.iter(|| black_box(schema.violations(black_box(body)))));
    }
    group.bench_function("compile", |b| b.iter(|| black_box(UpdateSchema::compile().expect("compiles"))));
    group.finish();
}

fn main() {
    let started = SystemTime::now();
    let mut c = support::criterion();
    validate(&mut c);
    c.final_summary();
    support::print_medians(started);
}
