//! README "Switching providers", the walkthrough from Stripe to Mattilda, step by step on the
//! embedded default config with its simulators: the switch report, a preview against Mattilda,
//! the tenant edit (read from the README itself, so the two cannot drift) checked by the real
//! `check-config`, a reload as SIGHUP does it, then old sessions routed to Stripe, new ones to
//! Mattilda, and `Checkout-Provider` still winning.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use serde_json::{Value, json};
use support::TestGateway;

const DEMO_KEY: &str = "demo-tenant-key";
const STRIPE_SESSION: &str = "cs_demo_open";
const MATTILDA_SESSION: &str = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b";
const SPEED_SESSION: &str = "cs_demo_usd";

fn root(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).expect(path)
}

/// The walkthrough's text in README.md, up to the next heading of its level or above.
fn walkthrough() -> String {
    let readme = root("README.md");
    let start = readme.find("### Walkthrough: from Stripe to Mattilda").expect("the walkthrough in README.md");
    let rest = &readme[start + 4..];
    let end = ["\n### ", "\n## "].iter().filter_map(|h| rest.find(h)).min().unwrap_or(rest.len());
    rest[..end].to_owned()
}

/// Step 3's edit: the lines of the walkthrough's TOML block under `[tenants.demo]`.
fn tenant_edit() -> Vec<String> {
    let text = walkthrough();
    let block = text.split("```toml").nth(1).and_then(|b| b.split("```").next()).expect("a toml block in step 3");
    let lines: Vec<String> = block.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
    assert_eq!(lines.first().map(String::as_str), Some("[tenants.demo]"), "{block}");
    lines[1..].to_vec()
}

/// The embedded default on free ports (as the README serves it, from a copy).
fn embedded_default() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    root("config/gateway.toml")
        .replace("127.0.0.1:8081", &format!("127.0.0.1:{port}"))
        .replace("127.0.0.1:8080", "127.0.0.1:0")
}

/// `config` with the demo tenant's keys that step 3 writes replaced by the README's lines, every
/// other key unchanged.
fn apply_edit(config: &str, edit: &[String]) -> String {
    let start = config.find("[tenants.demo]").expect("the demo tenant");
    let end = config[start + 1..].find("\n[").map_or(config.len(), |at| start + 1 + at);
    let written: Vec<&str> = edit.iter().filter_map(|line| line.split('=').next()).map(str::trim).collect();
    let kept = config[start..end]
        .lines()
        .filter(|line| !written.iter().any(|key| line.split('=').next().map(str::trim) == Some(*key)));
    let table: Vec<String> = kept.map(str::to_owned).chain(edit.iter().cloned()).collect();
    format!("{}{}\n{}", &config[..start], table.join("\n"), &config[end..])
}

