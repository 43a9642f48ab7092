//! An in-memory Stripe speaking the Checkout Sessions wire protocol, for the embedded default
//! configuration: Bearer auth against the configured key, form bodies in bracket notation,
//! `Idempotency-Key` replay, Stripe's error envelope and status codes. Demo sessions and the
//! rates and prices they may use are in `state.rs` (listed in the crate README).

mod state;
mod update;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use checkout_provider_interface::simulator::json_response;
use checkout_provider_interface::{Secret, Simulator};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use self::state::{Rate, Session};
use crate::{config, form};

/// Stored idempotent answers kept at most (oldest dropped first).
const IDEMPOTENCY_CAPACITY: usize = 1_000;

pub struct StripeSimulator {
    api_key: Secret,
    state: Mutex<State>,
}

struct State {
    sessions: BTreeMap<String, Session>,
    rates: BTreeMap<String, Rate>,
    counter: Counter,
    /// Idempotency-Key -> (request fingerprint, stored 200 body).
    replays: BTreeMap<String, (Vec<u8>, Vec<u8>)>,
    replay_order: VecDeque<String>,
}

/// Numbers generated ids and request ids.
struct Counter(u64);

impl update::Ids for Counter {
    fn next(&mut self, prefix: &str) -> String {
        self.0 += 1;
        format!("{prefix}_sim_{:06}", self.0)
    }
}

/// Stripe's `error.type` values the simulator uses.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StripeErrorKind {
    InvalidRequest,
    Idempotency,
}

/// One Stripe error answer.
#[derive(Debug)]
pub(crate) struct StripeError {
    kind: StripeErrorKind,
    status: u16,
    code: String,
    message: String,
    param: Option<String>,
}

impl StripeError {
    pub fn new(kind: StripeErrorKind, status: u16, code: &str, message: &str) -> Self {
        Self { kind, status, code: code.to_owned(), message: message.to_owned(), param: None }
    }

    pub fn with_param(mut self, param: &str) -> Self {
        self.param = Some(param.to_owned());
        self
    }

    fn body(&self) -> Value {
        let kind = match self.kind {
            StripeErrorKind::InvalidRequest => "invalid_request_error",
            StripeErrorKind::Idempotency => "idempotency_error",
        };
        let mut error = Map::new();
        error.insert("type".to_owned(), json!(kind));
        if !self.code.is_empty() {
            error.insert("code".to_owned(), json!(self.code));
            error.insert(
                "doc_url".to_owned(),
                json!(format!("https://stripe.com/docs/error-codes/{}", self.code.replace('_', "-"))),
            );
        }
        error.insert("message".to_owned(), json!(self.message));
        if let Some(param) = &self.param {
            error.insert("param".to_owned(), json!(param));
        }
        json!({ "error": error })
    }
}

impl StripeSimulator {
    /// A simulator accepting `api_key`, seeded with the demo sessions as of `now`.
    pub fn new(api_key: Secret, now: OffsetDateTime) -> Self {
        let state = State {
            sessions: state::demo_sessions(now.unix_timestamp()),
            rates: state::demo_rates(),
            counter: Counter(0),
            replays: BTreeMap::new(),
            replay_order: VecDeque::new(),
        };
        Self { api_key, state: Mutex::new(state) }
    }

