//! The request body read deadline (`server.body_read_timeout_ms`): a body that has not fully
//! arrived that long after its headers fails to read, so a client dribbling its body cannot
//! hold a concurrency slot indefinitely. The deadline covers the whole body, not the gap
//! between chunks: one byte every few seconds never resets it.
//!
//! Not part of `api`: the HTTP layer puts every body under the deadline, and the passthrough
//! pipeline, which must not import the HTTP layer, tells a late body from an aborted one with
//! [`is_deadline`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use tokio::time::Sleep;

/// The error a late body fails with; `read_json` answers it with 408 `request_timeout`.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within the read deadline")]
pub struct BodyDeadlineExceeded;

/// `body`, failing with [`BodyDeadlineExceeded`] once `limit` has passed from now.
pub fn with_deadline(body: Body, limit: Duration) -> Body {
    Body::new(DeadlineBody { inner: body, deadline: Box::pin(tokio::time::sleep(limit)), expired: false })
}

/// Whether `error` (or anything it wraps) is a missed body deadline.
pub fn is_deadline(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<BodyDeadlineExceeded>() {
            return true;
        }
        current = error.source();
    }
    false
}

struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<Sleep>>,
    expired: bool,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if this.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.expired = true;
            return Poll::Ready(Some(Err(axum::Error::new(BodyDeadlineExceeded))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.expired || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
