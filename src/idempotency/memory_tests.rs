use super::*;

const BUDGET: MemoryBudget = MemoryBudget { bytes_per_tenant: 1_000_000, entries_per_tenant: 100 };

fn response(body_len: usize) -> StoredResponse {
    StoredResponse { status: 200, headers: vec![], body: vec![b'x'; body_len] }
}

fn acquired(claim: Result<Claim, StoreError>) -> ClaimToken {
    match claim {
        Ok(Claim::Acquired(token)) => token,
        other => panic!("expected the claim to be acquired, got {other:?}"),
    }
}

#[tokio::test]
async fn claim_complete_replay_and_mismatch() {
    let store = MemoryStore::new(BUDGET);
    let (key, ttl) = (StoreKey::new("t", "k"), Duration::from_secs(60));
    let token = acquired(store.claim(&key, "f1", ttl).await);
    assert_eq!(store.claim(&key, "f1", ttl).await.ok(), Some(Claim::InFlight));
    assert_eq!(store.claim(&key, "f2", ttl).await.ok(), Some(Claim::Mismatch));
    assert_eq!(store.complete(&key, &token, response(2), ttl).await.ok(), Some(Fence::Held));
    assert_eq!(store.claim(&key, "f1", ttl).await.ok(), Some(Claim::Replay(response(2))));
    assert_eq!(store.claim(&key, "f2", ttl).await.ok(), Some(Claim::Mismatch));
}

#[tokio::test]
async fn a_released_claim_frees_the_key() {
    let store = MemoryStore::new(BUDGET);
    let (key, ttl) = (StoreKey::new("t", "k"), Duration::from_secs(60));
    let token = acquired(store.claim(&key, "f1", ttl).await);
    assert_eq!(store.release(&key, &token).await.ok(), Some(Fence::Held));
    acquired(store.claim(&key, "f2", ttl).await);
}

#[tokio::test]
async fn in_flight_claims_expire() {
    let store = MemoryStore::new(BUDGET);
    let key = StoreKey::new("t", "k");
    acquired(store.claim(&key, "f", Duration::from_millis(30)).await);
    tokio::time::sleep(Duration::from_millis(80)).await;
    acquired(store.claim(&key, "f", Duration::from_secs(60)).await);
}

#[tokio::test]
async fn a_stale_claim_can_neither_complete_nor_release_a_newer_one() {
    let store = MemoryStore::new(BUDGET);
    let (key, ttl) = (StoreKey::new("t", "k"), Duration::from_secs(60));
    let stale = acquired(store.claim(&key, "f", Duration::from_millis(30)).await);
    tokio::time::sleep(Duration::from_millis(80)).await;
    let newer = acquired(store.claim(&key, "f", ttl).await);
    assert_eq!(store.complete(&key, &stale, response(1), ttl).await.ok(), Some(Fence::Lost));
    assert_eq!(store.release(&key, &stale).await.ok(), Some(Fence::Lost));
    assert_eq!(store.claim(&key, "f", ttl).await.ok(), Some(Claim::InFlight), "the newer claim still holds");
    assert_eq!(store.complete(&key, &newer, response(3), ttl).await.ok(), Some(Fence::Held));
    assert_eq!(store.claim(&key, "f", ttl).await.ok(), Some(Claim::Replay(response(3))));
}

#[tokio::test]
async fn each_tenant_is_bounded_in_bytes_and_keeps_its_newest_records() {
    let budget = MemoryBudget { bytes_per_tenant: 100_000, entries_per_tenant: 1_000 };
    let store = MemoryStore::new(budget);
    let ttl = Duration::from_secs(60);
    let victim = StoreKey::new("victim", "k");
    let token = acquired(store.claim(&victim, "f", ttl).await);
    store.complete(&victim, &token, response(10_000), ttl).await.ok();
    for i in 0..50 {
        let key = StoreKey::new("flood", &i.to_string());
        let token = acquired(store.claim(&key, "f", ttl).await);
        assert_eq!(store.complete(&key, &token, response(10_000), ttl).await.ok(), Some(Fence::Held));
    }
    let flood = store.tenant("flood");
    assert!(flood.finished.weighted_size() <= budget.bytes_per_tenant, "{}", flood.finished.weighted_size());
    assert!(flood.finished.entry_count() < 10, "{} records of 10 KB in 100 KB", flood.finished.entry_count());
    let newest = StoreKey::new("flood", "49");
    assert_eq!(store.claim(&newest, "f", ttl).await.ok(), Some(Claim::Replay(response(10_000))));
    assert_eq!(store.claim(&victim, "f", ttl).await.ok(), Some(Claim::Replay(response(10_000))));
}

#[tokio::test]
async fn each_tenant_is_bounded_in_count() {
    let budget = MemoryBudget { bytes_per_tenant: 1_000_000, entries_per_tenant: 5 };
    let store = MemoryStore::new(budget);
    let ttl = Duration::from_secs(60);
    for i in 0..20 {
        let key = StoreKey::new("t", &i.to_string());
        let token = acquired(store.claim(&key, "f", ttl).await);
        store.complete(&key, &token, response(10), ttl).await.ok();
    }
    assert!(store.tenant("t").finished.entry_count() <= 5);
}
