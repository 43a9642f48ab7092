use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use checkout_provider_interface::contract::InlineSecrets;
use checkout_provider_interface::{
    Context, CurrentState, ProviderResponse, ProviderSetup, SessionStatus, Simulator, UnifiedUpdate,
    capability::check_update,
};
use http::{Method, Request, Response};
use serde_json::{Map, Value, json};
use time::Duration;

use super::PayPalSimulator;
use super::demo::{APPROVED_ORDER, COMPLETED_ORDER, OPEN_ORDER, VOIDED_ORDER, YEN_ORDER};

const ID: &str = "client-id";
const SECRET: &str = "client-secret";

fn simulator(lifetime: Duration) -> PayPalSimulator {
    PayPalSimulator::new(ID, SECRET, lifetime)
}

fn send(sim: &PayPalSimulator, method: Method, path: &str, authorization: &str, body: &str) -> Response<Vec<u8>> {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::AUTHORIZATION, authorization)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body.as_bytes().to_vec())
        .unwrap_or_else(|e| panic!("{e}"));
    sim.handle(request)
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

fn body(response: &Response<Vec<u8>>) -> Value {
    serde_json::from_slice(response.body()).unwrap_or_else(|e| panic!("{e}: {:?}", response.body()))
}

fn token(sim: &PayPalSimulator) -> String {
    let response = send(sim, Method::POST, "/v1/oauth2/token", &basic(ID, SECRET), "grant_type=client_credentials");
    assert_eq!(response.status(), 200);
    let answer = body(&response);
    assert_eq!(answer["token_type"], "Bearer");
    format!("Bearer {}", answer["access_token"].as_str().unwrap_or_default())
}

fn order(sim: &PayPalSimulator, bearer: &str, id: &str) -> Value {
    let response = send(sim, Method::GET, &format!("/v2/checkout/orders/{id}"), bearer, "");
    assert_eq!(response.status(), 200);
    body(&response)
}

fn patch(sim: &PayPalSimulator, bearer: &str, id: &str, ops: &Value) -> Response<Vec<u8>> {
    send(sim, Method::PATCH, &format!("/v2/checkout/orders/{id}"), bearer, &ops.to_string())
}

fn issue(response: &Response<Vec<u8>>) -> (u16, String, String) {
    let answer = body(response);
    let detail = &answer["details"][0];
    (
        response.status().as_u16(),
        detail["issue"].as_str().unwrap_or_default().to_owned(),
        detail["field"].as_str().unwrap_or_default().to_owned(),
    )
}

#[test]
fn the_token_endpoint_takes_only_the_configured_client() {
    let sim = simulator(Duration::hours(1));
    let wrong = send(&sim, Method::POST, "/v1/oauth2/token", &basic(ID, "nope"), "grant_type=client_credentials");
    assert_eq!((wrong.status().as_u16(), body(&wrong)["error"].clone()), (401, json!("invalid_client")));
    let grant = send(&sim, Method::POST, "/v1/oauth2/token", &basic(ID, SECRET), "grant_type=password");
    assert_eq!(grant.status(), 400);
    let issued = send(&sim, Method::POST, "/v1/oauth2/token", &basic(ID, SECRET), "grant_type=client_credentials");
    assert_eq!(body(&issued)["expires_in"], 3600);
    let unauthenticated = send(&sim, Method::GET, &format!("/v2/checkout/orders/{OPEN_ORDER}"), "Bearer made-up", "");
    assert_eq!(unauthenticated.status(), 401);
    assert_eq!(body(&unauthenticated)["name"], "AUTHENTICATION_FAILURE");
    assert!(unauthenticated.headers().contains_key("paypal-debug-id"));
}

#[test]
fn an_expired_token_is_refused_and_a_new_one_works() {
    let sim = simulator(Duration::hours(1));
    let bearer = token(&sim);
    order(&sim, &bearer, OPEN_ORDER);
    let expire = send(&sim, Method::POST, "/_simulator/expire-tokens", &basic(ID, SECRET), "");
    assert_eq!(body(&expire)["issued"], 1);
    assert_eq!(send(&sim, Method::GET, &format!("/v2/checkout/orders/{OPEN_ORDER}"), &bearer, "").status(), 401);
    let fresh = token(&sim);
    order(&sim, &fresh, OPEN_ORDER);
    let short = simulator(Duration::ZERO);
    let dead = token(&short);
    assert_eq!(send(&short, Method::GET, &format!("/v2/checkout/orders/{OPEN_ORDER}"), &dead, "").status(), 401);
}

