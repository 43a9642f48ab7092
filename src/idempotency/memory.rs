//! In-memory store for a single instance. Each tenant has its own records, bounded in bytes and
//! in count, so one tenant's flood evicts only its own records (finding 7). Finished records live
//! in a moka cache (LRU: a new record is always admitted, the tenant's least recently used ones
//! go); in-flight claims live beside it in a map that never evicts, since an evicted claim would
//! let an identical request run a second time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use moka::Expiry;
use moka::future::Cache;
use moka::policy::EvictionPolicy;

use super::{
    Claim, ClaimToken, Fence, IdempotencyStore, StoreError, StoreKey, StoredResponse, finished, held_by_another,
};

/// What each tenant may hold. Memory use is bounded by tenants × `bytes_per_tenant`.
#[derive(Debug, Clone, Copy)]
pub struct MemoryBudget {
    pub bytes_per_tenant: u64,
    pub entries_per_tenant: u64,
}

/// Bytes a record costs beyond its text: the cache node, the `Arc`, the allocations' headers.
const RECORD_OVERHEAD: u64 = 160;

pub struct MemoryStore {
    budget: MemoryBudget,
    /// Tenant name → its records. Tenants are configured names, so this map stays small.
    tenants: Mutex<HashMap<String, Arc<TenantRecords>>>,
}

struct TenantRecords {
    /// Key → the request running under it. One per running request, so bounded by concurrency;
    /// expired claims are dropped whenever a new one is added. The lock also orders every
    /// claim, complete and release of this tenant, so a check and its write are one step.
    claims: tokio::sync::Mutex<HashMap<String, Held>>,
    finished: Cache<String, Arc<Record>>,
}

struct Held {
    fingerprint: String,
    token: ClaimToken,
    expires: Instant,
}

struct Record {
    fingerprint: String,
    response: StoredResponse,
    ttl: Duration,
}

/// Each record lives for the TTL it was written with.
struct RecordTtl;

impl Expiry<String, Arc<Record>> for RecordTtl {
    fn expire_after_create(&self, _: &String, record: &Arc<Record>, _: std::time::Instant) -> Option<Duration> {
        Some(record.ttl)
    }
}

impl TenantRecords {
    fn new(budget: MemoryBudget) -> Self {
        // Every record weighs at least its share of the byte budget, so the byte bound also
        // bounds the count: entries ≤ bytes_per_tenant / floor = entries_per_tenant.
        let floor = (budget.bytes_per_tenant / budget.entries_per_tenant.max(1)).max(1);
        let finished = Cache::builder()
            .max_capacity(budget.bytes_per_tenant)
            .weigher(move |key: &String, record: &Arc<Record>| {
                let bytes = RECORD_OVERHEAD
                    + u64::try_from(key.len() + record.fingerprint.len() + record.response.size()).unwrap_or(u64::MAX);
                u32::try_from(bytes.max(floor)).unwrap_or(u32::MAX)
            })
            .eviction_policy(EvictionPolicy::lru())
            .expire_after(RecordTtl)
            .build();
        Self { claims: tokio::sync::Mutex::new(HashMap::new()), finished }
    }
}

impl MemoryStore {
    pub fn new(budget: MemoryBudget) -> Self {
        Self { budget, tenants: Mutex::new(HashMap::new()) }
    }

    fn tenant(&self, name: &str) -> Arc<TenantRecords> {
        // A poisoned lock only means another thread panicked while inserting: the map is intact.
        let mut tenants = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(tenants.entry(name.to_owned()).or_insert_with(|| Arc::new(TenantRecords::new(self.budget))))
    }
}

impl IdempotencyStore for MemoryStore {
    fn claim<'a>(
        &'a self,
        key: &'a StoreKey,
        fingerprint: &'a str,
        in_flight_ttl: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        async move {
            let records = self.tenant(key.tenant());
            let mut claims = records.claims.lock().await;
            if let Some(record) = records.finished.get(key.as_str()).await {
                return Ok(finished(&record.fingerprint, fingerprint, record.response.clone()));
            }
            let now = Instant::now();
            if let Some(held) = claims.get(key.as_str()).filter(|held| held.expires > now) {
                return Ok(held_by_another(&held.fingerprint, fingerprint));
            }
            claims.retain(|_, held| held.expires > now);
            let token = ClaimToken::new();
            let held = Held { fingerprint: fingerprint.to_owned(), token: token.clone(), expires: now + in_flight_ttl };
            claims.insert(key.as_str().to_owned(), held);
            Ok(Claim::Acquired(token))
        }
        .boxed()
    }

    fn complete<'a>(
        &'a self,
        key: &'a StoreKey,
        token: &'a ClaimToken,
        response: StoredResponse,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Fence, StoreError>> {
        async move {
            let records = self.tenant(key.tenant());
            let mut claims = records.claims.lock().await;
            let Some(held) = take_if_held(&mut claims, key, token) else { return Ok(Fence::Lost) };
            let record = Record { fingerprint: held.fingerprint, response, ttl };
            records.finished.insert(key.as_str().to_owned(), Arc::new(record)).await;
            // Evict now rather than on the cache's deferred upkeep, so the budget holds at once.
            records.finished.run_pending_tasks().await;
            Ok(Fence::Held)
        }
        .boxed()
    }

    fn release<'a>(&'a self, key: &'a StoreKey, token: &'a ClaimToken) -> BoxFuture<'a, Result<Fence, StoreError>> {
        async move {
            let records = self.tenant(key.tenant());
            let mut claims = records.claims.lock().await;
            Ok(if take_if_held(&mut claims, key, token).is_some() { Fence::Held } else { Fence::Lost })
        }
        .boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        async { Ok(()) }.boxed()
    }
}

/// Remove and return the claim on `key` if `token` holds it and it has not expired.
fn take_if_held(claims: &mut HashMap<String, Held>, key: &StoreKey, token: &ClaimToken) -> Option<Held> {
    let held = claims.get(key.as_str())?;
    if held.token != *token || held.expires <= Instant::now() {
        return None;
    }
    claims.remove(key.as_str())
}

#[cfg(test)]
#[path = "memory_tests.rs"]
mod tests;
