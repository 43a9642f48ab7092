//! The simulator on its own (wire protocol, error shapes) and in round trips with the adapter.

use checkout_provider_interface::contract::InlineSecrets;
use checkout_provider_interface::{
    Adapter, AdapterError, Context, CurrentState, FailureClass, ProviderSetup, Secret, SessionStatus, Simulator,
    UnifiedUpdate,
};
use serde_json::{Map, Value, json};
use time::macros::datetime;

use super::StripeSimulator;

const KEY: &str = "sk_test_simulator";

fn simulator() -> StripeSimulator {
    StripeSimulator::new(Secret::new(KEY), datetime!(2026-11-22 10:00 UTC))
}

fn call(sim: &StripeSimulator, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let mut builder = http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(body.as_bytes().to_vec()).unwrap_or_default();
    let response = sim.handle(request);
    let status = response.status().as_u16();
    (status, serde_json::from_slice(response.body()).unwrap_or(Value::Null))
}

const AUTH: (&str, &str) = ("authorization", "Bearer sk_test_simulator");

fn post(sim: &StripeSimulator, id: &str, body: &str) -> (u16, Value) {
    call(sim, "POST", &format!("/v1/checkout/sessions/{id}"), &[AUTH], body)
}

fn get(sim: &StripeSimulator, path: &str) -> (u16, Value) {
    call(sim, "GET", path, &[AUTH], "")
}

#[test]
fn checks_bearer_key_without_echoing_it() {
    let sim = simulator();
    let path = "/v1/checkout/sessions/cs_demo_open";
    let (status, body) = call(&sim, "GET", path, &[], "");
    assert_eq!(status, 401);
    assert_eq!(body["error"]["type"], "invalid_request_error");
    for header in ["Bearer sk_test_wrong", "Basic c2tfdGVzdF9zaW11bGF0b3I6", "bearer sk_test_simulator"] {
        let (status, body) = call(&sim, "GET", path, &[("authorization", header)], "");
        assert_eq!(status, 401, "{header}");
        assert!(!body.to_string().contains("sk_test"), "{body}");
    }
    assert_eq!(get(&sim, path).0, 200);
}

#[test]
fn unknown_sessions_paths_and_versions() {
    let sim = simulator();
    let (status, body) = get(&sim, "/v1/checkout/sessions/cs_nope");
    assert_eq!(
        (status, &body["error"]["code"], &body["error"]["param"]),
        (404, &json!("resource_missing"), &json!("session"))
    );
    assert_eq!(get(&sim, "/v1/customers/cus_1").0, 404);
    assert_eq!(call(&sim, "DELETE", "/v1/checkout/sessions/cs_demo_open", &[AUTH], "").0, 404);
    let version = ("stripe-version", "latest");
    assert_eq!(call(&sim, "GET", "/v1/checkout/sessions/cs_demo_open", &[AUTH, version], "").0, 400);
    let version = ("stripe-version", "2025-03-31.basil");
    assert_eq!(call(&sim, "GET", "/v1/checkout/sessions/cs_demo_open", &[AUTH, version], "").0, 200);
}

