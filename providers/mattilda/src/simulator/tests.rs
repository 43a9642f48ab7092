//! The simulator driven directly and through the adapter (round trips).

use std::sync::Arc;

use checkout_provider_interface::contract::InlineSecrets;
use checkout_provider_interface::{
    Adapter, AdapterError, Context, FailureClass, ProviderSetup, SessionStatus, Simulator, UnifiedUpdate,
};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::{DEMO_SESSION_EMPTY, DEMO_SESSION_EXPIRED, DEMO_SESSION_OPEN};
use crate::jwt::DEMO_PRIVATE_KEY;

fn setup(settings: &Value) -> (Arc<dyn Adapter>, Arc<dyn Simulator>) {
    let map: Map<String, Value> = settings.as_object().cloned().unwrap_or_default();
    let setup = ProviderSetup { name: "mattilda", settings: &map, secrets: &InlineSecrets };
    let adapter = (crate::FACTORY.build)(&setup).unwrap_or_else(|e| panic!("{e}"));
    let simulator = (crate::FACTORY.simulator)(&setup).unwrap_or_else(|e| panic!("{e}"));
    (adapter, simulator)
}

fn with_key() -> (Arc<dyn Adapter>, Arc<dyn Simulator>) {
    setup(&json!({"private_key": {"value": DEMO_PRIVATE_KEY}, "merchant_account_id": "default"}))
}

fn with_token() -> (Arc<dyn Adapter>, Arc<dyn Simulator>) {
    setup(&json!({"token": {"value": "demo-mattilda-token"}}))
}

fn ctx(session_id: &str, now: OffsetDateTime) -> Context {
    Context {
        session_id: session_id.to_owned(),
        request_id: "req_test".to_owned(),
        idempotency_key: "idem_test".to_owned(),
        now,
        nonce: "0f6f6f0e-1c1d-4a4b-8c8d-9e9f0a0b0c0d".to_owned(),
    }
}

fn body(response: &http::Response<Vec<u8>>) -> Value {
    serde_json::from_slice(response.body()).unwrap_or(Value::Null)
}

fn raw(method: http::Method, path: &str, auth: Option<&str>, payload: &str) -> http::Request<Vec<u8>> {
    let mut builder = http::Request::builder().method(method).uri(path);
    if let Some(auth) = auth {
        builder = builder.header(http::header::AUTHORIZATION, auth);
    }
    builder.body(payload.as_bytes().to_vec()).unwrap_or_else(|e| panic!("{e}"))
}

/// Read, then update through the adapter exactly as the gateway does.
fn update(
    adapter: &dyn Adapter,
    simulator: &dyn Simulator,
    session: &str,
    unified: Value,
) -> Result<checkout_provider_interface::UnifiedSession, AdapterError> {
    let update: UnifiedUpdate = serde_json::from_value(unified).unwrap_or_else(|e| panic!("{e}"));
    let ctx = ctx(session, OffsetDateTime::now_utc());
    let read = simulator.handle(adapter.build_retrieve(&ctx)?);
    let put = adapter.build_update(&update, Some(&read), &ctx)?;
    adapter.parse_session(&simulator.handle(put), &ctx)
}

