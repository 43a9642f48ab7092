//! The simulator driven directly and through the adapter (round trips).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use checkout_provider_interface::contract::InlineSecrets;
use checkout_provider_interface::{
    Access, Adapter, AdapterError, Context, FailureClass, ProviderRequest, ProviderSetup, SessionStatus, Simulator,
    UnifiedUpdate, for_attempt,
};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::{DEMO_SESSION_EMPTY, DEMO_SESSION_EXPIRED, DEMO_SESSION_OPEN};
use crate::jwt::DEMO_PRIVATE_KEY;

fn setup(settings: &Value) -> (Arc<dyn Adapter>, Arc<dyn Simulator>) {
    let map: Map<String, Value> = settings.as_object().cloned().unwrap_or_default();
    let setup = ProviderSetup { name: "mattilda", settings: &map, secrets: &InlineSecrets };
    let adapter = (crate::FACTORY.build)(&setup).unwrap_or_else(|e| panic!("{e}"));
    let simulator = crate::build_simulator(&setup).unwrap_or_else(|e| panic!("{e}"));
    (adapter, simulator)
}

fn with_key() -> (Arc<dyn Adapter>, Arc<dyn Simulator>) {
    setup(&json!({"private_key": {"value": DEMO_PRIVATE_KEY}, "merchant_account_id": "default"}))
}

fn with_token() -> (Arc<dyn Adapter>, Arc<dyn Simulator>) {
    setup(&json!({"token": {"value": "demo-mattilda-token"}}))
}

/// A context with its own nonce, as the gateway gives every call (the simulator refuses a
/// `jti` it has seen).
fn ctx(session_id: &str, now: OffsetDateTime) -> Context {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    Context {
        session_id: session_id.to_owned(),
        request_id: "req_test".to_owned(),
        idempotency_key: "idem_test".to_owned(),
        now,
        nonce: format!("nonce-{}", CALLS.fetch_add(1, Ordering::Relaxed)),
    }
}

