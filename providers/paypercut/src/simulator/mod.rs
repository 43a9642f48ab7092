//! An in-memory Paypercut for the embedded default config: `GET` and `POST /v1/checkouts/{id}`
//! over the demo sessions in [`demo`], with Paypercut's bearer auth, `Paypercut-Account` check,
//! error objects and `Idempotency-Key` replay. It may read the clock (it is not the adapter).

mod demo;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use checkout_provider_interface::kit::credentials;
use checkout_provider_interface::kit::simulator::{Shared, decode_segment, json_response, match_template};
use checkout_provider_interface::{ConfigError, ProviderSetup, Simulator};
use http::{Method, Request, Response};
use serde_json::Value;

use crate::config::Config;
use crate::error::body as error_body;
use crate::request::MAX_SESSION_ID;

/// How many idempotency keys are remembered; the oldest are forgotten first.
const MAX_REMEMBERED_KEYS: usize = 1000;

pub(crate) fn build(setup: &ProviderSetup<'_>) -> Result<Arc<dyn Simulator>, ConfigError> {
    let config = Config::from_setup(setup)?;
    Ok(Arc::new(PaypercutSimulator::new(config, time::OffsetDateTime::now_utc())))
}

pub(crate) struct PaypercutSimulator {
    config: Config,
    state: Shared<State>,
}

struct State {
    sessions: BTreeMap<String, demo::DemoSession>,
    /// Idempotency key → (the request it was first used with, the 200 body answered).
    keys: BTreeMap<String, (Fingerprint, Value)>,
    key_order: VecDeque<String>,
    traces: u64,
}

#[derive(PartialEq)]
struct Fingerprint {
    path: String,
    body: Value,
}

/// An error answer: status and Paypercut's error object.
struct Failure(u16, Value);

impl PaypercutSimulator {
    pub(crate) fn new(config: Config, now: time::OffsetDateTime) -> Self {
        let state =
            State { sessions: demo::sessions(now), keys: BTreeMap::new(), key_order: VecDeque::new(), traces: 0 };
        Self { config, state: Shared::new(state) }
    }

    fn route(&self, state: &mut State, request: &Request<Vec<u8>>, trace: &str) -> Result<Value, Failure> {
        let fail = |status: u16, kind: &str, code: Option<&str>, param: Option<&str>, message: &str| {
            Failure(status, error_body(kind, code, param, message, trace))
        };
        self.authenticate(request).map_err(|(status, code, message)| {
            let kind = if status == 401 { "authentication_error" } else { "invalid_request_error" };
            fail(status, kind, Some(code), None, message)
        })?;
        let path = request.uri().path();
        let unrecognized = || fail(404, "invalid_request_error", None, None, "Unrecognized request URL.");
        let segment = match_template("/v1/checkouts/{id}", path).and_then(|ids| ids.first().copied());
        let id = segment.and_then(decode_segment).ok_or_else(unrecognized)?;
        if id.len() > MAX_SESSION_ID {
            let message = "Checkout Session ids are at most 200 characters.";
            return Err(fail(400, "invalid_request_error", Some("parameter_invalid"), Some("id"), message));
        }
        let not_found = || fail(404, "invalid_request_error", None, Some("id"), "No such checkout session.");
        match *request.method() {
            Method::GET => state.sessions.get(&id).map(demo::DemoSession::render).ok_or_else(not_found),
            Method::POST => self.update(state, request, &id, trace),
            _ => Err(fail(405, "invalid_request_error", None, None, "Method not allowed.")),
        }
    }

    /// `Authorization: Bearer <configured key>`, and the configured `Paypercut-Account` (or its
    /// alias) when there is one. Messages never echo a key.
    fn authenticate(&self, request: &Request<Vec<u8>>) -> Result<(), (u16, &'static str, &'static str)> {
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
        let Some(authorization) = credentials::authorization(request) else {
            return Err((401, "authentication_required", "No API key provided."));
        };
        // The scheme as Paypercut documents it, matched as written (as before the kit).
        let Some(key) = authorization.strip_prefix("Bearer ") else {
            return Err((401, "authentication_invalid", "Use `Authorization: Bearer <secret key>`."));
        };
        if !credentials::same(key, self.config.api_key.expose()) {
            return Err((401, "token_invalid", "Invalid API key provided."));
        }
        let account = header("paypercut-account").or_else(|| header("x-paypercut-account"));
        match (self.config.account.as_deref(), account) {
            (None, None) => Ok(()),
            (Some(expected), Some(sent)) if expected == sent => Ok(()),
            (Some(_), None) => Err((403, "account_required", "This request needs the Paypercut-Account header.")),
            (_, Some(_)) => Err((403, "account_invalid", "The API key cannot access the selected account.")),
        }
    }