    /// A poisoned lock only means another request panicked mid-way; the map is still usable.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn route(&self, request: &http::Request<Vec<u8>>, state: &mut State) -> Result<(Value, bool), StripeError> {
        self.authenticate(request)?;
        if let Some(version) = request.headers().get("stripe-version") {
            let version = version.to_str().unwrap_or_default();
            if !config::is_api_version(version) {
                return Err(StripeError::new(
                    StripeErrorKind::InvalidRequest,
                    400,
                    "",
                    &format!("Invalid Stripe API version: {version}"),
                ));
            }
        }
        let path = request.uri().path();
        let id = path.strip_prefix("/v1/checkout/sessions/").filter(|id| !id.is_empty() && !id.contains('/'));
        let method = request.method();
        let Some(id) = id.filter(|_| method == http::Method::GET || method == http::Method::POST) else {
            let message = format!("Unrecognized request URL ({method}: {path}).");
            return Err(StripeError::new(StripeErrorKind::InvalidRequest, 404, "", &message));
        };
        let id = percent_decode(id);
        if method == http::Method::GET {
            let query = form::decode(request.uri().query().unwrap_or_default()).map_err(|_| invalid_body())?;
            let query = query.as_object().cloned().unwrap_or_default();
            if let Some(key) = query.keys().find(|k| *k != "expand") {
                return Err(StripeError::invalid(
                    "parameter_unknown",
                    &format!("Received unknown parameter: {key}"),
                    key,
                ));
            }
            let expand = update::expand_list(query.get("expand"), "expand")?;
            let session = state.sessions.get(&id).ok_or_else(|| no_such_session(&id))?;
            return Ok((session.to_json(&state.rates, expand), false));
        }
        self.update(request, state, &id)
    }

    fn update(
        &self,
        request: &http::Request<Vec<u8>>,
        state: &mut State,
        id: &str,
    ) -> Result<(Value, bool), StripeError> {
        let key = request.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let fingerprint = [request.uri().to_string().as_bytes(), b"\n", request.body()].concat();
        if let Some(key) = &key {
            if let Some((stored_fingerprint, body)) = state.replays.get(key) {
                if *stored_fingerprint != fingerprint {
                    let message = format!(
                        "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
                    );
                    return Err(StripeError::new(StripeErrorKind::Idempotency, 400, "", &message));
                }
                return Ok((serde_json::from_slice(body).unwrap_or(Value::Null), true));
            }
        }
        let mut session = state.sessions.get(id).cloned().ok_or_else(|| no_such_session(id))?;
        let body = std::str::from_utf8(request.body()).map_err(|_| invalid_body())?;
        let form = form::decode(body).map_err(|_| invalid_body())?;
        let form = form.as_object().cloned().unwrap_or_default();
        if session.status != "open" {
            let message = "This Checkout Session is no longer active.";
            return Err(StripeError::new(StripeErrorKind::InvalidRequest, 400, "checkout_not_active_session", message));
        }
        let outcome = update::apply(&mut session, &form, &state.rates, &mut state.counter)?;
        for rate in outcome.new_rates {
            state.rates.insert(rate.id.clone(), rate);
        }
        let answer = session.to_json(&state.rates, outcome.expand);
        state.sessions.insert(session.id.clone(), session);
        if let Some(key) = key {
            state.replays.insert(key.clone(), (fingerprint, serde_json::to_vec(&answer).unwrap_or_default()));
            state.replay_order.push_back(key);
            while state.replay_order.len() > IDEMPOTENCY_CAPACITY {
                if let Some(oldest) = state.replay_order.pop_front() {
                    state.replays.remove(&oldest);
                }
            }
        }
        Ok((answer, false))
    }

    /// Stripe checks the key before anything else. Only the Bearer form is modelled.
    fn authenticate(&self, request: &http::Request<Vec<u8>>) -> Result<(), StripeError> {
        let header = request.headers().get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let Some(header) = header else {
            let message = "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').";
            return Err(StripeError::new(StripeErrorKind::InvalidRequest, 401, "", message));
        };
        // The presented key is never echoed, even masked.
        match header.strip_prefix("Bearer ") {
            Some(key) if constant_time_eq(key.as_bytes(), self.api_key.expose().as_bytes()) => Ok(()),
            _ => Err(StripeError::new(StripeErrorKind::InvalidRequest, 401, "", "Invalid API Key provided.")),
        }
    }
}

impl Simulator for StripeSimulator {
    fn handle(&self, request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        let mut state = self.lock();
        let request_id = update::Ids::next(&mut state.counter, "req");
        let (mut response, replayed) = match self.route(&request, &mut state) {
            Ok((body, replayed)) => (json_response(200, &body), replayed),
            Err(error) => (json_response(error.status, &error.body()), false),
        };
        drop(state);
        let headers = response.headers_mut();
        if let Ok(value) = http::HeaderValue::from_str(&request_id) {
            headers.insert("request-id", value);
        }
        if replayed {
            headers.insert("idempotent-replayed", http::HeaderValue::from_static("true"));
        }
        response
    }
}

fn no_such_session(id: &str) -> StripeError {
    StripeError::new(
        StripeErrorKind::InvalidRequest,
        404,
        "resource_missing",
        &format!("No such checkout.session: '{id}'"),
    )
    .with_param("session")
}

fn invalid_body() -> StripeError {
    StripeError::new(StripeErrorKind::InvalidRequest, 400, "", "Invalid request body: not form-encoded parameters.")
}

fn percent_decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// Compare without an early exit, so response timing does not reveal key prefixes.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests;
