//! Idempotency (DESIGN §5) with the memory store and with a real Redis shared by two gateway
//! instances: replays, mismatches, transient outcomes not stored, and exactly one provider call
//! for concurrent identical requests.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use std::time::Duration;

use checkout_gateway::idempotency::{
    Claim, Fence, IdempotencyStore, MemoryBudget, MemoryStore, RedisStore, StoreKey, StoredResponse,
};
use futures_util::future::join_all;
use serde_json::{Value, json};
use support::redis::RedisServer;
use support::{TENANT_KEY, TestGateway, problem, stripe_config};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn session() -> Value {
    json!({ "id": "cs_i", "object": "checkout.session", "status": "open", "currency": "usd", "metadata": { "a": "b" } })
}

/// Wait until `mock` has received `count` requests: a request the gateway sent on holds its
/// idempotency claim from then until it answers. Polls (bounded) rather than sleeping a guessed
/// time, which a loaded runner can outlast.
async fn until_the_provider_has_received(mock: &MockServer, count: usize) {
    for _ in 0..1000 {
        if mock.received_requests().await.is_some_and(|requests| requests.len() >= count) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the provider never received request {count}");
}

async fn patch_with_key(gateway: &TestGateway, key: &str, body: &Value) -> reqwest::Response {
    patch_as(gateway, TENANT_KEY, key, body).await
}

#[tokio::test]
async fn a_finished_request_is_replayed_and_a_different_one_refused() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session()))
        .expect(1)
        .mount(&mock)
        .await;
    let gateway = TestGateway::start(&stripe_config(&mock.uri(), "")).await;
    let body = json!({ "metadata": { "a": "b" } });
    let first = patch_with_key(&gateway, "key-1", &body).await;
    assert_eq!(first.status(), 200);
    assert!(!first.headers().contains_key("idempotent-replayed"));
    let first_body = first.text().await.expect("body");
    // The same JSON with keys in another order is the same request.
    let replay =
        patch_with_key(&gateway, "key-1", &serde_json::from_str::<Value>(r#"{"metadata":{"a":"b"}}"#).expect("json"))
            .await;
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.headers()["checkout-provider"], "stripe-main");
    assert_eq!(replay.text().await.expect("body"), first_body);
    let other = patch_with_key(&gateway, "key-1", &json!({ "metadata": { "a": "c" } })).await;
    assert_eq!(other.status(), 422);
    assert_eq!(problem(other).await["code"], "idempotency_key_reused");
    gateway.stop().await;
}

/// A Stripe that answers `failure` to the first three updates (one request's attempts), then the session.
async fn failing_three_times_then_ok(failure: ResponseTemplate) -> MockServer {
    let mock = MockServer::start().await;
    Mock::given(method("POST")).respond_with(failure).up_to_n_times(3).with_priority(1).mount(&mock).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session()))
        .with_priority(2)
        .mount(&mock)
        .await;
    mock
}

#[tokio::test]
async fn transient_failures_are_not_stored_so_the_client_can_retry() {
    let down = json!({ "error": { "type": "api_error", "message": "down" } });
    let mock = failing_three_times_then_ok(ResponseTemplate::new(503).set_body_json(down)).await;
    let gateway = TestGateway::start(&stripe_config(&mock.uri(), "")).await;
    let body = json!({ "metadata": { "a": "b" } });
    assert_eq!(patch_with_key(&gateway, "key-2", &body).await.status(), 502, "three 503 attempts");
    let retry = patch_with_key(&gateway, "key-2", &body).await;
    assert_eq!(retry.status(), 200);
    assert!(!retry.headers().contains_key("idempotent-replayed"), "the 502 was not stored");
    gateway.stop().await;
}

