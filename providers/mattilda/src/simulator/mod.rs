//! An in-memory Mattilda speaking its wire protocol, for the embedded default config.
//!
//! It checks credentials as Mattilda would: the configured bearer token, or an ES512 JWT whose
//! signature verifies with the configured key's public half, whose `kid` is that key's
//! thumbprint, whose `nbf`/`exp` hold against the real clock, whose `scopes` cover the call and
//! whose `jti` has not been presented before. Its `PUT` models what Gr4vy's description says:
//! every updatable field is replaced (an omitted field is cleared: the stricter reading of the
//! unconfirmed semantics, so the adapter's full-state PUT is exercised); `expires_in` takes its
//! documented default of 3600 s when omitted, so every PUT sets a new expiry; a stated `amount`
//! must be what the cart adds up to (Gr4vy's 400). Demo sessions: see `seed` and the README.

mod consistency;
mod replay;
mod seed;
mod validate;

use std::collections::BTreeMap;
use std::sync::MutexGuard;

use checkout_provider_interface::Simulator;
use checkout_provider_interface::kit::credentials;
use checkout_provider_interface::kit::simulator::{Route, Routed, Sessions, json_response, route};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

pub use seed::{DEMO_SESSION_EMPTY, DEMO_SESSION_EXPIRED, DEMO_SESSION_OPEN};

use crate::config::{Auth, Settings};
use crate::jwt;
use crate::request::{MERCHANT_HEADER, SCOPE_READ, SCOPE_WRITE};

/// Fields a PUT sets and a GET reports; everything else in a valid body is accepted and not kept.
const STORED: [&str; 7] = ["cart_items", "metadata", "buyer", "airline", "amount", "currency", "payment_service_id"];
/// Clock skew tolerated on `nbf` / `exp`, in seconds.
const LEEWAY: i64 = 5;

/// Mattilda's session endpoints, each with the scope a JWT needs for it. The id stays raw (not
/// percent-decoded): a session id is a UUID, and anything else is answered as Mattilda does.
const ROUTES: [Route<&str>; 2] = [
    Route::new(http::Method::GET, "/checkout/sessions/{id}", SCOPE_READ),
    Route::new(http::Method::PUT, "/checkout/sessions/{id}", SCOPE_WRITE),
];

/// `CheckoutSessionUpdate.expires_in`'s `default`.
const DEFAULT_EXPIRES_IN: i64 = 3600;

pub struct MattildaSimulator {
    settings: Settings,
    merchant: String,
    sessions: Sessions<StoredSession>,
    seen_tokens: replay::SeenTokens,
}

#[derive(Clone)]
struct StoredSession {
    merchant: String,
    expires_at: OffsetDateTime,
    fields: Map<String, Value>,
}

impl MattildaSimulator {
    pub fn new(settings: Settings) -> Self {
        let merchant =
            settings.merchant_account_id.as_ref().and_then(|v| v.to_str().ok()).unwrap_or("default").to_owned();
        let now = OffsetDateTime::now_utc();
        let sessions = seed::sessions(now)
            .into_iter()
            .map(|(id, expires_at, fields)| {
                (id.to_owned(), StoredSession { merchant: merchant.clone(), expires_at, fields })
            })
            .collect();
        Self { settings, merchant, sessions: Sessions::new(sessions), seen_tokens: replay::SeenTokens::default() }
    }