#[test]
fn a_patch_is_answered_204_and_read_back() {
    let sim = simulator(Duration::hours(1));
    let bearer = token(&sim);
    let ops = json!([
        {"op": "add", "path": "/purchase_units/@reference_id=='default'/custom_id", "value": "{\"a\":\"1\"}"},
        {"op": "replace", "path": "/purchase_units/@reference_id=='default'/shipping/name", "value": {"full_name": "Ada"}}
    ]);
    let response = patch(&sim, &bearer, OPEN_ORDER, &ops);
    assert_eq!(response.status(), 204);
    assert!(response.body().is_empty());
    let read = order(&sim, &bearer, OPEN_ORDER);
    assert_eq!(read["purchase_units"][0]["custom_id"], "{\"a\":\"1\"}");
    assert_eq!(read["purchase_units"][0]["shipping"]["name"]["full_name"], "Ada");
}

#[test]
fn add_on_a_present_attribute_and_replace_on_an_absent_one_are_refused_and_nothing_changes() {
    let sim = simulator(Duration::hours(1));
    let bearer = token(&sim);
    let unit = "/purchase_units/@reference_id=='default'";
    let add_present = json!([
        {"op": "add", "path": format!("{unit}/description"), "value": "new"},
        {"op": "add", "path": format!("{unit}/custom_id"), "value": "x"}
    ]);
    assert_eq!(issue(&patch(&sim, &bearer, APPROVED_ORDER, &add_present)).1, "INVALID_PATCH_OPERATION");
    assert_eq!(order(&sim, &bearer, APPROVED_ORDER)["purchase_units"][0]["description"], "Demo order 7");
    let replace_absent = json!([{"op": "replace", "path": format!("{unit}/invoice_id"), "value": "INV-1"}]);
    assert_eq!(issue(&patch(&sim, &bearer, OPEN_ORDER, &replace_absent)).1, "INVALID_PATCH_OPERATION");
    let not_in_table = json!([{"op": "replace", "path": format!("{unit}/reference_id"), "value": "x"}]);
    assert_eq!(issue(&patch(&sim, &bearer, OPEN_ORDER, &not_in_table)).1, "FIELD_NOT_PATCHABLE");
    let unknown_unit =
        json!([{"op": "add", "path": "/purchase_units/@reference_id=='other'/invoice_id", "value": "1"}]);
    assert_eq!(issue(&patch(&sim, &bearer, OPEN_ORDER, &unknown_unit)).1, "REFERENCE_ID_NOT_FOUND");
    assert_eq!(patch(&sim, &bearer, OPEN_ORDER, &json!({"op": "add"})).status(), 400);
}

#[test]
fn the_breakdown_must_add_up() {
    let sim = simulator(Duration::hours(1));
    let bearer = token(&sim);
    let unit = "/purchase_units/@reference_id=='default'";
    let money = |value: &str| json!({"currency_code": "USD", "value": value});
    let items = json!([{"name": "Mug", "quantity": "3", "unit_amount": money("4.00")}]);
    let amount = |value: &str, item_total: &str| json!({"currency_code": "USD", "value": value, "breakdown": {"item_total": money(item_total), "shipping": money("5.00")}});
    let ops = |amount: Value| {
        json!([
            {"op": "replace", "path": format!("{unit}/items"), "value": items},
            {"op": "replace", "path": format!("{unit}/amount"), "value": amount}
        ])
    };
    let item_total = patch(&sim, &bearer, OPEN_ORDER, &ops(amount("16.00", "11.00")));
    assert_eq!(
        issue(&item_total),
        (422, "ITEM_TOTAL_MISMATCH".to_owned(), format!("{unit}/amount/breakdown/item_total/value"))
    );
    let total = patch(&sim, &bearer, OPEN_ORDER, &ops(amount("18.00", "12.00")));
    assert_eq!(issue(&total), (422, "AMOUNT_MISMATCH".to_owned(), format!("{unit}/amount/value")));
    let decimals = patch(&sim, &bearer, OPEN_ORDER, &ops(amount("17.000", "12.00")));
    assert_eq!(issue(&decimals).1, "DECIMAL_PRECISION");
    assert_eq!(patch(&sim, &bearer, OPEN_ORDER, &ops(amount("17.00", "12.00"))).status(), 204);
    assert_eq!(order(&sim, &bearer, OPEN_ORDER)["purchase_units"][0]["amount"]["value"], "17.00");
    let yen = json!([{"op": "replace", "path": format!("{unit}/amount"),
        "value": {"currency_code": "JPY", "value": "1500.50", "breakdown": {"item_total": {"currency_code": "JPY", "value": "1500.50"}}}}]);
    assert_eq!(issue(&patch(&sim, &bearer, YEN_ORDER, &yen)).1, "DECIMAL_PRECISION");
    // Beyond PayPal's ceiling, and the largest quantity times the largest value: answered, never a panic.
    let huge = json!([{"op": "replace", "path": format!("{unit}/items"), "value": [
        {"name": "Yacht", "quantity": "9999999999", "unit_amount": money("99999999999999999999999999999.99")}]}]);
    assert_eq!(issue(&patch(&sim, &bearer, OPEN_ORDER, &huge)).1, "MAX_VALUE_EXCEEDED");
    let largest = json!([{"op": "replace", "path": format!("{unit}/items"), "value": [
        {"name": "Yacht", "quantity": "9999999999", "unit_amount": money("999999999999999.99")}]}]);
    assert_eq!(issue(&patch(&sim, &bearer, OPEN_ORDER, &largest)).1, "ITEM_TOTAL_MISMATCH");
}

