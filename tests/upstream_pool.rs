//! The bounded upstream pool (issue 15): a provider's `max_connections` bounds the connections
//! the gateway opens to it; calls beyond the bound queue, and a call still queued at its
//! deadline fails with the documented `provider_timeout` without reaching the provider.
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
    let mut responses = Vec::new();
    for call in calls {
        responses.push(call.await.expect("join"));
    }
    responses
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

#[tokio::test]
async fn max_connections_must_be_positive() {
    let config = pooled_config("http://127.0.0.1:9", 0, 3_000, 1_000);
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().expect("temp file");
    std::io::Write::write_all(&mut file, config.as_bytes()).expect("write");
    let error = checkout_gateway::config::load(file.path()).err().expect("refused");
    assert!(error.to_string().contains("providers.stripe-main.max_connections"), "{error}");
}
