//! Shared by the Criterion benchmarks: fixtures built from the providers' own contract cases
//! (so the benchmarked bodies are the ones the tests pin), generated large updates, and the
//! closing table of medians that BENCHMARKS.md quotes.
#![allow(dead_code, reason = "each bench binary uses a different subset of the helpers")]
#![allow(clippy::expect_used, clippy::panic, reason = "a benchmark with a broken fixture must stop loudly")]

pub mod cpu_clock;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use checkout_provider_interface::contract::{Case, InlineSecrets};
use checkout_provider_interface::{Adapter, Context, ProviderFactory, ProviderResponse, ProviderSetup};
use cpu_clock::ThreadCpu;
use criterion::Criterion;
use serde_json::{Map, Value, json};

/// The gateway binary's allocator (`src/main.rs`): the translation costs measured here are the
/// ones the binary pays.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The benchmarks' Criterion: timed by the thread's CPU clock ([`cpu_clock`]); short enough that
/// `cargo bench` over every benchmark stays within a few minutes on 2 cores, long enough for
/// stable medians of microsecond-scale work.
pub fn criterion() -> Criterion<ThreadCpu> {
    Criterion::default()
        .with_measurement(ThreadCpu)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .output_directory(&criterion_dir())
        .configure_from_args()
}

/// `<target>/criterion`: the bench binary runs from `<target>/<profile>/deps/`.
fn criterion_dir() -> PathBuf {
    let from_env = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from);
    let from_exe = || {
        let exe = std::env::current_exe().ok()?;
        Some(exe.parent()?.parent()?.parent()?.to_path_buf())
    };
    from_env.or_else(from_exe).unwrap_or_else(|| PathBuf::from("target")).join("criterion")
}

/// A contract case file of provider `kind` (`providers/<kind>/contracts/<file>`).
pub fn case(kind: &str, file: &str) -> Case {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("providers").join(kind).join("contracts").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The registry entry of `kind`.
pub fn factory(kind: &str) -> &'static ProviderFactory {
    checkout_gateway::registry::factory(kind).unwrap_or_else(|| panic!("no provider kind {kind}"))
}

/// The adapter a case's `provider_config` builds, through the gateway's registry.
pub fn adapter(kind: &str, case: &Case) -> Arc<dyn Adapter> {
    let factory = factory(kind);
    let setup = ProviderSetup { name: "bench", settings: &case.provider_config, secrets: &InlineSecrets };
    (factory.build)(&setup).unwrap_or_else(|e| panic!("{kind} config: {e}"))
}

pub fn context(case: &Case) -> Context {
    case.context().expect("case context")
}

/// The read-then-write answer of a case, when it has one.
pub fn current_state(case: &Case) -> Option<ProviderResponse> {
    case.current_state.as_ref().map(|exchange| exchange.response.to_response().expect("current_state response"))
}

pub fn provider_response(case: &Case) -> ProviderResponse {
    case.provider_response.as_ref().expect("case has a provider_response").to_response().expect("provider response")
}

/// `count` ad-hoc line items of the shape a shop sends (name, price, quantity, sku, id).
pub fn line_items(count: usize) -> Value {
    let items: Vec<Value> = (0..count)
        .map(|i| {
            json!({
                "name": format!("Item {i} — organic cotton t-shirt"),
                "quantity": 1 + i % 3,
                "unit_amount": 1_000 + i,
                "sku": format!("sku-{i:05}"),
                "external_id": format!("item-{i:05}"),
            })
        })
        .collect();
    Value::Array(items)
}

/// A unified update carrying `count` line items in `currency`, plus the given provider options.
pub fn items_update(count: usize, currency: &str, provider_options: Option<Value>) -> Value {
    let mut body = json!({ "currency": currency, "line_items": line_items(count) });
    if let (Some(options), Some(object)) = (provider_options, body.as_object_mut()) {
        object.insert("provider_options".to_owned(), options);
    }
    body
}

/// `response` with the array at `pointer` replaced by `count` copies of its first element,
/// each with a distinct `id` when the element has one: a provider answer listing `count` items.
pub fn with_items(response: &ProviderResponse, pointer: &str, count: usize) -> ProviderResponse {
    let mut body: Value = serde_json::from_slice(response.body()).expect("JSON response body");
    let array = body.pointer_mut(pointer).unwrap_or_else(|| panic!("no {pointer} in the response"));
    let first = array.as_array().and_then(|items| items.first()).cloned().expect("a non-empty item array");
    let items = (0..count)
        .map(|i| {
            let mut item = first.clone();
            if let Some(Value::String(id)) = item.get_mut("id") {
                *id = format!("{id}_{i}");
            }
            item
        })
        .collect();
    *array = Value::Array(items);
    let mut builder = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    builder.body(serde_json::to_vec(&body).expect("serialize")).expect("response")
}

/// The ~1 KB unified body the load harness sends (bench/load.sh reads the same file).
pub fn load_body() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench").join("update-1k.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("bench/update-1k.json is JSON")
}

pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("expected an object, got {other}"),
    }
}

/// Print the median of every benchmark this process measured (Criterion's own summary shows a
/// confidence interval of the mean; BENCHMARKS.md quotes medians).
pub fn print_medians(started: SystemTime) {
    let mut rows = Vec::new();
    collect(&criterion_dir(), started, &mut rows);
    if rows.is_empty() {
        return;
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    println!("\nmedians (this run):");
    for (id, nanos) in rows {
        println!("  {id:<60} {}", human(nanos));
    }
}

fn collect(dir: &Path, started: SystemTime, rows: &mut Vec<(String, f64)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|name| name == "new") {
            if let Some(row) = median(&path, started) {
                rows.push(row);
            }
        } else {
            collect(&path, started, rows);
        }
    }
}

/// `(full id, median ns)` of one `new/` result directory written after `started`.
fn median(dir: &Path, started: SystemTime) -> Option<(String, f64)> {
    let estimates = dir.join("estimates.json");
    let fresh = std::fs::metadata(&estimates).and_then(|m| m.modified()).is_ok_and(|modified| modified >= started);
    if !fresh {
        return None;
    }
    let read = |path: PathBuf| -> Option<Value> { serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok() };
    let id = read(dir.join("benchmark.json"))?.get("full_id")?.as_str()?.to_owned();
    let nanos = read(estimates)?.pointer("/median/point_estimate")?.as_f64()?;
    Some((id, nanos))
}

fn human(nanos: f64) -> String {
    if nanos >= 1_000_000.0 {
        format!("{:.2} ms", nanos / 1_000_000.0)
    } else if nanos >= 1_000.0 {
        format!("{:.2} µs", nanos / 1_000.0)
    } else {
        format!("{nanos:.0} ns")
    }
}