#[tokio::test]
async fn transient_provider_conflicts_are_retryable_and_not_stored() {
    // Stripe's lock_timeout: another request holds the session. Retried by the gateway, then
    // answered as a retryable 409, and never stored: the client's retry with the same key must
    // reach the provider again (before, the 409 was stored and replayed for 24 h).
    let lock = json!({ "error": { "type": "invalid_request_error", "code": "lock_timeout", "message": "locked" } });
    let mock = failing_three_times_then_ok(ResponseTemplate::new(409).set_body_json(lock)).await;
    let gateway = TestGateway::start(&stripe_config(&mock.uri(), "")).await;
    let body = json!({ "metadata": { "a": "b" } });
    let first = patch_with_key(&gateway, "key-lock", &body).await;
    assert_eq!(first.status(), 409, "three lock_timeout attempts");
    let first = problem(first).await;
    assert_eq!(first["code"], "provider_conflict");
    assert_eq!(first["retryable"], true);
    assert_eq!(first["provider"]["code"], "lock_timeout");
    let retry = patch_with_key(&gateway, "key-lock", &body).await;
    assert_eq!(retry.status(), 200);
    assert!(!retry.headers().contains_key("idempotent-replayed"), "the 409 was not stored");
    assert_eq!(mock.received_requests().await.expect("recorded").len(), 4);
    gateway.stop().await;
}

#[tokio::test]
async fn provider_refusals_are_stored_and_replayed() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({ "error": { "type": "invalid_request_error", "code": "resource_missing", "message": "No such session" } })))
        .expect(1)
        .mount(&mock)
        .await;
    let gateway = TestGateway::start(&stripe_config(&mock.uri(), "")).await;
    let body = json!({ "metadata": { "a": "b" } });
    assert_eq!(patch_with_key(&gateway, "key-3", &body).await.status(), 404);
    let replay = patch_with_key(&gateway, "key-3", &body).await;
    assert_eq!(replay.status(), 404);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(problem(replay).await["code"], "session_not_found");
    gateway.stop().await;
}

#[tokio::test]
async fn an_identical_request_still_in_flight_waits_or_gets_409() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session()).set_delay(Duration::from_millis(600)))
        .mount(&mock)
        .await;
    let impatient = stripe_config(&mock.uri(), "")
        .replace("[providers.stripe-main]", "[idempotency]\nin_flight_wait_ms = 100\n\n[providers.stripe-main]");
    let gateway = TestGateway::start(&impatient).await;
    let body = json!({ "metadata": { "a": "b" } });
    let (first, second) = tokio::join!(patch_with_key(&gateway, "key-4", &body), async {
        until_the_provider_has_received(&mock, 1).await;
        patch_with_key(&gateway, "key-4", &body).await
    });
    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 409);
    assert_eq!(problem(second).await["code"], "idempotency_key_in_use");
    gateway.stop().await;
}

fn redis_config(mock: &str, redis_url: &str) -> String {
    stripe_config(mock, "rate_limit = { requests_per_second = 1000, burst = 1000 }").replace(
        "[providers.stripe-main]",
        &format!("[idempotency]\nstore = \"redis\"\nredis_url = \"{redis_url}\"\n\n[providers.stripe-main]"),
    )
}

#[tokio::test]
async fn two_instances_sharing_redis_make_exactly_one_provider_call_for_fifty_identical_requests() {
    let redis = RedisServer::start();
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session()).set_delay(Duration::from_millis(300)))
        .mount(&mock)
        .await;
    let config = redis_config(&mock.uri(), &redis.url);
    let (a, b) = (TestGateway::start(&config).await, TestGateway::start(&config).await);
    let body = json!({ "metadata": { "a": "b" } });
    let requests = (0..50).map(|i| patch_with_key(if i % 2 == 0 { &a } else { &b }, "shared-key", &body));
    let responses = join_all(requests).await;
    let mut bodies = Vec::new();
    for response in responses {
        assert_eq!(response.status(), 200);
        bodies.push(response.text().await.expect("body"));
    }
    assert!(bodies.iter().all(|b| b == &bodies[0]), "every client got the same body");
    assert_eq!(mock.received_requests().await.expect("recorded").len(), 1, "exactly one provider call");
    let ready: Value = a.client.get(a.url("/readyz")).send().await.expect("ready").json().await.expect("json");
    assert_eq!(ready["status"], "ready");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn the_tenant_rate_limit_is_shared_through_redis() {
    let redis = RedisServer::start();
    let mock = MockServer::start().await;
    let config = stripe_config(&mock.uri(), "rate_limit = { requests_per_second = 0.1, burst = 3 }").replace(
        "[providers.stripe-main]",
        &format!("[idempotency]\nstore = \"redis\"\nredis_url = \"{}\"\n\n[providers.stripe-main]", redis.url),
    );
    let (a, b) = (TestGateway::start(&config).await, TestGateway::start(&config).await);
    let mut statuses = Vec::new();
    for gateway in [&a, &b, &a, &b] {
        statuses.push(gateway.get("/v1/providers").await.status().as_u16());
    }
    assert_eq!(statuses, vec![200, 200, 200, 429], "one bucket of 3 across both instances");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn an_unreachable_redis_makes_the_gateway_not_ready_and_refuses_keyed_updates() {
    let redis = RedisServer::start();
    let mock = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200).set_body_json(session())).mount(&mock).await;
    let gateway = TestGateway::start(&redis_config(&mock.uri(), &redis.url)).await;
    drop(redis);
    let ready = gateway.client.get(gateway.url("/readyz")).send().await.expect("ready");
    assert_eq!(ready.status(), 503);
    let keyed = patch_with_key(&gateway, "key-5", &json!({ "metadata": { "a": "b" } })).await;
    assert_eq!(keyed.status(), 503);
    assert_eq!(problem(keyed).await["code"], "store_unavailable");
    assert!(mock.received_requests().await.expect("recorded").is_empty());
    gateway.stop().await;
}

