//! The config file's shape (DESIGN §6), as figment deserializes it. Validation into the runtime
//! types happens in `config::load`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use checkout_provider_interface::SecretRef;
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
    #[serde(default)]
    pub telemetry: super::telemetry::RawTelemetry,
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
    /// Serves `/metrics` and the detailed readiness; unset keeps `/metrics` on `listen`.
    pub admin_listen: Option<String>,
    /// A connection whose request headers are not complete within this is closed.
    pub header_read_timeout_ms: u64,
    /// A request body not fully read within this (from the headers) answers 408.
    pub body_read_timeout_ms: u64,
    /// Open connections beyond this are closed as soon as they are accepted.
    pub max_connections: usize,
    /// Failed authentications per client address within the window before 429 (0: no limit).
    pub auth_failure_limit: u32,
    pub auth_failure_window_seconds: u64,
    /// What the shared (Redis) rate limiter does when the store does not answer.
    pub rate_limit_on_store_error: StoreErrorPolicy,
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
            admin_listen: None,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 10_000,
            max_connections: 4096,
            auth_failure_limit: 10,
            auth_failure_window_seconds: 60,
            rate_limit_on_store_error: StoreErrorPolicy::FailOpen,
        }
    }
}

/// `fail_open` lets requests through while Redis is down (the limiter protects providers, it
/// must not take every tenant down with the store); `fail_closed` answers 503
/// `store_unavailable` instead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreErrorPolicy {
    #[default]
    FailOpen,
    FailClosed,
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
    /// One Redis node (`redis://` or `rediss://`).
    pub redis_url: Option<String>,
    /// The seed nodes of a Redis Cluster, instead of `redis_url`; the client finds the rest.
    pub redis_cluster_urls: Vec<String>,
    /// PEM file of the CA that signed the Redis servers' certificates (`rediss://` only); unset:
    /// the system's roots.
    pub redis_ca_file: Option<PathBuf>,
    /// ACL user and password, as secret references, for every node.
    pub redis_username: Option<SecretRef>,
    pub redis_password: Option<SecretRef>,
    /// Replicas a claim must reach (Redis `WAIT`, on the key's master) before the provider is
    /// called; fewer within the wait: the claim is released and the request answers 503. 0: off.
    pub redis_claim_replicas: u32,
    pub ttl_seconds: u64,
    /// How long a request waits for an identical one in flight before answering 409.
    pub in_flight_wait_ms: u64,
    /// Bound of the memory store, per tenant: records.
    pub max_entries: u64,
    /// Bound of the memory store, per tenant: bytes of keys, fingerprints and stored answers.
    pub max_bytes_per_tenant: u64,
}

impl Default for RawIdempotency {
    fn default() -> Self {
        Self {
            store: StoreKind::Memory,
            redis_url: None,
            redis_cluster_urls: Vec::new(),
            redis_ca_file: None,
            redis_username: None,
            redis_password: None,
            redis_claim_replicas: 0,
            ttl_seconds: 86_400,
            in_flight_wait_ms: 10_000,
            max_entries: 100_000,
            max_bytes_per_tenant: 16 * 1024 * 1024,
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
    /// Connections (and calls) open to this provider at once; further calls queue until their
    /// deadline (`crate::dispatch::upstream`).
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    #[serde(default)]
    pub retry: RawRetry,
    #[serde(default)]
    pub circuit_breaker: RawBreaker,
    /// DESIGN §7: the method + path patterns the passthrough proxy forwards.
    #[serde(default)]
    pub passthrough: RawPassthrough,
    /// Which tenant a session belongs to; required when several tenants reach this entry.
    #[serde(default)]
    pub ownership: Option<RawOwnership>,
    #[serde(flatten)]
    pub settings: Map<String, Value>,
}

/// `ownership = { metadata_key = "tenant_id" }`: a session belongs to the tenant whose
/// ownership value its `metadata[metadata_key]` holds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOwnership {
    pub metadata_key: String,
}

fn default_timeout_ms() -> u64 {
    10_000
}

fn default_max_connections() -> usize {
    64
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
    /// Requests of this tenant in flight at once, beyond which it gets 429 (unset: no cap).
    #[serde(default)]
    pub max_concurrency: Option<usize>,
    /// The value marking this tenant's sessions at providers with an ownership rule (unset:
    /// the tenant's name).
    #[serde(default)]
    pub ownership_value: Option<String>,
    /// Rules that pick the provider from the session id, tried in order before `provider`
    /// (`Checkout-Provider` still wins): `config::routes`.
    #[serde(default)]
    pub routes: Vec<RawRoute>,
}

/// `{ provider = "old", session_ids = "^cs_" }`: a regular expression, or `provider_format` for
/// the provider's published session-id format.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub provider: String,
    pub session_ids: String,
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
