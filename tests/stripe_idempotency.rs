//! Stripe's idempotency semantics end to end: the real gateway against the Stripe simulator over
//! sockets. Stripe saves the result of the first request under a key, 500s included, and
//! replays it for 24 hours; the gateway therefore sends each update attempt under its own key
//! (`providers/stripe/src/idempotency.rs`). The simulator's fault controls
//! (`providers/stripe/src/simulator/control.rs`) make the rare answers happen on demand.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use serde_json::{Value, json};
use support::{TENANT_KEY, TestGateway, sha256_hex};

const SIM_KEY: &str = "sk_test_stripe_idempotency";
const SESSION: &str = "cs_demo_open";

struct Setup {
    gateway: TestGateway,
    simulator: String,
}

/// A gateway whose one Stripe provider is the built-in simulator, retrying up to 3 attempts.
async fn start() -> Setup {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let simulator = format!("http://127.0.0.1:{port}/stripe");
    let toml = format!(
        r#"
[server]
listen = "127.0.0.1:0"
deadline_ms = 5000

[simulator]
enabled = true
listen = "127.0.0.1:{port}"

[providers.stripe]
kind = "stripe"
base_url = "{simulator}"
allow_insecure_http = true
api_key = {{ value = "{SIM_KEY}" }}
retry = {{ max_attempts = 3, base_delay_ms = 10, max_delay_ms = 50 }}

[tenants.acme]
api_key_sha256 = "{tenant}"
provider = "stripe"
"#,
        tenant = sha256_hex(TENANT_KEY),
    );
    Setup { gateway: TestGateway::start(&toml).await, simulator }
}

impl Setup {
    /// Arm a simulator fault for the next `count` updates of the session.
    async fn arm(&self, fault: &str, count: u32) {
        let response = self
            .gateway
            .client
            .post(format!("{}/_simulator/faults", self.simulator))
            .bearer_auth(SIM_KEY)
            .form(&[("session", SESSION), ("fault", fault), ("count", &count.to_string())])
            .send()
            .await
            .expect("arm fault");
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
    }

    /// The updates the simulator received: (forwarded `Idempotency-Key`, status, replayed).
    async fn received(&self) -> Vec<(String, u64, bool)> {
        let log: Value = self
            .gateway
            .client
            .get(format!("{}/_simulator/requests", self.simulator))
            .bearer_auth(SIM_KEY)
            .send()
            .await
            .expect("request log")
            .json()
            .await
            .expect("json");
        log["data"]
            .as_array()
            .expect("list")
            .iter()
            .map(|r| {
                let key = r["idempotency_key"].as_str().expect("every update carries a key").to_owned();
                (key, r["status"].as_u64().expect("status"), r["replayed"] == true)
            })
            .collect()
    }

    /// `PATCH` with a client `Idempotency-Key`: (status, gateway `Idempotent-Replayed`, body).
    async fn update(&self, client_key: &str, body: &Value) -> (u16, bool, Value) {
        let response = self
            .gateway
            .client
            .patch(self.gateway.url(&format!("/v1/checkout/sessions/{SESSION}")))
            .bearer_auth(TENANT_KEY)
            .header("idempotency-key", client_key)
            .json(body)
            .send()
            .await
            .expect("update");
        let status = response.status().as_u16();
        let replayed = response.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
        (status, replayed, response.json().await.expect("json body"))
    }
}

fn all_distinct(keys: &[&str]) -> bool {
    let mut sorted = keys.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted.len() == keys.len()
}

#[tokio::test]
async fn a_saved_500_does_not_block_the_retry_because_each_attempt_has_its_own_key() {
    let setup = start().await;
    setup.arm("server_error", 1).await;
    let (status, _, session) = setup.update("order-1", &json!({ "metadata": { "order_id": "e2e-1" } })).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["metadata"]["order_id"], "e2e-1");

    let received = setup.received().await;
    let statuses: Vec<_> = received.iter().map(|(_, status, replayed)| (*status, *replayed)).collect();
    assert_eq!(statuses, [(500, false), (200, false)], "the retry ran instead of receiving the saved 500");
    let (first, second) = (&received[0].0, &received[1].0);
    assert_ne!(first, second, "each attempt carries its own key");
    // Both derive from the same forwarded key (tenant + client key): `<forwarded>:<nonce>`.
    assert_eq!(first.rsplit_once(':').map(|(f, _)| f), second.rsplit_once(':').map(|(f, _)| f));
    setup.gateway.stop().await;
}

#[tokio::test]
async fn a_client_retry_with_the_same_key_after_a_502_goes_through() {
    let setup = start().await;
    setup.arm("server_error", 3).await;
    let body = json!({ "metadata": { "order_id": "e2e-2" } });
    let (status, _, problem) = setup.update("order-2", &body).await;
    assert_eq!((status, &problem["code"]), (502, &json!("provider_error")), "{problem}");

    // The gateway did not store the transient 502, and Stripe's saved 500s sit under the
    // attempts' own keys, so the client's retry with its key reaches Stripe and succeeds.
    let (status, replayed, session) = setup.update("order-2", &body).await;
    assert_eq!((status, replayed), (200, false), "{session}");
    assert_eq!(session["metadata"]["order_id"], "e2e-2");

    let received = setup.received().await;
    let statuses: Vec<_> = received.iter().map(|(_, status, replayed)| (*status, *replayed)).collect();
    assert_eq!(statuses, [(500, false), (500, false), (500, false), (200, false)]);
    let keys: Vec<&str> = received.iter().map(|(key, _, _)| key.as_str()).collect();
    assert!(all_distinct(&keys), "{keys:?}");
    setup.gateway.stop().await;
}

#[tokio::test]
async fn key_in_use_is_a_retryable_409_that_the_gateway_never_stores() {
    let setup = start().await;
    // Every attempt of the first request finds its key in use.
    setup.arm("key_in_use", 3).await;
    let body = json!({ "metadata": { "order_id": "e2e-3" } });
    let (status, _, problem) = setup.update("order-3", &body).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "idempotency_key_in_use");
    assert_eq!(problem["retryable"], true);
    assert_eq!(problem["provider"]["code"], "idempotency_key_in_use");

    // Not replayed from the gateway's store: the identical request reaches Stripe again.
    let (status, replayed, session) = setup.update("order-3", &body).await;
    assert_eq!((status, replayed), (200, false), "{session}");
    let statuses: Vec<_> = setup.received().await.iter().map(|(_, status, _)| *status).collect();
    assert_eq!(statuses, [409, 409, 409, 200]);
    setup.gateway.stop().await;
}