// ---- Issue 13 item 6: a bounded, compact, fenced store whose waiters back off ----

/// A session whose unified answer is about 20 KB (40 metadata values of 500 characters).
fn large_session() -> Value {
    let metadata: serde_json::Map<String, Value> =
        (0..40).map(|i| (format!("k{i:02}"), Value::String("x".repeat(500)))).collect();
    json!({ "id": "cs_i", "object": "checkout.session", "status": "open", "currency": "usd", "metadata": metadata })
}

/// `stripe_config` with a second tenant (`OTHER_TENANT_KEY`) and `idempotency` lines.
fn two_tenant_config(mock: &str, idempotency: &str) -> String {
    let other = format!(
        "[tenants.other]\napi_key_sha256 = \"{}\"\nprovider = \"stripe-other\"\n",
        support::sha256_hex(support::OTHER_TENANT_KEY)
    );
    format!("{}\n{other}", stripe_config(mock, ""))
        .replace("[providers.stripe-main]", &format!("[idempotency]\n{idempotency}\n\n[providers.stripe-main]"))
}

async fn patch_as(gateway: &TestGateway, tenant_key: &str, key: &str, body: &Value) -> reqwest::Response {
    gateway
        .client
        .patch(gateway.url("/v1/checkout/sessions/cs_i"))
        .bearer_auth(tenant_key)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn a_tenant_flooding_the_memory_store_does_not_evict_or_crowd_out_another_tenants_records() {
    // Before, one frequency-admitted cache of `max_entries` was shared by every tenant: a tenant
    // sending unique keys (and replaying them, so they count as popular) for large answers
    // evicted the other tenants' records or kept theirs from being stored at all. Each tenant now
    // has its own budget, and a new record is always admitted within it.
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(large_session()))
        .mount(&mock)
        .await;
    let gateway = TestGateway::start(&two_tenant_config(&mock.uri(), "max_entries = 8")).await;
    let body = json!({ "metadata": { "a": "b" } });
    let victim = |key: &'static str| patch_as(&gateway, support::OTHER_TENANT_KEY, key, &body);
    assert_eq!(victim("before-the-flood").await.status(), 200);
    for i in 0..40 {
        for _ in 0..3 {
            let flood = patch_as(&gateway, TENANT_KEY, &format!("flood-{i}"), &body).await;
            assert_eq!(flood.status(), 200);
            flood.bytes().await.expect("body");
        }
        // A flood spread over time: the cache's deferred upkeep (its evictions) runs between.
        if i % 10 == 9 {
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
    }
    assert_eq!(victim("after-the-flood").await.status(), 200);
    let calls_before = mock.received_requests().await.expect("recorded").len();
    for key in ["before-the-flood", "after-the-flood"] {
        let replay = victim(key).await;
        assert_eq!(replay.status(), 200);
        let replayed = replay.headers().get("idempotent-replayed").map(|v| v.as_bytes().to_vec());
        assert_eq!(replayed.as_deref(), Some(&b"true"[..]), "the other tenant's `{key}` was replayed");
    }
    assert_eq!(mock.received_requests().await.expect("recorded").len(), calls_before, "no second provider call");
    gateway.stop().await;
}

#[tokio::test]
async fn a_request_cancelled_by_its_client_frees_its_key() {
    // Before, a handler dropped by a client disconnect neither completed nor released its claim:
    // the key stayed blocked for deadline + 5 s, so the client's retry waited and got 409.
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session()).set_delay(Duration::from_secs(2)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session()))
        .with_priority(2)
        .mount(&mock)
        .await;
    let gateway = TestGateway::start(&two_tenant_config(&mock.uri(), "in_flight_wait_ms = 1000")).await;
    let body = json!({ "metadata": { "a": "b" } });
    let abandoned = gateway
        .client
        .patch(gateway.url("/v1/checkout/sessions/cs_i"))
        .bearer_auth(TENANT_KEY)
        .header("idempotency-key", "abandoned")
        .timeout(Duration::from_millis(300))
        .json(&body)
        .send()
        .await;
    assert!(abandoned.is_err(), "the client gave up before the provider answered");
    // The provider has the first call; the retry must not wait for the abandoned one.
    let retry = patch_with_key(&gateway, "abandoned", &body).await;
    assert_eq!(retry.status(), 200, "the abandoned claim was released");
    assert!(!retry.headers().contains_key("idempotent-replayed"));
    gateway.stop().await;
}

