//! Property tests of the update endpoint: arbitrary JSON values and arbitrary bytes never cause
//! a 500 or a panic, and every refusal is problem+json.

#![allow(clippy::expect_used, reason = "test helpers fail the test loudly")]

mod support;

use proptest::prelude::*;
use serde_json::Value;
use support::{TENANT_KEY, TestGateway, stripe_config};

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        "[a-z_]{0,12}".prop_map(Value::String),
        ".{0,40}".prop_map(Value::String),
    ];
    let fields = prop::sample::select(vec![
        "metadata",
        "line_items",
        "currency",
        "shipping_rate",
        "shipping_options",
        "shipping_details",
        "billing_details",
        "redirects",
        "page",
        "description",
        "expires_in",
        "provider_options",
        "name",
        "quantity",
        "unit_amount",
        "id",
        "price",
        "address",
        "country",
        "stripe",
        "x",
    ]);
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(fields.clone().prop_map(str::to_owned), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One runtime and one gateway for all cases (a closed provider port: anything that passes
/// validation ends as provider_unavailable, never a 500).
fn shared() -> &'static (tokio::runtime::Runtime, TestGateway) {
    static SHARED: std::sync::OnceLock<(tokio::runtime::Runtime, TestGateway)> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let gateway = rt.block_on(TestGateway::start(&stripe_config("http://127.0.0.1:9", "")));
        (rt, gateway)
    })
}

async fn send(gateway: &TestGateway, body: Vec<u8>) -> (u16, String, Vec<u8>) {
    let response = gateway
        .client
        .patch(gateway.url("/v1/checkout/sessions/cs_prop"))
        .bearer_auth(TENANT_KEY)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (status, content_type, response.bytes().await.expect("body").to_vec())
}

fn check(status: u16, content_type: &str, body: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(status != 500, "500 for a client input: {}", String::from_utf8_lossy(body));
    if status >= 400 {
        prop_assert_eq!(content_type, "application/problem+json");
        let problem: Value = serde_json::from_slice(body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(problem["code"].is_string());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_breaks_the_update_endpoint(value in arbitrary_json()) {
        let (rt, gateway) = shared();
        let (status, content_type, body) = rt.block_on(send(gateway, serde_json::to_vec(&value).expect("json")));
        check(status, &content_type, &body)?;
    }

    #[test]
    fn arbitrary_bytes_never_break_the_update_endpoint(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let (rt, gateway) = shared();
        let (status, content_type, body) = rt.block_on(send(gateway, bytes));
        check(status, &content_type, &body)?;
    }
}
