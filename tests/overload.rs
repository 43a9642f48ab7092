//! Overload safety over real sockets (issue 13 items 4 and 5): one global concurrency limit
//! across routes that follows reloads, probes outside load shedding, slow clients cut off
//! (headers) or answered 408 (body) and counted, and a cap on open connections.
#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use std::io::Write as _;
use std::time::{Duration, Instant};

use serde_json::json;
use support::faults::{Fault, FaultServer};
use support::{TENANT_KEY, TestGateway, problem, stripe_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A gateway whose provider never answers, so each update holds its slot until the 5 s
/// deadline; `server` is extra `[server]` lines.
fn silent_provider_config(provider_url: &str, server: &str) -> String {
    stripe_config(provider_url, "")
        .replace("deadline_ms = 3000", &format!("deadline_ms = 5000\n{server}"))
        .replace("timeout_ms = 1000", "timeout_ms = 10000")
}

/// Start `count` updates that hang at the provider, and wait until each has reached it.
async fn hold_slots(gateway: &TestGateway, provider: &FaultServer, count: usize) -> Vec<tokio::task::JoinHandle<u16>> {
    let mut held = Vec::new();
    for _ in 0..count {
        let (client, url) = (gateway.client.clone(), gateway.url("/v1/checkout/sessions/cs_slow"));
        held.push(tokio::spawn(async move {
            let response =
                client.patch(url).bearer_auth(TENANT_KEY).json(&json!({ "metadata": { "a": "b" } })).send().await;
            response.map_or(0, |r| r.status().as_u16())
        }));
    }
    let started = Instant::now();
    while provider.attempts() < count {
        assert!(started.elapsed() < Duration::from_secs(4), "the slow updates did not reach the provider");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    held
}

#[tokio::test]
async fn one_concurrency_limit_covers_every_route_and_probes_are_never_shed() {
    let provider = FaultServer::start(vec![Fault::Silence]).await;
    let gateway = TestGateway::start(&silent_provider_config(&provider.url, "max_concurrency = 2")).await;
    let held = hold_slots(&gateway, &provider, 2).await;

    // Two updates on one route hold the whole API's two slots: other routes are shed too.
    for path in ["/v1/providers", "/v1/checkout/sessions/cs_other", "/openapi.json"] {
        let response = gateway.get(path).await;
        assert_eq!(response.status(), 503, "{path}");
        assert!(response.headers().contains_key("retry-after"));
        assert_eq!(problem(response).await["code"], "overloaded", "{path}");
    }
    let preview = gateway
        .client
        .post(gateway.url("/v1/checkout/sessions/cs_other/preview"))
        .bearer_auth(TENANT_KEY)
        .json(&json!({ "metadata": { "a": "b" } }))
        .send()
        .await
        .expect("preview");
    assert_eq!(preview.status(), 503);
    // Probes and metrics answer whatever the load.
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(gateway.client.get(gateway.url(path)).send().await.expect(path).status(), 200, "{path}");
    }
    for request in held {
        assert_eq!(request.await.expect("join"), 504, "the held updates end at their deadline");
    }
    assert_eq!(gateway.get("/v1/providers").await.status(), 200, "slots are freed");
    gateway.stop().await;
}

#[tokio::test]
async fn max_concurrency_follows_a_reload() {
    let provider = FaultServer::start(vec![Fault::Silence]).await;
    let config = silent_provider_config(&provider.url, "max_concurrency = 1");
    let gateway = TestGateway::start(&config).await;
    let held = hold_slots(&gateway, &provider, 1).await;
    assert_eq!(gateway.get("/v1/providers").await.status(), 503);

    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().expect("temp file");
    file.write_all(config.replace("max_concurrency = 1", "max_concurrency = 4").as_bytes()).expect("write");
    gateway.reload(file.path()).expect("reload accepted");
    assert_eq!(gateway.get("/v1/providers").await.status(), 200, "the raised limit applies at once");
    for request in held {
        request.await.expect("join");
    }
    gateway.stop().await;
}

/// The value of the series `name{labels}` in `/metrics` (0 when absent).
async fn metric(gateway: &TestGateway, series: &str) -> f64 {
    let text = gateway.client.get(gateway.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    text.lines().find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse().ok())).unwrap_or(0.0)
}

fn address(gateway: &TestGateway) -> String {
    gateway.base.trim_start_matches("http://").to_owned()
}