/// Commands Redis has processed so far (the `INFO` that asks is one of them).
async fn redis_commands(connection: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO").arg("stats").query_async(connection).await.expect("INFO stats");
    info.lines()
        .find_map(|line| line.strip_prefix("total_commands_processed:"))
        .and_then(|count| count.trim().parse().ok())
        .expect("total_commands_processed")
}

async fn redis_connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url).expect("redis url").get_multiplexed_async_connection().await.expect("connect to redis")
}

#[tokio::test]
async fn a_waiter_backs_off_instead_of_polling_redis_forty_times_a_second() {
    // Before, each waiter sent SET NX + GET every 25 ms: about 160 commands in 2 s of waiting.
    let redis = RedisServer::start();
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session()).set_delay(Duration::from_secs(2)))
        .mount(&mock)
        .await;
    // The provider's answer takes 2 s: attempts may take longer than that.
    let config = redis_config(&mock.uri(), &redis.url).replace("timeout_ms = 1000", "timeout_ms = 2800");
    let gateway = TestGateway::start(&config).await;
    let mut connection = redis_connection(&redis.url).await;
    let body = json!({ "metadata": { "a": "b" } });
    // Warm up (the first use of each script loads it), then count one request alone: its own
    // commands (rate limit, usage, claim, complete).
    patch_with_key(&gateway, "warm-up", &body).await.bytes().await.expect("body");
    let before_first = redis_commands(&mut connection).await;
    patch_with_key(&gateway, "lone", &body).await.bytes().await.expect("body");
    let one_request = redis_commands(&mut connection).await - before_first - 1;
    // Then the same with one identical request waiting about 2 s for it.
    let before = redis_commands(&mut connection).await;
    let (first, waiter) = tokio::join!(patch_with_key(&gateway, "waited-for", &body), async {
        // After the warm-up and the lone request: the first `waited-for` holds its claim.
        until_the_provider_has_received(&mock, 3).await;
        patch_with_key(&gateway, "waited-for", &body).await
    });
    let both = redis_commands(&mut connection).await - before - 1;
    assert_eq!(first.status(), 200);
    assert_eq!(waiter.status(), 200);
    assert_eq!(waiter.headers()["idempotent-replayed"], "true");
    let waiting = both.saturating_sub(2 * one_request);
    // Backing off from 25 ms to 500 ms: at most about 8 looks in 2 s, each one script (Redis
    // counts the script and each command in it: 2 or 3). Polling every 25 ms sent about 140.
    assert!(waiting <= 30, "the waiter sent {waiting} commands to Redis while waiting (one request: {one_request})");
    gateway.stop().await;
}

