//! The Grafana dashboard and the Prometheus alert rules in `deploy/observability/` name only
//! series the gateway exports, and have the shape their tools expect.
//!
//! The exported names come from a real gateway's `/metrics` after traffic that produces its
//! series: answers and their latency, provider attempts with a retry, circuit gauges, an
//! idempotent replay, a refused reload, and requests shed by the auth-failure limit. The series
//! that only appear on faults this test does not cause (`FAULT_ONLY`: slow clients, refused
//! connections) are taken, as a fallback, from their declarations in `src/metrics.rs`; the
//! source reader is checked against the scrape so the fallback cannot drift from what the
//! gateway really serves. `promtool check rules` / `test rules` (deploy/validate.sh) check the
//! rules' syntax and behaviour; this test checks their names.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

#[path = "observability_assets/assets.rs"]
mod assets;
#[path = "observability_assets/exported.rs"]
mod exported;
#[path = "observability_assets/promql.rs"]
mod promql;
mod support;

use assets::{Expression, dashboard_expressions, observability_dir, rule_expressions};
use exported::Exported;
use serde_json::json;
use support::{TENANT_KEY, TestGateway, stripe_config};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Series only a fault produces (a client too slow to send its request, a connection over
/// `server.max_connections`): known from `src/metrics.rs` rather than from the scrape.
const FAULT_ONLY: &[&str] = &["gateway_slow_clients_total", "gateway_connections_refused_total"];

fn read(name: &str) -> String {
    std::fs::read_to_string(observability_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn dashboard() -> serde_json::Value {
    serde_json::from_str(&read("grafana-dashboard.json")).expect("the dashboard is JSON")
}

fn declared_in_source() -> Exported {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/metrics.rs");
    Exported::from_source(&std::fs::read_to_string(source).expect("src/metrics.rs"))
}

/// What is wrong with `expressions` against `exported`: unknown metrics and unknown functions.
fn problems(expressions: &[Expression], exported: &Exported) -> Vec<String> {
    let mut found = Vec::new();
    for expression in expressions {
        let Expression { origin, text, names } = expression;
        for metric in names.metrics.iter().filter(|metric| !exported.has(metric)) {
            found.push(format!("{origin}: `{metric}` is not a series the gateway exports, in: {text}"));
        }
        for function in &names.unknown_functions {
            found.push(format!("{origin}: `{function}(` is not a PromQL function, in: {text}"));
        }
    }
    found
}

/// Traffic that produces every series but `FAULT_ONLY`, then the `/metrics` text.
async fn scrape_after_traffic() -> String {
    let mock = MockServer::start().await;
    let unavailable = json!({ "error": { "type": "api_error", "message": "down" } });
    Mock::given(path("/v1/checkout/sessions/cs_flaky"))
        .respond_with(ResponseTemplate::new(503).set_body_json(unavailable))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&mock)
        .await;
    let session = json!({ "id": "cs_assets", "object": "checkout.session", "status": "open" });
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200).set_body_json(session)).mount(&mock).await;
    // One unknown key from an address, and its next request is shed (`limit="auth_failures"`).
    let config =
        stripe_config(&mock.uri(), "").replace("deadline_ms = 3000\n", "deadline_ms = 3000\nauth_failure_limit = 1\n");
    assert!(config.contains("auth_failure_limit = 1"), "the support config changed shape");
    let gateway = TestGateway::start(&config).await;

    let body = json!({ "metadata": { "a": "b" } });
    assert_eq!(gateway.patch("cs_flaky", &body).await.status(), 200, "a 503, then a retry");
    for _ in 0..2 {
        let response = gateway
            .client
            .patch(gateway.url("/v1/checkout/sessions/cs_assets"))
            .bearer_auth(TENANT_KEY)
            .header("idempotency-key", "assets-key")
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "the second one is a replay");
    }
    let dir = tempfile::tempdir().expect("dir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[nonsense]\n").expect("write");
    assert!(gateway.reload(&bad).is_err(), "a refused reload");
    for expected in [401, 429] {
        let response = gateway.client.get(gateway.url("/v1/providers")).bearer_auth("unknown-key").send().await;
        assert_eq!(response.expect("request").status(), expected);
    }

    let metrics = gateway.client.get(gateway.url("/metrics")).send().await.expect("metrics");
    let text = metrics.text().await.expect("text");
    gateway.stop().await;
    text
}

