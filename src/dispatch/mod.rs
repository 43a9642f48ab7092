//! Sends one adapter-built request to its provider: per-attempt timeout within the overall
//! deadline, retries with exponential backoff and full jitter when safe, `Retry-After`
//! honoured up to the cap, and a bounded response body. Knows nothing about any provider: the
//! adapter's `retry_advice` carries provider-specific retry signals.

pub mod breaker;
pub mod progress;
pub mod stream;
pub mod upstream;

use std::sync::Arc;
use std::time::Duration;

use checkout_provider_interface::{Access, Context, ProviderRequest, ProviderResponse, for_attempt};
use rand::Rng;
use tokio::time::Instant;
use tracing::Instrument;

use crate::config::{Provider, RetryPolicy};
use crate::token_source::{Token, TokenError, TokenSources};

/// Header carrying the gateway's request id to the provider.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The per-provider clients (bounded pools of keep-alive connections, see [`upstream`]), the
/// per-provider breakers, and the shared reqwest client for token endpoints (which need not be
/// on the provider's API host). All outlive config reloads; only the response limit comes from
/// the current config.
pub struct Dispatcher {
    client: reqwest::Client,
    pub breakers: Arc<breaker::Breakers>,
    /// Bearer tokens of providers whose adapter declares a token source (outlive reloads too).
    tokens: Arc<TokenSources>,
    /// Every provider call's client (updates and passthrough) and its `max_connections` bound.
    upstreams: Arc<upstream::Upstreams>,
    max_response_bytes: usize,
}

/// Why no usable provider answer was obtained.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("the provider did not answer within the deadline")]
    Timeout,
    #[error("the provider could not be reached: {detail}")]
    Unreachable { detail: String },
    #[error("the provider's response exceeded {limit} bytes")]
    ResponseTooLarge { limit: usize },
    #[error("the connection to the provider failed: {detail}")]
    Transport { detail: String },
    #[error("the circuit breaker is open after repeated failures")]
    CircuitOpen { retry_after: Duration },
    /// The adapter could not mint an attempt's headers (e.g. sign its token).
    #[error("the provider request could not be prepared: {0}")]
    Prepare(checkout_provider_interface::AdapterError),
    /// No bearer token could be obtained from the provider's token endpoint.
    #[error("{0}")]
    Token(TokenError),
}

