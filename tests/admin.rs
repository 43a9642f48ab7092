//! The operational surface (issue 13 item 9): the optional admin listener for metrics and the
//! detailed readiness, a terse public `/readyz`, `base_url` credentials refused, the published
//! demo key refused beyond loopback unless asked for, and SIGHUP handled from the moment the
//! port answers.
#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{TestGateway, stripe_config};

#[tokio::test]
async fn with_an_admin_listener_metrics_and_detail_leave_the_public_port() {
    let config = stripe_config("http://127.0.0.1:9", "")
        .replace("deadline_ms = 3000", "deadline_ms = 3000\nadmin_listen = \"127.0.0.1:0\"");
    let gateway = TestGateway::start(&config).await;
    let admin = gateway.admin_base.clone().expect("admin listener bound");
    assert_eq!(gateway.get("/v1/providers").await.status(), 200, "some traffic to count");

    assert_eq!(gateway.client.get(gateway.url("/metrics")).send().await.expect("public").status(), 404);
    let metrics = gateway.client.get(format!("{admin}/metrics")).send().await.expect("admin metrics");
    assert_eq!(metrics.status(), 200);
    assert!(metrics.text().await.expect("text").contains("gateway_requests_total"));

    let detail: Value =
        gateway.client.get(format!("{admin}/readyz")).send().await.expect("admin").json().await.expect("json");
    assert_eq!(detail["status"], "ready");
    assert_eq!(detail["store"], "ok");
    assert_eq!(detail["tenants"], 1);
    assert!(detail["circuits"].get("stripe-main").is_some(), "{detail}");
    assert_eq!(gateway.client.get(format!("{admin}/healthz")).send().await.expect("admin").status(), 200);
    // The admin listener serves nothing of the API.
    assert_eq!(gateway.client.get(format!("{admin}/v1/providers")).send().await.expect("admin").status(), 404);
    gateway.stop().await;
}

#[tokio::test]
async fn the_public_readyz_says_only_ready_or_not() {
    let gateway = TestGateway::start(&stripe_config("http://127.0.0.1:9", "")).await;
    let ready = gateway.client.get(gateway.url("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.expect("json"), json!({ "status": "ready" }));
    // Without an admin listener, /metrics stays on the main port (compatibility).
    assert_eq!(gateway.client.get(gateway.url("/metrics")).send().await.expect("metrics").status(), 200);
    gateway.stop().await;
}

#[test]
fn a_base_url_with_credentials_is_refused_without_repeating_them() {
    let config = stripe_config("https://ops:hunter2-secret@api.example.com", "");
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().expect("temp file");
    file.write_all(config.as_bytes()).expect("write");
    let Err(error) = checkout_gateway::config::load(file.path()) else {
        panic!("a base_url with user:password@ was accepted");
    };
    assert_eq!(error.key, "providers.stripe-main.base_url");
    assert!(!error.to_string().contains("hunter2-secret"), "{error}");
    assert!(!error.to_string().contains("ops:"), "{error}");
}

/// `checkout-gateway check-config` on the embedded default with `env`: its success and stderr.
fn check_embedded_default(env: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_checkout-gateway"))
        .args(["check-config", "--config"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/config/gateway.toml"))
        .env_remove("CHECKOUT_GATEWAY_DEMO")
        .env_remove("CHECKOUT_GATEWAY__SERVER__LISTEN")
        .envs(env.iter().copied())
        .output()
        .expect("run check-config");
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn the_published_demo_key_is_refused_beyond_loopback_unless_asked_for() {
    assert!(check_embedded_default(&[]).0, "the embedded default on 127.0.0.1 runs as before");
    // What the container image sets: the demo file, listening on every interface.
    let public = [("CHECKOUT_GATEWAY__SERVER__LISTEN", "0.0.0.0:8080")];
    let (ok, stderr) = check_embedded_default(&public);
    assert!(!ok, "the demo tenant on 0.0.0.0 was accepted");
    assert!(stderr.contains("tenants.demo.api_key_sha256"), "{stderr}");
    assert!(stderr.contains("CHECKOUT_GATEWAY_DEMO=1"), "{stderr}");
    let (ok, stderr) = check_embedded_default(&[public[0], ("CHECKOUT_GATEWAY_DEMO", "1")]);
    assert!(ok, "asked for explicitly: {stderr}");
}

#[test]
fn a_sighup_as_soon_as_the_port_answers_reloads_instead_of_killing() {
    // Each round races a SIGHUP against start-up: sent the moment the port accepts, it lands
    // in the gap between binding and any later handler installation if there is one.
    for round in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let config = stripe_config("http://127.0.0.1:9", "").replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
        let mut file = tempfile::Builder::new().suffix(".toml").tempfile().expect("temp file");
        file.write_all(config.as_bytes()).expect("write");
        let mut child = Command::new(env!("CARGO_BIN_EXE_checkout-gateway"))
            .args(["serve", "--config"])
            .arg(file.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn gateway");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(child.try_wait().expect("wait").is_none(), "round {round}: the gateway exited during start-up");
            assert!(started.elapsed() < Duration::from_secs(20), "round {round}: the port never answered");
            std::thread::yield_now();
        }
        let sent = Command::new("kill").args(["-HUP", &child.id().to_string()]).status().expect("kill");
        assert!(sent.success());
        let healthy = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            healthz(port)
        });
        let exited = child.try_wait().expect("wait");
        let _ = child.kill();
        let _ = child.wait();
        assert!(exited.is_none() && healthy, "round {round}: SIGHUP right after bind killed the gateway ({exited:?})");
    }
}

fn healthz(port: u16) -> bool {
    use std::io::Read as _;
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /healthz HTTP/1.1\r\nhost: gateway\r\nconnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}
