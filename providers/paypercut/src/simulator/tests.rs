use checkout_provider_interface::capability::check_update;
use checkout_provider_interface::contract::InlineSecrets;
use checkout_provider_interface::{
    Adapter, AdapterError, Context, CurrentState, FailureClass, ProviderSetup, SessionStatus, Simulator,
    UnifiedSession, UnifiedUpdate,
};
use serde_json::{Map, Value, json};

use super::PaypercutSimulator;
use crate::config::Config;

const KEY: &str = "sk_test_sim";

fn settings(account: Option<&str>) -> Map<String, Value> {
    let mut settings = json!({"api_key": {"value": KEY}});
    if let Some(account) = account {
        settings["account"] = json!(account);
    }
    serde_json::from_value(settings).unwrap()
}

fn simulator(account: Option<&str>) -> PaypercutSimulator {
    let settings = settings(account);
    let config = Config::from_setup(&ProviderSetup { name: "pp", settings: &settings, secrets: &InlineSecrets });
    PaypercutSimulator::new(config.unwrap(), time::OffsetDateTime::now_utc())
}

fn call(sim: &PaypercutSimulator, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let mut builder = http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let response = sim.handle(builder.body(body.as_bytes().to_vec()).unwrap());
    (response.status().as_u16(), serde_json::from_slice(response.body()).unwrap())
}

const AUTH: (&str, &str) = ("authorization", "Bearer sk_test_sim");
const JSON: (&str, &str) = ("content-type", "application/json");

fn select(sim: &PaypercutSimulator, id: &str, rate: &str, key: Option<&str>) -> (u16, Value) {
    let mut headers = vec![AUTH, JSON];
    if let Some(key) = key {
        headers.push(("idempotency-key", key));
    }
    call(sim, "POST", &format!("/v1/checkouts/{id}"), &headers, &json!({"shipping_rate": rate}).to_string())
}

#[test]
fn credentials_are_checked_like_paypercut_and_never_echoed() {
    let sim = simulator(None);
    let path = "/v1/checkouts/chk_demo_open";
    let cases = [
        (vec![], "authentication_required"),
        (vec![("authorization", "Basic c2tfdGVzdF9zaW06")], "authentication_invalid"),
        (vec![("authorization", "Bearer sk_test_wrong")], "token_invalid"),
    ];
    for (headers, code) in cases {
        let (status, body) = call(&sim, "GET", path, &headers, "");
        assert_eq!(
            (status, body["type"].as_str(), body["code"].as_str()),
            (401, Some("authentication_error"), Some(code))
        );
        assert!(body["trace_id"].as_str().is_some_and(|t| t.starts_with("trc_sim_")));
        assert!(!body.to_string().contains("sk_test"));
    }
    assert_eq!(call(&sim, "GET", path, &[AUTH], "").0, 200);
    assert_eq!(call(&sim, "GET", path, &[AUTH, ("paypercut-account", "acct_x")], "").0, 403);
}

#[test]
fn account_header_is_required_when_configured() {
    let sim = simulator(Some("acct_demo"));
    let path = "/v1/checkouts/chk_demo_open";
    assert_eq!(call(&sim, "GET", path, &[AUTH], "").1["code"], "account_required");
    assert_eq!(call(&sim, "GET", path, &[AUTH, ("paypercut-account", "acct_other")], "").1["code"], "account_invalid");
    assert_eq!(call(&sim, "GET", path, &[AUTH, ("paypercut-account", "acct_demo")], "").0, 200);
    assert_eq!(call(&sim, "GET", path, &[AUTH, ("x-paypercut-account", "acct_demo")], "").0, 200);
}

#[test]
fn selecting_a_rate_recomputes_totals() {
    let sim = simulator(None);
    let (status, before) = call(&sim, "GET", "/v1/checkouts/chk_demo_open", &[AUTH], "");
    assert_eq!(
        (status, &before["amount_total"], &before["shipping_cost"]["shipping_rate"]),
        (200, &json!(5480), &json!("shr_standard"))
    );
    let (status, after) = select(&sim, "chk_demo_open", "shr_express", None);
    assert_eq!(status, 200);
    assert_eq!(after["shipping_cost"]["shipping_rate"], "shr_express");
    assert_eq!(after["shipping_cost"]["amount_total"], 1500);
    assert_eq!(after["total_details"]["amount_shipping"], 1500);
    assert_eq!(after["amount_total"], 6480);
    assert_eq!(call(&sim, "GET", "/v1/checkouts/chk_demo_open", &[AUTH], "").1, after);
}

