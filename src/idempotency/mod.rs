//! The idempotency store (DESIGN §5): keyed by (tenant, client key), holding a fingerprint of
//! the request and, once finished, the response. `memory` serves one instance; `redis` lets
//! several instances share state, with an atomic claim so concurrent identical requests across
//! instances make exactly one provider call.

mod memory;
mod redis_store;

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use memory::MemoryStore;
pub use redis_store::RedisStore;

/// A finished response, as replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    /// The headers DESIGN §2 lists (content type, provider, retry-after), as (name, value).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller owns the key now and must `complete` or `release` it.
    Acquired,
    /// Another request with the same fingerprint is running.
    InFlight,
    /// The same request finished before: replay this.
    Replay(StoredResponse),
    /// The key was used with a different request.
    Mismatch,
}

/// The state behind a key, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum Entry {
    InFlight { fingerprint: String },
    Done { fingerprint: String, response: StoredResponse },
}

impl Entry {
    fn claim_result(&self, fingerprint: &str) -> Claim {
        match self {
            Self::InFlight { fingerprint: held } if held == fingerprint => Claim::InFlight,
            Self::Done { fingerprint: held, response } if held == fingerprint => Claim::Replay(response.clone()),
            Self::InFlight { .. } | Self::Done { .. } => Claim::Mismatch,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("idempotency store: {0}")]
pub struct StoreError(pub String);

/// One store interface for both backends.
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Atomically claim `key` for `fingerprint`, or report what holds it. An in-flight claim
    /// expires after `in_flight_ttl`, so a crashed instance cannot block a key for long.
    fn claim<'a>(
        &'a self,
        key: &'a str,
        fingerprint: &'a str,
        in_flight_ttl: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>>;
    /// Store the finished response for `ttl`.
    fn complete<'a>(
        &'a self,
        key: &'a str,
        fingerprint: &'a str,
        response: StoredResponse,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Give the key up (the outcome is not worth replaying), so the client may retry.
    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Whether the backend answers (for `/readyz`).
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// The Redis connection when the store is shared, so other per-tenant state (the rate
    /// limiter) is shared the same way.
    fn shared_connection(&self) -> Option<redis::aio::ConnectionManager> {
        None
    }
}

/// The store key for a tenant's client key (hashed: keys are client data of any shape).
pub fn store_key(tenant: &str, client_key: &str) -> String {
    let digest =
        Sha256::new().chain_update(tenant.as_bytes()).chain_update([0]).chain_update(client_key.as_bytes()).finalize();
    format!("cg:idem:{}", hex::encode(digest))
}

/// Fingerprint of (method, session, provider, canonical body). `serde_json` maps are sorted, so
/// the same JSON in any key order gives the same fingerprint.
pub fn fingerprint(method: &str, session_id: &str, provider: &str, body: &serde_json::Value) -> String {
    let canonical = serde_json::to_string(body).unwrap_or_default();
    let digest = Sha256::new()
        .chain_update(method.as_bytes())
        .chain_update([0])
        .chain_update(session_id.as_bytes())
        .chain_update([0])
        .chain_update(provider.as_bytes())
        .chain_update([0])
        .chain_update(canonical.as_bytes())
        .finalize();
    hex::encode(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_key_order_but_not_values() {
        let a: serde_json::Value = serde_json::from_str(r#"{"a":1,"b":{"c":2,"d":3}}"#).expect("json");
        let b: serde_json::Value = serde_json::from_str(r#"{"b":{"d":3,"c":2},"a":1}"#).expect("json");
        let c: serde_json::Value = serde_json::from_str(r#"{"a":1,"b":{"c":2,"d":4}}"#).expect("json");
        assert_eq!(fingerprint("PATCH", "s", "p", &a), fingerprint("PATCH", "s", "p", &b));
        assert_ne!(fingerprint("PATCH", "s", "p", &a), fingerprint("PATCH", "s", "p", &c));
        assert_ne!(fingerprint("PATCH", "s", "p", &a), fingerprint("PATCH", "s2", "p", &a));
        assert_ne!(store_key("t1", "k"), store_key("t2", "k"));
    }
}
