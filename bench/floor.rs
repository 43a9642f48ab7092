//! The measured floor of the load harness (issue 15, BENCHMARKS.md): a minimal hyper proxy that
//! does only the gateway's JSON work for one update, nothing else. Per request it reads the body,
//! parses it, validates it against the unified schema, types it and checks it against the
//! provider's capabilities (`update::prepare`), lets the adapter build the provider request and
//! its attempt headers, sends it through a pooled hyper client (at most `--connections` to the
//! provider), lets the adapter parse the answer and serialises the unified session. No
//! authentication, logging, tracing, metrics, limits, idempotency, retries, breaker, follow-up
//! reads or secret scrubbing.
//!
//! What it costs in CPU per request and in memory at N connections is what any gateway built on
//! these crates would cost before it does any of the work that makes it a gateway.
//!
//! ```sh
//! cargo run --release --example floor -- --config gateway.toml --provider stripe --listen 127.0.0.1:9000
//! ```
//! Loopback only; it stops on Ctrl-C or SIGTERM.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use checkout_gateway::config::{OnUnsupported, Provider};
use checkout_gateway::state::AppState;
use checkout_gateway::update::{self, Plan};
use checkout_provider_interface::{Access, CurrentState, for_attempt};
use clap::Parser;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

/// The gateway's allocator (`src/main.rs`): the floor measures the same stack.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "The gateway's JSON work for one update, and nothing else")]
struct Args {
    /// A gateway config naming the provider (its `base_url` must be plain http on loopback).
    #[arg(long)]
    config: PathBuf,
    #[arg(long)]
    provider: String,
    #[arg(long)]
    listen: String,
    /// Connections to the provider at most (the gateway's `max_connections`).
    #[arg(long, default_value_t = 64)]
    connections: usize,
}

struct Floor {
    state: Arc<AppState>,
    provider: Arc<Provider>,
    client: Client<HttpConnector, Full<Bytes>>,
    /// Calls in flight at once, as the gateway's `max_connections` bounds them.
    calls: Arc<tokio::sync::Semaphore>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.listen.starts_with("127.0.0.1:") {
        bail!("--listen must be a loopback address");
    }
    let config = checkout_gateway::config::load(&args.config)?;
    let state = AppState::new(config).await?;
    let provider = state.provider(&args.provider).with_context(|| format!("no provider `{}`", args.provider))?.clone();
    if !provider.base_url.starts_with("http://127.0.0.1") {
        bail!("the provider's base_url must be plain http on loopback");
    }
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(args.connections).build(connector);
    let calls = Arc::new(tokio::sync::Semaphore::new(args.connections));
    let floor = Arc::new(Floor { state, provider, client, calls });
    let listener = TcpListener::bind(&args.listen).await?;
    println!("floor listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let floor = Arc::clone(&floor);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let floor = Arc::clone(&floor);
                async move { Ok::<_, Infallible>(floor.update(request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

impl Floor {
    async fn update(&self, request: http::Request<Incoming>) -> http::Response<Full<Bytes>> {
        match self.work(request).await {
            Ok(body) => answer(200, body),
            Err(error) => answer(502, Bytes::from(format!("{error:#}"))),
        }
    }

    async fn work(&self, request: http::Request<Incoming>) -> anyhow::Result<Bytes> {
        let session_id = request.uri().path().rsplit('/').next().unwrap_or_default().to_owned();
        let bytes = request.into_body().collect().await?.to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&bytes)?;
        let prepared = update::prepare(&self.state, &self.provider, body, OnUnsupported::Reject)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let Plan::Update(checked) = &prepared.plan else { bail!("nothing to send") };
        let ctx = update::context(&session_id, "floor", &uuid::Uuid::new_v4().to_string());
        let adapter = self.provider.adapter.as_ref();
        let built = adapter.build_update(checked, CurrentState::NotRequested, &ctx)?;
        let sent = for_attempt(adapter, built, Access::Write, &ctx, 1)?;
        let (parts, body) = sent.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let uri: http::Uri = format!("{}{path}", self.provider.base_url).parse()?;
        let mut outgoing = http::Request::builder().method(parts.method).uri(uri).body(Full::new(Bytes::from(body)))?;
        *outgoing.headers_mut() = parts.headers;
        let call = self.calls.acquire().await?;
        let (parts, body) = self.client.request(outgoing).await?.into_parts();
        let answer = http::Response::from_parts(parts, body.collect().await?.to_bytes().to_vec());
        drop(call);
        let session = adapter.parse_session(&answer, &ctx)?;
        Ok(Bytes::from(serde_json::to_vec(&session)?))
    }
}

fn answer(status: u16, body: Bytes) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(body));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}
