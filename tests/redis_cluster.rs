//! Issue 17: three real gateway processes sharing a real 6-node Redis Cluster (3 masters, 3
//! replicas, `tests/support/redis_cluster.rs`): exactly one provider call for 200 concurrent
//! identical keyed updates, one rate-limit budget, a master SIGKILLed mid-run (never a second
//! provider call, recovery once a replica took over), switch-report counts summed, and with
//! `redis_claim_replicas` a claim its replica cannot acknowledge answers 503 without a provider
//! call (also `WAIT`'s single-node form).

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use checkout_gateway::config::RedisSettings;
use checkout_gateway::idempotency::{Claim, IdempotencyStore, RedisStore, StoreKey};
use futures_util::future::join_all;
use serde_json::{Value, json};
use support::process::GatewayProcess;
use support::redis::RedisServer;
use support::redis_cluster::{RedisCluster, cli};
use support::{TENANT_KEY, stripe_config};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const SESSION: &str = "cs_cluster";

fn session() -> Value {
    json!({ "id": SESSION, "object": "checkout.session", "status": "open", "currency": "usd", "metadata": { "a": "b" } })
}

/// The test Stripe config with JSON logs (the process helper reads its address from them) and
/// the cluster as the shared store; `idempotency` adds keys to `[idempotency]`.
fn cluster_config(mock: &str, cluster: &RedisCluster, tenant: &str, idempotency: &str) -> String {
    let seeds: Vec<String> = cluster.seed_urls().iter().map(|url| format!("\"{url}\"")).collect();
    stripe_config(mock, tenant).replacen("[server]\n", "[server]\nlog_format = \"json\"\n", 1).replace(
        "[providers.stripe-main]",
        &format!(
            "[idempotency]\nstore = \"redis\"\nredis_cluster_urls = [{}]\n{idempotency}\n\n[providers.stripe-main]",
            seeds.join(", ")
        ),
    )
}

/// Three `checkout-gateway serve` processes on one config.
struct Replicas {
    processes: Vec<GatewayProcess>,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Replicas {
    fn start(config: &str) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, config).expect("write config");
        let processes = (0..3).map(|_| GatewayProcess::start(&path, "info")).collect();
        // Bounded: a gateway that hangs on a dead store fails the test instead of stalling it.
        let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("client");
        Self { processes, client, _dir: dir }
    }

    fn bases(&self) -> Vec<String> {
        self.processes.iter().map(|p| p.base.clone()).collect()
    }

    /// `GET path` with the tenant's key on replica `index`.
    async fn get(&self, index: usize, path: &str) -> reqwest::Response {
        let base = &self.processes[index % 3].base;
        self.client.get(format!("{base}{path}")).bearer_auth(TENANT_KEY).send().await.expect("the gateway answers")
    }
}

/// What one client saw.
#[derive(Debug)]
struct Answer {
    status: u16,
    replayed: bool,
    code: Option<String>,
    body: String,
}

async fn keyed_update(client: &reqwest::Client, base: &str, key: &str) -> Answer {
    let response = client
        .patch(format!("{base}/v1/checkout/sessions/{SESSION}"))
        .bearer_auth(TENANT_KEY)
        .header("idempotency-key", key)
        .json(&json!({ "metadata": { "a": "b" } }))
        .send()
        .await
        .expect("the gateway answers");
    let status = response.status().as_u16();
    let replayed = response.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
    let body = response.text().await.expect("body");
    let code = serde_json::from_str::<Value>(&body).ok().and_then(|v| v["code"].as_str().map(ToOwned::to_owned));
    Answer { status, replayed, code, body }
}

/// `count` identical keyed updates at once, spread over the replicas in turn.
async fn wave(client: reqwest::Client, bases: Vec<String>, key: String, count: usize) -> Vec<Answer> {
    join_all((0..count).map(|i| keyed_update(&client, &bases[i % bases.len()], &key))).await
}

/// Provider calls per forwarded key: Stripe's `Idempotency-Key` is `<forwarded key>:<attempt
/// nonce>`, and the forwarded key is derived from (tenant, client key).
async fn provider_calls_by_key(mock: &MockServer) -> BTreeMap<String, usize> {
    let mut calls = BTreeMap::new();
    for request in mock.received_requests().await.expect("recorded") {
        if request.method.as_str() != "POST" {
            continue;
        }
        let header = request.headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let forwarded = header.rsplit_once(':').map_or(header, |(forwarded, _nonce)| forwarded);
        *calls.entry(forwarded.to_owned()).or_insert(0) += 1;
    }
    calls
}

