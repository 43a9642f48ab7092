//! The mock provider: the Stripe crate's own simulator (real wire protocol: Bearer auth, form
//! bodies, `Idempotency-Key` replay) behind a loopback HTTP server that injects a fault into a
//! fraction of the calls it receives. For every gateway request that met a fault it records what
//! each of its attempts got, keyed by the `x-request-id` the gateway forwards; that record is
//! what lets the report tell a 5xx caused by an injected fault from one the gateway produced on
//! its own. Requests that met no fault are only counted, so the harness's own memory stays
//! proportional to the faults, not to the requests, and RSS growth is the gateway's.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use checkout_provider_interface::{Secret, Simulator};
use checkout_provider_stripe::simulator::StripeSimulator;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Largest request body the mock reads (the gateway's form bodies are a few hundred bytes).
const MAX_BODY: usize = 1024 * 1024;

/// What an injected fault looks like to the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// `500` with Stripe's `api_error` envelope.
    ServerError,
    /// `503` with an HTML body, as a load balancer in front of a provider answers.
    Unavailable,
    /// `200` headers and half a body, then the connection is aborted.
    Reset,
    /// The answer comes after the gateway's per-attempt timeout.
    Slow,
}

impl Fault {
    pub const ALL: [Self; 4] = [Self::ServerError, Self::Unavailable, Self::Reset, Self::Slow];

    pub fn name(self) -> &'static str {
        match self {
            Self::ServerError => "500 api_error",
            Self::Unavailable => "503 html",
            Self::Reset => "connection reset mid-body",
            Self::Slow => "slower than the attempt timeout",
        }
    }
}

/// What the mock did with one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Served,
    Faulted(Fault),
}

pub struct Settings {
    pub api_key: String,
    /// Probability that an attempt is faulted.
    pub fault_rate: f64,
    pub seed: u64,
    /// How long a `Slow` fault waits before answering.
    pub slow: Duration,
}

struct Mock {
    simulator: StripeSimulator,
    fault_rate: f64,
    slow: Duration,
    record: Mutex<Record>,
}

struct Record {
    rng: StdRng,
    /// Gateway request id -> its attempts in arrival order, from its first fault on (an
    /// attempt served normally ends a request, so nothing is lost before the first fault).
    faulted: HashMap<String, Vec<Attempt>>,
    /// Attempts per request id prefix (`soak`, `warmup`).
    attempts: HashMap<String, usize>,
}

/// A running mock provider.
pub struct Running {
    pub addr: SocketAddr,
    mock: Arc<Mock>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Start the mock on a loopback port.
pub async fn start(settings: Settings) -> anyhow::Result<Running> {
    let mock = Arc::new(Mock {
        simulator: StripeSimulator::new(Secret::new(settings.api_key), time::OffsetDateTime::now_utc()),
        fault_rate: settings.fault_rate,
        slow: settings.slow,
        record: Mutex::new(Record {
            rng: StdRng::seed_from_u64(settings.seed),
            faulted: HashMap::new(),
            attempts: HashMap::new(),
        }),
    });
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let router = Router::new().fallback(handle).with_state(Arc::clone(&mock));
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        if let Err(error) = axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
            eprintln!("mock provider stopped with an error: {error}");
        }
    });
    Ok(Running { addr, mock, stop, task })
}

impl Running {
    /// The attempts of every request that met a fault, per gateway request id.
    pub fn faulted(&self) -> HashMap<String, Vec<Attempt>> {
        self.mock.record.lock().unwrap_or_else(PoisonError::into_inner).faulted.clone()
    }

    /// How many attempts carried a request id starting with `<prefix>-`.
    pub fn attempts(&self, prefix: &str) -> usize {
        let record = self.mock.record.lock().unwrap_or_else(PoisonError::into_inner);
        record.attempts.get(prefix).copied().unwrap_or_default()
    }

    /// Stop serving; slow answers still sleeping are cut off.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(Duration::from_secs(5), self.task).await.is_err() {
            eprintln!("mock provider did not stop within 5 s");
        }
    }
}

impl Mock {
    /// Decide this attempt's fate and record it under the gateway's request id.
    fn decide(&self, request_id: &str) -> Attempt {
        let mut record = self.record.lock().unwrap_or_else(PoisonError::into_inner);
        let attempt = if record.rng.random_bool(self.fault_rate) {
            Attempt::Faulted(Fault::ALL[record.rng.random_range(0..Fault::ALL.len())])
        } else {
            Attempt::Served
        };
        let prefix = request_id.split_once('-').map_or(request_id, |(prefix, _)| prefix);
        *record.attempts.entry(prefix.to_owned()).or_default() += 1;
        let seen = record.faulted.get_mut(request_id);
        match (seen, attempt) {
            (Some(attempts), _) => attempts.push(attempt),
            (None, Attempt::Faulted(_)) => {
                record.faulted.insert(request_id.to_owned(), vec![attempt]);
            }
            (None, Attempt::Served) => {}
        }
        attempt
    }

    /// Hand the request to the Stripe simulator.
    fn serve(&self, parts: &http::request::Parts, body: &Bytes) -> Response {
        let mut builder = http::Request::builder().method(parts.method.clone()).uri(parts.uri.clone());
        for (name, value) in &parts.headers {
            builder = builder.header(name, value);
        }
        match builder.body(body.to_vec()) {
            Ok(request) => {
                let (parts, body) = self.simulator.handle(request).into_parts();
                Response::from_parts(parts, Body::from(body))
            }
            Err(_) => http::StatusCode::BAD_REQUEST.into_response(),
        }
    }
}

async fn handle(State(mock): State<Arc<Mock>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let request_id =
        parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("(no request id)").to_owned();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return http::StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    match mock.decide(&request_id) {
        Attempt::Served => mock.serve(&parts, &body),
        Attempt::Faulted(Fault::ServerError) => {
            let error = serde_json::json!({
                "error": { "type": "api_error", "message": "An unknown error occurred (injected by the soak mock)." }
            });
            (http::StatusCode::INTERNAL_SERVER_ERROR, axum::Json(error)).into_response()
        }
        Attempt::Faulted(Fault::Unavailable) => (
            http::StatusCode::SERVICE_UNAVAILABLE,
            [(http::header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>503 Service Unavailable</h1></body></html>",
        )
            .into_response(),
        Attempt::Faulted(Fault::Reset) => {
            // An error from the body stream makes the server abort the connection mid-answer.
            let chunks: [Result<Bytes, std::io::Error>; 2] = [
                Ok(Bytes::from_static(b"{\"id\":\"cs_demo_open\",\"object\":")),
                Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected reset")),
            ];
            let body = Body::from_stream(futures_util::stream::iter(chunks));
            (http::StatusCode::OK, [(http::header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Attempt::Faulted(Fault::Slow) => {
            tokio::time::sleep(mock.slow).await;
            mock.serve(&parts, &body)
        }
    }
}
