use std::sync::Arc;

use checkout_provider_interface::capability::check_update;
use checkout_provider_interface::contract::InlineSecrets;
use checkout_provider_interface::{
    Adapter, AdapterError, CheckedUpdate, Context, CurrentState, FailureClass, ProviderSetup, SessionStatus, Simulator,
    UnifiedUpdate,
};
use serde_json::{Map, Value, json};

use crate::FACTORY;
use crate::config::basic_credentials;

const KEY: &str = "sk_test_speed_demo";

fn settings() -> Map<String, Value> {
    json!({"api_key": {"value": KEY}, "api_version": "2022-10-15"}).as_object().cloned().unwrap_or_default()
}

fn pair() -> (Arc<dyn Adapter>, Arc<dyn Simulator>) {
    let settings = settings();
    let setup = ProviderSetup { name: "speed", settings: &settings, secrets: &InlineSecrets };
    match ((FACTORY.build)(&setup), crate::build_simulator(&setup)) {
        (Ok(adapter), Ok(simulator)) => (adapter, simulator),
        _ => panic!("the test settings are valid"),
    }
}

/// `update` as the gateway's check passes it.
fn checked(adapter: &dyn Adapter, update: UnifiedUpdate) -> CheckedUpdate {
    check_update(&FACTORY, adapter, update).unwrap_or_else(|refused| panic!("{refused:?}"))
}

fn ctx(session_id: &str) -> Context {
    Context {
        session_id: session_id.to_owned(),
        request_id: "req_1".to_owned(),
        idempotency_key: "idem_1".to_owned(),
        now: time::OffsetDateTime::UNIX_EPOCH,
        nonce: "n".to_owned(),
    }
}

fn call(simulator: &dyn Simulator, method: &str, path: &str, auth: Option<&str>, body: &str) -> (u16, Value, String) {
    let mut builder = http::Request::builder().method(method).uri(path).header("content-type", "application/json");
    if let Some(auth) = auth {
        builder = builder.header("authorization", auth);
    }
    let request = builder.body(body.as_bytes().to_vec()).unwrap_or_default();
    let response = simulator.handle(request);
    let text = String::from_utf8_lossy(response.body()).into_owned();
    (response.status().as_u16(), serde_json::from_str(&text).unwrap_or(Value::Null), text)
}

fn good_auth() -> String {
    basic_credentials(KEY)
}

fn first_error_type(body: &Value) -> Option<&str> {
    body.pointer("/errors/0/type").and_then(Value::as_str)
}

#[test]
fn refuses_missing_or_wrong_credentials_without_echoing_the_key() {
    let (_, simulator) = pair();
    let bare = format!("Basic {}", "c2tfdGVzdF9zcGVlZF9kZW1v"); // base64("sk_test_speed_demo"), no `:`
    for auth in
        [None, Some(basic_credentials("sk_test_other").as_str()), Some("Bearer sk_test_speed_demo"), Some(&bare)]
    {
        let (status, body, text) = call(simulator.as_ref(), "GET", "/checkout-sessions/cs_demo_usd", auth, "");
        assert_eq!(status, 401, "{auth:?}");
        assert_eq!(first_error_type(&body), Some("authentication_error"));
        assert!(!text.contains(KEY));
    }
    let lower = good_auth().replacen("Basic", "basic", 1);
    assert_eq!(call(simulator.as_ref(), "GET", "/checkout-sessions/cs_demo_usd", Some(&lower), "").0, 200);
}