    fn sessions(&self) -> MutexGuard<'_, BTreeMap<String, StoredSession>> {
        self.sessions.lock()
    }

    /// `None` when the credentials are good for `scope`, else the 401/403 answer.
    fn refuse(&self, request: &http::Request<Vec<u8>>, scope: &str) -> Option<http::Response<Vec<u8>>> {
        let presented = credentials::authorization(request).and_then(|v| credentials::presented(v, "Bearer"));
        let Some(presented) = presented else {
            return Some(error(401, "unauthorized", "No valid API authentication found"));
        };
        match &self.settings.auth {
            Auth::Token(token) => (!credentials::same(presented, token.expose()))
                .then(|| error(401, "unauthorized", "No valid API authentication found")),
            Auth::Key(signer) => {
                let now = OffsetDateTime::now_utc();
                match jwt::verify(presented, signer.verifying_key(), signer.kid(), now, LEEWAY) {
                    Err(why) => Some(error(401, "unauthorized", &format!("Invalid token: {why:?}"))),
                    Ok(claims) if !self.seen_tokens.first_use(&claims.jti, claims.exp, now.unix_timestamp()) => {
                        Some(error(401, "unauthorized", "Invalid token: the jti was already used"))
                    }
                    Ok(claims) => {
                        let wildcard = if scope.ends_with(".write") { "*.write" } else { "*.read" };
                        let allowed = claims.scopes.iter().any(|s| s == scope || s == wildcard);
                        (!allowed).then(|| error(403, "forbidden", &format!("The token lacks the `{scope}` scope")))
                    }
                }
            }
        }
    }

    fn update(&self, id: &str, merchant: &str, body: &[u8]) -> http::Response<Vec<u8>> {
        let body: Value = match serde_json::from_slice(body) {
            Ok(body) => body,
            Err(e) => {
                return detail(&[json!({"type": "json_invalid", "loc": ["body", 0], "msg": "JSON decode error",
                    "ctx": {"error": e.to_string()}})]);
            }
        };
        let problems = validate::update_body(&body);
        if !problems.is_empty() {
            return detail(&problems);
        }
        let mismatch = body.as_object().map(consistency::amount_problems).unwrap_or_default();
        if !mismatch.is_empty() {
            return error_with(400, "bad_request", "Request failed validation", &mismatch);
        }
        let now = OffsetDateTime::now_utc();
        let mut sessions = self.sessions();
        let Some(session) = sessions.get_mut(id).filter(|s| s.merchant == merchant) else {
            return not_found();
        };
        // Nothing documents a refusal for an expired session, so none is made up: like any
        // PUT, it gets a new expiry (which is why the adapter never sends one).
        for key in STORED {
            let value = body.get(key).cloned().unwrap_or(Value::Null);
            session.fields.insert(key.to_owned(), value);
        }
        // Validated to 3600..=86400 above, so the cast cannot truncate meaningfully.
        #[expect(clippy::cast_possible_truncation, reason = "bounded by validation")]
        let seconds = body.get("expires_in").and_then(Value::as_f64).map_or(DEFAULT_EXPIRES_IN, |s| s as i64);
        session.expires_at = now + time::Duration::seconds(seconds);
        json_response(200, &render(id, session))
    }
}

impl Simulator for MattildaSimulator {
    fn handle(&self, request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        let (scope, raw_id) = match route(&ROUTES, request.method(), request.uri().path()) {
            Routed::Found(scope, ids) => match ids.first() {
                Some(&id) => (scope, id),
                None => return not_found(),
            },
            Routed::WrongMethod => return error(405, "method_not_allowed", "Method Not Allowed"),
            Routed::NoRoute => return not_found(),
        };
        if let Some(refusal) = self.refuse(&request, scope) {
            return refusal;
        }
        if !crate::is_uuid(raw_id) {
            return detail(&[json!({"type": "uuid_parsing", "loc": ["path", "session_id"],
                "msg": "Input should be a valid UUID", "input": raw_id})]);
        }
        let id = raw_id.to_ascii_lowercase();
        let merchant = request
            .headers()
            .get(MERCHANT_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(self.merchant.as_str())
            .to_owned();
        if request.method() == http::Method::PUT {
            return self.update(&id, &merchant, request.body());
        }
        match self.sessions().get(&id).filter(|s| s.merchant == merchant) {
            Some(session) => json_response(200, &render(&id, session)),
            None => not_found(),
        }
    }
}

/// The `CheckoutSession` object, every field present (FastAPI renders `None` as `null`).
fn render(id: &str, session: &StoredSession) -> Value {
    let mut out = Map::new();
    out.insert("type".to_owned(), json!("checkout-session"));
    out.insert("id".to_owned(), json!(id));
    let expires_at = checkout_provider_interface::timestamp::format(session.expires_at);
    out.insert("expires_at".to_owned(), json!(expires_at));
    for key in STORED.iter().chain(&["payment_method"]) {
        out.insert((*key).to_owned(), session.fields.get(*key).cloned().unwrap_or(Value::Null));
    }
    Value::Object(out)
}

fn error(status: u16, code: &str, message: &str) -> http::Response<Vec<u8>> {
    error_with(status, code, message, &[])
}

/// Gr4vy's `Error4xx` body.
fn error_with(status: u16, code: &str, message: &str, details: &[Value]) -> http::Response<Vec<u8>> {
    json_response(
        status,
        &json!({"type": "error", "code": code, "status": status, "message": message, "details": details}),
    )
}

fn not_found() -> http::Response<Vec<u8>> {
    error(404, "not_found", "The resource could not be found")
}

/// FastAPI's `HTTPValidationError`.
fn detail(problems: &[Value]) -> http::Response<Vec<u8>> {
    json_response(422, &json!({ "detail": problems }))
}

#[cfg(test)]
mod tests;
