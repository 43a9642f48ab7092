//! Bounded soak: a real gateway (in process, from a generated TOML) in front of a mock Stripe
//! that injects faults, driven by many concurrent `PATCH` requests over loopback. Reports
//! requests, statuses, problem codes, injected faults, 5xx not explained by an injected fault,
//! and memory before/after; exits non-zero when anything went wrong (see `report.rs`).
//!
//! `cargo run --release --example soak -- --help`. Documented, with its last result, in
//! RELIABILITY.md. Not a test: it measures behaviour under load, which has no place in the
//! test suite.

mod load;
mod mock;
mod report;

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use checkout_gateway::{config, server};
use clap::Parser;

/// The tenant key the load generator presents.
const TENANT_KEY: &str = "soak-tenant-key";
/// The mock Stripe's API key (a test value for a loopback mock).
const PROVIDER_KEY: &str = "sk_test_soak_provider";

#[derive(Parser, Debug, Clone)]
#[command(about = "Bounded soak of the gateway against a fault-injecting mock provider")]
pub struct Args {
    /// Gateway requests to send.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Probability that the mock faults a provider attempt.
    #[arg(long, default_value_t = 0.02)]
    fault_rate: f64,
    /// The provider's `retry.max_attempts`. 2 lets a fault be absorbed by a retry, and a fault
    /// on both attempts reach the client, so both paths show up in one run.
    #[arg(long, default_value_t = 2)]
    attempts: u32,
    /// The provider's per-attempt `timeout_ms`; a slow fault answers after twice this.
    #[arg(long, default_value_t = 500)]
    attempt_timeout_ms: u64,
    /// The provider's `circuit_breaker.failure_threshold` (consecutive failed attempts). The
    /// default 5 would let a chance run of faults open the circuit now and then (RELIABILITY.md).
    #[arg(long, default_value_t = 10)]
    breaker_threshold: u32,
    /// Seed of the mock's fault choice.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Requests sent before the measured phase (same mix, not in the report), so "memory
    /// before" is a warmed-up process: pools, caches and allocator arenas in place.
    #[arg(long, default_value_t = 2_000)]
    warmup: usize,
    /// Hard bound on the load phase.
    #[arg(long, default_value_t = 300)]
    max_seconds: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Run the soak; `Ok(false)` when the report found a failure.
async fn run(args: Args) -> anyhow::Result<bool> {
    anyhow::ensure!(args.requests > 0 && args.concurrency > 0, "--requests and --concurrency must be > 0");
    anyhow::ensure!((0.0..=1.0).contains(&args.fault_rate), "--fault-rate must be within 0..=1");
    let attempt_timeout = Duration::from_millis(args.attempt_timeout_ms);
    let mock = mock::start(mock::Settings {
        api_key: PROVIDER_KEY.to_owned(),
        fault_rate: args.fault_rate,
        seed: args.seed,
        slow: attempt_timeout * 2,
    })
    .await
    .context("start the mock provider")?;
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile()?;
    file.write_all(gateway_toml(&args, mock.addr).as_bytes())?;
    let config = config::load(file.path()).context("soak config")?;
    let gateway = server::start(config).await.map_err(anyhow::Error::msg).context("start the gateway")?;
    let base = format!("http://{}", gateway.addr);

    let bound = Duration::from_secs(args.max_seconds);
    let plan = |id_prefix, requests| load::Plan {
        base: base.clone(),
        tenant_key: TENANT_KEY,
        requests,
        concurrency: args.concurrency,
        id_prefix,
    };
    let memory_start = report::Memory::read();
    let loads = async {
        load::run(plan("warmup", args.warmup)).await?;
        let memory_before = report::Memory::read();
        let started = Instant::now();
        let tally = load::run(plan("soak", args.requests)).await?;
        anyhow::Ok((tally, started.elapsed(), memory_before, report::Memory::read()))
    };
    let result = tokio::time::timeout(bound, loads).await;
    gateway.shutdown().await;
    let faulted = mock.faulted();
    let attempts = mock.attempts("soak");
    mock.stop().await;
    let Ok(result) = result else {
        anyhow::bail!("the load did not finish within --max-seconds {}", args.max_seconds);
    };
    let (tally, elapsed, memory_before, memory_after) = result?;
    let memory = report::Memories { start: memory_start, before: memory_before, after: memory_after };
    let report = report::Report::build(tally, &faulted, attempts, elapsed, memory);
    print!("{}", report.render(&args));
    Ok(report.passed())
}

/// One Stripe provider pointing at the mock, and one tenant. Retry and breaker settings are
/// chosen for a meaningful report; RELIABILITY.md explains them.
fn gateway_toml(args: &Args, mock: std::net::SocketAddr) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
deadline_ms = 10000
max_concurrency = 1024

[providers.stripe-soak]
kind = "stripe"
base_url = "http://{mock}"
allow_insecure_http = true
api_key = {{ value = "{PROVIDER_KEY}" }}
api_version = "2025-03-31.basil"
timeout_ms = {timeout}
retry = {{ max_attempts = {attempts}, base_delay_ms = 10, max_delay_ms = 50 }}
circuit_breaker = {{ failure_threshold = {threshold}, cool_down_ms = 1000 }}

[tenants.soak]
api_key_sha256 = "{tenant}"
provider = "stripe-soak"
"#,
        timeout = args.attempt_timeout_ms,
        attempts = args.attempts,
        threshold = args.breaker_threshold,
        tenant = checkout_gateway::api::extract::hash_key(TENANT_KEY),
    )
}
