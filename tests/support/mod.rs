//! Shared test helpers: start a real gateway on a loopback port from a TOML config.
#![allow(dead_code, reason = "each test binary uses a different subset of the helpers")]
#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

pub mod faults;
pub mod process;
pub mod redis;
pub mod redis_cluster;

use std::io::Write;
use std::net::SocketAddr;

use checkout_gateway::{config, server};

/// The tenant keys of the tests' configs (`config/gateway.toml`'s demo key is `demo-tenant-key`).
pub const TENANT_KEY: &str = "test-tenant-key";
pub const OTHER_TENANT_KEY: &str = "other-tenant-key";
pub const STRIPE_KEY: &str = "sk_test_gateway_secret_51";

pub fn sha256_hex(key: &str) -> String {
    checkout_gateway::api::extract::hash_key(key)
}

pub struct TestGateway {
    pub base: String,
    pub client: reqwest::Client,
    pub simulator_addr: Option<SocketAddr>,
    /// `http://<server.admin_listen>` when the config sets one.
    pub admin_base: Option<String>,
    running: Option<server::Running>,
    _file: tempfile::NamedTempFile,
}

impl TestGateway {
    /// Start a gateway from `toml` (its `server.listen` should be `127.0.0.1:0`).
    pub async fn start(toml: &str) -> Self {
        let mut file = tempfile::Builder::new().suffix(".toml").tempfile().expect("temp file");
        file.write_all(toml.as_bytes()).expect("write config");
        let config = config::load(file.path()).unwrap_or_else(|e| panic!("config: {e}"));
        let running = server::start(config).await.expect("start gateway");
        Self {
            base: format!("http://{}", running.addr),
            client: reqwest::Client::new(),
            simulator_addr: running.simulator_addr,
            admin_base: running.admin_addr.map(|addr| format!("http://{addr}")),
            running: Some(running),
            _file: file,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `PATCH /v1/checkout/sessions/{id}` with the test tenant's key.
    pub async fn patch(&self, id: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .patch(self.url(&format!("/v1/checkout/sessions/{id}")))
            .bearer_auth(TENANT_KEY)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(TENANT_KEY).send().await.expect("request")
    }

    /// Send the request line + headers verbatim over TCP (a client library would normalise paths
    /// like `%2E%2E`), and return the status code and the body (after the blank line; the
    /// gateway does not chunk these short problem bodies).
    pub async fn raw(&self, method_and_path: &str, body: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let request = format!(
            "{method_and_path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {TENANT_KEY}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        let status = response.split_whitespace().nth(1).and_then(|code| code.parse().ok()).expect("status line");
        let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
        (status, body)
    }

    /// Reload from `path` as SIGHUP would; `Err` is the refusal's text.
    pub fn reload(&self, path: &std::path::Path) -> Result<(), String> {
        let running = self.running.as_ref().expect("running");
        server::reload(&running.gateway, path).map_err(|refusal| refusal.to_string())
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }
}

/// A config with one Stripe provider at `base_url` (plain http allowed: a loopback mock).
pub fn stripe_config(base_url: &str, extra_tenant: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
deadline_ms = 3000

[providers.stripe-main]
kind = "stripe"
base_url = "{base_url}"
allow_insecure_http = true
api_key = {{ value = "{STRIPE_KEY}" }}
api_version = "2025-03-31.basil"
timeout_ms = 1000
retry = {{ max_attempts = 3, base_delay_ms = 10, max_delay_ms = 50 }}

[providers.stripe-other]
kind = "stripe"
base_url = "{base_url}"
allow_insecure_http = true
api_key = {{ value = "{STRIPE_KEY}" }}

[tenants.acme]
api_key_sha256 = "{tenant}"
provider = "stripe-main"
{extra_tenant}
"#,
        tenant = sha256_hex(TENANT_KEY),
    )
}

/// The problem+json body, asserting the media type.
pub async fn problem(response: reqwest::Response) -> serde_json::Value {
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(content_type, "application/problem+json", "expected problem+json");
    response.json().await.expect("problem body")
}

pub fn pointers(problem: &serde_json::Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| errors.iter().map(|e| e["pointer"].as_str().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default()
}