    fn update(&self, state: &mut State, request: &Request<Vec<u8>>, id: &str, trace: &str) -> Result<Value, Failure> {
        let invalid = |code: &str, param: Option<&str>, message: &str| {
            Failure(400, error_body("invalid_request_error", Some(code), param, message, trace))
        };
        let key = match request.headers().get("idempotency-key").map(|v| v.to_str()) {
            None => None,
            Some(Ok(key)) if valid_key(key) => Some(key.to_owned()),
            Some(_) => return Err(invalid("parameter_invalid", Some("Idempotency-Key"), "Invalid Idempotency-Key.")),
        };
        let content_type = request.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        if !content_type.is_some_and(|v| v.starts_with("application/json")) {
            return Err(invalid("parameter_invalid", None, "The request body must be application/json."));
        }
        let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(request.body()) else {
            return Err(invalid("parameter_invalid", None, "The request body is not a JSON object."));
        };
        let fingerprint = Fingerprint { path: id.to_owned(), body: Value::Object(body.clone()) };
        if let Some((first, answer)) = key.as_ref().and_then(|key| state.keys.get(key)) {
            if *first == fingerprint {
                return Ok(answer.clone());
            }
            let message =
                "Keys for idempotent requests can only be used with the same parameters they were first used with.";
            return Err(Failure(409, error_body("idempotency_error", None, None, message, trace)));
        }
        if let Some(unknown) = body.keys().find(|name| *name != "shipping_rate") {
            return Err(invalid("parameter_invalid", Some(unknown), &format!("Received unknown parameter: {unknown}")));
        }
        let rate = match body.get("shipping_rate") {
            None => {
                let message = "Missing required param: shipping_rate.";
                return Err(invalid("missing_required_param", Some("shipping_rate"), message));
            }
            Some(Value::String(rate)) => rate.clone(),
            Some(_) => return Err(invalid("parameter_invalid", Some("shipping_rate"), "Invalid shipping_rate.")),
        };
        let Some(session) = state.sessions.get_mut(id) else {
            return Err(Failure(
                404,
                error_body("invalid_request_error", None, Some("id"), "No such checkout session.", trace),
            ));
        };
        if session.status != "open" {
            let message = "Checkout Session can no longer be updated.";
            return Err(Failure(409, error_body("invalid_request_error", None, None, message, trace)));
        }
        let Some(found) = session.rates.iter().find(|r| r.id == rate) else {
            let message = format!("No such shipping rate on this Checkout Session: '{rate}'.");
            return Err(invalid("parameter_invalid", Some("shipping_rate"), &message));
        };
        session.selected = Some(found.id);
        let answer = session.render();
        if let Some(key) = key {
            remember(state, key, fingerprint, answer.clone());
        }
        Ok(answer)
    }
}

impl Simulator for PaypercutSimulator {
    fn handle(&self, request: Request<Vec<u8>>) -> Response<Vec<u8>> {
        let mut state = self.state.lock();
        state.traces += 1;
        let trace = format!("trc_sim_{:06}", state.traces);
        match self.route(&mut state, &request, &trace) {
            Ok(session) => json_response(200, &session),
            Err(Failure(status, body)) => json_response(status, &body),
        }
    }
}

/// Only successful updates are stored: a refused request may be retried with the same key.
fn remember(state: &mut State, key: String, fingerprint: Fingerprint, answer: Value) {
    while state.key_order.len() >= MAX_REMEMBERED_KEYS {
        if let Some(oldest) = state.key_order.pop_front() {
            state.keys.remove(&oldest);
        }
    }
    state.key_order.push_back(key.clone());
    state.keys.insert(key, (fingerprint, answer));
}

fn valid_key(key: &str) -> bool {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-' | b'.');
    !key.is_empty() && key.len() <= 255 && key.bytes().all(allowed)
}

#[cfg(test)]
mod tests;