/// Whether the server closed `stream` (EOF or reset) within `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buffer = [0_u8; 1024];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn a_client_dribbling_its_headers_is_cut_off_and_counted() {
    let gateway = TestGateway::start(
        &stripe_config("http://127.0.0.1:9", "")
            .replace("deadline_ms = 3000", "deadline_ms = 3000\nheader_read_timeout_ms = 300"),
    )
    .await;
    let before = metric(&gateway, "gateway_slow_clients_total{phase=\"headers\"}").await;
    let mut stream = TcpStream::connect(address(&gateway)).await.expect("connect");
    stream.write_all(b"GET /v1/providers HTTP/1.1\r\nhost: gateway\r\n").await.expect("write");
    // One header byte every 50 ms: each byte arrives well within any per-read timeout, yet the
    // headers never end. The gateway must close the connection, not wait for them.
    let started = Instant::now();
    let mut cut_off = false;
    while started.elapsed() < Duration::from_secs(4) {
        if stream.write_all(b"x").await.is_err() {
            cut_off = true;
            break;
        }
        if closed_within(&mut stream, Duration::from_millis(50)).await {
            cut_off = true;
            break;
        }
    }
    assert!(cut_off, "the slowloris connection was still open after 4 s");
    assert!(started.elapsed() < Duration::from_secs(3), "cut off near header_read_timeout_ms");
    let after = metric(&gateway, "gateway_slow_clients_total{phase=\"headers\"}").await;
    assert!(after > before, "counted: {before} -> {after}");
    gateway.stop().await;
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_answers_408_and_is_counted() {
    let gateway = TestGateway::start(
        &stripe_config("http://127.0.0.1:9", "")
            .replace("deadline_ms = 3000", "deadline_ms = 3000\nbody_read_timeout_ms = 300"),
    )
    .await;
    let before = metric(&gateway, "gateway_slow_clients_total{phase=\"body\"}").await;
    let mut stream = TcpStream::connect(address(&gateway)).await.expect("connect");
    let head = format!(
        "PATCH /v1/checkout/sessions/cs_x HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer {TENANT_KEY}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    // Ten more bytes, slowly, then nothing: the 100 announced bytes never all arrive.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if stream.write_all(b" ").await.is_err() {
            break;
        }
    }
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(4), async {
        let mut buffer = [0_u8; 4096];
        while let Ok(n) = stream.read(&mut buffer).await {
            if n == 0 {
                break;
            }
            response.extend_from_slice(&buffer[..n]);
            if response.windows(4).any(|w| w == b"\r\n\r\n") && response.ends_with(b"}") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer within 4 s to a body that stopped arriving");
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"code\":\"request_timeout\""), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    let after = metric(&gateway, "gateway_slow_clients_total{phase=\"body\"}").await;
    assert!(after > before, "counted: {before} -> {after}");
    gateway.stop().await;
}

/// A keep-alive connection that has been served once (so the gateway accepted it).
async fn served_connection(gateway: &TestGateway) -> TcpStream {
    let mut stream = TcpStream::connect(address(gateway)).await.expect("connect");
    stream.write_all(b"GET /healthz HTTP/1.1\r\nhost: gateway\r\n\r\n").await.expect("write");
    let mut buffer = [0_u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buffer))
        .await
        .expect("answered in time")
        .expect("read");
    assert!(buffer[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buffer[..n]));
    stream
}

#[tokio::test]
async fn connections_beyond_max_connections_are_closed_and_counted() {
    let gateway = TestGateway::start(
        &stripe_config("http://127.0.0.1:9", "")
            .replace("deadline_ms = 3000", "deadline_ms = 3000\nmax_connections = 2"),
    )
    .await;
    let first = served_connection(&gateway).await;
    let _second = served_connection(&gateway).await;

    let mut third = TcpStream::connect(address(&gateway)).await.expect("the kernel still accepts");
    let _ = third.write_all(b"GET /healthz HTTP/1.1\r\nhost: gateway\r\n\r\n").await;
    assert!(closed_within(&mut third, Duration::from_secs(3)).await, "a third connection was served");

    // Closing one frees its place; the refusal was counted (read over that place, since
    // `_second` still holds the other).
    drop(first);
    let started = Instant::now();
    let metrics = loop {
        let mut stream = TcpStream::connect(address(&gateway)).await.expect("connect");
        let request = b"GET /metrics HTTP/1.1\r\nhost: gateway\r\nconnection: close\r\n\r\n";
        let mut answer = String::new();
        if stream.write_all(request).await.is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(3), stream.read_to_string(&mut answer)).await;
        }
        if answer.starts_with("HTTP/1.1 200") {
            break answer;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "the freed place was never reused");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let refused = metrics.lines().find_map(|l| l.strip_prefix("gateway_connections_refused_total ")).expect("counter");
    assert!(refused.trim().parse::<f64>().expect("number") >= 1.0);
    gateway.stop().await;
}
