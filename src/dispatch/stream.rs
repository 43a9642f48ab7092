//! The passthrough's send (DESIGN §7): one streamed request through the same per-provider
//! client as [`Dispatcher::send`], so within the provider's `max_connections` bound (see
//! [`super::upstream`]): the call takes a place in the provider's call queue (a call still
//! queued at its deadline fails as a timeout, before the breaker or the provider sees it) and
//! keeps it until the answer's body has ended, failed or been dropped, as an update keeps its
//! place while its answer is read; its connection keeps its own slot of the bound meanwhile.
//!
//! The breaker admission, attempt metrics and failure classification are [`Dispatcher::send`]'s.
//! Two things differ. There is no retry: a streamed body cannot be replayed. And the breaker
//! counts only what the provider caused: a client's body that is slow, cut off or too large
//! makes the call fail or time out through no fault of the provider, and one tenant doing that
//! on purpose must not open the circuit for every tenant. So an outcome counts only when the
//! client's body had been sent whole (or there was none) by the time it arrived, or when
//! connecting failed or took the whole attempt (before any body byte was asked for). Otherwise the attempt is settled without a breaker
//! record (a half-open probe is handed on) and labelled `client` in the metrics.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};
use tracing::Instrument;

pub use super::progress::{BodyFailure, BodyProgress};
pub use super::upstream::StreamedBody;
use super::{DispatchError, Dispatcher, classify_upstream, failure_label};
use crate::config::Provider;

/// One request for the passthrough, its body still streaming from the client.
pub struct StreamedRequest {
    pub method: http::Method,
    /// Appended to the provider's `base_url`: the checked raw path and the query string.
    pub path_and_query: String,
    pub headers: http::HeaderMap,
    /// `None` sends no body (and `progress` is [`BodyProgress::none`]).
    pub body: Option<StreamedBody>,
    /// How far the body got; whoever streams it reports its start, its end or its failure here.
    pub progress: BodyProgress,
}

/// The provider's answer to a streamed request: its head arrived, its body streams on.
pub type StreamedAnswer = http::Response<AnswerBody>;

impl Dispatcher {
    /// Send `request` once, returning the provider's answer as soon as its head arrives (its
    /// body streams on, failing at `deadline`). The head must come within the provider's
    /// attempt timeout and the deadline; waiting for a place in the provider's call queue
    /// counts against the deadline too.
    pub async fn send_streamed(
        &self,
        provider: &Provider,
        request: StreamedRequest,
        deadline: Instant,
    ) -> Result<StreamedAnswer, DispatchError> {
        let upstream = self.upstreams.of(provider).map_err(|e| DispatchError::Transport { detail: e.to_string() })?;
        let StreamedRequest { method, path_and_query, mut headers, body, progress } = request;
        let uri = upstream.uri_for(&path_and_query).map_err(|e| DispatchError::Transport { detail: e.to_string() })?;
        // Beyond the provider's `max_connections` calls wait here, at most until the deadline.
        let Some(call_slot) = upstream.queue(deadline).await else { return Err(DispatchError::Timeout) };
        let now = Instant::now();
        if now >= deadline {
            return Err(DispatchError::Timeout);
        }
        let admitted = self.admit(provider)?;
        let budget = provider.timeout.min(deadline - now);
        let span = tracing::info_span!("provider_attempt", otel.kind = tracing::field::Empty, provider = %provider.name, attempt = 1, status = tracing::field::Empty, latency_ms = tracing::field::Empty);
        crate::telemetry::trace::start_streamed_attempt(&span, &method, &path_and_query, &mut headers);
        let body = body.map_or_else(
            || http_body_util::Either::Left(http_body_util::Full::default()),
            http_body_util::Either::Right,
        );
        let mut outgoing = http::Request::new(body);
        *outgoing.method_mut() = method;
        *outgoing.uri_mut() = uri;
        *outgoing.headers_mut() = headers;
        let started = Instant::now();
        let sent = tokio::time::timeout(budget, upstream.client.request(outgoing)).instrument(span.clone()).await;
        let outcome = match sent {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(error)) => Err(classify_upstream(&error)),
            Err(_) => Err(DispatchError::Timeout),
        };
        span.record("latency_ms", started.elapsed().as_millis());
        // A body never asked for means no connection was had in time: the client did nothing.
        let attributable = progress.is_complete()
            || !progress.has_started()
            || matches!(outcome, Err(DispatchError::Unreachable { .. }));
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
        outcome.map(|answer| answer.map(|body| AnswerBody::new(body, deadline, call_slot)))
    }
}

/// A provider's answer body on its way to the passthrough's client: fails once `deadline`
/// passes (the whole call is bounded by it, however slowly the provider or the client reads),
/// and holds the call's place in the provider's queue until it ends, fails or is dropped.
pub struct AnswerBody {
    /// `None` once the body ended or failed: nothing more comes.
    inner: Option<Incoming>,
    deadline: Pin<Box<Sleep>>,
    call_slot: Option<OwnedSemaphorePermit>,
}

/// Why an answer's body did not arrive whole.
#[derive(Debug, thiserror::Error)]
pub enum AnswerBodyError {
    #[error("the provider's response body was still arriving at the deadline")]
    Late,
    #[error("the provider's response body failed: {0}")]
    Failed(#[source] hyper::Error),
}

impl AnswerBody {
    fn new(body: Incoming, deadline: Instant, call_slot: OwnedSemaphorePermit) -> Self {
        Self { inner: Some(body), deadline: Box::pin(tokio::time::sleep_until(deadline)), call_slot: Some(call_slot) }
    }

    fn end(&mut self) {
        self.inner = None;
        self.call_slot = None;
    }
}

impl Body for AnswerBody {
    type Data = Bytes;
    type Error = AnswerBodyError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, AnswerBodyError>>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else { return Poll::Ready(None) };
        match Pin::new(inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
            Poll::Ready(Some(Err(error))) => {
                this.end();
                Poll::Ready(Some(Err(AnswerBodyError::Failed(error))))
            }
            Poll::Ready(None) => {
                this.end();
                Poll::Ready(None)
            }
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.end();
                    Poll::Ready(Some(Err(AnswerBodyError::Late)))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.as_ref().map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
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

    #[test]
    fn a_body_counts_as_begun_once_asked_for_or_ended() {
        let queued = BodyProgress::default();
        assert!(!queued.has_started(), "not asked for while the call is queued");
        queued.start();
        assert!(queued.has_started() && !queued.is_complete());
        queued.complete();
        queued.start();
        assert!(queued.is_complete(), "a later start does not reopen an ended body");
        let cut = BodyProgress::default();
        cut.fail(BodyFailure::Aborted);
        assert!(cut.has_started() && cut.failure() == Some(BodyFailure::Aborted));
        assert!(BodyProgress::none().has_started());
    }
}