#[tokio::test]
async fn a_redis_record_stores_the_body_as_bytes_with_a_ttl() {
    // Before, the body was a JSON array of numbers: about 3.5 bytes of Redis per byte of answer.
    let redis = RedisServer::start();
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(large_session()))
        .mount(&mock)
        .await;
    let gateway = TestGateway::start(&redis_config(&mock.uri(), &redis.url)).await;
    let response = patch_with_key(&gateway, "compact", &json!({ "metadata": { "a": "b" } })).await;
    assert_eq!(response.status(), 200);
    let body_len = u64::try_from(response.bytes().await.expect("body").len()).expect("length");
    assert!(body_len > 20_000, "a large answer ({body_len} bytes)");
    let mut connection = redis_connection(&redis.url).await;
    let keys: Vec<String> = redis::cmd("KEYS").arg("cg:idem*").query_async(&mut connection).await.expect("KEYS");
    assert_eq!(keys.len(), 1, "one record: {keys:?}");
    let used: u64 =
        redis::cmd("MEMORY").arg("USAGE").arg(&keys[0]).query_async(&mut connection).await.expect("MEMORY USAGE");
    assert!(used < body_len + body_len / 4 + 1024, "{used} bytes of Redis for a {body_len}-byte answer");
    let ttl_ms: i64 = redis::cmd("PTTL").arg(&keys[0]).query_async(&mut connection).await.expect("PTTL");
    assert!(ttl_ms > 86_000_000, "the record expires after ttl_seconds (PTTL {ttl_ms})");
    gateway.stop().await;
}

/// A request that outlived its in-flight claim must not overwrite or delete a newer request's
/// claim (finding 14). Before, `complete` was a plain `SET`/insert and `release` a `DEL`.
async fn a_stale_claim_is_fenced_off(store: &dyn IdempotencyStore) {
    let key = StoreKey::new("acme", "fenced");
    let ttl = Duration::from_secs(60);
    let answer = |body: &str| StoredResponse { status: 200, headers: vec![], body: body.as_bytes().to_vec() };
    let Ok(Claim::Acquired(stale)) = store.claim(&key, "fp", Duration::from_millis(50)).await else {
        panic!("the first claim is acquired");
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let Ok(Claim::Acquired(newer)) = store.claim(&key, "fp", ttl).await else {
        panic!("an expired claim can be taken over");
    };
    let completed = store.complete(&key, &stale, answer("stale"), ttl).await.ok();
    let released = store.release(&key, &stale).await.ok();
    assert_eq!(store.claim(&key, "fp", ttl).await.ok(), Some(Claim::InFlight), "the newer claim still holds");
    assert_eq!((completed, released), (Some(Fence::Lost), Some(Fence::Lost)), "the stale writes say so");
    assert_eq!(store.complete(&key, &newer, answer("newer"), ttl).await.ok(), Some(Fence::Held));
    assert_eq!(store.claim(&key, "fp", ttl).await.ok(), Some(Claim::Replay(answer("newer"))));
    assert_eq!(store.release(&key, &newer).await.ok(), Some(Fence::Lost), "a finished record is not released");
}

#[tokio::test]
async fn a_stale_request_cannot_complete_or_release_a_newer_claim_in_redis() {
    let redis = RedisServer::start();
    let settings = checkout_gateway::config::RedisSettings::single_node(&redis.url);
    let store = RedisStore::connect(&settings).await.expect("connect");
    a_stale_claim_is_fenced_off(&store).await;
    // Every record has a TTL, in flight or finished.
    let mut connection = redis_connection(&redis.url).await;
    let in_flight = StoreKey::new("acme", "in-flight");
    assert!(matches!(store.claim(&in_flight, "fp", Duration::from_secs(35)).await, Ok(Claim::Acquired(_))));
    for key in [StoreKey::new("acme", "fenced"), in_flight] {
        let ttl_ms: i64 = redis::cmd("PTTL").arg(key.as_str()).query_async(&mut connection).await.expect("PTTL");
        assert!(ttl_ms > 0, "{} has a TTL (PTTL {ttl_ms})", key.as_str());
    }
}

#[tokio::test]
async fn a_stale_request_cannot_complete_or_release_a_newer_claim_in_memory() {
    let store = MemoryStore::new(MemoryBudget { bytes_per_tenant: 1 << 20, entries_per_tenant: 100 });
    a_stale_claim_is_fenced_off(&store).await;
}
