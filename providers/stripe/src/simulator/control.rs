//! The simulator's own control endpoints (not Stripe's API; under `/_simulator/`, with the same
//! Bearer key), so tests can make Stripe's rarer answers happen on demand and see what reached
//! the provider:
//!
//! - `POST /_simulator/faults` with form `session=<id>&fault=<kind>[&count=<n>]` arms a fault for
//!   the next `n` (default 1, at most 100) updates of the session:
//!   - `server_error`: the update passes validation and begins executing, then fails with
//!     Stripe's 500 `api_error`. Nothing changes, and the 500 is saved under the request's
//!     `Idempotency-Key` like any result of an executing request.
//!   - `key_in_use`: the update is answered 409 `idempotency_key_in_use`, as when a request with
//!     the same key is still executing (the simulator runs requests one at a time, so a real
//!     overlap never happens). Nothing is saved. Only updates that carry a key consume it.
//! - `GET /_simulator/requests` lists the updates received, oldest first (at most 1 000):
//!   `{session, idempotency_key, status, replayed}`.

use std::collections::{BTreeMap, VecDeque};

use serde_json::{Value, json};

use super::StripeError;

/// Update requests remembered for `GET /_simulator/requests`.
const LOG_CAPACITY: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    ServerError,
    KeyInUse,
}

impl Fault {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "server_error" => Some(Self::ServerError),
            "key_in_use" => Some(Self::KeyInUse),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::ServerError => "server_error",
            Self::KeyInUse => "key_in_use",
        }
    }
}

/// Armed faults: (session, fault) -> how many more updates it hits.
#[derive(Default)]
pub struct Faults(BTreeMap<(String, Fault), u32>);

impl Faults {
    /// Whether `fault` hits this update of `session` (consuming one count).
    pub fn take(&mut self, session: &str, fault: Fault) -> bool {
        let key = (session.to_owned(), fault);
        let Some(left) = self.0.get_mut(&key) else { return false };
        *left -= 1;
        if *left == 0 {
            self.0.remove(&key);
        }
        true
    }

    /// `POST /_simulator/faults` with the decoded form. `known` says whether a session exists.
    pub fn arm(&mut self, form: &Value, known: impl Fn(&str) -> bool) -> Result<Value, StripeError> {
        let field = |name: &str| form.get(name).and_then(Value::as_str);
        let session = field("session").filter(|id| known(id)).ok_or_else(|| {
            StripeError::invalid("resource_missing", "Give `session`: the id of a simulated session.", "session")
        })?;
        let fault = field("fault").and_then(Fault::parse).ok_or_else(|| {
            StripeError::invalid("parameter_invalid", "`fault` must be `server_error` or `key_in_use`.", "fault")
        })?;
        let count = match field("count") {
            None => 1,
            Some(text) => text.parse::<u32>().ok().filter(|n| (1..=100).contains(n)).ok_or_else(|| {
                StripeError::invalid("parameter_invalid_integer", "`count` must be from 1 to 100.", "count")
            })?,
        };
        self.0.insert((session.to_owned(), fault), count);
        Ok(json!({ "object": "simulator.fault", "session": session, "fault": fault.name(), "count": count }))
    }
}

/// One update as the simulator received it.
pub struct Received {
    pub session: String,
    pub idempotency_key: Option<String>,
    pub status: u16,
    pub replayed: bool,
}

#[derive(Default)]
pub struct RequestLog(VecDeque<Received>);

impl RequestLog {
    pub fn record(&mut self, received: Received) {
        self.0.push_back(received);
        while self.0.len() > LOG_CAPACITY {
            self.0.pop_front();
        }
    }

    /// `GET /_simulator/requests`.
    pub fn list(&self) -> Value {
        let data: Vec<Value> = self
            .0
            .iter()
            .map(|r| {
                json!({ "session": r.session, "idempotency_key": r.idempotency_key, "status": r.status, "replayed": r.replayed })
            })
            .collect();
        json!({ "object": "list", "data": data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_armed_per_session_and_consumed() {
        let mut faults = Faults::default();
        let form = json!({"session": "cs_1", "fault": "server_error", "count": "2"});
        assert!(faults.arm(&form, |id| id == "cs_1").is_ok());
        assert!(!faults.take("cs_2", Fault::ServerError));
        assert!(!faults.take("cs_1", Fault::KeyInUse));
        assert!(faults.take("cs_1", Fault::ServerError));
        assert!(faults.take("cs_1", Fault::ServerError));
        assert!(!faults.take("cs_1", Fault::ServerError));
        assert!(faults.arm(&json!({"session": "cs_9", "fault": "server_error"}), |id| id == "cs_1").is_err());
        assert!(faults.arm(&json!({"session": "cs_1", "fault": "crash"}), |_| true).is_err());
        assert!(faults.arm(&json!({"session": "cs_1", "fault": "key_in_use", "count": "0"}), |_| true).is_err());
    }
}
