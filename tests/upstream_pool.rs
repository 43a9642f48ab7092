//! The bounded upstream pool (issue 15): a provider's `max_connections` bounds the connections
//! the gateway opens to it, for updates and passthrough calls together; calls beyond the bound
//! queue, and a call still queued at its deadline fails with the documented `provider_timeout`
//! without reaching the provider.
#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use support::{TestGateway, problem, stripe_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A keep-alive provider that answers every request with a session after `delay`, counting
/// open connections (now and at most) and requests.
struct CountingProvider {
    url: String,
    open: Arc<AtomicUsize>,
    most_open: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl CountingProvider {
    async fn start(delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (open, most_open, requests): (Arc<AtomicUsize>, Arc<AtomicUsize>, Arc<AtomicUsize>) =
            (Arc::default(), Arc::default(), Arc::default());
        let counters = (Arc::clone(&open), Arc::clone(&most_open), Arc::clone(&requests));
        let task = tokio::spawn(async move {
            let (open, most_open, requests) = counters;
            while let Ok((stream, _)) = listener.accept().await {
                let now_open = open.fetch_add(1, Ordering::SeqCst) + 1;
                most_open.fetch_max(now_open, Ordering::SeqCst);
                let (open, requests) = (Arc::clone(&open), Arc::clone(&requests));
                tokio::spawn(async move {
                    let service = service_fn(move |_request| {
                        requests.fetch_add(1, Ordering::SeqCst);
                        async move {
                            tokio::time::sleep(delay).await;
                            let session = json!({ "id": "cs_pool", "object": "checkout.session", "status": "open" });
                            let answer = http::Response::builder()
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(session.to_string())))
                                .expect("response");
                            Ok::<_, Infallible>(answer)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Self { url, open, most_open, requests, task }
    }
}

impl Drop for CountingProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The test config with `max_connections` on the provider and the given timings.
fn pooled_config(url: &str, max_connections: usize, deadline_ms: u64, timeout_ms: u64) -> String {
    stripe_config(url, "")
        .replace("deadline_ms = 3000", &format!("deadline_ms = {deadline_ms}"))
        .replace(
            "timeout_ms = 1000",
            &format!("timeout_ms = {timeout_ms}\nmax_connections = {max_connections}\ncircuit_breaker = {{ failure_threshold = 100 }}"),
        )
}

async fn concurrent_updates(gateway: &TestGateway, count: usize) -> Vec<reqwest::Response> {
    let mut calls = Vec::new();
    for i in 0..count {
        let (client, url) = (gateway.client.clone(), gateway.url(&format!("/v1/checkout/sessions/cs_pool_{i}")));
        calls.push(tokio::spawn(async move {
            client
                .patch(url)
                .bearer_auth(support::TENANT_KEY)
                .json(&json!({ "metadata": { "a": "b" } }))
                .send()
                .await
                .expect("update")
        }));
    }
    joined(calls).await
}

/// Every spawned call's outcome, in the order they were spawned.
async fn joined<T>(calls: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut outcomes = Vec::with_capacity(calls.len());
    for call in calls {
        outcomes.push(call.await.expect("join"));
    }
    outcomes
}

#[tokio::test]
async fn calls_beyond_the_bound_queue_and_never_open_more_connections() {
    let provider = CountingProvider::start(Duration::from_millis(100)).await;
    let gateway = TestGateway::start(&pooled_config(&provider.url, 2, 5_000, 2_000)).await;
    // Twelve at once against a bound of two: six rounds of 100 ms, well within the deadline.
    for response in concurrent_updates(&gateway, 12).await {
        assert_eq!(response.status(), 200);
    }
    assert_eq!(provider.requests.load(Ordering::SeqCst), 12, "every update reached the provider once");
    let most_open = provider.most_open.load(Ordering::SeqCst);
    assert!(most_open <= 2, "at most max_connections open at once, saw {most_open}");
    assert!(provider.open.load(Ordering::SeqCst) <= 2);
    // A second burst reuses the pooled connections rather than opening others.
    for response in concurrent_updates(&gateway, 6).await {
        assert_eq!(response.status(), 200);
    }
    assert!(provider.most_open.load(Ordering::SeqCst) <= 2, "still within the bound");
    gateway.stop().await;
}

#[tokio::test]
async fn a_call_queued_past_its_deadline_is_a_provider_timeout() {
    // One connection; the provider holds each call longer than the whole deadline.
    let provider = CountingProvider::start(Duration::from_millis(3_000)).await;
    let gateway = Arc::new(TestGateway::start(&pooled_config(&provider.url, 1, 800, 5_000)).await);
    let started = std::time::Instant::now();
    let both = tokio::spawn({
        let gateway = Arc::clone(&gateway);
        async move { concurrent_updates(&gateway, 2).await }
    });
    // Mid-deadline: one call is at the provider, the other waits for the one connection.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(provider.requests.load(Ordering::SeqCst), 1, "the second call is queued, not sent");
    assert_eq!(provider.most_open.load(Ordering::SeqCst), 1);
    for response in both.await.expect("join") {
        assert_eq!(response.status(), 504);
        assert_eq!(problem(response).await["code"], "provider_timeout");
    }
    assert!(started.elapsed() < Duration::from_millis(2_500), "both ended at their deadline");
    assert!(provider.most_open.load(Ordering::SeqCst) <= 1, "never a second connection");
}

/// [`pooled_config`] with passthrough calls allowed to Stripe's session paths.
fn passthrough_config(url: &str, max_connections: usize, deadline_ms: u64, timeout_ms: u64) -> String {
    pooled_config(url, max_connections, deadline_ms, timeout_ms).replace(
        "api_version = \"2025-03-31.basil\"",
        "api_version = \"2025-03-31.basil\"\npassthrough = { allow = [\"GET /v1/checkout/sessions/*\", \"POST /v1/checkout/sessions/*\"] }",
    )
}

/// A passthrough read of session `id`, answered in full (status and body).
async fn passthrough_read(gateway: &TestGateway, id: &str) -> (u16, String) {
    let url = gateway.url(&format!("/v1/passthrough/stripe-main/v1/checkout/sessions/{id}"));
    let response = gateway.client.get(url).bearer_auth(support::TENANT_KEY).send().await.expect("passthrough");
    let status = response.status().as_u16();
    (status, response.text().await.expect("passthrough body"))
}

async fn concurrent_passthrough_reads(gateway: &Arc<TestGateway>, count: usize) -> Vec<(u16, String)> {
    let calls: Vec<_> = (0..count)
        .map(|i| {
            let gateway = Arc::clone(gateway);
            tokio::spawn(async move { passthrough_read(&gateway, &format!("cs_pass_{i}")).await })
        })
        .collect();
    joined(calls).await
}

#[tokio::test]
async fn passthrough_calls_share_the_bound_and_all_get_their_answers() {
    let provider = CountingProvider::start(Duration::from_millis(100)).await;
    let gateway = Arc::new(TestGateway::start(&passthrough_config(&provider.url, 2, 5_000, 2_000)).await);
    for (status, body) in concurrent_passthrough_reads(&gateway, 10).await {
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("cs_pool"), "the provider's answer streamed back: {body}");
    }
    assert_eq!(provider.requests.load(Ordering::SeqCst), 10, "every call reached the provider once");
    let most_open = provider.most_open.load(Ordering::SeqCst);
    assert!(most_open <= 2, "at most max_connections open at once, saw {most_open}");
}

#[tokio::test]
async fn passthrough_calls_and_updates_together_stay_within_the_bound() {
    let provider = CountingProvider::start(Duration::from_millis(100)).await;
    let gateway = Arc::new(TestGateway::start(&passthrough_config(&provider.url, 2, 8_000, 4_000)).await);
    let reads = tokio::spawn({
        let gateway = Arc::clone(&gateway);
        async move { concurrent_passthrough_reads(&gateway, 6).await }
    });
    for response in concurrent_updates(&gateway, 6).await {
        assert_eq!(response.status(), 200);
    }
    for (status, body) in reads.await.expect("join") {
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(provider.requests.load(Ordering::SeqCst), 12);
    let most_open = provider.most_open.load(Ordering::SeqCst);
    assert!(most_open <= 2, "updates and passthrough calls share max_connections, saw {most_open}");
}

#[tokio::test]
async fn passthrough_calls_queued_past_their_deadline_are_provider_timeouts() {
    // One connection; the provider holds each call longer than the whole deadline.
    let provider = CountingProvider::start(Duration::from_millis(3_000)).await;
    let gateway = Arc::new(TestGateway::start(&passthrough_config(&provider.url, 1, 800, 5_000)).await);
    let started = std::time::Instant::now();
    let read = tokio::spawn({
        let gateway = Arc::clone(&gateway);
        async move { passthrough_read(&gateway, "cs_read").await }
    });
    // Writes with a body, sent at once: those that wait in the queue never have their body
    // asked for, and their timeout is the provider's (504), not a slow client's (408).
    let writes: Vec<_> = (0..3)
        .map(|i| {
            let write = gateway
                .client
                .post(gateway.url(&format!("/v1/passthrough/stripe-main/v1/checkout/sessions/cs_write_{i}")))
                .bearer_auth(support::TENANT_KEY)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("metadata[a]=b");
            tokio::spawn(async move { write.send().await.expect("passthrough write") })
        })
        .collect();
    // Mid-deadline: one call is at the provider, the others wait for the one connection.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(provider.requests.load(Ordering::SeqCst), 1, "the other calls are queued, not sent");
    assert_eq!(provider.most_open.load(Ordering::SeqCst), 1);
    for write in writes {
        let response = write.await.expect("join");
        assert_eq!(response.status(), 504);
        assert_eq!(problem(response).await["code"], "provider_timeout");
    }
    let (status, body) = read.await.expect("join");
    assert_eq!(status, 504, "{body}");
    assert!(body.contains("provider_timeout"), "{body}");
    assert!(started.elapsed() < Duration::from_millis(2_500), "all ended at their deadline");
    assert!(provider.most_open.load(Ordering::SeqCst) <= 1, "never a second connection");
}

/// A provider that answers every request at once with a head promising 1000 bytes, sends ten,
/// and then goes silent; counts requests.
async fn stalling_provider() -> (String, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let requests: Arc<AtomicUsize> = Arc::default();
    let counted = Arc::clone(&requests);
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counted = Arc::clone(&counted);
            tokio::spawn(async move {
                let mut head = [0_u8; 4096];
                if stream.read(&mut head).await.unwrap_or(0) == 0 {
                    return;
                }
                counted.fetch_add(1, Ordering::SeqCst);
                let answer =
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"id\":\"cs";
                let _ = stream.write_all(answer.as_bytes()).await;
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    (url, requests, task)
}

#[tokio::test]
async fn a_passthrough_answer_still_streaming_at_the_deadline_is_cut_off_and_gives_its_place_back() {
    let (url, requests, task) = stalling_provider().await;
    let gateway = TestGateway::start(&passthrough_config(&url, 1, 700, 5_000)).await;
    let started = std::time::Instant::now();
    let url = gateway.url("/v1/passthrough/stripe-main/v1/checkout/sessions/cs_stalled");
    let response = gateway.client.get(&url).bearer_auth(support::TENANT_KEY).send().await.expect("passthrough");
    assert_eq!(response.status(), 200, "the head came in time");
    assert!(response.bytes().await.is_err(), "the body is cut off, not completed");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(600) && elapsed < Duration::from_millis(2_000),
        "cut at the deadline: {elapsed:?}"
    );
    // The one place in the provider's queue came back with the cut-off body: the next call is sent.
    let next = gateway.client.get(&url).bearer_auth(support::TENANT_KEY).send().await.expect("passthrough");
    assert_eq!(next.status(), 200);
    assert_eq!(requests.load(Ordering::SeqCst), 2, "the second call reached the provider");
    task.abort();
}

#[tokio::test]
async fn max_connections_must_be_positive() {
    let config = pooled_config("http://127.0.0.1:9", 0, 3_000, 1_000);
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().expect("temp file");
    std::io::Write::write_all(&mut file, config.as_bytes()).expect("write");
    let error = checkout_gateway::config::load(file.path()).err().expect("refused");
    assert!(error.to_string().contains("providers.stripe-main.max_connections"), "{error}");
}

/// One update holds the only place at the provider for `HOLD`; meanwhile the requests that need
/// no provider call must not wait behind it.
const HOLD: Duration = Duration::from_millis(3_000);

#[tokio::test]
async fn requests_that_call_no_provider_never_wait_for_a_place() {
    let provider = CountingProvider::start(HOLD).await;
    let gateway = Arc::new(TestGateway::start(&pooled_config(&provider.url, 1, 8_000, 6_000)).await);
    let keyed = |key: &'static str| {
        gateway
            .client
            .patch(gateway.url("/v1/checkout/sessions/cs_pool_keyed"))
            .bearer_auth(support::TENANT_KEY)
            .header("idempotency-key", key)
            .json(&json!({ "metadata": { "a": "b" } }))
    };
    // An answer stored under a key (this one waits for the provider, alone).
    assert_eq!(keyed("pool-replay").send().await.expect("first").status(), 200);

    // Another update takes the one place for HOLD.
    let holder = tokio::spawn({
        let gateway = Arc::clone(&gateway);
        async move { concurrent_updates(&gateway, 1).await }
    });
    while provider.requests.load(Ordering::SeqCst) < 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let waiting_since = std::time::Instant::now();
    // A body the gateway refuses is answered at once, not after the holder's call.
    let refused = gateway
        .client
        .patch(gateway.url("/v1/checkout/sessions/cs_pool_bad"))
        .bearer_auth(support::TENANT_KEY)
        .json(&json!({ "metadata": 5 }))
        .send()
        .await
        .expect("refused");
    assert_eq!(refused.status(), 422);
    // The stored answer is replayed at once too.
    let replay = keyed("pool-replay").send().await.expect("replay");
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.headers().get("idempotent-replayed").map(http::HeaderValue::as_bytes), Some(&b"true"[..]));
    assert!(waiting_since.elapsed() < HOLD / 2, "answered while the provider still held the place");
    assert!(!holder.is_finished(), "the holder's call is still at the provider");
    assert_eq!(provider.requests.load(Ordering::SeqCst), 2, "neither reached the provider");
    for response in holder.await.expect("join") {
        assert_eq!(response.status(), 200);
    }
}
