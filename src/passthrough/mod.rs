//! Passthrough (DESIGN §7), the parts that do not serve HTTP: the allow-list rules and path
//! checks ([`rules`]), which headers cross the proxy ([`headers`]), the response scrubber
//! ([`scrub`]) and the request body limit. The handler that streams a request to the provider
//! is `crate::api::passthrough`.

pub mod headers;
pub mod rules;
pub mod scrub;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

pub use rules::{AllowRule, ForwardPath, forward_path};
pub use scrub::{Scrubber, StreamError};

/// A request body stream that fails once more than `limit` bytes have passed, and raises
/// `exceeded` so the caller can answer 413 rather than a transport error.
pub fn limited_body<S, E>(
    body: S,
    limit: usize,
    exceeded: Arc<AtomicBool>,
) -> impl Stream<Item = Result<Bytes, RequestBodyError>> + Send + 'static
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: std::fmt::Display,
{
    let mut seen = 0_usize;
    body.map(move |chunk| {
        let chunk = chunk.map_err(|e| RequestBodyError::Client(e.to_string()))?;
        seen = seen.saturating_add(chunk.len());
        if seen > limit {
            exceeded.store(true, Ordering::Relaxed);
            return Err(RequestBodyError::Limit { limit });
        }
        Ok(chunk)
    })
}

/// Why the request body stream stopped.
#[derive(Debug, thiserror::Error)]
pub enum RequestBodyError {
    #[error("the request body exceeds {limit} bytes")]
    Limit { limit: usize },
    #[error("the client's request body failed: {0}")]
    Client(String),
}
