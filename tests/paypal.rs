//! PayPal end to end through the real binary: `checkout-gateway serve` with the embedded default
//! config (its built-in simulators on a free port), so every call goes through the gateway's
//! token source (OAuth 2.0 client credentials against the simulator's `/v1/oauth2/token`), the
//! read before the patch, the `204` and the read after it.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use serde_json::{Value, json};
use support::process::GatewayProcess;

const DEMO_KEY: &str = "demo-tenant-key";
const STRIPE_SESSION: &str = "cs_demo_open";
/// The simulator's open USD order: a T-shirt (2 × 10.00) and 5.00 shipping.
const PAYPAL_ORDER: &str = "5O190127TN364715T";
const COMPLETED_ORDER: &str = "3C679366HH908993F";

struct Running {
    gateway: GatewayProcess,
    simulators: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// `config/gateway.toml` as shipped, on free ports, with JSON logs (how the helper finds the
/// address).
fn start() -> Running {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/gateway.toml")).expect("default config");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let text = text
        .replace("127.0.0.1:8081", &format!("127.0.0.1:{port}"))
        .replace("127.0.0.1:8080", "127.0.0.1:0")
        .replacen("[server]\n", "[server]\nlog_format = \"json\"\n", 1);
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, text).expect("write config");
    let gateway = GatewayProcess::start(&path, "info");
    Running { gateway, simulators: format!("http://127.0.0.1:{port}"), client: reqwest::Client::new(), _dir: dir }
}

impl Running {
    async fn update(&self, provider: &str, id: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .patch(format!("{}/v1/checkout/sessions/{id}", self.gateway.base))
            .bearer_auth(DEMO_KEY)
            .header("checkout-provider", provider)
            .json(body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json"))
    }

    async fn get(&self, path: &str, provider: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.gateway.base))
            .bearer_auth(DEMO_KEY)
            .header("checkout-provider", provider)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json"))
    }

    /// One of the PayPal simulator's control endpoints (client credentials in HTTP Basic, as
    /// in the embedded default config).
    async fn simulator_control(&self, method: reqwest::Method, path: &str) -> Value {
        self.client
            .request(method, format!("{}/paypal/_simulator/{path}", self.simulators))
            .basic_auth("paypal-demo-client-id", Some("paypal-demo-client-secret"))
            .send()
            .await
            .expect("simulator")
            .json()
            .await
            .expect("json")
    }
}

/// What a shop sends Stripe today: metadata, priced items, and where to ship.
fn shop_update() -> Value {
    json!({
        "metadata": {"order_id": "42"},
        "currency": "usd",
        "line_items": [{"name": "Mug", "quantity": 3, "unit_amount": 1250}],
        "shipping_details": {"name": "Ada Lovelace",
            "address": {"line1": "12 Oak Ave", "city": "London", "postal_code": "N1 9GU", "country": "GB"}}
    })
}

#[tokio::test]
async fn a_unified_update_that_works_on_stripe_works_unchanged_on_paypal() {
    let running = start();
    let (status, stripe) = running.update("stripe", STRIPE_SESSION, &shop_update()).await;
    assert_eq!(status, 200, "{stripe}");
    let (status, paypal) = running.update("paypal", PAYPAL_ORDER, &shop_update()).await;
    assert_eq!(status, 200, "{paypal}");
    assert_eq!(paypal["provider_kind"], "paypal");
    assert_eq!(paypal["status"], "open");
    assert_eq!(paypal["warnings"], json!([]), "read back after the 204: {paypal}");
    for field in ["/metadata/order_id", "/currency", "/line_items/0/name", "/line_items/0/quantity"] {
        assert_eq!(paypal.pointer(field), stripe.pointer(field), "{field}: {paypal}");
    }
    assert_eq!(paypal["line_items"][0]["unit_amount"], 1250);
    // 3 × 12.50, plus the order's 5.00 shipping kept in the breakdown.
    assert_eq!(paypal["amounts"]["subtotal"], 3750);
    assert_eq!(paypal["amounts"]["total"], 4250);
    assert_eq!(paypal["shipping"]["details"]["name"], "Ada Lovelace");
    assert_eq!(paypal["shipping"]["details"]["address"]["country"], "GB");

    // The order itself changed: a fresh read shows what the update answered.
    let (status, read) = running.get(&format!("/v1/checkout/sessions/{PAYPAL_ORDER}"), "paypal").await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["metadata"], paypal["metadata"]);
    assert_eq!(read["amounts"], paypal["amounts"]);
}

