//! Passthrough (DESIGN §7), the parts that do not serve HTTP: the allow-list rules and path
//! checks ([`rules`]), which headers cross the proxy ([`headers`]), the response scrubber
//! ([`scrub`]) and the client's request body on its way out ([`client_body`]). The handler is
//! `crate::api::passthrough`; the call itself goes through `Dispatcher::send_streamed`.

pub mod headers;
pub mod rules;
pub mod scrub;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http_body::Frame;
use http_body_util::StreamBody;

use crate::dispatch::progress::{BodyFailure, BodyProgress};
pub use rules::{AllowRule, ForwardPath, PathError, RuleError, forward_path};
pub use scrub::{Scrubber, StreamError};

/// The client's body as it streams to the provider (a hyper body, for the provider's client),
/// reporting to `progress` how it went: begun (the HTTP client asked for it, so the call has its
/// connection), then whole, past `limit` bytes, past its read deadline, or cut off. The
/// dispatcher uses that to tell the client's faults from the provider's; the handler to answer
/// 413, 408 or 400.
///
/// A body of `declared_length` is whole with its last byte: the HTTP client stops reading a
/// body of known length once it has that many bytes, so the stream's end is never asked for.
pub fn client_body(
    body: axum::body::Body,
    declared_length: Option<u64>,
    limit: usize,
    progress: BodyProgress,
) -> StreamBody<impl Stream<Item = Result<Frame<Bytes>, RequestBodyError>> + Send + 'static> {
    let chunks = body.into_data_stream();
    let data = futures_util::stream::unfold(
        (chunks, progress, 0_usize, false),
        move |(mut chunks, progress, seen, ended)| async move {
            if ended {
                return None;
            }
            progress.start();
            match chunks.next().await {
                None => {
                    progress.complete();
                    None
                }
                Some(Ok(chunk)) => {
                    let seen = seen.saturating_add(chunk.len());
                    if seen > limit {
                        progress.fail(BodyFailure::TooLarge);
                        return Some((Err(RequestBodyError::Limit { limit }), (chunks, progress, seen, true)));
                    }
                    if declared_length.is_some_and(|declared| seen as u64 >= declared) {
                        progress.complete();
                    }
                    Some((Ok(Frame::data(chunk)), (chunks, progress, seen, false)))
                }
                Some(Err(error)) => {
                    let late = crate::body_deadline::is_deadline(&error);
                    progress.fail(if late { BodyFailure::Late } else { BodyFailure::Aborted });
                    Some((Err(RequestBodyError::Client(error.to_string())), (chunks, progress, seen, true)))
                }
            }
        },
    );
    StreamBody::new(data)
}

/// Why the request body stream stopped.
#[derive(Debug, thiserror::Error)]
pub enum RequestBodyError {
    #[error("the request body exceeds {limit} bytes")]
    Limit { limit: usize },
    #[error("the client's request body failed: {0}")]
    Client(String),
}
