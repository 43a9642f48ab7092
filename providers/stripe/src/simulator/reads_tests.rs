//! The simulator's documented read behaviour (first page of expanded line items, the line items
//! list endpoint, line-item metadata, `{id}` item changes, customer vs shipping details) and
//! round trips with the adapter that rely on it (the follow-up read, sku / image read-back).

use checkout_provider_interface::contract::InlineSecrets;
use checkout_provider_interface::{
    Adapter, AdapterError, Context, CurrentState, ProviderSetup, Secret, Simulator, UnifiedSession, UnifiedUpdate,
};
use serde_json::{Map, Value, json};
use time::macros::datetime;

use super::StripeSimulator;

const KEY: &str = "sk_test_simulator";
const MANY: &str = "/v1/checkout/sessions/cs_demo_many_items";
const CLOVER: &str = "2025-12-15.clover";
const BASIL: &str = "2025-03-31.basil";

fn simulator() -> StripeSimulator {
    StripeSimulator::new(Secret::new(KEY), datetime!(2026-11-22 10:00 UTC))
}

fn call(sim: &StripeSimulator, method: &str, path: &str, version: &str, body: &str) -> (u16, Value) {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {KEY}"))
        .header("stripe-version", version)
        .body(body.as_bytes().to_vec())
        .unwrap_or_default();
    let response = sim.handle(request);
    (response.status().as_u16(), serde_json::from_slice(response.body()).unwrap_or(Value::Null))
}

fn ids(list: &Value) -> Vec<String> {
    let data = list["data"].as_array().cloned().unwrap_or_default();
    data.iter().map(|item| item["id"].as_str().unwrap_or_default().to_owned()).collect()
}

fn many(n: std::ops::RangeInclusive<usize>) -> Vec<String> {
    n.map(|i| format!("li_cs_demo_many_items_{i}")).collect()
}

#[test]
fn an_expanded_session_holds_the_first_ten_items_and_the_list_pages_through_all() {
    let sim = simulator();
    let (status, session) = call(&sim, "GET", &format!("{MANY}?expand%5B%5D=line_items"), CLOVER, "");
    assert_eq!(status, 200);
    let list = &session["line_items"];
    assert_eq!((ids(list), &list["has_more"], &list["object"]), (many(1..=10), &json!(true), &json!("list")));
    assert_eq!(list["url"], "/v1/checkout/sessions/cs_demo_many_items/line_items");

    let page = |query: &str| call(&sim, "GET", &format!("{MANY}/line_items{query}"), CLOVER, "");
    let (_, first) = page("");
    assert_eq!((ids(&first), &first["has_more"]), (many(1..=10), &json!(true)));
    let (_, all) = page("?limit=100");
    assert_eq!((ids(&all), &all["has_more"]), (many(1..=12), &json!(false)));
    let (_, rest) = page("?limit=5&starting_after=li_cs_demo_many_items_10");
    assert_eq!((ids(&rest), &rest["has_more"]), (many(11..=12), &json!(false)));
    let (_, before) = page("?limit=2&ending_before=li_cs_demo_many_items_5");
    assert_eq!((ids(&before), &before["has_more"]), (many(3..=4), &json!(true)));
    let (_, expanded) = page("?expand%5B%5D=data.price.product&limit=1");
    assert_eq!(expanded["data"][0]["price"]["product"]["object"], "product");
    assert!(page("?limit=1").1["data"][0]["price"]["product"].is_string());

    for bad in ["?limit=0", "?limit=101", "?limit=x", "?starting_after=li_nope", "?expand%5B%5D=data.price", "?page=2"]
    {
        let (status, error) = page(bad);
        assert_eq!((status, &error["error"]["type"]), (400, &json!("invalid_request_error")), "{bad}");
    }
    assert_eq!(call(&sim, "GET", "/v1/checkout/sessions/cs_nope/line_items", CLOVER, "").0, 404);
    assert_eq!(call(&sim, "POST", &format!("{MANY}/line_items"), CLOVER, "").0, 404);
}

#[test]
fn customer_contact_is_not_shipping_details() {
    let sim = simulator();
    let (_, session) = call(&sim, "GET", MANY, CLOVER, "");
    assert_eq!(session["customer_details"]["email"], "sam@example.com");
    assert_eq!(session["customer_details"]["phone"], "+14155550123");
    assert_eq!(session["collected_information"]["shipping_details"], Value::Null);
}