#[tokio::test]
async fn what_paypal_cannot_express_is_refused_all_at_once_before_any_call() {
    let running = start();
    let mut body = shop_update();
    body["shipping_rate"] = json!("shr_standard");
    body["redirects"] = json!({"cancel_url": "https://shop.example/cart"});
    body["shipping_details"]["email"] = json!("ada@example.com");
    let (status, problem) = running.update("paypal", PAYPAL_ORDER, &body).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["code"], "unsupported_field");
    let pointers: Vec<&str> =
        problem["errors"].as_array().into_iter().flatten().filter_map(|e| e["pointer"].as_str()).collect();
    assert_eq!(pointers, ["/redirects/cancel_url", "/shipping_details/email", "/shipping_rate"]);
    let tokens = running.simulator_control(reqwest::Method::GET, "tokens").await;
    assert_eq!(tokens["issued"], 0, "refused before any provider call, the token endpoint included");
}

#[tokio::test]
async fn a_completed_order_answers_409_session_not_updatable() {
    let running = start();
    let (status, problem) = running.update("paypal", COMPLETED_ORDER, &json!({"metadata": {"order_id": "42"}})).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "session_not_updatable");
    assert_eq!(problem["provider"]["code"], "ORDER_ALREADY_COMPLETED");
    assert!(problem["provider"]["request_id"].as_str().is_some_and(|id| !id.is_empty()), "debug_id: {problem}");
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_update_goes_through() {
    let running = start();
    let (status, first) = running.update("paypal", PAYPAL_ORDER, &json!({"description": "first"})).await;
    assert_eq!(status, 200, "{first}");
    let issued = running.simulator_control(reqwest::Method::GET, "tokens").await["issued"].as_u64();
    assert_eq!(issued, Some(1), "one token serves the read, the patch and the read back");
    running.simulator_control(reqwest::Method::POST, "expire-tokens").await;
    let (status, second) = running.update("paypal", PAYPAL_ORDER, &json!({"description": "second"})).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["description"], "second");
    let issued = running.simulator_control(reqwest::Method::GET, "tokens").await["issued"].as_u64();
    assert_eq!(issued, Some(2), "the 401 fetched exactly one new token");
    let logs = running.gateway.logs().join("\n");
    assert!(!logs.contains("A21AA"), "a token reached the logs");
    assert!(!logs.contains("paypal-demo-client-secret"), "the client secret reached the logs");
}

#[tokio::test]
async fn paypal_is_listed_and_a_stripe_tenant_sees_what_moving_to_it_keeps() {
    let running = start();
    let (status, providers) = running.get("/v1/providers", "paypal").await;
    assert_eq!(status, 200, "{providers}");
    let entries = providers["data"].as_array().cloned().unwrap_or_default();
    let paypal = entries.iter().find(|entry| entry["name"] == "paypal").unwrap_or_else(|| panic!("{providers}"));
    assert_eq!(paypal["kind"], "paypal");
    let support = |feature: &str| {
        let capabilities = paypal["capabilities"].as_array().cloned().unwrap_or_default();
        capabilities.into_iter().find(|c| c["feature"] == feature).map(|c| c["support"].clone())
    };
    assert_eq!(support("metadata_set"), Some(json!("emulated")));
    assert_eq!(support("shipping_options"), Some(json!("unsupported")));

    // The shop's Stripe traffic, then the switch report for a move to PayPal.
    let (status, _) = running.update("stripe", STRIPE_SESSION, &shop_update()).await;
    assert_eq!(status, 200);
    let (status, report) = running.get("/v1/providers/compatibility?to=paypal", "stripe").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!((report["kind"].clone(), report["compatible"].clone()), (json!("paypal"), json!(true)), "{report}");
    let sent: Vec<&str> =
        report["fields"].as_array().into_iter().flatten().filter_map(|f| f["feature"].as_str()).collect();
    assert!(sent.contains(&"shipping_details") && sent.contains(&"line_items_ad_hoc"), "{report}");
}

#[tokio::test]
async fn a_failed_read_back_still_reports_the_update_as_done() {
    let running = start();
    running.simulator_control(reqwest::Method::POST, "fail-reads-after-patch?count=20").await;
    let (status, session) = running.update("paypal", PAYPAL_ORDER, &json!({"description": "written"})).await;
    assert_eq!(status, 200, "the write went through: {session}");
    assert_eq!(session["id"], PAYPAL_ORDER);
    assert_eq!(session["description"], Value::Null, "nothing was read back: {session}");
    let codes: Vec<&str> =
        session["warnings"].as_array().into_iter().flatten().filter_map(|w| w["code"].as_str()).collect();
    assert_eq!(codes, ["update_not_read_back", "follow_up_failed"], "{session}");
    running.simulator_control(reqwest::Method::POST, "fail-reads-after-patch?count=0").await;
    let (status, read) = running.get(&format!("/v1/checkout/sessions/{PAYPAL_ORDER}"), "paypal").await;
    assert_eq!((status, read["description"].clone()), (200, json!("written")), "{read}");
}
