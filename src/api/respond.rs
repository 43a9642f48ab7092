//! Turning stored answers into responses, and the header names answers carry. A leaf of the
//! HTTP layer: the problem renderer, the idempotent runner and the handlers all build on it.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderName, HeaderValue, StatusCode};

use crate::idempotency::StoredResponse;

/// Names the configured provider that answered (request and response header).
pub const PROVIDER_HEADER: &str = "checkout-provider";
/// Set on an answer replayed from the idempotency store.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// The HTTP response for a stored (or fresh) answer.
pub fn stored_response(stored: StoredResponse, replayed: bool) -> Response {
    let mut response = Response::new(Body::from(stored.body));
    *response.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in stored.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response.headers_mut().insert(name, value);
        }
    }
    if replayed {
        response.headers_mut().insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    response
}
