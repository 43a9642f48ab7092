//! Prometheus metrics (DESIGN §9) through the `metrics` facade. Labels are tenant and provider
//! names, route templates and status codes: bounded sets, never secrets or raw paths.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets in seconds, from sub-millisecond translation to the 30 s deadline.
const LATENCY_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The process-wide recorder (installed once; later gateways in the same process share it).
pub fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("duration_seconds".to_owned()), LATENCY_BUCKETS)
                .ok()?;
            builder.install_recorder().ok()
        })
        .as_ref()
}

/// Histograms buffer samples until upkeep folds them in; without a scrape they would grow with
/// every request, so upkeep runs on a timer until `stopped` says the server is done.
pub async fn upkeep(mut stopped: tokio::sync::watch::Receiver<bool>) {
    let Some(handle) = handle() else { return };
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tick.tick() => handle.run_upkeep(),
            _ = stopped.wait_for(|stop| *stop) => return,
        }
    }
}

pub fn request(tenant: &str, provider: &str, route: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("tenant", tenant.to_owned()),
        ("provider", provider.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!("gateway_requests_total", &labels).increment(1);
    metrics::histogram!("gateway_request_duration_seconds", "route" => route.to_owned()).record(elapsed.as_secs_f64());
}

/// One provider attempt: `outcome` is the HTTP status or a failure name (`timeout`, …).
pub fn attempt(provider: &str, outcome: &str, elapsed: Duration) {
    let labels = [("provider", provider.to_owned()), ("outcome", outcome.to_owned())];
    metrics::counter!("gateway_provider_attempts_total", &labels).increment(1);
    metrics::histogram!("gateway_provider_duration_seconds", "provider" => provider.to_owned())
        .record(elapsed.as_secs_f64());
}

/// One token-endpoint fetch (OAuth client credentials): `ok` or `failed`. No provider label:
/// few providers use a token source and a fetch happens about once per token lifetime.
pub fn token_fetch(outcome: &'static str) {
    metrics::counter!("gateway_provider_token_fetches_total", "outcome" => outcome).increment(1);
}

/// One problem answer, by its stable error code (a bounded set: `errors::ErrorCode::ALL`).
pub fn error(code: &'static str) {
    metrics::counter!("gateway_errors_total", "code" => code).increment(1);
}

pub fn retry(provider: &str) {
    metrics::counter!("gateway_provider_retries_total", "provider" => provider.to_owned()).increment(1);
}

/// 0 closed, 1 half-open, 2 open.
pub fn circuit(provider: &str, level: u8) {
    metrics::gauge!("gateway_circuit_state", "provider" => provider.to_owned()).set(f64::from(level));
}

pub fn replay(tenant: &str) {
    metrics::counter!("gateway_idempotent_replays_total", "tenant" => tenant.to_owned()).increment(1);
}

pub fn reload(accepted: bool) {
    let result = if accepted { "accepted" } else { "refused" };
    metrics::counter!("gateway_config_reloads_total", "result" => result).increment(1);
}

/// A client too slow to send its request: `phase` is `headers` (the connection was closed) or
/// `body` (answered 408).
pub fn slow_client(phase: &'static str) {
    metrics::counter!("gateway_slow_clients_total", "phase" => phase).increment(1);
}

/// A connection closed on accept because `server.max_connections` were open.
pub fn connection_refused() {
    metrics::counter!("gateway_connections_refused_total").increment(1);
}

/// A request refused by an admission limit: `global` (`max_concurrency`, 503),
/// `tenant_concurrency` (429) or `auth_failures` (per client address, 429).
pub fn shed(limit: &'static str) {
    metrics::counter!("gateway_requests_shed_total", "limit" => limit).increment(1);
}

/// An attempt the circuit breaker refused: `gateway_provider_attempts_total` with outcome
/// `circuit_open` (no duration: nothing was sent).
pub fn circuit_refused(provider: &str) {
    let labels = [("provider", provider.to_owned()), ("outcome", "circuit_open".to_owned())];
    metrics::counter!("gateway_provider_attempts_total", &labels).increment(1);
}
