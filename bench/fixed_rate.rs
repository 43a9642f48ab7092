//! Fixed-rate (open-loop) latency client for `bench/load.sh`: starts one request every
//! `1/rate` seconds whether or not earlier ones have answered, so a slow answer cannot lower
//! the rate and hide itself (no coordinated omission). wrk only runs closed-loop and wrk2 is
//! not packaged in Debian, hence this small client.
//!
//! Latency runs from the moment a request is started to its last body byte. The timer that
//! schedules starts has millisecond granularity, so `max_lag_us` reports how late the latest
//! start was against its schedule: small values mean the client kept the rate.
//!
//! Prints one line: `sent=… ok=… errors=… rate=… p50_us=… p90_us=… p99_us=… max_us=… max_lag_us=…`.
//! Bounded: at most 120 s and 20 000 req/s; loopback targets only (the harness passes them).

use std::time::Duration;

use clap::Parser;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

#[derive(Parser)]
#[command(about = "Open-loop fixed-rate HTTP latency measurement")]
struct Args {
    #[arg(long)]
    url: String,
    #[arg(long, default_value = "GET")]
    method: String,
    /// Request body, sent as-is.
    #[arg(long)]
    body_file: Option<std::path::PathBuf>,
    /// `Name: value`, repeatable.
    #[arg(long = "header")]
    headers: Vec<String>,
    /// Requests per second.
    #[arg(long, default_value_t = 500)]
    rate: u32,
    /// Measured seconds.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Unmeasured seconds first (connections opened, caches warm).
    #[arg(long, default_value_t = 2)]
    warmup: u64,
}

/// One request's outcome: measured or not, and its latency from the scheduled send time.
struct Sample {
    measured: bool,
    ok: bool,
    micros: u64,
    lag_micros: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    if args.rate == 0 || args.rate > 20_000 || args.duration + args.warmup > 120 {
        return Err("rate must be 1..=20000 and warmup + duration at most 120 s".to_owned());
    }
    let method = reqwest::Method::from_bytes(args.method.as_bytes()).map_err(|e| e.to_string())?;
    let body = match &args.body_file {
        Some(path) => std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?,
        None => Vec::new(),
    };
    let mut headers = reqwest::header::HeaderMap::new();
    for header in &args.headers {
        let (name, value) = header.split_once(':').ok_or_else(|| format!("header `{header}` is not `Name: value`"))?;
        let name = reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()).map_err(|e| e.to_string())?;
        let value = reqwest::header::HeaderValue::from_str(value.trim()).map_err(|e| e.to_string())?;
        headers.insert(name, value);
    }
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())?;

    let period = Duration::from_secs(1) / args.rate;
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(args.warmup);
    let end = measure_from + Duration::from_secs(args.duration);
    let mut ticker = tokio::time::interval_at(start, period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut tasks = JoinSet::new();
    loop {
        let scheduled = ticker.tick().await;
        if scheduled >= end {
            break;
        }
        let request = client.request(method.clone(), &args.url).headers(headers.clone()).body(body.clone());
        tasks.spawn(async move {
            let started = Instant::now();
            let ok = match request.send().await {
                Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
                Err(_) => false,
            };
            let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
            Sample {
                measured: scheduled >= measure_from,
                ok,
                micros: micros(started.elapsed()),
                lag_micros: micros(started - scheduled),
            }
        });
    }
    let mut latencies = Vec::new();
    let (mut sent, mut errors, mut max_lag) = (0_u64, 0_u64, 0_u64);
    while let Some(joined) = tasks.join_next().await {
        let sample = joined.map_err(|e| e.to_string())?;
        if !sample.measured {
            continue;
        }
        sent += 1;
        max_lag = max_lag.max(sample.lag_micros);
        if sample.ok {
            latencies.push(sample.micros);
        } else {
            errors += 1;
        }
    }
    latencies.sort_unstable();
    let pick = |q: f64| -> u64 {
        if latencies.is_empty() {
            return 0;
        }
        // Nearest rank: the smallest value with at least q of the samples at or below it.
        let rank = (q * latencies.len() as f64).ceil() as usize;
        latencies[rank.clamp(1, latencies.len()) - 1]
    };
    println!(
        "sent={sent} ok={} errors={errors} rate={:.0} p50_us={} p90_us={} p99_us={} max_us={} max_lag_us={max_lag}",
        latencies.len(),
        sent as f64 / args.duration as f64,
        pick(0.50),
        pick(0.90),
        pick(0.99),
        latencies.last().copied().unwrap_or(0),
    );
    if errors > 0 { Err(format!("{errors} of {sent} requests failed")) } else { Ok(()) }
}
