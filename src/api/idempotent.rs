//! Idempotent updates (DESIGN §5): claim the client's key, replay a finished response, refuse a
//! different request under the same key, and wait (bounded) for an identical request in flight
//! so concurrent retries get the one provider call's answer.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use crate::api::problem::ApiError;
pub use crate::api::respond::REPLAYED_HEADER;
use crate::api::respond::stored_response;
use crate::idempotency::{Claim, ClaimGuard, ClaimToken, Fence, StoreKey, StoredResponse};
use crate::state::AppState;

/// A waiting request looks at an in-flight key again after this pause, doubled after every look
/// up to `LONGEST_PAUSE`: about 10 looks in its first 3 s instead of 2 commands every 25 ms
/// (finding 18), for at most `LONGEST_PAUSE` of extra latency once the first request finishes.
const FIRST_PAUSE: Duration = Duration::from_millis(25);
const LONGEST_PAUSE: Duration = Duration::from_millis(500);

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
pub async fn run<F, Fut>(state: &AppState, tenant: &str, client_key: &str, fingerprint: &str, work: F) -> Response
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Outcome>,
{
    let key = StoreKey::new(tenant, client_key);
    let token = match claim_or_wait(state, &key, fingerprint).await {
        Ok(token) => token,
        Err(Answered::Replay(stored)) => {
            crate::metrics::replay(tenant);
            return stored_response(stored, true);
        }
        Err(Answered::Refused(error)) => return error.into_response(),
    };
    // From here until the outcome is recorded, a cancelled handler gives the key back.
    let claim = ClaimGuard::new(Arc::clone(&state.store), key, token);
    let outcome = work().await;
    let recorded = if outcome.reached_provider && !outcome.transient {
        let ttl = Duration::from_secs(state.config.idempotency.ttl_seconds);
        claim.complete(outcome.response.clone(), ttl).await
    } else {
        claim.release().await
    };
    match recorded {
        Ok(Fence::Held) => {}
        // The answer is still right; only a later replay may miss. Say so in the log.
        Ok(Fence::Lost) => {
            tracing::warn!("idempotency claim expired before the outcome was recorded; a newer request owns the key");
        }
        Err(error) => tracing::warn!(error = %error, "idempotency store could not record the outcome"),
    }
    stored_response(outcome.response, false)
}

/// How a claim ended without the key being ours.
enum Answered {
    Replay(StoredResponse),
    Refused(ApiError),
}

/// Claim the key, waiting (with growing pauses) while an identical request holds it.
async fn claim_or_wait(state: &AppState, key: &StoreKey, fingerprint: &str) -> Result<ClaimToken, Answered> {
    // An in-flight claim outlives the longest request, then expires so a crash frees the key.
    let in_flight_ttl = state.config.server.deadline + Duration::from_secs(5);
    let stop_waiting = Instant::now() + Duration::from_millis(state.config.idempotency.in_flight_wait_ms);
    let mut pause = FIRST_PAUSE;
    loop {
        match state.store.claim(key, fingerprint, in_flight_ttl).await {
            Ok(Claim::Acquired(token)) => return Ok(token),
            Ok(Claim::Replay(stored)) => return Err(Answered::Replay(stored)),
            Ok(Claim::Mismatch) => return Err(Answered::Refused(ApiError::IdempotencyKeyReused)),
            Ok(Claim::InFlight) => {
                let left = stop_waiting.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(Answered::Refused(ApiError::IdempotencyKeyInUse));
                }
                // The last pause ends at the deadline, for one more look before the 409.
                tokio::time::sleep(pause.min(left)).await;
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
            Err(error) => return Err(Answered::Refused(ApiError::StoreUnavailable(error.to_string()))),
        }
    }
}