#[test]
fn a_jwt_round_trip_merges_metadata_and_keeps_the_cart() {
    let (adapter, simulator) = with_key();
    let session = update(
        adapter.as_ref(),
        simulator.as_ref(),
        DEMO_SESSION_OPEN,
        json!({"metadata": {"cohort": null, "order_id": "42"}}),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(session.status, SessionStatus::Open);
    let metadata = session.metadata.unwrap_or_default();
    assert_eq!(serde_json::to_value(metadata).ok(), Some(json!({"order_id": "42"})));
    // The replace-semantics simulator kept the cart only because the adapter carried it.
    assert_eq!(session.line_items.map(|items| items.len()), Some(1));
    assert_eq!(session.amounts.total, Some(2598));
    assert_eq!(session.currency.as_deref(), Some("USD"));
    assert!(session.payment_method.is_some_and(|m| m.scheme.as_deref() == Some("visa")));
}

#[test]
fn a_token_round_trip_sets_items_and_buyer_details() {
    let (adapter, simulator) = with_token();
    let session = update(adapter.as_ref(), simulator.as_ref(), DEMO_SESSION_EMPTY, json!({
        "line_items": [{"name": "T-shirt", "quantity": 3, "unit_amount": 1000, "tax_amount": 300, "discount_amount": 100}],
        "currency": "eur",
        "shipping_details": {"first_name": "Jenny", "last_name": "Rosen", "address": {"line1": "1 Main St", "country": "de"}},
        "expires_in": 7200
    })).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(session.amounts.subtotal, Some(3000));
    assert_eq!(session.amounts.total, Some(3200));
    assert_eq!(session.currency.as_deref(), Some("EUR"));
    let details = session.shipping.and_then(|s| s.details).unwrap_or_default();
    assert_eq!(details.name.as_deref(), Some("Jenny Rosen"));
    assert_eq!(details.address.and_then(|a| a.country).as_deref(), Some("DE"));
}

#[test]
fn retrieving_the_expired_session_says_expired_and_updating_it_is_refused() {
    let (adapter, simulator) = with_token();
    let ctx = ctx(DEMO_SESSION_EXPIRED, OffsetDateTime::now_utc());
    let read = simulator.handle(adapter.build_retrieve(&ctx).unwrap_or_else(|e| panic!("{e}")));
    let session = adapter.parse_session(&read, &ctx).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(session.status, SessionStatus::Expired);
    assert_eq!(session.expires_at.as_deref(), Some("2022-01-01T00:00:00Z"));
    let refused = update(adapter.as_ref(), simulator.as_ref(), DEMO_SESSION_EXPIRED, json!({"metadata": {"a": "b"}}));
    assert!(
        matches!(refused, Err(AdapterError::Provider(f)) if f.class == FailureClass::NotUpdatable && f.status == 409)
    );
}

#[test]
fn credentials_are_checked_like_mattilda() {
    let path = format!("/checkout/sessions/{DEMO_SESSION_OPEN}");
    let (_, token_sim) = with_token();
    for auth in [None, Some("Bearer wrong"), Some("Basic ZGVtbzo=")] {
        let answer = token_sim.handle(raw(http::Method::GET, &path, auth, ""));
        assert_eq!(answer.status(), 401, "{auth:?}");
        assert_eq!(body(&answer)["code"], "unauthorized");
        assert_eq!(body(&answer)["type"], "error");
    }
    assert_eq!(token_sim.handle(raw(http::Method::GET, &path, Some("Bearer demo-mattilda-token"), "")).status(), 200);

    let (adapter, key_sim) = with_key();
    // A read-scoped token cannot write.
    let read =
        adapter.build_retrieve(&ctx(DEMO_SESSION_OPEN, OffsetDateTime::now_utc())).unwrap_or_else(|e| panic!("{e}"));
    let auth = read.headers().get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut put = raw(http::Method::PUT, &path, Some(auth), "{}");
    put.headers_mut().insert(crate::request::MERCHANT_HEADER, http::HeaderValue::from_static("default"));
    let answer = key_sim.handle(put);
    assert_eq!((answer.status().as_u16(), body(&answer)["code"].clone()), (403, json!("forbidden")));
    // A token signed an hour ago has expired; the real clock decides.
    let stale = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let old = adapter.build_retrieve(&ctx(DEMO_SESSION_OPEN, stale)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(key_sim.handle(old).status(), 401);
    // The token credential is not a JWT the key simulator accepts.
    assert_eq!(key_sim.handle(raw(http::Method::GET, &path, Some("Bearer demo-mattilda-token"), "")).status(), 401);
}

#[test]
fn schema_problems_get_the_fastapi_body_and_map_back_to_unified_pointers() {
    let (adapter, simulator) = with_token();
    let path = format!("/checkout/sessions/{DEMO_SESSION_OPEN}");
    let payload = r#"{"cart_items":[{"name":"x","quantity":"1","unit_amount":100,"product_type":"bogus"}],"foo":1,"expires_in":60}"#;
    let answer = simulator.handle(raw(http::Method::PUT, &path, Some("Bearer demo-mattilda-token"), payload));
    assert_eq!(answer.status(), 422);
    let Err(AdapterError::Provider(failure)) =
        adapter.parse_session(&answer, &ctx(DEMO_SESSION_OPEN, OffsetDateTime::now_utc()))
    else {
        panic!("a 422 is a provider failure");
    };
    assert_eq!(failure.class, FailureClass::Rejected);
    let pointers: Vec<_> = failure.errors.iter().map(|e| e.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        ["/provider_options/mattilda/foo", "/line_items/0/quantity", "/line_items/0/product_type", "/expires_in"]
    );
}

#[test]
fn ids_paths_methods_and_merchants_are_checked() {
    let (_, simulator) = with_token();
    let auth = Some("Bearer demo-mattilda-token");
    let not_uuid = simulator.handle(raw(http::Method::GET, "/checkout/sessions/cs_123", auth, ""));
    assert_eq!(
        (not_uuid.status().as_u16(), body(&not_uuid)["detail"][0]["loc"].clone()),
        (422, json!(["path", "session_id"]))
    );
    let unknown =
        simulator.handle(raw(http::Method::GET, "/checkout/sessions/00000000-0000-4000-8000-000000000000", auth, ""));
    assert_eq!((unknown.status().as_u16(), body(&unknown)["code"].clone()), (404, json!("not_found")));
    assert_eq!(simulator.handle(raw(http::Method::GET, "/v1/other", auth, "")).status(), 404);
    let delete =
        simulator.handle(raw(http::Method::DELETE, &format!("/checkout/sessions/{DEMO_SESSION_OPEN}"), auth, ""));
    assert_eq!(delete.status(), 405);
    let mut other_merchant = raw(http::Method::GET, &format!("/checkout/sessions/{DEMO_SESSION_OPEN}"), auth, "");
    other_merchant.headers_mut().insert(crate::request::MERCHANT_HEADER, http::HeaderValue::from_static("acme"));
    assert_eq!(simulator.handle(other_merchant).status(), 404);
    let not_json =
        simulator.handle(raw(http::Method::PUT, &format!("/checkout/sessions/{DEMO_SESSION_OPEN}"), auth, "{"));
    assert_eq!(not_json.status(), 422);
}

#[test]
fn the_simulator_replaces_omitted_fields() {
    // What a naive partial PUT would do to the session, and why the adapter carries the state.
    let (_, simulator) = with_token();
    let path = format!("/checkout/sessions/{DEMO_SESSION_OPEN}");
    let answer = simulator.handle(raw(
        http::Method::PUT,
        &path,
        Some("Bearer demo-mattilda-token"),
        r#"{"metadata":{"a":"b"}}"#,
    ));
    assert_eq!(answer.status(), 200);
    assert_eq!(body(&answer)["cart_items"], Value::Null);
    assert_eq!(body(&answer)["buyer"], Value::Null);
    assert_eq!(body(&answer)["type"], "checkout-session");
}