/// The shared HTTP client could not be built (its TLS backend failed to start).
#[derive(Debug, thiserror::Error)]
#[error("cannot build HTTP client")]
pub struct ClientBuildError(#[source] Box<dyn std::error::Error + Send + Sync>);

/// How one attempt ended.
enum Attempt {
    Answered(ProviderResponse),
    Failed(DispatchError),
}

impl Dispatcher {
    pub fn new(max_response_bytes: usize) -> Result<Self, ClientBuildError> {
        let client = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            // Redirects would resend credentials elsewhere; providers do not redirect API calls.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClientBuildError(e.into()))?;
        let upstreams = Arc::new(upstream::Upstreams::new().map_err(|e| ClientBuildError(e.into()))?);
        Ok(Self { client, breakers: Arc::default(), tokens: Arc::default(), upstreams, max_response_bytes })
    }

    /// The shared reqwest client, for calls that are not the provider's API (token endpoints);
    /// provider calls go through the bounded per-provider clients.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The same client and breakers with another response limit (for a reloaded config).
    pub fn reconfigured(&self, max_response_bytes: usize) -> Self {
        Self {
            client: self.client.clone(),
            breakers: Arc::clone(&self.breakers),
            tokens: Arc::clone(&self.tokens),
            upstreams: Arc::clone(&self.upstreams),
            max_response_bytes,
        }
    }

    /// Send `request` to `provider`, retrying when `retry_safe` and the answer says so. Each
    /// attempt gets its own clock and nonce, and the adapter mints that attempt's headers (a
    /// freshly signed token, a per-attempt key) at the moment it is sent.
    pub async fn send(
        &self,
        provider: &Provider,
        request: &ProviderRequest,
        access: Access,
        ctx: &Context,
        deadline: Instant,
        retry_safe: bool,
    ) -> Result<ProviderResponse, DispatchError> {
        let mut max_attempts = if retry_safe { provider.retry.max_attempts } else { 1 };
        let mut attempt = 1;
        let mut token_refreshed = false;
        let upstream = self.upstreams.of(provider).map_err(|e| DispatchError::Transport { detail: e.to_string() })?;
        loop {
            // Beyond the provider's `max_connections` calls wait here, at most until the deadline.
            let Some(call_slot) = upstream.queue(deadline).await else { return Err(DispatchError::Timeout) };
            let now = Instant::now();
            if now >= deadline {
                return Err(DispatchError::Timeout);
            }
            let token = self.bearer(provider, deadline).await?;
            let admitted = self.admit(provider)?;
            let budget = provider.timeout.min(deadline - now);
            let span = tracing::info_span!("provider_attempt", otel.kind = tracing::field::Empty, provider = %provider.name, attempt, status = tracing::field::Empty, latency_ms = tracing::field::Empty);
            let attempt_ctx = Context {
                now: time::OffsetDateTime::now_utc(),
                nonce: uuid::Uuid::new_v4().to_string(),
                ..ctx.clone()
            };
            let mut sent = for_attempt(provider.adapter.as_ref(), request.clone(), access, &attempt_ctx, attempt)
                .map_err(DispatchError::Prepare)?;
            if let Some(token) = &token {
                sent.headers_mut().insert(http::header::AUTHORIZATION, token.header().clone());
            }
            // The span names the provider call; its `traceparent` goes with it (telemetry on).
            crate::telemetry::trace::start_attempt(&span, &mut sent);
            let started = Instant::now();
            let mut outcome = self.attempt(&upstream, &sent, &ctx.request_id, budget).instrument(span.clone()).await;
            if let Attempt::Answered(answer) = &mut outcome {
                // What this attempt's answer may echo: its credentials (a per-attempt token).
                answer.extensions_mut().insert(crate::scrub::SentCredentials::of(sent.headers()));
            }
            span.record("latency_ms", started.elapsed().as_millis());
            let traced = match &outcome {
                Attempt::Answered(response) => Ok(response.status().as_u16()),
                Attempt::Failed(error) => Err(failure_label(error)),
            };
            crate::telemetry::trace::attempt_ended(&span, traced);
            let healthy = matches!(&outcome, Attempt::Answered(r) if !r.status().is_server_error());
            admitted.settle(&outcome_label(&outcome), started.elapsed(), Some(healthy));
            // A refused bearer token (expired or revoked early): fetch a new one and send again,
            // once. The provider did nothing with the call, so this is safe even when retries are
            // not, and it is not one of the policy's attempts.
            if let (Some(token), false) = (&token, token_refreshed)
                && matches!(&outcome, Attempt::Answered(r) if r.status() == http::StatusCode::UNAUTHORIZED)
            {
                self.refused(provider, token);
                token_refreshed = true;
                max_attempts += 1;
                attempt += 1;
                continue;
            }
            let retry_wait = match &outcome {
                Attempt::Answered(response) => {
                    span.record("status", response.status().as_u16());
                    should_retry(provider, response).then(|| retry_after(response))
                }
                Attempt::Failed(DispatchError::ResponseTooLarge { .. }) => None,
                Attempt::Failed(error) => {
                    tracing::warn!(parent: &span, provider = %provider.name, attempt, error = %error, "provider attempt failed");
                    Some(None)
                }
            };
            let Some(hint) = retry_wait.filter(|_| attempt < max_attempts) else {
                return finish(outcome);
            };
            let wait = backoff(&provider.retry, attempt, hint);
            if Instant::now() + wait >= deadline {
                return finish(outcome);
            }
            // A call waiting out its backoff leaves its place to others.
            drop(call_slot);
            tokio::time::sleep(wait).await;
            crate::metrics::retry(&provider.name);
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        upstream: &upstream::Upstream,
        request: &ProviderRequest,
        request_id: &str,
        budget: Duration,
    ) -> Attempt {
        let outgoing = match outgoing(upstream, request, request_id) {
            Ok(outgoing) => outgoing,
            Err(error) => return Attempt::Failed(DispatchError::Transport { detail: error.to_string() }),
        };
        let result = tokio::time::timeout(budget, async {
            let response = upstream.client.request(outgoing).await.map_err(|e| classify_upstream(&e))?;
            self.read(response).await
        })
        .await;
        match result {
            Ok(Ok(response)) => Attempt::Answered(response),
            Ok(Err(error)) => Attempt::Failed(error),
            Err(_) => Attempt::Failed(DispatchError::Timeout),
        }
    }

    /// A place among the requests calling `provider` at once (its `max_connections`), waited
    /// for until `deadline`: held for the whole request, it makes later calls find their place
    /// in the call queue at once.
    pub async fn request_slot(
        &self,
        provider: &Provider,
        deadline: Instant,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, DispatchError> {
        let upstream = self.upstreams.of(provider).map_err(|e| DispatchError::Transport { detail: e.to_string() })?;
        upstream.admit_request(deadline).await.ok_or(DispatchError::Timeout)
    }

    /// The bearer token for a call to `provider`, when its adapter declares a token source: the
    /// cached one or a fresh one, fetched within `deadline`.
    pub async fn bearer(&self, provider: &Provider, deadline: Instant) -> Result<Option<Token>, DispatchError> {
        let Some(credentials) = provider.adapter.token_source() else { return Ok(None) };
        let source = self.tokens.source(&provider.name, &provider.base_url, credentials);
        let budget = deadline.min(Instant::now() + provider.timeout);
        source.token(&self.client, budget).await.map(Some).map_err(DispatchError::Token)
    }

    /// `provider` answered `401` to a call carrying `token`: the next call fetches a new one.
    pub fn refused(&self, provider: &Provider, token: &Token) {
        if let Some(credentials) = provider.adapter.token_source() {
            tracing::info!(provider = %provider.name, "the provider refused its bearer token; fetching a new one");
            self.tokens.source(&provider.name, &provider.base_url, credentials).invalidate(token);
        }
    }

    /// Let one attempt through `provider`'s breaker, or refuse it (counted as a `circuit_open`
    /// attempt). The same admission serves updates and the passthrough.
    fn admit<'a>(&'a self, provider: &'a Provider) -> Result<Admitted<'a>, DispatchError> {
        match self.breakers.admit(&provider.name, &provider.breaker) {
            Ok(()) => Ok(Admitted { breakers: &self.breakers, provider, settled: false }),
            Err(retry_after) => {
                crate::metrics::circuit_refused(&provider.name);
                Err(DispatchError::CircuitOpen { retry_after })
            }
        }
    }

    /// Read the body up to the response limit.
    async fn read(&self, response: http::Response<hyper::body::Incoming>) -> Result<ProviderResponse, DispatchError> {
        use http_body_util::BodyExt as _;
        let limit = self.max_response_bytes;
        let declared = response.headers().get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
        if declared.and_then(|len| len.parse::<u64>().ok()).is_some_and(|len| len > limit as u64) {
            return Err(DispatchError::ResponseTooLarge { limit });
        }
        let (mut parts, body) = response.into_parts();
        let body = http_body_util::Limited::new(body, limit).collect().await.map_err(|error| {
            if error.is::<http_body_util::LengthLimitError>() {
                DispatchError::ResponseTooLarge { limit }
            } else {
                DispatchError::Transport { detail: source_chain(&*error) }
            }
        })?;
        // The answer as the adapter sees it: status, version and headers, nothing of the client's.
        parts.extensions = http::Extensions::new();
        Ok(http::Response::from_parts(parts, Vec::from(body.to_bytes())))
    }
}

/// The request on the wire: the adapter's, at the provider's base URL, with the request id.
fn outgoing(
    upstream: &upstream::Upstream,
    request: &ProviderRequest,
    request_id: &str,
) -> Result<http::Request<upstream::OutgoingBody>, http::Error> {
    let body = http_body_util::Full::new(bytes::Bytes::from(request.body().clone()));
    let mut outgoing = http::Request::builder()
        .method(request.method().clone())
        .uri(upstream.uri(request.uri())?)
        .body(http_body_util::Either::Left(body))?;
    *outgoing.headers_mut() = request.headers().clone();
    outgoing.headers_mut().append(REQUEST_ID_HEADER, http::HeaderValue::from_str(request_id)?);
    Ok(outgoing)
}

/// A failed call of a provider's client (updates and passthrough): unreachable when no
/// connection could be made.
fn classify_upstream(error: &hyper_util::client::legacy::Error) -> DispatchError {
    if error.is_connect() {
        DispatchError::Unreachable { detail: source_chain(error) }
    } else {
        DispatchError::Transport { detail: source_chain(error) }
    }
}

/// An error and its sources (the URL in it is ours: base URL and path, no credentials).
fn source_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// An attempt the breaker let through. It settles with its metrics and, when the outcome says
/// something about the provider, a breaker record. One dropped unsettled (its client went away
/// mid-call) counts against no one: a half-open probe slot is handed to the next caller at once
/// rather than after a cool-down.
struct Admitted<'a> {
    breakers: &'a breaker::Breakers,
    provider: &'a Provider,
    settled: bool,
}

impl Admitted<'_> {
    /// Record the attempt: `outcome` labels the metric; `healthy` is `None` when the outcome is
    /// not the provider's doing (the breaker neither counts it nor resets).
    fn settle(mut self, outcome: &str, elapsed: Duration, healthy: Option<bool>) {
        self.settled = true;
        crate::metrics::attempt(&self.provider.name, outcome, elapsed);
        match healthy {
            Some(healthy) => self.breakers.record(&self.provider.name, &self.provider.breaker, healthy),
            None => self.breakers.abandon(&self.provider.name),
        }
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.breakers.abandon(&self.provider.name);
        }
    }
}

