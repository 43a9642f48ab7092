//! An in-memory Stripe speaking the Checkout Sessions wire protocol, for the embedded default
//! configuration: Bearer auth against the configured key, form bodies in bracket notation,
//! Stripe's idempotency layer (`idempotency.rs`: saved results replayed, errors included),
//! Stripe's error envelope and status codes. Demo sessions and the rates and prices they may use
//! are in `state.rs` (listed in the crate README); `control.rs` lets tests arm faults.

mod control;
mod idempotency;
mod items;
mod line_items;
mod state;
mod update;

use std::collections::BTreeMap;

use checkout_provider_interface::kit::credentials;
use checkout_provider_interface::kit::simulator::{Route, Routed, Shared, decode_segment, json_response, route};
use checkout_provider_interface::{Secret, Simulator};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use self::control::{Fault, Faults, Received, RequestLog};
use self::idempotency::{Lookup, Saved, SavedResults};
use self::state::{Rate, Session};
use crate::{config, form};

pub struct StripeSimulator {
    api_key: Secret,
    state: Shared<State>,
}

/// Stripe's endpoints the simulator models (its own, `/_simulator/…`, are in `control`).
#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Read,
    Update,
    LineItems,
}

const ROUTES: [Route<Endpoint>; 3] = [
    Route::new(http::Method::GET, "/v1/checkout/sessions/{id}", Endpoint::Read),
    Route::new(http::Method::POST, "/v1/checkout/sessions/{id}", Endpoint::Update),
    Route::new(http::Method::GET, "/v1/checkout/sessions/{id}/line_items", Endpoint::LineItems),
];

struct State {
    sessions: BTreeMap<String, Session>,
    rates: BTreeMap<String, Rate>,
    counter: Counter,
    saved: SavedResults,
    faults: Faults,
    log: RequestLog,
}

/// One answer: status and JSON body; a replay names the request whose result it repeats.
struct Answer {
    status: u16,
    body: Value,
    original_request: Option<String>,
}

impl Answer {
    fn ok(body: Value) -> Self {
        Self { status: 200, body, original_request: None }
    }

    fn replay(saved: Saved) -> Self {
        Self { status: saved.status, body: saved.body, original_request: Some(saved.request_id) }
    }
}

impl From<StripeError> for Answer {
    fn from(error: StripeError) -> Self {
        Self { status: error.status, body: error.body(), original_request: None }
    }
}

/// Why an update did not go through, and so whether its result is saved under its key.
enum Failure {
    /// The parameters failed validation: no endpoint began executing, nothing is saved.
    Validation(StripeError),
    /// The endpoint was executing (the session is missing or closed, or it failed): saved.
    Executing(StripeError),
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
    /// Stripe's own failure (a 500).
    Api,
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
            StripeErrorKind::Api => "api_error",
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
            saved: SavedResults::default(),
            faults: Faults::default(),
            log: RequestLog::default(),
        };
        Self { api_key, state: Shared::new(state) }
    }

    fn route(
        &self,
        request: &http::Request<Vec<u8>>,
        state: &mut State,
        request_id: &str,
        now: OffsetDateTime,
    ) -> Result<Answer, StripeError> {
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
        if let Some(answer) = control(request, state)? {
            return Ok(answer);
        }
        let method = request.method();
        let routed = match route(&ROUTES, method, path) {
            Routed::Found(endpoint, ids) => ids.first().and_then(|id| decode_segment(id)).map(|id| (endpoint, id)),
            Routed::WrongMethod | Routed::NoRoute => None,
        };
        let Some((endpoint, id)) = routed else {
            let message = format!("Unrecognized request URL ({method}: {path}).");
            return Err(StripeError::new(StripeErrorKind::InvalidRequest, 404, "", &message));
        };
        if let Endpoint::LineItems = endpoint {
            let query = form::decode(request.uri().query().unwrap_or_default()).map_err(|_| invalid_body())?;
            let session = state.sessions.get(&id).ok_or_else(|| no_such_session(&id))?;
            return Ok(Answer::ok(line_items::list(session, query.as_object().unwrap_or(&Map::new()))?));
        }
        if let Endpoint::Read = endpoint {
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
            return Ok(Answer::ok(session.to_json(&state.rates, expand)));
        }
        Ok(update(request, state, &id, request_id, now))
    }

    /// Stripe checks the key before anything else. Only the Bearer form is modelled.
    fn authenticate(&self, request: &http::Request<Vec<u8>>) -> Result<(), StripeError> {
        let Some(header) = credentials::authorization(request) else {
            let message = "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').";
            return Err(StripeError::new(StripeErrorKind::InvalidRequest, 401, "", message));
        };
        // The presented key is never echoed, even masked.
        // Stripe's scheme is matched as written (`bearer …` is refused: simulator/tests.rs), unlike
        // the other simulators' case-insensitive `credentials::presented`.
        match header.strip_prefix("Bearer ") {
            Some(key) if credentials::same(key, self.api_key.expose()) => Ok(()),
            _ => Err(StripeError::new(StripeErrorKind::InvalidRequest, 401, "", "Invalid API Key provided.")),
        }
    }
}