async fn call(
    gateway: &TestGateway,
    method: reqwest::Method,
    path: &str,
    header: Option<&str>,
    body: Option<Value>,
) -> (u16, String, Value) {
    let mut request = gateway.client.request(method, gateway.url(path)).bearer_auth(DEMO_KEY);
    if let Some(provider) = header {
        request = request.header("checkout-provider", provider);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let provider =
        response.headers().get("checkout-provider").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (status, provider, response.json().await.unwrap_or(Value::Null))
}

fn order(id: &str) -> Option<Value> {
    Some(json!({ "metadata": { "order_id": id } }))
}

#[tokio::test]
async fn the_readme_walkthrough_moves_a_tenant_from_stripe_to_mattilda_with_config_only() {
    let config = embedded_default();
    let gateway = TestGateway::start(&config).await;
    let patch = reqwest::Method::PATCH;

    // The quickstart's Stripe update, so the report has usage to compare.
    let quickstart = json!({ "metadata": { "order_id": "42" }, "currency": "usd",
        "line_items": [ { "name": "T-shirt", "quantity": 2, "unit_amount": 2500 } ] });
    let (status, provider, _) =
        call(&gateway, patch.clone(), &format!("/v1/checkout/sessions/{STRIPE_SESSION}"), None, Some(quickstart)).await;
    assert_eq!((status, provider.as_str()), (200, "stripe"));

    // 1. The switch report: nothing breaks at Mattilda, and Stripe's sessions would move.
    let (status, _, report) =
        call(&gateway, reqwest::Method::GET, "/v1/providers/compatibility?to=mattilda", None, None).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["compatible"], true, "{report}");
    assert_eq!(report["routes"]["from"], "stripe");
    assert_eq!(report["routes"]["kept"], json!([]));
    assert_eq!(report["routes"]["left"]["example"], "cs_live_0", "{report}");
    assert_eq!(report["routes"]["left"]["goes_to"], "mattilda", "{report}");

    // 2. A preview against Mattilda: its read and its PUT, nothing sent.
    let path = format!("/v1/checkout/sessions/{MATTILDA_SESSION}/preview");
    let (status, provider, preview) = call(&gateway, reqwest::Method::POST, &path, Some("mattilda"), order("42")).await;
    assert_eq!((status, provider.as_str()), (200, "mattilda"), "{preview}");
    let methods: Vec<&str> =
        preview["requests"].as_array().expect("requests").iter().filter_map(|r| r["method"].as_str()).collect();
    assert_eq!(methods, ["GET", "PUT"], "the read, then the update: {preview}");

    // 3. The tenant edit from the README, checked by the real binary.
    let edit = tenant_edit();
    assert!(edit.iter().any(|l| l.starts_with("routes")) && edit.iter().any(|l| l.starts_with("provider")), "{edit:?}");
    let edited = apply_edit(&config, &edit);
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("switch.toml");
    std::fs::write(&file, &edited).expect("write");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_checkout-gateway"))
        .args(["check-config", "--config"])
        .arg(&file)
        .output()
        .expect("run check-config");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{out}{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        out.contains("provider=mattilda") && out.contains("routes[0]") && out.contains("session ids `^cs_` -> stripe"),
        "{out}"
    );
    assert!(!out.contains("warning: tenants.demo.routes"), "{out}");

    // Not yet in force: the old session still goes to the default.
    let (_, provider, _) =
        call(&gateway, patch.clone(), &format!("/v1/checkout/sessions/{STRIPE_SESSION}"), None, order("43")).await;
    assert_eq!(provider, "stripe");
    let (status, _, problem) =
        call(&gateway, patch.clone(), &format!("/v1/checkout/sessions/{MATTILDA_SESSION}"), None, order("43")).await;
    assert_eq!((status, &problem["provider"]["name"]), (404, &json!("stripe")), "{problem}");

    // 4. Reload, as SIGHUP does.
    gateway.reload(&file).unwrap_or_else(|refusal| panic!("reload refused: {refusal}"));

    // 5. Old session by the rule, new one by the default, the header still wins.
    let (status, provider, session) =
        call(&gateway, patch.clone(), &format!("/v1/checkout/sessions/{STRIPE_SESSION}"), None, order("43")).await;
    assert_eq!((status, provider.as_str()), (200, "stripe"), "{session}");
    assert_eq!(session["metadata"]["order_id"], "43");
    let (status, provider, session) =
        call(&gateway, patch.clone(), &format!("/v1/checkout/sessions/{MATTILDA_SESSION}"), None, order("43")).await;
    assert_eq!((status, provider.as_str()), (200, "mattilda"), "{session}");
    assert_eq!(session["metadata"]["order_id"], "43");
    let (status, provider, session) =
        call(&gateway, patch.clone(), &format!("/v1/checkout/sessions/{SPEED_SESSION}"), Some("speed"), order("44"))
            .await;
    assert_eq!((status, provider.as_str()), (200, "speed"), "{session}");
    // Without the header the rule takes Speed's `cs_` id to Stripe, which does not know it.
    let (status, _, problem) =
        call(&gateway, patch.clone(), &format!("/v1/checkout/sessions/{SPEED_SESSION}"), None, order("44")).await;
    assert_eq!((status, &problem["provider"]["name"]), (404, &json!("stripe")), "{problem}");

    // The report after the cutover: the rule keeps Stripe's sessions, none is left behind.
    let (_, _, report) =
        call(&gateway, reqwest::Method::GET, "/v1/providers/compatibility?to=mattilda&from=stripe", None, None).await;
    assert_eq!(report["routes"]["kept"][0]["says"], "sessions matching `^cs_` stay on stripe by routes[0]", "{report}");
    assert_eq!(report["routes"]["left"], Value::Null, "{report}");
    gateway.stop().await;
}
