//! Bounded errors (issue 13 item 1, DESIGN §4): a hostile body cannot make the gateway build a
//! huge answer or grow its memory. At most 100 problems with `"truncated": true` beyond, a
//! detail quotes client input only as a short excerpt, and collection sizes are checked before
//! the schema walks every element.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use serde_json::{Value, json};
use support::process::GatewayProcess;
use support::{TENANT_KEY, TestGateway, problem, stripe_config};

/// Nothing here reaches a provider: validation refuses every body first.
const NOWHERE: &str = "http://127.0.0.1:9";

/// `{"line_items":[{},{},…]}` of exactly `size` bytes.
fn empty_items_body(size: usize) -> Vec<u8> {
    let (head, tail) = (br#"{"line_items":["#.as_slice(), b"]}".as_slice());
    let count = (size - head.len() - tail.len()).div_ceil(3);
    let mut body = head.to_vec();
    for i in 0..count {
        body.extend_from_slice(if i == 0 { b"{}" } else { b",{}" });
    }
    // Pad with whitespace to the exact size (JSON allows it between tokens).
    body.resize(size - tail.len(), b' ');
    body.extend_from_slice(tail);
    body
}

async fn patch_raw(client: &reqwest::Client, base: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
    let response = client
        .patch(format!("{base}/v1/checkout/sessions/cs_bounded"))
        .bearer_auth(TENANT_KEY)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request");
    (response.status().as_u16(), response.bytes().await.expect("body").to_vec())
}

#[tokio::test]
async fn a_one_mebibyte_body_of_empty_items_answers_one_small_problem() {
    let gateway = TestGateway::start(&stripe_config(NOWHERE, "")).await;
    let body = empty_items_body(1024 * 1024);
    assert_eq!(body.len(), 1024 * 1024, "exactly the default body limit");
    let (status, answer) = patch_raw(&gateway.client, &gateway.base, body).await;
    assert_eq!(status, 422);
    assert!(answer.len() < 64 * 1024, "the answer is {} bytes", answer.len());
    let problem: Value = serde_json::from_slice(&answer).expect("problem+json");
    assert_eq!(problem["code"], "validation_failed");
    let errors = problem["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{problem}");
    assert_eq!(errors[0]["pointer"], "/line_items");
    assert!(errors[0]["detail"].as_str().is_some_and(|d| d.ends_with(" items; at most 100 are allowed")), "{problem}");
    gateway.stop().await;
}

#[tokio::test]
async fn more_than_a_hundred_problems_are_cut_at_a_hundred_and_marked_truncated() {
    let gateway = TestGateway::start(&stripe_config(NOWHERE, "")).await;
    // 100 items (the limit) that each break four rules.
    let items: Vec<Value> = (0..100).map(|_| json!({})).collect();
    let answer = problem(gateway.patch("cs_bounded", &json!({ "line_items": items })).await).await;
    assert_eq!(answer["errors"].as_array().expect("errors").len(), 100);
    assert_eq!(answer["truncated"], true);
    // At or under the cap, the answer says nothing about truncation.
    let answer = problem(gateway.patch("cs_bounded", &json!({ "line_items": [{}] })).await).await;
    assert!(answer.get("truncated").is_none(), "{answer}");
    gateway.stop().await;
}

#[tokio::test]
async fn a_detail_quotes_client_input_only_as_a_short_excerpt() {
    let gateway = TestGateway::start(&stripe_config(NOWHERE, "")).await;
    // Seven copies stay under the 1 MiB body limit.
    let long = "y".repeat(100_000);
    let body = json!({
        "description": long,
        "shipping_rate": long,
        "metadata": { long.clone(): long },
        "line_items": [{ "id": long, "quantity": long }],
        long.clone(): 1,
    });
    let answer = problem(gateway.patch("cs_bounded", &body).await).await;
    let errors = answer["errors"].as_array().expect("errors");
    assert!(errors.len() >= 5, "{answer}");
    for error in errors {
        let quoted = error.to_string().matches('y').count();
        assert!(quoted <= 2 * 80 + 10, "more than an excerpt of the input: {error}");
    }
    assert!(answer.to_string().len() < 16 * 1024, "{answer}");
    gateway.stop().await;
}

/// The process's peak resident set (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM line");
    line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("VmHWM value")
}

#[tokio::test]
async fn ten_hostile_bodies_leave_the_real_binary_s_memory_flat() {
    let dir = tempfile::tempdir().expect("dir");
    let config = stripe_config(NOWHERE, "").replacen("[server]\n", "[server]\nlog_format = \"json\"\n", 1);
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, config).expect("write config");
    let gateway = GatewayProcess::start(&path, "info");
    let client = reqwest::Client::new();
    // Warm up with one valid-sized refused body, so start-up allocations are not counted.
    let _ = patch_raw(&client, &gateway.base, br#"{"line_items":[{}]}"#.to_vec()).await;
    let before = peak_rss_kib(gateway.pid());
    let mut sizes = Vec::new();
    for _ in 0..10 {
        let (status, answer) = patch_raw(&client, &gateway.base, empty_items_body(1024 * 1024)).await;
        assert_eq!(status, 422);
        sizes.push(answer.len());
    }
    let growth_mib = (peak_rss_kib(gateway.pid()) - before) / 1024;
    // The body and its parsed form (about 16 bytes a `{}`) are needed while it is read; the
    // old code's millions of problems took hundreds of MiB.
    assert!(growth_mib < 64, "peak RSS grew by {growth_mib} MiB over ten requests");
    assert!(sizes.iter().all(|size| *size < 64 * 1024), "answer sizes {sizes:?}");
}
