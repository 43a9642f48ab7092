//! Idempotent updates (DESIGN §5): claim the client's key, replay a finished response, refuse a
//! different request under the same key, and wait (bounded) for an identical request in flight
//! so concurrent retries get the one provider call's answer.

use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode};
use tokio::time::Instant;

use crate::api::problem::ApiError;
use crate::idempotency::{Claim, StoredResponse, store_key};
use crate::state::AppState;

pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// How often a waiting request looks at an in-flight key again.
const POLL: Duration = Duration::from_millis(25);

/// An update's outcome before it becomes a response: what to answer, whether a provider was
/// reached, and whether the same request may succeed later. Only a final answer from a provider
/// is stored: a transient one (429, 5xx, a timeout, a lock or in-use conflict) is released so the
/// client can retry with the same key.
pub struct Outcome {
    pub response: StoredResponse,
    pub reached_provider: bool,
    pub transient: bool,
}

/// Run `work` at most once per (tenant, client key, fingerprint).
pub async fn run<F, Fut>(
    state: &AppState,
    tenant: &str,
    client_key: &str,
    fingerprint: &str,
    request_id: &str,
    work: F,
) -> Response
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Outcome>,
{
    let key = store_key(tenant, client_key);
    let settings = &state.config.idempotency;
    // An in-flight claim outlives the longest request, then expires so a crash frees the key.
    let in_flight_ttl = state.config.server.deadline + Duration::from_secs(5);
    let stop_waiting = Instant::now() + Duration::from_millis(settings.in_flight_wait_ms);
    loop {
        match state.store.claim(&key, fingerprint, in_flight_ttl).await {
            Ok(Claim::Acquired) => break,
            Ok(Claim::Replay(stored)) => {
                crate::metrics::replay(tenant);
                return respond(stored, true);
            }
            Ok(Claim::Mismatch) => return ApiError::IdempotencyKeyReused.with_request_id(request_id).into_response(),
            Ok(Claim::InFlight) if Instant::now() < stop_waiting => tokio::time::sleep(POLL).await,
            Ok(Claim::InFlight) => return ApiError::IdempotencyKeyInUse.with_request_id(request_id).into_response(),
            Err(error) => {
                return ApiError::StoreUnavailable(error.to_string()).with_request_id(request_id).into_response();
            }
        }
    }
    let outcome = work().await;
    let stored = if outcome.reached_provider && !outcome.transient {
        let ttl = Duration::from_secs(settings.ttl_seconds);
        state.store.complete(&key, fingerprint, outcome.response.clone(), ttl).await
    } else {
        state.store.release(&key).await
    };
    if let Err(error) = stored {
        // The answer is still right; only a later replay may miss. Say so in the log.
        tracing::warn!(error = %error, "idempotency store could not record the outcome");
    }
    respond(outcome.response, false)
}

/// Turn a stored (or fresh) outcome into the HTTP response.
pub fn respond(stored: StoredResponse, replayed: bool) -> Response {
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
