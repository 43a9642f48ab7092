//! The simulator's idempotency layer and fault controls (`idempotency.rs`, `control.rs`).

use checkout_provider_interface::{Secret, Simulator};
use serde_json::{Value, json};
use time::macros::datetime;

use super::StripeSimulator;

const AUTH: (&str, &str) = ("authorization", "Bearer sk_test_simulator");
const PATH: &str = "/v1/checkout/sessions/cs_demo_open";

fn simulator() -> StripeSimulator {
    StripeSimulator::new(Secret::new("sk_test_simulator"), datetime!(2026-11-22 10:00 UTC))
}

/// (status, body, `Idempotent-Replayed`)
fn call(sim: &StripeSimulator, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value, bool) {
    let mut builder = http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let response = sim.handle(builder.body(body.as_bytes().to_vec()).unwrap_or_default());
    let replayed = response.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
    (response.status().as_u16(), serde_json::from_slice(response.body()).unwrap_or(Value::Null), replayed)
}

fn arm(sim: &StripeSimulator, fault: &str, count: u32) {
    let form = format!("session=cs_demo_open&fault={fault}&count={count}");
    let (status, body, _) = call(sim, "POST", "/_simulator/faults", &[AUTH], &form);
    assert_eq!(status, 200, "{body}");
}

fn order_id(sim: &StripeSimulator) -> Value {
    call(sim, "GET", PATH, &[AUTH], "").1["metadata"]["order_id"].clone()
}

#[test]
fn a_500_after_execution_began_is_saved_and_replayed_under_its_key() {
    let sim = simulator();
    arm(&sim, "server_error", 1);
    let key = ("idempotency-key", "k-500");
    let (status, body, replayed) = call(&sim, "POST", PATH, &[AUTH, key], "metadata[order_id]=77");
    assert_eq!((status, &body["error"]["type"], replayed), (500, &json!("api_error"), false));
    assert_eq!(order_id(&sim), "demo-1001", "a failed update changes nothing");
    // The fault is spent, yet the same key answers the saved 500: Stripe's documented replay.
    let (status, again, replayed) = call(&sim, "POST", PATH, &[AUTH, key], "metadata[order_id]=77");
    assert_eq!((status, replayed), (500, true));
    assert_eq!(again, body);
    // Only a new key runs the update.
    let (status, _, replayed) =
        call(&sim, "POST", PATH, &[AUTH, ("idempotency-key", "k-new")], "metadata[order_id]=77");
    assert_eq!((status, replayed), (200, false));
    assert_eq!(order_id(&sim), "77");
}

#[test]
fn failed_validation_and_a_key_in_use_save_nothing() {
    let sim = simulator();
    let key = ("idempotency-key", "k-validate");
    let (status, body, _) = call(&sim, "POST", PATH, &[AUTH, key], "surprise=1");
    assert_eq!((status, &body["error"]["code"]), (400, &json!("parameter_unknown")));
    // Nothing was saved, so the key is still free, even for other parameters.
    assert_eq!(call(&sim, "POST", PATH, &[AUTH, key], "metadata[order_id]=1").0, 200);

    arm(&sim, "key_in_use", 1);
    let key = ("idempotency-key", "k-busy");
    let (status, body, _) = call(&sim, "POST", PATH, &[AUTH, key], "metadata[order_id]=2");
    assert_eq!((status, &body["error"]["code"]), (409, &json!("idempotency_key_in_use")));
    let (status, _, replayed) = call(&sim, "POST", PATH, &[AUTH, key], "metadata[order_id]=2");
    assert_eq!((status, replayed), (200, false), "the in-use answer was not saved");
    // A saved success replays; other parameters under it are an idempotency_error.
    let (status, _, replayed) = call(&sim, "POST", PATH, &[AUTH, key], "metadata[order_id]=2");
    assert_eq!((status, replayed), (200, true));
    let (status, body, _) = call(&sim, "POST", PATH, &[AUTH, key], "metadata[order_id]=3");
    assert_eq!((status, &body["error"]["type"]), (400, &json!("idempotency_error")));
}

#[test]
fn missing_and_closed_sessions_are_saved_results() {
    let sim = simulator();
    let key = ("idempotency-key", "k-closed");
    let path = "/v1/checkout/sessions/cs_demo_complete";
    let (status, _, _) = call(&sim, "POST", path, &[AUTH, key], "metadata[a]=b");
    assert_eq!(status, 400);
    assert!(call(&sim, "POST", path, &[AUTH, key], "metadata[a]=b").2, "the saved 400 replays");
}

#[test]
fn control_endpoints_need_the_key_and_log_updates() {
    let sim = simulator();
    let (status, _, _) = call(&sim, "POST", "/_simulator/faults", &[], "session=cs_demo_open&fault=server_error");
    assert_eq!(status, 401);
    let (status, body, _) = call(&sim, "POST", "/_simulator/faults", &[AUTH], "session=cs_nope&fault=server_error");
    assert_eq!((status, &body["error"]["param"]), (400, &json!("session")));
    call(&sim, "POST", PATH, &[AUTH, ("idempotency-key", "k-log")], "metadata[a]=b");
    call(&sim, "POST", PATH, &[AUTH], "metadata[a]=c");
    let (_, log, _) = call(&sim, "GET", "/_simulator/requests", &[AUTH], "");
    assert_eq!(
        log["data"],
        json!([
            {"session": "cs_demo_open", "idempotency_key": "k-log", "status": 200, "replayed": false},
            {"session": "cs_demo_open", "idempotency_key": null, "status": 200, "replayed": false}
        ])
    );
}