async fn until_the_provider_has_received(mock: &MockServer, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while mock.received_requests().await.is_none_or(|requests| requests.len() < count) {
        assert!(Instant::now() < deadline, "the provider never received request {count}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn slow_provider(delay: Duration) -> MockServer {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session()).set_delay(delay))
        .mount(&mock)
        .await;
    mock
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_on_a_cluster_make_exactly_one_provider_call_for_200_identical_requests() {
    let cluster = RedisCluster::start();
    let mock = slow_provider(Duration::from_millis(300)).await;
    let replicas = Replicas::start(&cluster_config(&mock.uri(), &cluster, "", ""));

    let answers = wave(replicas.client.clone(), replicas.bases(), "cluster-shared-key".to_owned(), 200).await;

    assert!(answers.iter().all(|a| a.status == 200), "every client got 200: {answers:?}");
    assert!(answers.iter().all(|a| a.body == answers[0].body), "every client got the same body");
    assert_eq!(answers.iter().filter(|a| !a.replayed).count(), 1, "one original answer, 199 marked replays");
    assert_eq!(mock.received_requests().await.expect("recorded").len(), 1, "exactly one provider call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_rate_limit_is_one_budget_across_three_replicas() {
    let cluster = RedisCluster::start();
    let mock = MockServer::start().await;
    // A slow refill (one token per 100 s): the budget is the burst for the whole test.
    let limit = "rate_limit = { requests_per_second = 0.01, burst = 4 }";
    let replicas = Replicas::start(&cluster_config(&mock.uri(), &cluster, limit, ""));

    let mut statuses = Vec::new();
    for i in 0..9 {
        statuses.push(replicas.get(i, "/v1/providers").await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429, 429, 429, 429], "one bucket of 4 across three replicas");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switch_report_counts_are_summed_across_replicas() {
    let cluster = RedisCluster::start();
    let mock = slow_provider(Duration::ZERO).await;
    let config = cluster_config(&mock.uri(), &cluster, "allowed_providers = [\"stripe-main\", \"paypercut\"]", "")
        .replace(
            "[tenants.acme]",
            &format!("[providers.paypercut]\nkind = \"paypercut\"\nbase_url = \"{}\"\nallow_insecure_http = true\napi_key = {{ value = \"sk_test_pp\" }}\n\n[tenants.acme]", mock.uri()),
        );
    let replicas = Replicas::start(&config);
    let update = |index: usize, body: Value| {
        let base = &replicas.processes[index].base;
        replicas
            .client
            .patch(format!("{base}/v1/checkout/sessions/{SESSION}"))
            .bearer_auth(TENANT_KEY)
            .json(&body)
            .send()
    };
    // Two metadata updates on every replica; line items on one of them only.
    for index in 0..3 {
        for order in 0..2 {
            let status = update(index, json!({ "metadata": { "order": order.to_string() } })).await.expect("answer");
            assert_eq!(status.status(), 200);
        }
    }
    let items = json!({ "line_items": [ { "name": "Tee", "quantity": 1, "unit_amount": 1000 } ], "currency": "usd" });
    assert_eq!(update(1, items).await.expect("answer").status(), 200);

    for index in 0..3 {
        let report: Value =
            replicas.get(index, "/v1/providers/compatibility?to=paypercut").await.json().await.expect("json");
        let field = |feature: &str| {
            report["fields"].as_array().expect("fields").iter().find(|f| f["feature"] == feature).cloned()
        };
        assert_eq!(field("metadata_set").expect("metadata counted")["requests"], 6, "replica {index}: {report}");
        assert_eq!(field("line_items_ad_hoc").expect("items counted")["requests"], 1, "replica {index}: {report}");
    }
}

/// Every answer of a wave is one of the outcomes an outage allows, and the 200s agree.
fn assert_safe_outage_answers(key: &str, answers: &[Answer]) {
    for answer in answers {
        let allowed = match answer.status {
            200 => true,
            503 => answer.code.as_deref() == Some("store_unavailable"),
            // The claim survived on the promoted replica but its completion was lost with the
            // master: identical requests wait `in_flight_wait_ms`, then hear "still in use".
            409 => answer.code.as_deref() == Some("idempotency_key_in_use"),
            _ => false,
        };
        assert!(allowed, "{key}: not an outage answer: {answer:?}");
    }
    let successes: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    assert!(successes.iter().all(|a| a.body == successes[0].body), "{key}: the 200s differ");
    assert!(successes.iter().filter(|a| !a.replayed).count() <= 1, "{key}: two original answers");
}

/// The master holding the idempotency claim taken since `before` (the new key naming `idem`;
/// failing that, any new key).
fn master_with_new_claim(cluster: &RedisCluster, before: &BTreeMap<u16, BTreeSet<String>>) -> Option<(u16, String)> {
    let new_keys: Vec<(u16, String)> = cluster
        .keys_by_master()
        .into_iter()
        .flat_map(|(port, keys)| {
            let known = before.get(&port).cloned().unwrap_or_default();
            keys.difference(&known).map(|key| (port, key.clone())).collect::<Vec<_>>()
        })
        .collect();
    new_keys.iter().find(|(_, key)| key.contains("idem")).or_else(|| new_keys.first()).cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_killed_mid_run_never_causes_a_second_provider_call_and_the_replicas_recover() {
    let mut cluster = RedisCluster::start();
    let mock = slow_provider(Duration::from_millis(500)).await;
    // Waiters give up (409) long before an orphaned in-flight claim expires (deadline 3 s + 5 s),
    // so no waiter can take a claim over and call the provider again.
    let replicas = Replicas::start(&cluster_config(&mock.uri(), &cluster, "", "in_flight_wait_ms = 1500"));
    let (client, bases) = (replicas.client.clone(), replicas.bases());

    let before = wave(client.clone(), bases.clone(), "before-the-crash".to_owned(), 30).await;
    assert!(before.iter().all(|a| a.status == 200), "a healthy cluster answers: {before:?}");
    let keys_before = tokio::task::block_in_place(|| cluster.keys_by_master());

    // Mid-run: the key's claim is taken and its provider call is running when its master dies.
    let mid_run = tokio::spawn(wave(client.clone(), bases.clone(), "mid-run".to_owned(), 30));
    until_the_provider_has_received(&mock, 2).await;
    let (master, replica) = tokio::task::block_in_place(|| {
        let (master, key) = master_with_new_claim(&cluster, &keys_before).expect("the claim is on a master");
        let replica = cluster.replica_of(master);
        // Replication is asynchronous: wait until the claim reached the replica, so the test is
        // about the gateway, not about a write lost with its master (RELIABILITY: Redis Cluster).
        let deadline = Instant::now() + Duration::from_secs(5);
        while !cli(replica, &["--scan"]).is_ok_and(|keys| keys.lines().any(|k| k == key)) {
            assert!(Instant::now() < deadline, "the claim never reached the replica");
            std::thread::sleep(Duration::from_millis(10));
        }
        cluster.kill(master);
        (master, replica)
    });

    // The outage: a fresh key every 250 ms until the replica has taken over (bounded).
    let mut outage = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !tokio::task::block_in_place(|| cluster.is_ok()) {
        assert!(Instant::now() < deadline, "no replica took over from the killed master {master}");
        let key = format!("outage-{}", outage.len());
        outage.push((key.clone(), tokio::spawn(wave(client.clone(), bases.clone(), key, 6))));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(tokio::task::block_in_place(|| cluster.masters()).contains(&replica), "the replica was promoted");
    let mid_run = mid_run.await.expect("wave");
    assert_safe_outage_answers("mid-run", &mid_run);
    // The request whose provider call ran through the crash still answers with that call.
    assert_eq!(mid_run.iter().filter(|a| a.status == 200 && !a.replayed).count(), 1, "{mid_run:?}");
    for (key, answers) in outage {
        assert_safe_outage_answers(&key, &answers.await.expect("wave"));
    }

    // Recovery: once the gateways' clients follow the new topology, fresh keys all succeed.
    let deadline = Instant::now() + Duration::from_secs(20);
    for round in 0.. {
        let keys: Vec<String> = (0..12).map(|i| format!("recovery-{round}-{i}")).collect();
        let answers = join_all(keys.iter().enumerate().map(|(i, key)| keyed_update(&client, &bases[i % 3], key))).await;
        if answers.iter().all(|a| a.status == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "the replicas did not recover: {answers:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The killed master's slots are served by the promoted replica: 30 fresh keys (hashed over
    // the 16384 slots, about a third of them its) all succeed, and some of them land there.
    let keys_on_promoted = |cluster: &RedisCluster| cluster.keys_by_master().remove(&replica).unwrap_or_default();
    let promoted_before = tokio::task::block_in_place(|| keys_on_promoted(&cluster));
    let keys: Vec<String> = (0..30).map(|i| format!("after-recovery-{i}")).collect();
    let answers = join_all(keys.iter().enumerate().map(|(i, key)| keyed_update(&client, &bases[i % 3], key))).await;
    assert!(answers.iter().all(|a| a.status == 200 && !a.replayed), "recovered: {answers:?}");
    let promoted_after = tokio::task::block_in_place(|| keys_on_promoted(&cluster));
    assert!(promoted_after.difference(&promoted_before).next().is_some(), "no key landed on the promoted replica");
    let after = wave(client.clone(), bases.clone(), "after-the-crash".to_owned(), 30).await;
    assert!(after.iter().all(|a| a.status == 200) && after.iter().filter(|a| !a.replayed).count() == 1, "{after:?}");

    let calls = provider_calls_by_key(&mock).await;
    let doubled: Vec<_> = calls.iter().filter(|(_, count)| **count > 1).collect();
    assert!(doubled.is_empty(), "a client key reached the provider twice: {doubled:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_its_replica_cannot_acknowledge_answers_503_without_a_provider_call() {
    let cluster = RedisCluster::start();
    let mock = slow_provider(Duration::ZERO).await;
    let replicas = Replicas::start(&cluster_config(&mock.uri(), &cluster, "", "redis_claim_replicas = 1"));
    let (client, bases) = (replicas.client.clone(), replicas.bases());

    // Healthy replicas acknowledge the claim: the update goes through.
    let healthy = keyed_update(&client, &bases[0], "replicated-claim").await;
    assert_eq!((healthy.status, healthy.replayed), (200, false), "{healthy:?}");
    assert_eq!(mock.received_requests().await.expect("recorded").len(), 1);

    // Stall the replica of the key's master: the claim cannot reach it within the wait.
    let key = "unreplicated-claim";
    let record = StoreKey::new("acme", key);
    let (master, replica) = tokio::task::block_in_place(|| {
        let master = cluster.master_of(record.as_str());
        (master, cluster.replica_of(master))
    });
    tokio::task::block_in_place(|| cluster.pause(replica));
    let stalled = keyed_update(&client, &bases[1], key).await;
    tokio::task::block_in_place(|| {
        // Released: nothing of the claim is left to block the retry.
        let exists = cli(master, &["EXISTS", record.as_str()]);
        cluster.resume(replica);
        assert_eq!(exists.map(|reply| reply.trim().to_owned()), Ok("0".to_owned()), "the claim was released");
    });
    assert_eq!((stalled.status, stalled.code.as_deref()), (503, Some("store_unavailable")), "{stalled:?}");
    assert_eq!(mock.received_requests().await.expect("recorded").len(), 1, "no provider call for the 503");

    // The replica is back: the client's retry makes the one provider call.
    tokio::task::block_in_place(|| cluster.wait_until_ok());
    let retried = keyed_update(&client, &bases[2], key).await;
    assert_eq!((retried.status, retried.replayed), (200, false), "{retried:?}");
    let again = keyed_update(&client, &bases[0], key).await;
    assert_eq!((again.status, again.replayed), (200, true), "{again:?}");
    let calls = provider_calls_by_key(&mock).await;
    assert_eq!(calls.len(), 2, "one provider call per key: {calls:?}");
    assert!(calls.values().all(|count| *count == 1), "one provider call per key: {calls:?}");
}

#[tokio::test]
async fn on_one_node_without_replicas_a_claim_needing_one_fails_and_is_released() {
    let redis = RedisServer::start();
    let mut settings = RedisSettings::single_node(&redis.url);
    settings.claim_replicas = 1;
    let waiting = RedisStore::connect(&settings).await.expect("connect");
    let key = StoreKey::new("acme", "no-replica");
    let ttl = Duration::from_secs(35);
    let refused = waiting.claim(&key, "fp", ttl).await;
    assert!(refused.as_ref().is_err_and(|e| e.0.contains("0 of 1 replicas")), "{:?}", refused.map(|_| ()));
    // Released: a store that needs no replica takes the key at once.
    settings.claim_replicas = 0;
    let plain = RedisStore::connect(&settings).await.expect("connect");
    assert!(matches!(plain.claim(&key, "fp", ttl).await, Ok(Claim::Acquired(_))));
}
