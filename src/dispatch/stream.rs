//! The passthrough's send (DESIGN §7): one streamed request through the same breaker
//! admission, attempt metrics and failure classification as [`Dispatcher::send`]. Two things
//! differ. There is no retry: a streamed body cannot be replayed. And the breaker counts only
//! what the provider caused: a client's body that is slow, cut off or too large makes the call
//! fail or time out through no fault of the provider, and one tenant doing that on purpose
//! must not open the circuit for every tenant. So an outcome counts only when the client's body
//! had been sent whole (or there was none) by the time it arrived, or when connecting failed
//! (before any body byte). Otherwise the attempt is settled without a breaker record (a
//! half-open probe is handed on) and labelled `client` in the metrics.

use tokio::time::Instant;
use tracing::Instrument;

pub use super::progress::{BodyFailure, BodyProgress};
use super::{DispatchError, Dispatcher, classify, failure_label};
use crate::config::Provider;

/// One request for the passthrough, its body still streaming from the client.
pub struct StreamedRequest {
    pub method: http::Method,
    /// Appended to the provider's `base_url`: the checked raw path and the query string.
    pub path_and_query: String,
    pub headers: http::HeaderMap,
    /// `None` sends no body (and `progress` is [`BodyProgress::none`]).
    pub body: Option<reqwest::Body>,
    /// How far the body got; whoever streams it reports its end or its failure here.
    pub progress: BodyProgress,
}

impl Dispatcher {
    /// Send `request` once, returning the provider's answer as soon as its head arrives (its
    /// body streams on, bounded by `deadline`). The head must come within the provider's
    /// attempt timeout and the deadline.
    pub async fn send_streamed(
        &self,
        provider: &Provider,
        request: StreamedRequest,
        deadline: Instant,
    ) -> Result<reqwest::Response, DispatchError> {
        let now = Instant::now();
        if now >= deadline {
            return Err(DispatchError::Timeout);
        }
        let admitted = self.admit(provider)?;
        let budget = provider.timeout.min(deadline - now);
        let span = tracing::info_span!("provider_attempt", otel.kind = tracing::field::Empty, provider = %provider.name, attempt = 1, status = tracing::field::Empty, latency_ms = tracing::field::Empty);
        let StreamedRequest { method, path_and_query, mut headers, body, progress } = request;
        crate::telemetry::trace::start_streamed_attempt(&span, &method, &path_and_query, &mut headers);
        let url = format!("{}{path_and_query}", provider.base_url);
        let mut builder = self.client.request(method, url).headers(headers).timeout(deadline - now);
        if let Some(body) = body {
            builder = builder.body(body);
        }
        let started = Instant::now();
        let sent = tokio::time::timeout(budget, builder.send()).instrument(span.clone()).await;
        let outcome = match sent {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(error)) => Err(classify(&error)),
            Err(_) => Err(DispatchError::Timeout),
        };
        span.record("latency_ms", started.elapsed().as_millis());
        let attributable = progress.is_complete() || matches!(outcome, Err(DispatchError::Unreachable { .. }));
        let traced = match &outcome {
            Ok(answer) => Ok(answer.status().as_u16()),
            Err(_) if !attributable => Err("client"),
            Err(error) => Err(failure_label(error)),
        };
        crate::telemetry::trace::attempt_ended(&span, traced);
        let label = match &outcome {
            Ok(answer) => {
                span.record("status", answer.status().as_u16());
                answer.status().as_u16().to_string()
            }
            Err(_) if !attributable => "client".to_owned(),
            Err(error) => failure_label(error).to_owned(),
        };
        if let (Err(error), true) = (&outcome, attributable) {
            tracing::warn!(parent: &span, provider = %provider.name, error = %error, "provider attempt failed");
        }
        let healthy = matches!(&outcome, Ok(answer) if !answer.status().is_server_error());
        admitted.settle(&label, started.elapsed(), attributable.then_some(healthy));
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_end_of_a_body_is_final() {
        let progress = BodyProgress::default();
        assert!(!progress.is_complete() && progress.failure().is_none());
        progress.fail(BodyFailure::Late);
        progress.complete();
        progress.fail(BodyFailure::Aborted);
        assert_eq!(progress.failure(), Some(BodyFailure::Late));
        assert!(!progress.is_complete());
        let none = BodyProgress::none();
        none.fail(BodyFailure::Aborted);
        assert!(none.is_complete() && none.failure().is_none());
    }
}
