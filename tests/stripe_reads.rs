//! Stripe reads and line items end to end: the real gateway against the built-in Stripe
//! simulator over sockets. The simulator models Stripe's documented behaviour (an expanded
//! `line_items` holds the first 10 items with `has_more`; the rest is at
//! `/v1/checkout/sessions/{id}/line_items`; line-item metadata from 2025-12-15.clover; product
//! expansion; `customer_details` apart from the collected shipping details), so an adapter that
//! reads only the first page, or never reads back what it wrote, fails here.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use serde_json::{Value, json};
use support::{TENANT_KEY, TestGateway};

/// One simulator, two Stripe providers on it: `stripe-new` on a version with line-item metadata,
/// `stripe-old` on the oldest version the adapter takes (sku / external id in product metadata).
async fn gateway() -> TestGateway {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let provider = |name: &str, version: &str| {
        format!(
            r#"
[providers.{name}]
kind = "stripe"
base_url = "http://127.0.0.1:{port}/{name}"
allow_insecure_http = true
api_key = {{ value = "sk_test_stripe_reads" }}
api_version = "{version}"
"#
        )
    };
    let toml = format!(
        r#"
[server]
listen = "127.0.0.1:0"

[simulator]
enabled = true
listen = "127.0.0.1:{port}"
{new}{old}
[tenants.acme]
api_key_sha256 = "{tenant}"
provider = "stripe-new"
allowed_providers = ["stripe-new", "stripe-old"]
"#,
        new = provider("stripe-new", "2026-10-28.endive"),
        old = provider("stripe-old", "2025-03-31.basil"),
        tenant = support::sha256_hex(TENANT_KEY),
    );
    TestGateway::start(&toml).await
}

async fn send(
    gateway: &TestGateway,
    method: reqwest::Method,
    provider: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request =
        gateway.client.request(method, gateway.url(path)).bearer_auth(TENANT_KEY).header("checkout-provider", provider);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json body"))
}

async fn update(gateway: &TestGateway, provider: &str, id: &str, body: &Value) -> (u16, Value) {
    send(gateway, reqwest::Method::PATCH, provider, &format!("/v1/checkout/sessions/{id}"), Some(body)).await
}

async fn retrieve(gateway: &TestGateway, provider: &str, id: &str) -> (u16, Value) {
    send(gateway, reqwest::Method::GET, provider, &format!("/v1/checkout/sessions/{id}"), None).await
}

fn item_ids(session: &Value) -> Vec<String> {
    let items = session["line_items"].as_array().cloned().unwrap_or_default();
    items.iter().map(|item| item["id"].as_str().unwrap_or_default().to_owned()).collect()
}

#[tokio::test]
async fn update_and_retrieve_list_every_item_of_a_long_session_and_agree() {
    let gateway = gateway().await;
    let all: Vec<String> = (1..=12).map(|n| format!("li_cs_demo_many_items_{n}")).collect();
    for provider in ["stripe-new", "stripe-old"] {
        let (status, updated) =
            update(&gateway, provider, "cs_demo_many_items", &json!({"metadata": {"note": provider}})).await;
        assert_eq!(status, 200, "{updated}");
        let (status, retrieved) = retrieve(&gateway, provider, "cs_demo_many_items").await;
        assert_eq!(status, 200, "{retrieved}");
        for session in [&updated, &retrieved] {
            assert_eq!(item_ids(session), all, "{provider}: every item, not Stripe's first page of 10");
            assert_eq!(session["warnings"], json!([]), "{provider}: nothing is missing");
            // The session has a customer (email, phone) but no collected shipping details.
            assert_eq!(session["shipping"]["details"], Value::Null, "{provider}");
        }
        assert_eq!(updated["line_items"], retrieved["line_items"], "{provider}: the two answers agree");
        assert_eq!(updated["amounts"], retrieved["amounts"], "{provider}");
    }
    gateway.stop().await;
}