#[test]
fn refusals_use_paypercut_statuses_and_params() {
    let sim = simulator(None);
    let (status, body) = select(&sim, "chk_demo_open", "shr_teleport", None);
    assert_eq!(
        (status, body["code"].as_str(), body["param"].as_str()),
        (400, Some("parameter_invalid"), Some("shipping_rate"))
    );
    let (status, body) = select(&sim, "chk_demo_complete", "shr_standard", None);
    assert_eq!((status, body["type"].as_str()), (409, Some("invalid_request_error")));
    assert_eq!(select(&sim, "chk_demo_expired", "shr_standard", None).0, 409);
    let (status, body) = select(&sim, "chk_nope", "shr_standard", None);
    assert_eq!((status, body["param"].as_str()), (404, Some("id")));
    assert_eq!(call(&sim, "GET", "/v1/checkouts/chk_nope", &[AUTH], "").0, 404);
    assert_eq!(call(&sim, "GET", "/v1/other", &[AUTH], "").0, 404);
    assert_eq!(call(&sim, "DELETE", "/v1/checkouts/chk_demo_open", &[AUTH], "").0, 405);
    let long = format!("/v1/checkouts/{}", "a".repeat(201));
    assert_eq!(call(&sim, "GET", &long, &[AUTH], "").1["param"], "id");
    let post = |headers: &[(&str, &str)], body: &str| call(&sim, "POST", "/v1/checkouts/chk_demo_open", headers, body);
    assert_eq!(post(&[AUTH, JSON], "{}").1["code"], "missing_required_param");
    assert_eq!(post(&[AUTH, JSON], r#"{"shipping_rate":"shr_standard","metadata":{}}"#).1["param"], "metadata");
    assert_eq!(post(&[AUTH, JSON], r#"{"shipping_rate":5}"#).1["param"], "shipping_rate");
    assert_eq!(post(&[AUTH], "shipping_rate=shr_standard").0, 400);
    assert_eq!(post(&[AUTH, JSON, ("idempotency-key", "has space")], r#"{"shipping_rate":"shr_standard"}"#).0, 400);
}

#[test]
fn idempotency_keys_replay_or_conflict() {
    let sim = simulator(None);
    let (status, first) = select(&sim, "chk_demo_open", "shr_express", Some("k:1"));
    assert_eq!(status, 200);
    assert_eq!(select(&sim, "chk_demo_open", "shr_pickup", None).1["amount_total"], 4980);
    // Same key and body: the stored answer, not the current state.
    assert_eq!(select(&sim, "chk_demo_open", "shr_express", Some("k:1")), (200, first));
    let (status, body) = select(&sim, "chk_demo_open", "shr_standard", Some("k:1"));
    assert_eq!((status, body["type"].as_str()), (409, Some("idempotency_error")));
    assert_eq!(select(&sim, "chk_demo_kwd", "shr_express", Some("k:1")).0, 409);
    // A refused request is not stored, so its key stays usable.
    assert_eq!(select(&sim, "chk_demo_open", "shr_teleport", Some("k:2")).0, 400);
    assert_eq!(select(&sim, "chk_demo_open", "shr_standard", Some("k:2")).0, 200);
}

#[test]
fn poisoned_state_is_recovered() {
    let sim = simulator(None);
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _guard = sim.state.lock();
        panic!("poison");
    }));
    assert_eq!(call(&sim, "GET", "/v1/checkouts/chk_demo_open", &[AUTH], "").0, 200);
}

/// The id is percent-decoded strictly (`kit::simulator::segment`): an escape with a sign, a
/// short one or one that is not UTF-8 names no route.
#[test]
fn session_ids_are_percent_decoded_strictly() {
    let sim = simulator(None);
    assert_eq!(call(&sim, "GET", "/v1/checkouts/chk_demo%5Fopen", &[AUTH], "").0, 200);
    for malformed in ["/v1/checkouts/a%+1", "/v1/checkouts/a%2", "/v1/checkouts/%FF"] {
        let (status, body) = call(&sim, "GET", malformed, &[AUTH], "");
        assert_eq!((status, body["message"].as_str()), (404, Some("Unrecognized request URL.")), "{malformed}");
    }
}

fn ctx(id: &str, key: &str) -> Context {
    Context {
        session_id: id.to_owned(),
        request_id: "req".to_owned(),
        idempotency_key: key.to_owned(),
        now: time::OffsetDateTime::now_utc(),
        nonce: "n".to_owned(),
    }
}

/// Adapter request → simulator → adapter parse, as the gateway does it.
fn round_trip(
    sim: &PaypercutSimulator,
    adapter: &dyn Adapter,
    update: Option<Value>,
    ctx: &Context,
) -> Result<UnifiedSession, AdapterError> {
    let request = match update {
        Some(body) => {
            let update: UnifiedUpdate = serde_json::from_value(body).unwrap();
            let update = check_update(&crate::FACTORY, adapter, update).unwrap();
            adapter.build_update(&update, CurrentState::NotRequested, ctx).unwrap()
        }
        None => adapter.build_retrieve(ctx).unwrap(),
    };
    let response = sim.handle(request);
    if let Some(advice) = adapter.retry_advice(&response) {
        assert!(!advice, "nothing the simulator refuses is worth retrying");
    }
    adapter.parse_session(&response, ctx)
}

#[test]
fn adapter_and_simulator_agree() {
    let settings = settings(Some("acct_demo"));
    let setup = ProviderSetup { name: "pp", settings: &settings, secrets: &InlineSecrets };
    let adapter = (crate::FACTORY.build)(&setup).unwrap();
    let sim = simulator(Some("acct_demo"));

    let session = round_trip(
        &sim,
        adapter.as_ref(),
        Some(json!({"shipping_rate": "shr_express"})),
        &ctx("chk_demo_open", "gw:1"),
    )
    .unwrap();
    assert_eq!(session.status, SessionStatus::Open);
    assert_eq!(session.currency.as_deref(), Some("EUR"));
    assert_eq!(
        (session.amounts.subtotal, session.amounts.shipping, session.amounts.total),
        (Some(4980), Some(1500), Some(6480))
    );
    let shipping = session.shipping.unwrap();
    assert_eq!(shipping.selected_rate.as_deref(), Some("shr_express"));
    assert_eq!(shipping.options.len(), 3);
    assert!(session.created_at.is_some() && session.warnings.is_empty());

    let kwd = round_trip(
        &sim,
        adapter.as_ref(),
        Some(json!({"shipping_rate": "shr_standard"})),
        &ctx("chk_demo_kwd", "gw:2"),
    )
    .unwrap();
    assert_eq!((kwd.currency.as_deref(), kwd.amounts.total), (Some("KWD"), Some(15_000 + 750 + 1250)));

    let expect_class = |id: &str, rate: &str, key: &str, class: FailureClass| {
        let got = round_trip(&sim, adapter.as_ref(), Some(json!({"shipping_rate": rate})), &ctx(id, key));
        match got {
            Err(AdapterError::Provider(failure)) => {
                assert_eq!(failure.class, class);
                assert!(failure.request_id.is_some());
                failure
            }
            other => panic!("{other:?}"),
        }
    };
    let unknown = expect_class("chk_demo_open", "shr_teleport", "gw:3", FailureClass::Rejected);
    assert_eq!(unknown.errors[0].pointer, "/shipping_rate");
    expect_class("chk_demo_complete", "shr_standard", "gw:4", FailureClass::NotUpdatable);
    expect_class("chk_nope", "shr_standard", "gw:5", FailureClass::NotFound);
    expect_class("chk_demo_open", "shr_pickup", "gw:1", FailureClass::IdempotencyConflict);

    let complete = round_trip(&sim, adapter.as_ref(), None, &ctx("chk_demo_complete", "unused")).unwrap();
    assert_eq!(complete.status, SessionStatus::Complete);
}

#[test]
fn embedded_sessions_return_to_return_url_and_price_lines_by_decimal() {
    let settings = settings(None);
    let setup = ProviderSetup { name: "pp", settings: &settings, secrets: &InlineSecrets };
    let adapter = (crate::FACTORY.build)(&setup).unwrap();
    let sim = simulator(None);

    // The wire shape the adapter must read: a price id, `price_data` whose `unit_amount` is null
    // beside `unit_amount_decimal`, no line id or total, and `return_url` instead of `success_url`.
    let (status, raw) = call(&sim, "GET", "/v1/checkouts/chk_demo_embedded", &[AUTH], "");
    assert_eq!((status, raw["ui_mode"].as_str(), &raw["success_url"]), (200, Some("embedded"), &Value::Null));
    let line = &raw["line_items"][0];
    assert_eq!((&line["price"], &line["price_data"]["unit_amount"]), (&json!("price_demo_gift"), &Value::Null));
    assert!(line.get("id").is_none() && line.get("amount_total").is_none());

    let session = round_trip(&sim, adapter.as_ref(), None, &ctx("chk_demo_embedded", "unused")).unwrap();
    let redirects = session.redirects.as_ref().unwrap();
    assert_eq!(redirects.success_url.as_deref(), Some("https://shop.example.com/return?checkout=chk_demo_embedded"));
    let items = session.line_items.as_ref().unwrap();
    assert_eq!(
        (items[0].id.as_deref(), items[0].name.as_deref(), items[0].quantity, items[0].unit_amount),
        (None, Some("Gift card"), Some(3), Some(1990))
    );
    assert_eq!((items[0].amount_total, items[0].sku.as_deref()), (None, Some("GC-20")));
    assert_eq!(session.amounts.subtotal, Some(5970));
    assert!(session.warnings.is_empty(), "{:?}", session.warnings);
}
