//! The `checkout-gateway` binary: CLI (DESIGN §8), config load, telemetry, serve.
#![forbid(unsafe_code)]

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use checkout_gateway::config::{self, Config};
use checkout_gateway::{api, contract_test, preview, server, telemetry, update};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "checkout-gateway", version, about = "One checkout-session update API over several payment providers")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// mimalloc rather than glibc's malloc: a third less CPU per request under load (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Subcommand)]
enum Command {
    /// Serve the gateway (the default).
    Serve {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Validate the config; print providers and tenants (never secrets). Exit 1 on error.
    CheckConfig {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print the provider request(s) for a unified body (FILE, or `-`/nothing for stdin), as JSON.
    Translate {
        #[arg(long)]
        provider: String,
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long, default_value = "00000000-0000-4000-8000-000000000000")]
        session: String,
        file: Option<PathBuf>,
    },
    /// Read a tenant key on stdin and print its SHA-256 for `api_key_sha256`.
    HashKey,
    /// Print the static capability difference between two provider kinds, as a table.
    Compat {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// Send a provider's `live_safe` contract cases to its configured `base_url` (a sandbox
    /// account, a simulator, Prism) and report per case: request accepted, answer still parses,
    /// unified answer unchanged. Exit 1 on any drift or failure.
    ContractTest {
        #[arg(long)]
        provider: String,
        #[arg(long)]
        config: Option<PathBuf>,
        /// The case files (default: providers/<kind>/contracts).
        #[arg(long)]
        cases: Option<PathBuf>,
        /// Send every case to this live session instead of the case's own session id.
        #[arg(long)]
        session: Option<String>,
        /// Write the live answers into the case files (and their expected outputs), for review.
        #[arg(long)]
        record: bool,
        /// The checks that fail the run (the others are reported as information).
        #[arg(long, value_delimiter = ',', default_value = "accepted,parses,unchanged")]
        check: Vec<checkout_gateway::contract_test::Check>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// GET a health URL and exit 0 on a 2xx answer, 1 otherwise: a container health check that
    /// needs no shell or curl (the distroless runtime image has neither).
    Healthcheck {
        #[arg(long, default_value = "http://127.0.0.1:8080/healthz")]
        url: String,
        #[arg(long, default_value_t = 3000)]
        timeout_ms: u64,
    },
}

fn main() -> ExitCode {
    let outcome = run(Cli::parse());
    // Log lines are written by a thread of their own: let it finish before the process ends.
    telemetry::flush_logs();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve { config: None }) {
        Command::Serve { config } => serve(load(config.as_ref())?),
        Command::CheckConfig { config } => check_config(&load(config.as_ref())?),
        Command::Translate { provider, config, session, file } => {
            translate(load(config.as_ref())?, &provider, &session, file)
        }
        Command::Healthcheck { url, timeout_ms } => healthcheck(&url, timeout_ms),
        Command::ContractTest { provider, config, cases, session, record, check, json } => {
            let options = contract_test::Options { provider, cases, session, record, checks: check };
            contract_test(load(config.as_ref())?, &options, json)
        }
        Command::Compat { from, to } => compat(&from, &to),
        Command::HashKey => {
            let mut key = String::new();
            std::io::stdin().read_to_string(&mut key).context("reading the key from stdin")?;
            let key = key.trim_end_matches(['\r', '\n']);
            if key.is_empty() {
                bail!("no key on stdin");
            }
            println!("{}", api::extract::hash_key(key));
            Ok(())
        }
    }
}

fn load(path: Option<&PathBuf>) -> anyhow::Result<Config> {
    let path = config::resolve_path(path.map(PathBuf::as_path));
    Ok(config::load(&path)?)
}

fn serve(config: Config) -> anyhow::Result<()> {
    let telemetry = telemetry::init(config.server.log_format, config.telemetry.as_ref())?;
    if let Some(traces) = config.telemetry.as_ref().filter(|_| telemetry.is_exporting()) {
        tracing::info!(endpoint = %traces.traces_url, sampling_ratio = traces.sampling_ratio, "exporting traces over OTLP");
    }
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let served = runtime.block_on(async {
        let source = config.source.clone();
        // Before binding: once the port answers, a reload signal must reload, not kill (SIGHUP's
        // default action terminates the process).
        let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let running = server::start(config).await?;
        if let Some(addr) = running.simulator_addr {
            tracing::info!(%addr, "provider simulators listening");
        }
        if let Some(addr) = running.admin_addr {
            tracing::info!(%addr, "admin listener (metrics, detailed readiness) listening");
        }
        tracing::info!(addr = %running.addr, "checkout-gateway listening");
        let shutdown = server::shutdown_signal();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                () = server::hangup(&mut hangups) => {
                    // Refusals are logged inside; the old config stays in force.
                    let _ = server::reload(&running.gateway, &source);
                }
            }
        }
        tracing::info!("shutting down: finishing in-flight requests");
        running.shutdown().await;
        Ok(())
    });
    // After the last request: the spans still batched are sent (blocking, so off the runtime).
    telemetry.shutdown();
    served
}