#[test]
fn retrieve_expands_line_items_only_when_asked() {
    let sim = simulator();
    let (_, plain) = get(&sim, "/v1/checkout/sessions/cs_demo_open");
    assert!(plain.get("line_items").is_none());
    assert_eq!((plain["amount_subtotal"].clone(), plain["amount_total"].clone()), (json!(41_997), json!(42_497)));
    let (status, expanded) = get(&sim, "/v1/checkout/sessions/cs_demo_open?expand%5B%5D=line_items");
    assert_eq!(status, 200);
    assert_eq!(expanded["line_items"]["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(get(&sim, "/v1/checkout/sessions/cs_demo_open?expand[0]=customer").0, 400);
}

#[test]
fn metadata_merges_unsets_and_clears() {
    let sim = simulator();
    let (status, body) = post(&sim, "cs_demo_open", "metadata[coupon]=SPRING&metadata%5Bnote%5D=a+b");
    assert_eq!(status, 200);
    assert_eq!(body["metadata"], json!({"order_id": "demo-1001", "coupon": "SPRING", "note": "a b"}));
    let (_, body) = post(&sim, "cs_demo_open", "metadata[order_id]=");
    assert_eq!(body["metadata"], json!({"coupon": "SPRING", "note": "a b"}));
    let (_, body) = post(&sim, "cs_demo_open", "metadata=");
    assert_eq!(body["metadata"], json!({}));
    let (status, body) = post(&sim, "cs_demo_open", &format!("metadata[{}]=x", "k".repeat(41)));
    assert_eq!(status, 400);
    assert!(body["error"]["param"].as_str().is_some_and(|p| p.starts_with("metadata[")));
}

#[test]
fn line_items_replace_with_ids_catalog_and_inline_prices() {
    let sim = simulator();
    let body = "line_items[0][id]=li_cs_demo_open_2&line_items[0][quantity]=1\
        &line_items[1][price]=price_demo_sdcard&line_items[1][quantity]=2\
        &line_items[2][price_data][currency]=usd&line_items[2][price_data][product_data][name]=T-shirt\
        &line_items[2][price_data][product_data][metadata][sku]=TS-1&line_items[2][price_data][unit_amount]=2000\
        &line_items[2][quantity]=3&expand[0]=line_items.data.price.product";
    let (status, session) = post(&sim, "cs_demo_open", body);
    assert_eq!(status, 200, "{session}");
    let items = session["line_items"]["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["id"], "li_cs_demo_open_2");
    assert!(items[1]["id"].as_str().is_some_and(|id| id.starts_with("li_sim_")));
    assert_eq!(items[2]["price"]["product"]["metadata"]["sku"], "TS-1");
    assert_eq!(session["amount_subtotal"], json!(1_999 + 2 * 2_499 + 3 * 2_000));
    assert_eq!(session["amount_total"], json!(1_999 + 2 * 2_499 + 3 * 2_000 + 500));

    let (status, error) = post(&sim, "cs_demo_open", "line_items[0][price]=price_missing&line_items[0][quantity]=1");
    assert_eq!((status, &error["error"]["code"]), (400, &json!("resource_missing")));
    assert_eq!(error["error"]["param"], "line_items[0][price]");
    let (status, error) =
        post(&sim, "cs_demo_open", "line_items[0][price_data][unit_amount]=5&line_items[0][quantity]=1");
    assert_eq!((status, &error["error"]["param"]), (400, &json!("line_items[0][price_data][currency]")));
    let (status, error) = post(&sim, "cs_demo_open", "line_items[0][id]=li_cs_demo_open_1&line_items[0][quantity]=two");
    assert_eq!((status, &error["error"]["code"]), (400, &json!("parameter_invalid_integer")));
    // A failed update changes nothing.
    assert_eq!(
        get(&sim, "/v1/checkout/sessions/cs_demo_open").1["amount_subtotal"],
        json!(1_999 + 2 * 2_499 + 3 * 2_000)
    );
}

#[test]
fn shipping_options_use_known_rates_create_inline_ones_and_clear() {
    let sim = simulator();
    let (status, session) = post(&sim, "cs_demo_open", "shipping_options[0][shipping_rate]=shr_express");
    assert_eq!(status, 200);
    assert_eq!(session["shipping_cost"]["shipping_rate"], "shr_express");
    assert_eq!(session["total_details"]["amount_shipping"], 1_500);
    let body = "shipping_options[0][shipping_rate_data][display_name]=Pickup\
        &shipping_options[0][shipping_rate_data][fixed_amount][amount]=0\
        &shipping_options[0][shipping_rate_data][fixed_amount][currency]=usd\
        &expand[0]=shipping_options.shipping_rate";
    let (status, session) = post(&sim, "cs_demo_open", body);
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["shipping_options"][0]["shipping_rate"]["display_name"], "Pickup");
    assert_eq!(session["amount_total"], session["amount_subtotal"]);
    let (status, error) = post(&sim, "cs_demo_open", "shipping_options[0][shipping_rate]=shr_nope");
    assert_eq!((status, &error["error"]["param"]), (400, &json!("shipping_options[0][shipping_rate]")));
    let (_, session) = post(&sim, "cs_demo_open", "shipping_options=");
    assert_eq!((session["shipping_options"].clone(), session["shipping_cost"].clone()), (json!([]), Value::Null));
}

#[test]
fn shipping_details_need_name_line1_and_country() {
    let sim = simulator();
    let base = "collected_information[shipping_details]";
    let (status, error) =
        post(&sim, "cs_demo_open", &format!("{base}[name]=Jenny+Rosen&{base}[address][line1]=1+Main+St"));
    assert_eq!((status, &error["error"]["code"]), (400, &json!("parameter_missing")));
    let body = format!("{base}[name]=Jenny+Rosen&{base}[address][line1]=1+Main+St&{base}[address][country]=US");
    let (status, session) = post(&sim, "cs_demo_open", &body);
    assert_eq!(status, 200);
    assert_eq!(session["collected_information"]["shipping_details"]["address"]["city"], Value::Null);
}

#[test]
fn refuses_closed_sessions_and_unknown_parameters() {
    let sim = simulator();
    let (status, error) = post(&sim, "cs_demo_complete", "metadata[a]=b");
    assert_eq!((status, &error["error"]["code"]), (400, &json!("checkout_not_active_session")));
    let (status, error) = post(&sim, "cs_demo_open", "customer_email=a@b.c");
    assert_eq!((status, &error["error"]["code"]), (400, &json!("parameter_unknown")));
    assert_eq!(post(&sim, "cs_demo_open", "line_items[0][tax_rates][0]=txr_1").0, 400);
}

#[test]
fn replays_idempotent_requests_and_refuses_reuse_with_other_parameters() {
    let sim = simulator();
    let path = "/v1/checkout/sessions/cs_demo_open";
    let key = ("idempotency-key", "key-1");
    let (first_status, first) =
        call(&sim, "POST", path, &[AUTH, key], "line_items[0][price]=price_demo_sdcard&line_items[0][quantity]=1");
    let (second_status, second) =
        call(&sim, "POST", path, &[AUTH, key], "line_items[0][price]=price_demo_sdcard&line_items[0][quantity]=1");
    assert_eq!((first_status, second_status), (200, 200));
    assert_eq!(first, second, "a replay returns the stored answer, no second item id");
    let (status, error) = call(&sim, "POST", path, &[AUTH, key], "metadata[a]=b");
    assert_eq!((status, &error["error"]["type"]), (400, &json!("idempotency_error")));
}

#[test]
fn never_panics_on_odd_input() {
    let sim = simulator();
    let bodies = ["%", "a[", "line_items=x", "line_items[0]=x", "metadata[a][b]=c", "expand=x", "shipping_options[0]="];
    for body in bodies {
        let (status, _) = post(&sim, "cs_demo_open", body);
        assert!((400..500).contains(&status), "{body}: {status}");
    }
    // Empty pairs carry no parameters: an update that changes nothing.
    assert_eq!(post(&sim, "cs_demo_open", "=&&=").0, 200);
    let request = http::Request::builder()
        .method("POST")
        .uri("/v1/checkout/sessions/cs_demo_open")
        .header("authorization", "Bearer sk_test_simulator")
        .body(vec![0xff, 0xfe])
        .unwrap_or_default();
    assert_eq!(sim.handle(request).status(), 400);
}

// ------------------------------------------------------------------ round trips with the adapter

fn adapter() -> std::sync::Arc<dyn Adapter> {
    let settings: Map<String, Value> =
        json!({"api_key": {"value": KEY}, "api_version": "2025-03-31.basil"}).as_object().cloned().unwrap_or_default();
    let setup = ProviderSetup { name: "stripe-sim", settings: &settings, secrets: &InlineSecrets };
    (crate::FACTORY.build)(&setup).unwrap_or_else(|e| panic!("{e}"))
}

fn context(session_id: &str, key: &str) -> Context {
    Context {
        session_id: session_id.to_owned(),
        request_id: "req_round_trip".to_owned(),
        idempotency_key: key.to_owned(),
        now: datetime!(2026-11-22 10:05 UTC),
        nonce: "nonce".to_owned(),
    }
}

/// What the gateway does for one update: optional read, write, parse.
fn update(
    sim: &StripeSimulator,
    adapter: &dyn Adapter,
    session_id: &str,
    body: Value,
) -> Result<checkout_provider_interface::UnifiedSession, AdapterError> {
    let update: UnifiedUpdate = serde_json::from_value(body).unwrap_or_else(|e| panic!("{e}"));
    let update = checkout_provider_interface::capability::check_update(&crate::FACTORY, adapter, update)
        .unwrap_or_else(|refused| panic!("{refused:?}"));
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let ctx = context(session_id, &format!("key-{call}"));
    let current =
        if adapter.needs_current_state(&update) { Some(sim.handle(adapter.build_retrieve(&ctx)?)) } else { None };
    let current = current.as_ref().map_or(CurrentState::NotRequested, CurrentState::Read);
    let request = adapter.build_update(&update, current, &ctx)?;
    adapter.parse_session(&sim.handle(request), &ctx)
}

#[test]
fn round_trip_update_maps_back_to_the_unified_session() {
    let sim = simulator();
    let adapter = adapter();
    let body = json!({
        "metadata": {"order_id": null, "coupon": "SPRING"},
        "currency": "USD",
        "line_items": [
            {"id": "li_cs_demo_open_1"},
            {"price": "price_demo_sdcard", "quantity": 2},
            {"name": "GoPro mount", "quantity": 1, "unit_amount": 1500, "sku": "MNT-1", "tax_amount": 0}
        ],
        "shipping_options": [{"shipping_rate": "shr_express"}, {"display_name": "Pickup", "amount": 0}],
        "shipping_details": {"name": "Jenny Rosen", "address": {"line1": "1 Main St", "line2": null, "city": "Springfield",
                             "state": "IL", "postal_code": "62701", "country": "us"}},
        "provider_options": {"stripe": {"expand": ["line_items", "shipping_options.shipping_rate"]}}
    });
    let session = update(&sim, adapter.as_ref(), "cs_demo_open", body).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(session.status, SessionStatus::Open);
    assert_eq!(session.currency.as_deref(), Some("USD"));
    assert_eq!(session.metadata, Some([("coupon".to_owned(), "SPRING".to_owned())].into()));
    let items = session.line_items.clone().unwrap_or_default();
    let names: Vec<_> = items.iter().map(|i| (i.name.clone().unwrap_or_default(), i.quantity)).collect();
    assert_eq!(
        names,
        [
            ("GoPro HERO9 Camcorder".to_owned(), Some(1)),
            ("SD card 128 GB".to_owned(), Some(2)),
            ("GoPro mount".to_owned(), Some(1))
        ]
    );
    let subtotal = 37_999 + 2 * 2_499 + 1_500;
    assert_eq!(
        (session.amounts.subtotal, session.amounts.shipping, session.amounts.total),
        (Some(subtotal), Some(1_500), Some(subtotal + 1_500))
    );
    let shipping = session.shipping.clone().unwrap_or_default();
    assert_eq!(shipping.selected_rate.as_deref(), Some("shr_express"));
    let names: Vec<_> = shipping.options.iter().map(|o| o.display_name.clone().unwrap_or_default()).collect();
    assert_eq!(names, ["Express", "Pickup"]);
    let address = shipping.details.and_then(|d| d.address).unwrap_or_default();
    assert_eq!((address.country.as_deref(), address.line2), (Some("US"), None));
    assert!(session.created_at.is_some() && session.url.is_some());

    // A partial patch is merged onto what the simulator now holds.
    let partial = json!({"shipping_details": {"address": {"line1": "2 Oak Ave"}}});
    let session = update(&sim, adapter.as_ref(), "cs_demo_open", partial).unwrap_or_else(|e| panic!("{e:?}"));
    let details = session.shipping.and_then(|s| s.details).unwrap_or_default();
    assert_eq!(details.name.as_deref(), Some("Jenny Rosen"));
    let address = details.address.unwrap_or_default();
    assert_eq!((address.line1.as_deref(), address.city.as_deref()), (Some("2 Oak Ave"), Some("Springfield")));
}

#[test]
fn round_trip_retrieve_and_errors() {
    let sim = simulator();
    let adapter = adapter();
    let ctx = context("cs_demo_complete", "unused");
    let response = sim.handle(adapter.build_retrieve(&ctx).unwrap_or_else(|e| panic!("{e}")));
    let session = adapter.parse_session(&response, &ctx).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((session.status, session.url.clone()), (SessionStatus::Complete, None));
    assert_eq!(session.line_items.map(|items| items.len()), Some(1));

    let class = |result: Result<_, AdapterError>| match result {
        Err(AdapterError::Provider(failure)) => Some((failure.class, failure.request_id.is_some())),
        _ => None,
    };
    let closed = update(&sim, adapter.as_ref(), "cs_demo_complete", json!({"metadata": {"a": "b"}}));
    assert_eq!(class(closed), Some((FailureClass::NotUpdatable, true)));
    let missing = update(&sim, adapter.as_ref(), "cs_missing", json!({"metadata": {"a": "b"}}));
    assert_eq!(class(missing), Some((FailureClass::NotFound, true)));
    let bad_price = json!({"line_items": [{"price": "price_nope", "quantity": 1}]});
    match update(&sim, adapter.as_ref(), "cs_demo_open_2", bad_price) {
        Err(AdapterError::Provider(failure)) => {
            assert_eq!(failure.class, FailureClass::Rejected);
            assert_eq!(failure.errors.first().map(|e| e.pointer.as_str()), Some("/line_items/0/price"));
        }
        other => panic!("{other:?}"),
    }
}