/// The metrics label of an attempt: the status, or what went wrong.
fn outcome_label(outcome: &Attempt) -> String {
    match outcome {
        Attempt::Answered(response) => response.status().as_u16().to_string(),
        Attempt::Failed(error) => failure_label(error).to_owned(),
    }
}

/// The metrics label of a failed attempt.
fn failure_label(error: &DispatchError) -> &'static str {
    match error {
        DispatchError::Timeout => "timeout",
        DispatchError::Unreachable { .. } => "unreachable",
        DispatchError::ResponseTooLarge { .. } => "too_large",
        DispatchError::Transport { .. } => "transport",
        DispatchError::CircuitOpen { .. } => "circuit_open",
        DispatchError::Prepare(_) => "prepare",
        DispatchError::Token(_) => "token",
    }
}

fn finish(outcome: Attempt) -> Result<ProviderResponse, DispatchError> {
    match outcome {
        Attempt::Answered(response) => Ok(response),
        Attempt::Failed(error) => Err(error),
    }
}

/// DESIGN §5: retry on 429, 500/502/503/504, or when the adapter's provider-specific advice
/// says so (which also vetoes).
fn should_retry(provider: &Provider, response: &ProviderResponse) -> bool {
    provider
        .adapter
        .retry_advice(response)
        .unwrap_or_else(|| matches!(response.status().as_u16(), 429 | 500 | 502 | 503 | 504))
}

/// `Retry-After` in seconds, when the provider sent one.
pub fn retry_after(response: &ProviderResponse) -> Option<Duration> {
    let value = response.headers().get(http::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Full jitter: a random wait in `[0, min(cap, base·2^(attempt-1))]`; a `Retry-After` hint
/// replaces it, capped at `max_delay`.
fn backoff(policy: &RetryPolicy, attempt: u32, hint: Option<Duration>) -> Duration {
    if let Some(hint) = hint {
        return hint.min(policy.max_delay);
    }
    let exponential = policy.base_delay.saturating_mul(2_u32.saturating_pow(attempt.saturating_sub(1)));
    let ceiling = exponential.min(policy.max_delay);
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::rng().random_range(0..=millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_within_the_exponential_ceiling_and_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(250),
        };
        for _ in 0..200 {
            assert!(backoff(&policy, 1, None) <= Duration::from_millis(100));
            assert!(backoff(&policy, 4, None) <= Duration::from_millis(250));
        }
        assert_eq!(backoff(&policy, 1, Some(Duration::from_secs(10))), Duration::from_millis(250));
        assert_eq!(backoff(&policy, 1, Some(Duration::from_millis(20))), Duration::from_millis(20));
    }
}