#[tokio::test]
async fn every_series_the_dashboard_and_alerts_name_is_one_the_gateway_exports() {
    let scraped = Exported::from_scrape(&scrape_after_traffic().await);
    let declared = declared_in_source();
    let undeclared: Vec<_> = scraped.families().difference(&declared.families()).cloned().collect();
    assert!(undeclared.is_empty(), "the source reader missed {undeclared:?}: {declared:?}");
    let mut exported = scraped;
    for name in FAULT_ONLY {
        assert!(declared.has(name), "{name} is no longer declared in src/metrics.rs");
        exported.series.insert((*name).to_owned());
    }

    let dashboard = dashboard_expressions(&dashboard());
    let rules_text = read("alerts.yml");
    let rules = rule_expressions(&rules_text);
    let alert_count = rules_text.lines().filter(|line| line.trim_start().starts_with("- alert:")).count();
    assert_eq!(rules.len(), alert_count, "one expression per alert");
    assert!(dashboard.len() > 10, "the dashboard's expressions were not found");

    let expressions: Vec<_> = dashboard.into_iter().chain(rules).collect();
    let problems = problems(&expressions, &exported);
    assert!(problems.is_empty(), "{}\nexported: {exported:?}", problems.join("\n"));
    let used: std::collections::BTreeSet<_> = expressions.iter().flat_map(|e| e.names.metrics.iter()).collect();
    assert!(used.iter().any(|name| name.ends_with("_bucket")), "latency quantiles: {used:?}");
}

#[test]
fn a_dashboard_or_rule_naming_an_unknown_metric_fails_the_check() {
    let dashboard = json!({
        "panels": [{ "type": "row", "title": "Row", "panels": [
            { "title": "Typo", "targets": [{ "expr": "sum(rate(gateway_requets_total[5m]))" }] },
        ] }],
        "templating": { "list": [{ "type": "query", "name": "t", "query": "label_values(gateway_made_up, tenant)" }] },
    });
    let rules = "groups:\n  - rules:\n      - alert: A\n        expr: |\n          gateway_circuit_state == 2\n          and gateway_circuit > 0\n";
    let expressions: Vec<_> = dashboard_expressions(&dashboard).into_iter().chain(rule_expressions(rules)).collect();
    let problems = problems(&expressions, &declared_in_source());
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].starts_with("panel `Typo`: `gateway_requets_total`"), "{problems:?}");
    assert!(problems[1].starts_with("dashboard variable `t`: `gateway_made_up`"), "{problems:?}");
    assert!(problems[2].starts_with("alerts.yml line 4: `gateway_circuit`"), "{problems:?}");
}

/// Importable into Grafana with any Prometheus data source: every panel and target reads the
/// `datasource` variable, ids are unique.
#[test]
fn the_dashboard_reads_its_datasource_variable_everywhere() {
    let dashboard = dashboard();
    let variables = dashboard["templating"]["list"].as_array().expect("templating.list");
    assert!(
        variables.iter().any(|v| v["type"] == "datasource" && v["name"] == "datasource" && v["query"] == "prometheus"),
        "a `datasource` variable of type prometheus"
    );
    let rows = dashboard["panels"].as_array().expect("panels");
    let panels: Vec<_> =
        rows.iter().chain(rows.iter().flat_map(|row| row["panels"].as_array().into_iter().flatten())).collect();
    let mut ids = std::collections::BTreeSet::new();
    for panel in &panels {
        assert!(ids.insert(panel["id"].as_u64().expect("panel id")), "duplicate id {}", panel["id"]);
        if panel["type"] == "row" {
            continue;
        }
        let title = &panel["title"];
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "{title}");
        let targets = panel["targets"].as_array().filter(|t| !t.is_empty()).expect("targets");
        assert!(targets.iter().all(|t| t["datasource"]["uid"] == "${datasource}"), "{title}");
    }
}

/// Every alert says how long it must hold, how bad it is, and what to do.
#[test]
fn every_alert_has_a_duration_a_severity_and_a_summary_and_description() {
    let rules = read("alerts.yml");
    let alerts: Vec<_> = rules.split("- alert:").skip(1).collect();
    assert!(alerts.len() >= 4, "breaker, provider errors, shedding, reloads");
    for alert in alerts {
        let name = alert.split_whitespace().next().unwrap_or_default();
        for key in ["expr:", "for:", "severity:", "summary:", "description:"] {
            assert!(alert.lines().any(|line| line.trim_start().starts_with(key)), "{name} has no `{key}`");
        }
    }
}