#[test]
fn completed_and_voided_orders_refuse_every_patch() {
    let sim = simulator(Duration::hours(1));
    let bearer = token(&sim);
    let ops = json!([{"op": "add", "path": "/purchase_units/@reference_id=='default'/invoice_id", "value": "INV-1"}]);
    assert_eq!(issue(&patch(&sim, &bearer, COMPLETED_ORDER, &ops)).1, "ORDER_ALREADY_COMPLETED");
    assert_eq!(issue(&patch(&sim, &bearer, VOIDED_ORDER, &ops)).0, 422);
    assert_eq!(send(&sim, Method::GET, "/v2/checkout/orders/NOSUCHORDER00000", &bearer, "").status(), 404);
}

/// The adapter against the simulator, as the gateway runs it: read, build over the read,
/// patch (204), read back and map.
#[test]
fn the_adapters_update_goes_through_and_reads_back() {
    let sim = simulator(Duration::hours(1));
    let bearer = token(&sim);
    let settings: Map<String, Value> =
        serde_json::from_value(json!({"client_id": {"value": ID}, "client_secret": {"value": SECRET}}))
            .unwrap_or_default();
    let adapter =
        (crate::FACTORY.build)(&ProviderSetup { name: "paypal", settings: &settings, secrets: &InlineSecrets })
            .unwrap_or_else(|e| panic!("{e}"));
    let update: UnifiedUpdate = serde_json::from_value(json!({
        "metadata": {"order_id": "42"},
        "description": "Order 42",
        "currency": "USD",
        "line_items": [{"name": "Mug", "quantity": 3, "unit_amount": 400, "tax_amount": 90, "discount_amount": 100, "sku": "mug"}],
        "shipping_details": {"name": "Ada Lovelace", "address": {"line1": "2 Side St", "country": "gb"}},
        "provider_options": {"paypal": {"invoice_id": "INV-42"}}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let update = check_update(&crate::FACTORY, adapter.as_ref(), update).unwrap_or_else(|r| panic!("{r:?}"));
    let ctx = Context {
        session_id: OPEN_ORDER.to_owned(),
        request_id: "req".to_owned(),
        idempotency_key: "key".to_owned(),
        now: time::OffsetDateTime::now_utc(),
        nonce: "n".to_owned(),
    };
    let exchange = |request: http::Request<Vec<u8>>| -> ProviderResponse {
        let (mut parts, body) = request.into_parts();
        parts.headers.insert(http::header::AUTHORIZATION, bearer.parse().unwrap_or_else(|e| panic!("{e:?}")));
        sim.handle(Request::from_parts(parts, body))
    };
    let current = exchange(adapter.build_retrieve(&ctx).unwrap_or_else(|e| panic!("{e}")));
    let write = adapter.build_update(&update, CurrentState::Read(&current), &ctx).unwrap_or_else(|e| panic!("{e}"));
    let answer = exchange(write);
    assert_eq!(answer.status(), 204, "{}", String::from_utf8_lossy(answer.body()));
    let read = adapter.follow_up(&answer, &ctx).unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("a read"));
    let after = exchange(read);
    let session = adapter.parse_with_follow_up(&answer, &after, &ctx).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(session.status, SessionStatus::Open);
    assert_eq!(session.metadata.and_then(|m| m.get("order_id").cloned()).as_deref(), Some("42"));
    assert_eq!(session.description.as_deref(), Some("Order 42"));
    // 3 × 4.00 + 0.90 tax + 5.00 shipping kept − 1.00 discount.
    assert_eq!(session.amounts.total, Some(1690));
    assert_eq!(session.amounts.shipping, Some(500));
    let details = session.shipping.and_then(|s| s.details).unwrap_or_default();
    assert_eq!(details.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(details.address.and_then(|a| a.country).as_deref(), Some("GB"));
    // The unit's attributes PayPal stores: the invoice id came through provider options.
    assert_eq!(body(&after)["purchase_units"][0]["invoice_id"], "INV-42");
}