#[test]
fn line_item_metadata_needs_clover_and_merges_on_existing_items() {
    let sim = simulator();
    let path = "/v1/checkout/sessions/cs_demo_open";
    let body = "line_items[0][id]=li_cs_demo_open_1&line_items[0][metadata][sku]=GP-9&expand[0]=line_items";
    let (status, error) = call(&sim, "POST", path, BASIL, body);
    assert_eq!((status, &error["error"]["code"]), (400, &json!("parameter_unknown")));
    assert_eq!(error["error"]["param"], "line_items[0][metadata]");

    let (status, session) = call(&sim, "POST", path, CLOVER, body);
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["line_items"]["data"][0]["metadata"], json!({"sku": "GP-9"}));
    let more = "line_items[0][id]=li_cs_demo_open_1&line_items[0][metadata][external_id]=e-1&expand[0]=line_items";
    let (_, session) = call(&sim, "POST", path, CLOVER, more);
    assert_eq!(session["line_items"]["data"][0]["metadata"], json!({"sku": "GP-9", "external_id": "e-1"}));
    let unset = "line_items[0][id]=li_cs_demo_open_1&line_items[0][metadata][sku]=&expand[0]=line_items";
    let (_, session) = call(&sim, "POST", path, CLOVER, unset);
    assert_eq!(session["line_items"]["data"][0]["metadata"], json!({"external_id": "e-1"}));
}

#[test]
fn existing_items_take_a_new_price_and_keep_id_quantity_and_metadata() {
    let sim = simulator();
    let path = "/v1/checkout/sessions/cs_demo_open";
    let setup = "line_items[0][id]=li_cs_demo_open_2&line_items[0][metadata][sku]=S-1\
        &line_items[0][adjustable_quantity][enabled]=true&line_items[0][adjustable_quantity][maximum]=5";
    assert_eq!(call(&sim, "POST", path, CLOVER, setup).0, 200);
    let body = "line_items[0][id]=li_cs_demo_open_2&line_items[0][price_data][currency]=usd\
        &line_items[0][price_data][product_data][name]=Leather+strap\
        &line_items[0][price_data][product_data][images][0]=https://e.x/strap.png\
        &line_items[0][price_data][unit_amount]=2500&expand[0]=line_items.data.price.product";
    let (status, session) = call(&sim, "POST", path, CLOVER, body);
    assert_eq!(status, 200, "{session}");
    let item = &session["line_items"]["data"][0];
    assert_eq!(
        (&item["id"], &item["quantity"], &item["description"]),
        (&json!("li_cs_demo_open_2"), &json!(2), &json!("Leather strap"))
    );
    assert_eq!(
        (&item["price"]["unit_amount"], &item["price"]["product"]["images"][0]),
        (&json!(2500), &json!("https://e.x/strap.png"))
    );
    assert_eq!(item["metadata"], json!({"sku": "S-1"}));
    assert_eq!(item["adjustable_quantity"], json!({"enabled": true, "maximum": 5, "minimum": null}));
    assert_eq!(session["amount_subtotal"], json!(5_000));

    let catalog = "line_items[0][id]=li_cs_demo_open_2&line_items[0][price]=price_demo_sdcard&expand[0]=line_items";
    let (_, session) = call(&sim, "POST", path, CLOVER, catalog);
    assert_eq!(session["line_items"]["data"][0]["price"]["id"], "price_demo_sdcard");
    let both = "line_items[0][id]=li_cs_demo_open_2&line_items[0][price]=price_demo_sdcard\
        &line_items[0][price_data][currency]=usd";
    assert_eq!(call(&sim, "POST", path, CLOVER, both).0, 400);
}

// ------------------------------------------------------------------ round trips with the adapter

fn adapter(version: &str) -> std::sync::Arc<dyn Adapter> {
    let settings: Map<String, Value> =
        json!({"api_key": {"value": KEY}, "api_version": version}).as_object().cloned().unwrap_or_default();
    let setup = ProviderSetup { name: "stripe-sim", settings: &settings, secrets: &InlineSecrets };
    (crate::FACTORY.build)(&setup).unwrap_or_else(|e| panic!("{e}"))
}

fn context(session_id: &str) -> Context {
    Context {
        session_id: session_id.to_owned(),
        request_id: "req_reads".to_owned(),
        idempotency_key: "key-reads".to_owned(),
        now: datetime!(2026-11-22 10:05 UTC),
        nonce: "nonce".to_owned(),
    }
}

/// What the gateway does with an answer: the follow-up read when the adapter asks, then mapping.
fn finish(
    sim: &StripeSimulator,
    adapter: &dyn Adapter,
    ctx: &Context,
    response: &http::Response<Vec<u8>>,
) -> Result<UnifiedSession, AdapterError> {
    match adapter.follow_up(response, ctx)? {
        None => adapter.parse_session(response, ctx),
        Some(read) => adapter.parse_with_follow_up(response, &sim.handle(read), ctx),
    }
}

