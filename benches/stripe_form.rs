//! Stripe's bracket-notation form encoding (`checkout_provider_stripe::form::encode`) of the
//! bodies the adapter builds for a metadata-only update and for 100 line items.
//! Run: `cargo bench --bench stripe_form`.
#![allow(clippy::expect_used, clippy::panic, reason = "a benchmark with a broken fixture must stop loudly")]

mod support;

use std::hint::black_box;
use std::time::SystemTime;

use checkout_provider_interface::capability::check_update;
use checkout_provider_interface::{CurrentState, UnifiedUpdate};
use checkout_provider_stripe::form;
use criterion::Criterion;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use support::cpu_clock::ThreadCpu;

/// The nested body the adapter encodes for `unified`, recovered from the form it produced.
fn nested_body(unified: &Value) -> Map<String, Value> {
    let case = support::case("stripe", "01-metadata-set-and-remove.json");
    let adapter = support::adapter("stripe", &case);
    let update = UnifiedUpdate::deserialize(unified).expect("typed update");
    let update = check_update(support::factory("stripe"), adapter.as_ref(), update)
        .unwrap_or_else(|refused| panic!("fixture must pass the capability check: {refused:?}"));
    let request =
        adapter.build_update(&update, CurrentState::NotRequested, &support::context(&case)).expect("provider request");
    let text = std::str::from_utf8(request.body()).expect("form bodies are text");
    support::object(form::decode(text).expect("decodes"))
}

fn encode(c: &mut Criterion<ThreadCpu>) {
    let metadata = support::case("stripe", "01-metadata-set-and-remove.json").unified_request.expect("update case");
    let items = support::items_update(100, "USD", Some(json!({ "stripe": { "expand": ["line_items"] } })));
    let mut group = c.benchmark_group("stripe_form");
    for (name, unified) in [("metadata", metadata), ("items_100", items)] {
        let body = nested_body(&unified);
        group.bench_function(format!("encode/{name}"), |b| b.iter(|| black_box(form::encode(black_box(&body)))));
    }
    group.finish();
}

fn main() {
    let started = SystemTime::now();
    let mut c = support::criterion();
    encode(&mut c);
    c.final_summary();
    support::print_medians(started);
}
