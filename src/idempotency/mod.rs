//! The idempotency store (DESIGN §5): keyed by (tenant, client key), holding a fingerprint of
//! the request and, once finished, the response. `memory` serves one instance; `redis` lets
//! several instances share state, with an atomic claim so concurrent identical requests across
//! instances make exactly one provider call.
//!
//! A claim hands out a [`ClaimToken`]; `complete` and `release` act only while that token still
//! holds the key, so a request that outlived its in-flight claim cannot overwrite or delete a
//! newer request's claim. [`ClaimGuard`] releases a claim its request abandoned.

mod guard;
mod memory;
mod redis_store;

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use guard::ClaimGuard;
pub use memory::{MemoryBudget, MemoryStore};
pub use redis_store::RedisStore;

/// A finished response, as replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    /// The headers DESIGN §2 lists (content type, provider, retry-after), as (name, value).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl StoredResponse {
    /// Bytes of text this response holds (what a store's byte budget counts).
    pub fn size(&self) -> usize {
        self.body.len() + self.headers.iter().map(|(name, value)| name.len() + value.len()).sum::<usize>()
    }
}

/// Proof of a claim: only its holder may complete or release the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimToken(String);

impl ClaimToken {
    fn new() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller owns the key now and must `complete` or `release` it with this token.
    Acquired(ClaimToken),
    /// Another request with the same fingerprint is running.
    InFlight,
    /// The same request finished before: replay this.
    Replay(StoredResponse),
    /// The key was used with a different request.
    Mismatch,
}

/// Whether a fenced write (`complete`, `release`) still held its claim. `Lost`: the claim had
/// expired (and may be held by a newer request), so nothing was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fence {
    Held,
    Lost,
}

/// Where a (tenant, client key) lives: the tenant (the memory store keeps each tenant's records
/// apart) and a hash of both (client keys are client data of any shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreKey {
    tenant: String,
    hashed: String,
}

impl StoreKey {
    pub fn new(tenant: &str, client_key: &str) -> Self {
        let digest = Sha256::new()
            .chain_update(tenant.as_bytes())
            .chain_update([0])
            .chain_update(client_key.as_bytes())
            .finalize();
        // `v2`: records are Redis hashes now; a string record of the older layout is never read.
        // The digest is the cluster hash tag (`crate::redis_conn::key`).
        Self { tenant: tenant.to_owned(), hashed: crate::redis_conn::key("cg:idem:v2", &hex::encode(digest)) }
    }

    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The key as stored (`cg:idem:v2:{<hex SHA-256>}`).
    pub fn as_str(&self) -> &str {
        &self.hashed
    }
}

/// The answer to a claim on a finished record.
fn finished(held_fingerprint: &str, fingerprint: &str, response: StoredResponse) -> Claim {
    if held_fingerprint == fingerprint { Claim::Replay(response) } else { Claim::Mismatch }
}

/// The answer to a claim on a key another request holds.
fn held_by_another(held_fingerprint: &str, fingerprint: &str) -> Claim {
    if held_fingerprint == fingerprint { Claim::InFlight } else { Claim::Mismatch }
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
        key: &'a StoreKey,
        fingerprint: &'a str,
        in_flight_ttl: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>>;
    /// Store the finished response for `ttl`, if `token` still holds the key.
    fn complete<'a>(
        &'a self,
        key: &'a StoreKey,
        token: &'a ClaimToken,
        response: StoredResponse,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Fence, StoreError>>;
    /// Give the key up (the outcome is not worth replaying), so the client may retry; only if
    /// `token` still holds it.
    fn release<'a>(&'a self, key: &'a StoreKey, token: &'a ClaimToken) -> BoxFuture<'a, Result<Fence, StoreError>>;
    /// Whether the backend answers (for `/readyz`).
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// The Redis connection (one node or a cluster) when the store is shared, so other
    /// per-tenant state (rate-limit buckets, switch-report counts) is shared the same way.
    fn shared_connection(&self) -> Option<crate::redis_conn::SharedRedis> {
        None
    }
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
        assert_ne!(StoreKey::new("t1", "k"), StoreKey::new("t2", "k"));
        assert_ne!(StoreKey::new("t1", "k").as_str(), StoreKey::new("t2", "k").as_str());
        let stored = StoreKey::new("t1", "k");
        assert!(stored.as_str().starts_with("cg:idem:v2:{") && stored.as_str().ends_with('}'), "{stored:?}");
    }
}