fn check_config(config: &Config) -> anyhow::Result<()> {
    println!("config: {} (ok)", config.source.display());
    for warning in &config.warnings {
        println!("warning: {warning}");
    }
    println!("providers:");
    for provider in config.providers.values() {
        println!("  {:<20} kind={:<15} base_url={}", provider.name, provider.kind, provider.base_url);
    }
    println!("tenants:");
    for tenant in &config.tenants {
        println!(
            "  {:<20} provider={:<15} allowed={} on_unsupported={:?}",
            tenant.name,
            tenant.provider,
            tenant.allowed_providers.join(","),
            tenant.on_unsupported
        );
        for route in &tenant.routes {
            println!("    {:<18} session ids {} -> {}", route.label(), route.sessions(), route.provider);
        }
    }
    Ok(())
}

fn translate(config: Config, provider: &str, session: &str, file: Option<PathBuf>) -> anyhow::Result<()> {
    let mut text = String::new();
    match file.filter(|f| f.as_os_str() != "-") {
        Some(path) => text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?,
        None => {
            std::io::stdin().read_to_string(&mut text).context("reading the body from stdin")?;
        }
    }
    let body: serde_json::Value = serde_json::from_str(&text).context("the body is not JSON")?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let state = runtime.block_on(checkout_gateway::state::AppState::new(config))?;
    let provider = state.provider(provider).with_context(|| format!("no provider named `{provider}`"))?.clone();
    // The pipeline's error, shown as the API would answer it.
    let problem = |e: checkout_gateway::failure::UpdateError| {
        let answer = api::problem::ApiError::from(e).to_problem("translate");
        anyhow::anyhow!(serde_json::to_string_pretty(&answer).unwrap_or_default())
    };
    let prepared = update::prepare(&state, &provider, body, config::OnUnsupported::Reject).map_err(problem)?;
    let ctx = update::context(session, "translate", &uuid::Uuid::new_v4().to_string());
    let preview = preview::preview(&state, &provider, &prepared, &ctx).map_err(problem)?;
    println!("{}", serde_json::to_string_pretty(&preview)?);
    Ok(())
}

fn contract_test(config: Config, options: &contract_test::Options, json: bool) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let state = checkout_gateway::state::AppState::new(config).await?;
        anyhow::Ok(contract_test::run(&state, options).await?)
    })?;
    print!("{}", contract_test::render(&report, json));
    if report.failed() {
        bail!("contract-test: {} drifted or failed (see the report above)", report.provider);
    }
    Ok(())
}

fn healthcheck(url: &str, timeout_ms: u64) -> anyhow::Result<()> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")?;
    let status = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(timeout_ms))
            .build()
            .context("building the HTTP client")?;
        let response = client.get(url).send().await.with_context(|| format!("GET {url}"))?;
        anyhow::Ok(response.status())
    })?;
    if !status.is_success() {
        bail!("GET {url} answered {status}");
    }
    println!("ok: GET {url} answered {status}");
    Ok(())
}

fn compat(from: &str, to: &str) -> anyhow::Result<()> {
    let kinds = checkout_gateway::registry::kinds().join(", ");
    let capabilities = |kind: &str| {
        checkout_gateway::registry::factory(kind)
            .map(|factory| factory.capabilities)
            .with_context(|| format!("unknown provider kind `{kind}`; known: {kinds}"))
    };
    let rows = api::compat::difference(capabilities(from)?, capabilities(to)?);
    println!("{:<40} {:<18} {:<18} change", "unified field", from, to);
    for (field, a, b, verdict) in rows {
        println!("{field:<40} {a:<18} {b:<18} {verdict}");
    }
    Ok(())
}
