//! Stripe's idempotency layer as docs.stripe.com/idempotency describes it: the status code and
//! body of the first request made with a key are saved once the endpoint began executing,
//! "regardless of whether it succeeds or fails", and every later request with that key gets the
//! saved result, "including 500 errors", until the key is at least 24 hours old. The parameters
//! are compared with the first request's: other parameters are a 400 `idempotency_error`.
//! Requests that fail parameter validation, or conflict with a request still executing under
//! the key, save nothing.

use std::collections::{BTreeMap, VecDeque};

use serde_json::Value;
use time::{Duration, OffsetDateTime};

/// Stripe prunes keys once they are at least 24 hours old; a pruned key starts a new request.
const KEY_LIFETIME: Duration = Duration::hours(24);

/// Saved results kept at most (oldest pruned first), so the simulator's memory stays bounded.
const CAPACITY: usize = 1_000;

/// One saved result.
#[derive(Debug, Clone)]
pub struct Saved {
    /// Method, path and body of the first request, compared with every later one.
    fingerprint: Vec<u8>,
    pub status: u16,
    pub body: Value,
    /// `Request-Id` of the first request, answered as `Original-Request` on replays.
    pub request_id: String,
    saved_at: OffsetDateTime,
}

/// What the idempotency layer says about an incoming request with a key.
pub enum Lookup {
    /// The key is new (or pruned): run the request.
    Fresh,
    /// Answer with the saved result.
    Replay(Saved),
    /// The key was first used with other parameters.
    OtherParameters,
}

#[derive(Default)]
pub struct SavedResults {
    by_key: BTreeMap<String, Saved>,
    order: VecDeque<String>,
}

impl SavedResults {
    pub fn lookup(&mut self, key: &str, fingerprint: &[u8], now: OffsetDateTime) -> Lookup {
        self.prune(now);
        match self.by_key.get(key) {
            None => Lookup::Fresh,
            Some(saved) if saved.fingerprint == fingerprint => Lookup::Replay(saved.clone()),
            Some(_) => Lookup::OtherParameters,
        }
    }

    /// Save the result of a request that began executing under `key`.
    pub fn save(&mut self, key: &str, fingerprint: Vec<u8>, result: (u16, &Value, &str), now: OffsetDateTime) {
        let (status, body, request_id) = result;
        let saved = Saved { fingerprint, status, body: body.clone(), request_id: request_id.to_owned(), saved_at: now };
        if self.by_key.insert(key.to_owned(), saved).is_none() {
            self.order.push_back(key.to_owned());
        }
        while self.order.len() > CAPACITY {
            if let Some(oldest) = self.order.pop_front() {
                self.by_key.remove(&oldest);
            }
        }
    }

    /// Keys are saved in time order, so the expired ones are at the front.
    fn prune(&mut self, now: OffsetDateTime) {
        while let Some(oldest) = self.order.front() {
            let expired = self.by_key.get(oldest).is_none_or(|saved| now - saved.saved_at >= KEY_LIFETIME);
            if !expired {
                break;
            }
            if let Some(key) = self.order.pop_front() {
                self.by_key.remove(&key);
            }
        }
    }
}

/// The request's identity for the parameter comparison: method, path with query, and body.
pub fn fingerprint(request: &http::Request<Vec<u8>>) -> Vec<u8> {
    [request.method().as_str().as_bytes(), b" ", request.uri().to_string().as_bytes(), b"\n", request.body()].concat()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn results_replay_for_24_hours_and_only_for_the_same_parameters() {
        let mut saved = SavedResults::default();
        let t0 = OffsetDateTime::UNIX_EPOCH;
        assert!(matches!(saved.lookup("k", b"a", t0), Lookup::Fresh));
        saved.save("k", b"a".to_vec(), (500, &json!({"error": {}}), "req_1"), t0);
        let later = t0 + Duration::hours(23);
        assert!(matches!(saved.lookup("k", b"a", later), Lookup::Replay(Saved { status: 500, .. })));
        assert!(matches!(saved.lookup("k", b"b", later), Lookup::OtherParameters));
        assert!(matches!(saved.lookup("k", b"b", t0 + Duration::hours(24)), Lookup::Fresh));
    }

    #[test]
    fn capacity_prunes_the_oldest() {
        let mut saved = SavedResults::default();
        let now = OffsetDateTime::UNIX_EPOCH;
        for n in 0..=CAPACITY {
            saved.save(&format!("k{n}"), Vec::new(), (200, &json!({}), "req"), now);
        }
        assert!(matches!(saved.lookup("k0", b"", now), Lookup::Fresh));
        assert!(matches!(saved.lookup(&format!("k{CAPACITY}"), b"", now), Lookup::Replay(_)));
    }
}
