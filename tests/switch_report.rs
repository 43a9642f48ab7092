//! The switch report: which unified fields a tenant actually sent, and how a target provider
//! supports each; and the static kind-to-kind table of `checkout-gateway compat`.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use serde_json::{Value, json};
use support::{TENANT_KEY, TestGateway, stripe_config};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn the_report_counts_what_the_tenant_sent_against_the_target() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "cs_s", "object": "checkout.session", "status": "open" })),
        )
        .mount(&mock)
        .await;
    let config = stripe_config(&mock.uri(), "allowed_providers = [\"stripe-main\", \"paypercut\"]").replace(
        "[tenants.acme]",
        &format!("[providers.paypercut]\nkind = \"paypercut\"\nbase_url = \"{}\"\nallow_insecure_http = true\napi_key = {{ value = \"sk_test_pp\" }}\n\n[tenants.acme]", mock.uri()),
    );
    let gateway = TestGateway::start(&config).await;
    let items = json!({ "metadata": { "order": "1" }, "currency": "usd",
        "line_items": [ { "name": "Tee", "quantity": 1, "unit_amount": 1000 }, { "name": "Cap", "quantity": 1, "unit_amount": 500 } ] });
    assert_eq!(gateway.patch("cs_s", &items).await.status(), 200);
    assert_eq!(gateway.patch("cs_s", &json!({ "metadata": { "order": "2" } })).await.status(), 200);

    let report: Value = gateway.get("/v1/providers/compatibility?to=paypercut").await.json().await.expect("json");
    assert_eq!(report["to"], "paypercut");
    assert_eq!(report["compatible"], false);
    let field =
        |feature: &str| report["fields"].as_array().expect("fields").iter().find(|f| f["feature"] == feature).cloned();
    let metadata = field("metadata_set").expect("metadata counted");
    assert_eq!(metadata["requests"], 2);
    assert_eq!(metadata["support"], "unsupported");
    assert_eq!(field("line_items_ad_hoc").expect("items counted")["requests"], 1, "counted once per request");
    assert!(field("shipping_rate").is_none(), "never sent, not listed");

    let same: Value = gateway.get("/v1/providers/compatibility?to=stripe-main").await.json().await.expect("json");
    assert_eq!(same["compatible"], true);
    let outside = gateway
        .client
        .get(gateway.url("/v1/providers/compatibility?to=nope"))
        .bearer_auth(TENANT_KEY)
        .send()
        .await
        .expect("request");
    assert_eq!(outside.status(), 403);
    let missing = gateway
        .client
        .get(gateway.url("/v1/providers/compatibility"))
        .bearer_auth(TENANT_KEY)
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), 422);
    gateway.stop().await;
}

#[test]
fn compat_prints_the_static_capability_difference() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_checkout-gateway"))
        .args(["compat", "--from", "stripe", "--to", "paypercut"])
        .output()
        .expect("run");
    assert!(output.status.success());
    let table = String::from_utf8_lossy(&output.stdout);
    let row = |field: &str| table.lines().find(|l| l.starts_with(field)).unwrap_or_default().to_owned();
    assert!(row("metadata (set a key)").ends_with("breaks"), "{table}");
    assert!(row("shipping_rate").ends_with("gained"), "{table}");
    let unknown = std::process::Command::new(env!("CARGO_BIN_EXE_checkout-gateway"))
        .args(["compat", "--from", "stripe", "--to", "nope"])
        .output()
        .expect("run");
    assert!(!unknown.status.success());
}
