//! In-memory store for a single instance: bounded, with a TTL (moka).

use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use moka::Expiry;
use moka::future::Cache;

use super::{Claim, Entry, IdempotencyStore, StoreError, StoredResponse};

pub struct MemoryStore {
    cache: Cache<String, (Entry, Duration)>,
}

/// Each entry lives for the TTL it was written with (in-flight claims shorter than results).
struct PerEntryTtl;

impl Expiry<String, (Entry, Duration)> for PerEntryTtl {
    fn expire_after_create(&self, _: &String, value: &(Entry, Duration), _: std::time::Instant) -> Option<Duration> {
        Some(value.1)
    }

    fn expire_after_update(
        &self,
        _: &String,
        value: &(Entry, Duration),
        _: std::time::Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.1)
    }
}

impl MemoryStore {
    pub fn new(max_entries: u64) -> Self {
        Self { cache: Cache::builder().max_capacity(max_entries).expire_after(PerEntryTtl).build() }
    }
}

impl IdempotencyStore for MemoryStore {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        fingerprint: &'a str,
        in_flight_ttl: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        async move {
            let entry = self
                .cache
                .entry(key.to_owned())
                .or_insert_with(async { (Entry::InFlight { fingerprint: fingerprint.to_owned() }, in_flight_ttl) })
                .await;
            if entry.is_fresh() { Ok(Claim::Acquired) } else { Ok(entry.value().0.claim_result(fingerprint)) }
        }
        .boxed()
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        fingerprint: &'a str,
        response: StoredResponse,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        async move {
            self.cache
                .insert(key.to_owned(), (Entry::Done { fingerprint: fingerprint.to_owned(), response }, ttl))
                .await;
            Ok(())
        }
        .boxed()
    }

    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        async move {
            self.cache.invalidate(key).await;
            Ok(())
        }
        .boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        async { Ok(()) }.boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response() -> StoredResponse {
        StoredResponse { status: 200, headers: vec![], body: b"{}".to_vec() }
    }

    #[tokio::test]
    async fn claim_complete_replay_and_mismatch() {
        let store = MemoryStore::new(100);
        let ttl = Duration::from_secs(60);
        assert_eq!(store.claim("k", "f1", ttl).await.ok(), Some(Claim::Acquired));
        assert_eq!(store.claim("k", "f1", ttl).await.ok(), Some(Claim::InFlight));
        assert_eq!(store.claim("k", "f2", ttl).await.ok(), Some(Claim::Mismatch));
        store.complete("k", "f1", response(), ttl).await.ok();
        assert_eq!(store.claim("k", "f1", ttl).await.ok(), Some(Claim::Replay(response())));
        assert_eq!(store.claim("k", "f2", ttl).await.ok(), Some(Claim::Mismatch));
        store.release("k").await.ok();
        assert_eq!(store.claim("k", "f2", ttl).await.ok(), Some(Claim::Acquired));
    }

    #[tokio::test]
    async fn in_flight_claims_expire() {
        let store = MemoryStore::new(100);
        assert_eq!(store.claim("k", "f", Duration::from_millis(30)).await.ok(), Some(Claim::Acquired));
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(store.claim("k", "f", Duration::from_secs(60)).await.ok(), Some(Claim::Acquired));
    }
}
