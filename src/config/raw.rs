//! The config file's shape (DESIGN §6), as figment deserializes it. Validation into the runtime
//! types happens in `config::load`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub idempotency: RawIdempotency,
    #[serde(default)]
    pub simulator: RawSimulator,
    #[serde(default)]
    pub providers: BTreeMap<String, RawProvider>,
    #[serde(default)]
    pub tenants: BTreeMap<String, RawTenant>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    pub listen: String,
    pub max_body_bytes: usize,
    pub max_response_bytes: usize,
    pub deadline_ms: u64,
    pub max_concurrency: usize,
    pub shutdown_grace_ms: u64,
    pub log_format: LogFormat,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            max_body_bytes: 1024 * 1024,
            max_response_bytes: 2 * 1024 * 1024,
            deadline_ms: 30_000,
            max_concurrency: 1024,
            shutdown_grace_ms: 10_000,
            log_format: LogFormat::Text,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawIdempotency {
    pub store: StoreKind,
    pub redis_url: Option<String>,
    pub ttl_seconds: u64,
    /// How long a request waits for an identical one in flight before answering 409.
    pub in_flight_wait_ms: u64,
    /// Bound of the memory store.
    pub max_entries: u64,
}

impl Default for RawIdempotency {
    fn default() -> Self {
        Self {
            store: StoreKind::Memory,
            redis_url: None,
            ttl_seconds: 86_400,
            in_flight_wait_ms: 10_000,
            max_entries: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    #[default]
    Memory,
    Redis,
}

/// Built-in provider simulators for the embedded default config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSimulator {
    pub enabled: bool,
    pub listen: String,
}

impl Default for RawSimulator {
    fn default() -> Self {
        Self { enabled: false, listen: "127.0.0.1:8081".to_owned() }
    }
}

/// A provider table: the keys the gateway owns, and the rest for the adapter (which rejects
/// unknown keys itself; serde cannot combine `deny_unknown_fields` with `flatten`).
#[derive(Debug, Deserialize)]
pub struct RawProvider {
    pub kind: String,
    pub base_url: String,
    #[serde(default)]
    pub allow_insecure_http: bool,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default)]
    pub retry: RawRetry,
    #[serde(default)]
    pub circuit_breaker: RawBreaker,
    /// DESIGN §7: the method + path patterns the passthrough proxy forwards.
    #[serde(default)]
    pub passthrough: RawPassthrough,
    #[serde(flatten)]
    pub settings: Map<String, Value>,
}

fn default_timeout_ms() -> u64 {
    10_000
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRetry {
    pub max_attempts: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
}

impl Default for RawRetry {
    fn default() -> Self {
        Self { max_attempts: 3, base_delay_ms: 100, max_delay_ms: 2_000 }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawBreaker {
    pub failure_threshold: u32,
    pub cool_down_ms: u64,
}

impl Default for RawBreaker {
    fn default() -> Self {
        Self { failure_threshold: 5, cool_down_ms: 30_000 }
    }
}

/// `passthrough = { allow = ["GET /v1/checkout/sessions/*"] }`; empty forwards nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPassthrough {
    pub allow: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTenant {
    pub api_key_sha256: String,
    pub provider: String,
    #[serde(default)]
    pub allowed_providers: Vec<String>,
    #[serde(default)]
    pub on_unsupported: OnUnsupported,
    #[serde(default)]
    pub rate_limit: Option<RawRateLimit>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnUnsupported {
    #[default]
    Reject,
    Ignore,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    pub requests_per_second: f64,
    pub burst: u32,
}