/// `request` as one attempt sends it: credentials minted with `ctx`.
fn attempt(adapter: &dyn Adapter, request: ProviderRequest, access: Access, ctx: &Context) -> ProviderRequest {
    for_attempt(adapter, request, access, ctx, 1).unwrap_or_else(|e| panic!("{e}"))
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
    let update = match checkout_provider_interface::capability::check_update(&crate::FACTORY, adapter, update) {
        Ok(update) => update,
        Err(refused) if refused.problems.unsupported.is_empty() => {
            return Err(AdapterError::Invalid(refused.problems.invalid));
        }
        Err(refused) => return Err(AdapterError::Unsupported(refused.problems.unsupported)),
    };
    let ctx = ctx(session, OffsetDateTime::now_utc());
    let read = simulator.handle(attempt(adapter, adapter.build_retrieve(&ctx)?, Access::Read, &ctx));
    let put = adapter.build_update(&update, checkout_provider_interface::CurrentState::Read(&read), &ctx)?;
    let sent = self::ctx(session, OffsetDateTime::now_utc());
    adapter.parse_session(&simulator.handle(attempt(adapter, put, Access::Write, &sent)), &ctx)
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
fn retrieving_the_expired_session_says_expired_and_the_adapter_never_reopens_it() {
    let (adapter, simulator) = with_token();
    let ctx = ctx(DEMO_SESSION_EXPIRED, OffsetDateTime::now_utc());
    let read = simulator.handle(attempt(
        adapter.as_ref(),
        adapter.build_retrieve(&ctx).unwrap_or_else(|e| panic!("{e}")),
        Access::Read,
        &ctx,
    ));
    let session = adapter.parse_session(&read, &ctx).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(session.status, SessionStatus::Expired);
    assert_eq!(session.expires_at.as_deref(), Some("2022-01-01T00:00:00Z"));
    let refused = update(adapter.as_ref(), simulator.as_ref(), DEMO_SESSION_EXPIRED, json!({"metadata": {"a": "b"}}));
    assert!(matches!(refused, Err(AdapterError::Provider(f)) if f.class == FailureClass::NotUpdatable));
    // Nothing was written: the session is still expired.
    let again = simulator.handle(attempt(
        adapter.as_ref(),
        adapter.build_retrieve(&ctx).unwrap_or_else(|e| panic!("{e}")),
        Access::Read,
        &self::ctx(DEMO_SESSION_EXPIRED, OffsetDateTime::now_utc()),
    ));
    assert_eq!(body(&again)["expires_at"], "2022-01-01T00:00:00Z");
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
    let read_ctx = ctx(DEMO_SESSION_OPEN, OffsetDateTime::now_utc());
    let read = attempt(
        adapter.as_ref(),
        adapter.build_retrieve(&read_ctx).unwrap_or_else(|e| panic!("{e}")),
        Access::Read,
        &read_ctx,
    );
    let auth = read.headers().get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut put = raw(http::Method::PUT, &path, Some(auth), "{}");
    put.headers_mut().insert(crate::request::MERCHANT_HEADER, http::HeaderValue::from_static("default"));
    let answer = key_sim.handle(put);
    assert_eq!((answer.status().as_u16(), body(&answer)["code"].clone()), (403, json!("forbidden")));
    // A token signed an hour ago has expired; the real clock decides.
    let stale = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let stale_ctx = ctx(DEMO_SESSION_OPEN, stale);
    let old = attempt(
        adapter.as_ref(),
        adapter.build_retrieve(&stale_ctx).unwrap_or_else(|e| panic!("{e}")),
        Access::Read,
        &stale_ctx,
    );
    assert_eq!(key_sim.handle(old).status(), 401);
    // A token is good for one request: the same bytes again are refused.
    let once_ctx = ctx(DEMO_SESSION_OPEN, OffsetDateTime::now_utc());
    let once = attempt(
        adapter.as_ref(),
        adapter.build_retrieve(&once_ctx).unwrap_or_else(|e| panic!("{e}")),
        Access::Read,
        &once_ctx,
    );
    assert_eq!(key_sim.handle(once.clone()).status(), 200);
    let replayed = key_sim.handle(once);
    assert_eq!((replayed.status().as_u16(), body(&replayed)["code"].clone()), (401, json!("unauthorized")));
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
    assert_eq!(body(&answer)["amount"], Value::Null);
    assert_eq!(body(&answer)["buyer"], Value::Null);
    assert_eq!(body(&answer)["type"], "checkout-session");
}

fn expires_in_seconds(session: &checkout_provider_interface::UnifiedSession) -> i64 {
    let at = session.expires_at.as_deref().and_then(checkout_provider_interface::timestamp::parse);
    at.map_or(0, |at| (at - OffsetDateTime::now_utc()).whole_seconds())
}

#[test]
fn a_put_without_expires_in_takes_the_documented_default_of_an_hour() {
    let (_, simulator) = with_token();
    let path = format!("/checkout/sessions/{DEMO_SESSION_OPEN}");
    let answer =
        simulator.handle(raw(http::Method::PUT, &path, Some("Bearer demo-mattilda-token"), r#"{"metadata":{}}"#));
    let at = body(&answer)["expires_at"].as_str().and_then(checkout_provider_interface::timestamp::parse);
    let left = at.map_or(0, |at| (at - OffsetDateTime::now_utc()).whole_seconds());
    assert!((3590..=3600).contains(&left), "the 24 h session now ends in an hour: {left} s");
    let explicit =
        simulator.handle(raw(http::Method::PUT, &path, Some("Bearer demo-mattilda-token"), r#"{"expires_in":7200}"#));
    let at = body(&explicit)["expires_at"].as_str().and_then(checkout_provider_interface::timestamp::parse);
    assert!(at.is_some_and(|at| (at - OffsetDateTime::now_utc()).whole_seconds() > 7100));
}

#[test]
fn updates_through_the_adapter_keep_a_day_long_session_a_day_long() {
    let (adapter, simulator) = with_key();
    for change in [json!({"metadata": {"order_id": "43"}}), json!({"billing_details": {"email": "j@example.com"}})] {
        let session =
            update(adapter.as_ref(), simulator.as_ref(), DEMO_SESSION_OPEN, change).unwrap_or_else(|e| panic!("{e:?}"));
        let left = expires_in_seconds(&session);
        assert!(left > 86_000, "the expiry is carried, not reset to an hour: {left} s");
        assert!(session.warnings.is_empty());
    }
}

#[test]
fn a_cart_change_gets_an_amount_mattilda_accepts() {
    let (adapter, simulator) = with_token();
    let session = update(
        adapter.as_ref(),
        simulator.as_ref(),
        DEMO_SESSION_OPEN,
        json!({"line_items": [
            {"name": "Tripod", "quantity": 2, "unit_amount": 2500, "tax_amount": 400,
             "provider_options": {"mattilda": {"shipping_amount": 300, "upc": "012345678905"}}},
            {"name": "SPRING", "quantity": 1, "unit_amount": 1000, "product_type": "discount"},
            {"name": "Express", "quantity": 1, "unit_amount": 900, "product_type": "shipping_fee"}
        ]}),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let amounts = session.amounts;
    assert_eq!(
        (amounts.subtotal, amounts.discount, amounts.tax, amounts.shipping, amounts.total),
        (Some(5000), Some(1000), Some(400), Some(1200), Some(5600))
    );
    let lines: Vec<_> = session.line_items.unwrap_or_default().iter().map(|l| l.amount_total).collect();
    assert_eq!(lines, [Some(5700), Some(-1000), Some(900)]);
}

#[test]
fn a_stale_amount_next_to_a_new_cart_is_refused_with_gr4vys_400() {
    let (adapter, simulator) = with_token();
    let path = format!("/checkout/sessions/{DEMO_SESSION_OPEN}");
    let payload = r#"{"cart_items":[{"name":"Tripod","quantity":1,"unit_amount":2500}],"amount":2598}"#;
    let answer = simulator.handle(raw(http::Method::PUT, &path, Some("Bearer demo-mattilda-token"), payload));
    assert_eq!((answer.status().as_u16(), body(&answer)["code"].clone()), (400, json!("bad_request")));
    let Err(AdapterError::Provider(failure)) =
        adapter.parse_session(&answer, &ctx(DEMO_SESSION_OPEN, OffsetDateTime::now_utc()))
    else {
        panic!("a 400 is a provider failure");
    };
    assert_eq!((failure.class, failure.param.as_deref()), (FailureClass::Rejected, Some("/amount")));
    assert_eq!(failure.errors[0].detail, "The cart items do not add up to the amount");
    // The client never sent `amount`: no pointer blames it.
    assert_eq!(failure.errors[0].pointer, "");
}