#[test]
fn serves_exact_decimal_amounts() {
    let (_, simulator) = pair();
    let auth = good_auth();
    let (status, _, text) = call(simulator.as_ref(), "GET", "/checkout-sessions/cs_demo_usd", Some(&auth), "");
    assert_eq!(status, 200);
    assert!(text.contains(r#""amount":450.50"#), "{text}");
    let (_, _, text) = call(simulator.as_ref(), "GET", "/checkout-sessions/cs_demo_btc", Some(&auth), "");
    assert!(text.contains(r#""amount":0.00012345"#), "{text}");
}

#[test]
fn unknown_sessions_paths_versions_and_methods() {
    let (_, simulator) = pair();
    let auth = good_auth();
    let sim = simulator.as_ref();
    assert_eq!(call(sim, "GET", "/checkout-sessions/cs_nope", Some(&auth), "").0, 404);
    assert_eq!(call(sim, "GET", "/checkout-sessions/", Some(&auth), "").0, 404);
    assert_eq!(call(sim, "GET", "/payments/cs_demo_usd", Some(&auth), "").0, 404);
    assert_eq!(call(sim, "GET", "/checkout-sessions/cs%zz", Some(&auth), "").0, 404);
    assert_eq!(call(sim, "DELETE", "/checkout-sessions/cs_demo_usd", Some(&auth), "").0, 405);
    assert_eq!(call(sim, "GET", "/checkout-sessions/cs%5Fdemo%5Fusd", Some(&auth), "").0, 200);
    // A sign is no hexadecimal digit: `%+1` is malformed, not byte 1 (the old decoder's reading).
    let (status, body, _) = call(sim, "GET", "/checkout-sessions/cs%+1", Some(&auth), "");
    assert_eq!((status, body["errors"][0]["message"].as_str()), (404, Some("Unrecognized request URL.")));
    let request = http::Request::builder()
        .uri("/checkout-sessions/cs_demo_usd")
        .header("authorization", &auth)
        .header("speed-version", "2023-01-01")
        .body(Vec::new())
        .unwrap_or_default();
    assert_eq!(sim.handle(request).status().as_u16(), 400);
}

#[test]
fn enforces_the_update_rules() {
    let (_, simulator) = pair();
    let auth = good_auth();
    let sim = simulator.as_ref();
    let path = "/checkout-sessions/cs_demo_sats";
    for body in [
        r#"{"success_url":"https://a.example","success_message":"hi"}"#,
        r#"{"amount":10}"#,
        r#"{"title":42}"#,
        r#"{"metadata":"x"}"#,
        r#"{"metadata":{"n":1}}"#,
        "[1]",
        "not json",
    ] {
        let (status, body_json, _) = call(sim, "POST", path, Some(&auth), body);
        assert_eq!(status, 400, "{body}");
        assert_eq!(first_error_type(&body_json), Some("invalid_request_error"));
    }
    // Nothing above changed the session.
    let (_, body, _) = call(sim, "GET", path, Some(&auth), "");
    assert_eq!(body["success_message"], "Thanks for paying in sats!");
    assert_eq!(call(sim, "POST", path, Some(&auth), "").0, 200);
}

#[test]
fn merges_metadata_and_keeps_redirects_exclusive() {
    let (_, simulator) = pair();
    let auth = good_auth();
    let sim = simulator.as_ref();
    let path = "/checkout-sessions/cs_demo_usd";
    call(sim, "POST", path, Some(&auth), r#"{"metadata":{"channel":"web"}}"#);
    let (status, body, _) =
        call(sim, "POST", path, Some(&auth), r#"{"metadata":{"order_id":"1002"},"success_message":"ok"}"#);
    assert_eq!(status, 200);
    assert_eq!(body["metadata"], json!({"order_id": "1002", "channel": "web"}));
    assert_eq!(body["success_message"], "ok");
    assert_eq!(body["success_url"], Value::Null);
}

#[test]
fn paid_and_deactivated_sessions_are_refused_and_classed_not_updatable() {
    let (adapter, simulator) = pair();
    for id in ["cs_demo_paid", "cs_demo_deactivated"] {
        let update: UnifiedUpdate = serde_json::from_value(json!({"description": "late"})).unwrap_or_default();
        let request = adapter
            .build_update(&checked(adapter.as_ref(), update), CurrentState::NotRequested, &ctx(id))
            .unwrap_or_else(|e| panic!("{e}"));
        let response = simulator.handle(request);
        assert_eq!(response.status().as_u16(), 400);
        match adapter.parse_session(&response, &ctx(id)) {
            Err(AdapterError::Provider(failure)) => assert_eq!(failure.class, FailureClass::NotUpdatable, "{id}"),
            other => panic!("{id}: {other:?}"),
        }
    }
}

#[test]
fn round_trip_update_through_the_simulator() {
    let (adapter, simulator) = pair();
    let update: UnifiedUpdate = serde_json::from_value(json!({
        "metadata": {"coupon": "SPRING"},
        "redirects": {"cancel_url": "https://shop.example/back"},
        "page": {"title": "Acme", "description": "Your order", "image_url": "https://shop.example/logo.png"},
        "description": "Order 1001 (updated)",
        "provider_options": {"crypto-invoice": {"success_message": "Paid, thanks"}}
    }))
    .unwrap_or_default();
    let ctx = ctx("cs_demo_usd");
    // `success_message` through provider_options replaces the demo's `success_url`.
    let request = adapter
        .build_update(&checked(adapter.as_ref(), update), CurrentState::NotRequested, &ctx)
        .unwrap_or_else(|e| panic!("{e}"));
    let session = adapter.parse_session(&simulator.handle(request), &ctx).unwrap_or_else(|e| panic!("{e}"));
    let got = serde_json::to_value(&session).unwrap_or_default();
    assert_eq!(session.status, SessionStatus::Open);
    assert_eq!(
        got["amounts"],
        json!({"subtotal": null, "discount": null, "tax": null, "shipping": null, "total": 45050})
    );
    assert_eq!(got["currency"], "USD");
    assert_eq!(got["metadata"], json!({"order_id": "1001", "coupon": "SPRING"}));
    assert_eq!(
        got["redirects"],
        json!({"success_url": null, "cancel_url": "https://shop.example/back", "success_message": "Paid, thanks"})
    );
    assert_eq!(
        got["page"],
        json!({"title": "Acme", "description": "Your order", "image_url": "https://shop.example/logo.png"})
    );
    assert_eq!(got["description"], "Order 1001 (updated)");
    assert_eq!(got["created_at"], "2026-11-22T10:00:00Z");
    assert_eq!(got["url"], "https://checkout.example/pay/cs_demo_usd");
    assert_eq!(got["warnings"], json!([]));

    let read = adapter.build_retrieve(&crate::simulator::tests::ctx("cs_demo_btc")).unwrap_or_else(|e| panic!("{e}"));
    let btc = adapter.parse_session(&simulator.handle(read), &ctx).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((btc.currency.as_deref(), btc.amounts.total), (Some("BTC"), Some(12_345)));

    let read = adapter.build_retrieve(&crate::simulator::tests::ctx("cs_demo_paid")).unwrap_or_else(|e| panic!("{e}"));
    let paid = adapter.parse_session(&simulator.handle(read), &ctx).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((paid.status, paid.amounts.total), (SessionStatus::Complete, Some(2_500)));
}

#[test]
fn a_poisoned_lock_still_answers() {
    let simulator = Arc::new(super::SpeedSimulator::new(&good_auth()));
    let clone = Arc::clone(&simulator);
    let _ = std::thread::spawn(move || {
        let _guard = clone.sessions.lock();
        panic!("poison the lock");
    })
    .join();
    assert_eq!(call(simulator.as_ref(), "GET", "/checkout-sessions/cs_demo_usd", Some(&good_auth()), "").0, 200);
}

fn get_with_version(simulator: &dyn Simulator, id: &str, version: Option<&str>) -> Value {
    let mut builder =
        http::Request::builder().uri(format!("/checkout-sessions/{id}")).header("authorization", good_auth());
    if let Some(version) = version {
        builder = builder.header("speed-version", version);
    }
    let response = simulator.handle(builder.body(Vec::new()).unwrap_or_default());
    assert_eq!(response.status().as_u16(), 200);
    serde_json::from_slice(response.body()).unwrap_or_default()
}

#[test]
fn the_version_decides_which_payment_methods_a_session_shows() {
    let (_, simulator) = pair();
    let sim = simulator.as_ref();
    let methods = |version| get_with_version(sim, "cs_demo_usd", version)["payment_methods"].clone();
    assert_eq!(methods(Some("2022-10-15")), json!(["onchain", "lightning"]));
    // No header: the account's pinned 2022-04-15, lightning only.
    assert_eq!(methods(None), json!(["lightning"]));
    assert_eq!(methods(Some("2022-04-15")), json!(["lightning"]));
    let usdt = |version| get_with_version(sim, "cs_demo_usdt", version)["payment_methods"].clone();
    assert_eq!(usdt(Some("2022-10-15")), json!(["ethereum", "solana", "tron"]));
    assert_eq!(usdt(None), json!([]));
}

#[test]
fn stablecoin_sessions_read_exactly_and_expire_after_their_ttl() {
    let (adapter, simulator) = pair();
    let raw = get_with_version(simulator.as_ref(), "cs_demo_usdt", Some("2022-10-15"));
    assert_eq!((raw["currency"].as_str(), raw["ttl"].as_i64()), (Some("USDT"), Some(3_600)));
    let ctx = ctx("cs_demo_usdt");
    let read = adapter.build_retrieve(&ctx).unwrap_or_else(|e| panic!("{e}"));
    let usdt = adapter.parse_session(&simulator.handle(read), &ctx).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((usdt.currency.as_deref(), usdt.amounts.total), (Some("USDT"), Some(49_990_000)));
    assert_eq!(usdt.created_at.as_deref(), Some("2026-11-22T10:00:00Z"));
    assert_eq!(usdt.expires_at.as_deref(), Some("2026-11-22T11:00:00Z"), "created + ttl (3600 s)");
    assert!(usdt.warnings.is_empty(), "{:?}", usdt.warnings);

    let ctx = crate::simulator::tests::ctx("cs_demo_usdc");
    let read = adapter.build_retrieve(&ctx).unwrap_or_else(|e| panic!("{e}"));
    let usdc = adapter.parse_session(&simulator.handle(read), &ctx).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((usdc.amounts.total, usdc.expires_at.as_deref()), (Some(12_345_678), Some("2026-11-23T10:00:00Z")));
}