fn retrieve(sim: &StripeSimulator, adapter: &dyn Adapter, id: &str) -> UnifiedSession {
    let ctx = context(id);
    let response = sim.handle(adapter.build_retrieve(&ctx).unwrap_or_else(|e| panic!("{e}")));
    finish(sim, adapter, &ctx, &response).unwrap_or_else(|e| panic!("{e}"))
}

fn update(sim: &StripeSimulator, adapter: &dyn Adapter, id: &str, body: Value) -> UnifiedSession {
    let update: UnifiedUpdate = serde_json::from_value(body).unwrap_or_else(|e| panic!("{e}"));
    let update = checkout_provider_interface::capability::check_update(&crate::FACTORY, adapter, update)
        .unwrap_or_else(|refused| panic!("{refused:?}"));
    let ctx = context(id);
    let built = adapter.build_update(&update, CurrentState::NotRequested, &ctx).unwrap_or_else(|e| panic!("{e}"));
    let response = sim.handle(built);
    finish(sim, adapter, &ctx, &response).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn update_and_retrieve_list_every_item_and_agree() {
    let sim = simulator();
    let adapter = adapter(CLOVER);
    let retrieved = retrieve(&sim, adapter.as_ref(), "cs_demo_many_items");
    let updated = update(&sim, adapter.as_ref(), "cs_demo_many_items", json!({"metadata": {"note": "x"}}));
    for session in [&retrieved, &updated] {
        let items = session.line_items.clone().unwrap_or_default();
        let ids: Vec<_> = items.iter().filter_map(|item| item.id.clone()).collect();
        assert_eq!(ids, many(1..=12));
        assert!(session.warnings.is_empty(), "{:?}", session.warnings);
        // The customer's contact is not the shipment's.
        assert_eq!(session.shipping.as_ref().and_then(|s| s.details.clone()), None);
    }
    assert_eq!(retrieved.line_items, updated.line_items);
}

#[test]
fn sku_external_id_and_image_come_back_on_every_version() {
    for version in [CLOVER, BASIL] {
        let sim = simulator();
        let adapter = adapter(version);
        let body = json!({"currency": "usd", "line_items": [
            {"id": "li_cs_demo_open_1"},
            {"name": "Mount", "quantity": 1, "unit_amount": 1500, "sku": "MNT-1", "external_id": "ext-1",
             "image_url": "https://e.x/mount.png"}]});
        let updated = update(&sim, adapter.as_ref(), "cs_demo_open", body);
        let retrieved = retrieve(&sim, adapter.as_ref(), "cs_demo_open");
        for session in [&updated, &retrieved] {
            let items = session.line_items.clone().unwrap_or_default();
            let mount = items.get(1).cloned().unwrap_or_default();
            assert_eq!(mount.sku.as_deref(), Some("MNT-1"), "{version}");
            assert_eq!(mount.external_id.as_deref(), Some("ext-1"), "{version}");
            assert_eq!(mount.image_url.as_deref(), Some("https://e.x/mount.png"), "{version}");
        }
    }
}

#[test]
fn existing_items_change_name_amount_and_ids_through_the_adapter() {
    let sim = simulator();
    let adapter = adapter(CLOVER);
    let body = json!({"currency": "usd", "line_items": [
        {"id": "li_cs_demo_open_1", "name": "GoPro (refurbished)", "unit_amount": 29999, "sku": "GP-R"},
        {"id": "li_cs_demo_open_2", "price": "price_demo_sdcard", "quantity": 1, "external_id": "x-2"}]});
    let session = update(&sim, adapter.as_ref(), "cs_demo_open", body);
    let items = session.line_items.clone().unwrap_or_default();
    let seen: Vec<_> = items
        .iter()
        .map(|i| (i.id.clone(), i.name.clone(), i.quantity, i.unit_amount, i.sku.clone(), i.external_id.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (
                Some("li_cs_demo_open_1".into()),
                Some("GoPro (refurbished)".into()),
                Some(1),
                Some(29_999),
                Some("GP-R".into()),
                None
            ),
            (
                Some("li_cs_demo_open_2".into()),
                Some("SD card 128 GB".into()),
                Some(1),
                Some(2_499),
                None,
                Some("x-2".into())
            ),
        ]
    );
    assert_eq!(session.amounts.subtotal, Some(29_999 + 2_499));
}