impl Simulator for StripeSimulator {
    fn handle(&self, request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        let mut state = self.state.lock();
        let request_id = update::Ids::next(&mut state.counter, "req");
        let answer =
            self.route(&request, &mut state, &request_id, OffsetDateTime::now_utc()).unwrap_or_else(Answer::from);
        drop(state);
        let mut response = json_response(answer.status, &answer.body);
        let headers = response.headers_mut();
        if let Ok(value) = http::HeaderValue::from_str(&request_id) {
            headers.insert("request-id", value);
        }
        if let Some(original) = answer.original_request {
            headers.insert("idempotent-replayed", http::HeaderValue::from_static("true"));
            if let Ok(value) = http::HeaderValue::from_str(&original) {
                headers.insert("original-request", value);
            }
        }
        response
    }
}

/// `POST /v1/checkout/sessions/{id}` behind Stripe's idempotency layer, recorded for
/// `GET /_simulator/requests`.
fn update(
    request: &http::Request<Vec<u8>>,
    state: &mut State,
    id: &str,
    request_id: &str,
    now: OffsetDateTime,
) -> Answer {
    let key = request.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let answer = idempotent_update(request, state, id, key.as_deref(), request_id, now);
    let replayed = answer.original_request.is_some();
    state.log.record(Received { session: id.to_owned(), idempotency_key: key, status: answer.status, replayed });
    answer
}

/// Replay the saved result of `key`, refuse a key first used with other parameters or still in
/// use, else run the update and save its result once the endpoint began executing.
fn idempotent_update(
    request: &http::Request<Vec<u8>>,
    state: &mut State,
    id: &str,
    key: Option<&str>,
    request_id: &str,
    now: OffsetDateTime,
) -> Answer {
    let Some(key) = key else {
        return match execute(request, state, id) {
            Ok(body) => Answer::ok(body),
            Err(Failure::Validation(error) | Failure::Executing(error)) => error.into(),
        };
    };
    let fingerprint = idempotency::fingerprint(request);
    match state.saved.lookup(key, &fingerprint, now) {
        Lookup::Replay(saved) => return Answer::replay(saved),
        Lookup::OtherParameters => return key_reused(key).into(),
        Lookup::Fresh => {}
    }
    if state.faults.take(id, Fault::KeyInUse) {
        return key_in_use().into();
    }
    let answer = match execute(request, state, id) {
        Ok(body) => Answer::ok(body),
        Err(Failure::Validation(error)) => return error.into(),
        Err(Failure::Executing(error)) => Answer::from(error),
    };
    state.saved.save(key, fingerprint, (answer.status, &answer.body, request_id), now);
    answer
}

/// Validate the form against the session, then (unless a `server_error` fault is armed)
/// commit. Failed updates change nothing.
fn execute(request: &http::Request<Vec<u8>>, state: &mut State, id: &str) -> Result<Value, Failure> {
    let body = std::str::from_utf8(request.body()).map_err(|_| Failure::Validation(invalid_body()))?;
    let form = form::decode(body).map_err(|_| Failure::Validation(invalid_body()))?;
    let form = form.as_object().cloned().unwrap_or_default();
    let mut session = state.sessions.get(id).cloned().ok_or_else(|| Failure::Executing(no_such_session(id)))?;
    if session.status != "open" {
        let message = "This Checkout Session is no longer active.";
        let error = StripeError::new(StripeErrorKind::InvalidRequest, 400, "checkout_not_active_session", message);
        return Err(Failure::Executing(error));
    }
    let version = request.headers().get("stripe-version").and_then(|v| v.to_str().ok());
    let version = version.unwrap_or(config::DEFAULT_API_VERSION);
    let outcome =
        update::apply(&mut session, &form, &state.rates, &mut state.counter, version).map_err(Failure::Validation)?;
    if state.faults.take(id, Fault::ServerError) {
        let message = "An unknown error occurred while processing this request.";
        return Err(Failure::Executing(StripeError::new(StripeErrorKind::Api, 500, "", message)));
    }
    for rate in outcome.new_rates {
        state.rates.insert(rate.id.clone(), rate);
    }
    let answer = session.to_json(&state.rates, outcome.expand);
    state.sessions.insert(session.id.clone(), session);
    Ok(answer)
}

/// The simulator's own endpoints (`control.rs`), after authentication; `None` for Stripe's paths.
fn control(request: &http::Request<Vec<u8>>, state: &mut State) -> Result<Option<Answer>, StripeError> {
    match (request.method(), request.uri().path()) {
        (&http::Method::POST, "/_simulator/faults") => {
            let body = std::str::from_utf8(request.body()).map_err(|_| invalid_body())?;
            let form = form::decode(body).map_err(|_| invalid_body())?;
            let sessions = &state.sessions;
            Ok(Some(Answer::ok(state.faults.arm(&form, |id| sessions.contains_key(id))?)))
        }
        (&http::Method::GET, "/_simulator/requests") => Ok(Some(Answer::ok(state.log.list()))),
        _ => Ok(None),
    }
}

fn key_reused(key: &str) -> StripeError {
    let message = format!(
        "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
    );
    StripeError::new(StripeErrorKind::Idempotency, 400, "", &message)
}

/// Stripe's 409 while a request with the same key is still executing (its openapi example).
fn key_in_use() -> StripeError {
    let message = "The idempotency key provided is currently being used in another request.";
    StripeError::new(StripeErrorKind::InvalidRequest, 409, "idempotency_key_in_use", message)
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

#[cfg(test)]
mod reads_tests;
#[cfg(test)]
mod replay_tests;
#[cfg(test)]
mod tests;