#[tokio::test]
async fn sku_external_id_and_image_written_by_the_gateway_come_back() {
    let gateway = gateway().await;
    for (provider, session_id) in [("stripe-new", "cs_demo_open"), ("stripe-old", "cs_demo_open_2")] {
        let body = json!({"currency": "USD", "line_items": [
            {"id": format!("li_{session_id}_1")},
            {"name": "GoPro mount", "quantity": 2, "unit_amount": 1500, "sku": "MNT-1",
             "external_id": "item-77", "image_url": "https://shop.example/mount.png"}]});
        let (status, updated) = update(&gateway, provider, session_id, &body).await;
        assert_eq!(status, 200, "{provider}: {updated}");
        let (status, retrieved) = retrieve(&gateway, provider, session_id).await;
        assert_eq!(status, 200, "{provider}: {retrieved}");
        for session in [&updated, &retrieved] {
            let mount = &session["line_items"][1];
            assert_eq!(mount["name"], "GoPro mount", "{provider}");
            assert_eq!(mount["sku"], "MNT-1", "{provider}");
            assert_eq!(mount["external_id"], "item-77", "{provider}");
            assert_eq!(mount["image_url"], "https://shop.example/mount.png", "{provider}");
        }
    }
    gateway.stop().await;
}

#[tokio::test]
async fn existing_items_take_new_values_and_ids_on_a_version_with_item_metadata() {
    let gateway = gateway().await;
    let body = json!({"currency": "USD", "line_items": [
        {"id": "li_cs_demo_open_1", "quantity": 2, "name": "GoPro HERO9 refurbished", "unit_amount": 29999,
         "sku": "GP-R"},
        {"id": "li_cs_demo_open_2", "external_id": "strap-9"}]});
    let (status, session) = update(&gateway, "stripe-new", "cs_demo_open", &body).await;
    assert_eq!(status, 200, "{session}");
    let first = &session["line_items"][0];
    assert_eq!(
        (&first["id"], &first["name"], &first["quantity"], &first["unit_amount"], &first["sku"]),
        (&json!("li_cs_demo_open_1"), &json!("GoPro HERO9 refurbished"), &json!(2), &json!(29_999), &json!("GP-R"))
    );
    assert_eq!(session["line_items"][1]["external_id"], "strap-9");
    assert_eq!(session["amounts"]["subtotal"], json!(2 * 29_999 + 2 * 1_999));

    // Without line-item metadata an existing item has nowhere to keep them: refused before any call.
    let (status, refused) = update(
        &gateway,
        "stripe-old",
        "cs_demo_open_2",
        &json!({"line_items": [
        {"id": "li_cs_demo_open_2_1", "sku": "GP-R"}]}),
    )
    .await;
    assert_eq!((status, &refused["code"]), (422, &json!("unsupported_field")), "{refused}");
    assert_eq!(support::pointers(&refused), ["/line_items/0/sku"]);
    gateway.stop().await;
}

#[tokio::test]
async fn per_item_provider_options_reach_stripe_and_may_not_overwrite_unified_fields() {
    let gateway = gateway().await;
    let body = json!({"line_items": [
        {"id": "li_cs_demo_open_1", "provider_options": {"stripe": {"adjustable_quantity": {"enabled": true, "maximum": 5}}}},
        {"id": "li_cs_demo_open_2", "provider_options": {"stripe": {"metadata": {"gift": "yes"}}, "mattilda": {"upc": "0123"}}}]});
    let (status, session) = send(
        &gateway,
        reqwest::Method::PATCH,
        "stripe-new",
        "/v1/checkout/sessions/cs_demo_open?include=provider_data",
        Some(&body),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    let raw = &session["provider_data"]["line_items"]["data"];
    assert_eq!(raw[0]["adjustable_quantity"], json!({"enabled": true, "maximum": 5, "minimum": null}));
    assert_eq!(raw[1]["metadata"], json!({"gift": "yes"}));

    let conflict = json!({"line_items": [
        {"id": "li_cs_demo_open_1", "sku": "GP-1", "provider_options": {"stripe": {"metadata": {"gift": "no"}}}}]});
    let (status, refused) = update(&gateway, "stripe-new", "cs_demo_open", &conflict).await;
    assert_eq!((status, &refused["code"]), (422, &json!("validation_failed")), "{refused}");
    assert_eq!(support::pointers(&refused), ["/line_items/0/provider_options/stripe/metadata"]);
    gateway.stop().await;
}
