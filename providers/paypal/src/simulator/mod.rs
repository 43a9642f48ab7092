//! An in-memory PayPal for the embedded default config and the tests, modelled on the Orders v2
//! description (not on the adapter): `POST /v1/oauth2/token` (client credentials in HTTP Basic,
//! a form with `grant_type=client_credentials`), then `GET` and `PATCH
//! /v2/checkout/orders/{id}` with `Authorization: Bearer <token>`. An unknown or expired token
//! is a `401`. A PATCH is a JSON Patch array applied all or nothing by the table of patchable
//! attributes (`patch.rs`), then checked the way PayPal checks an order (`check.rs`: the
//! breakdown must add up, decimals per currency), and answered `204` with no body. A completed
//! order refuses every patch (`ORDER_ALREADY_COMPLETED`). It may read the clock (it is not the
//! adapter).
//!
//! Control endpoints (not PayPal's; under `/_simulator/`, with the client credentials in HTTP
//! Basic, like the token endpoint):
//! - `POST /_simulator/expire-tokens`: every token issued so far expires now, so a test sees
//!   the gateway refresh on the `401`.
//! - `GET /_simulator/tokens`: `{"issued": n}`, how many tokens the token endpoint gave out.
//! - `POST /_simulator/fail-reads-after-patch?count=n`: after the next patch that PayPal applies,
//!   the next `n` reads answer `500` (a write that went through whose read-back fails);
//!   `count=0` disarms it and ends failing reads at once.

mod check;
mod demo;
mod patch;

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use checkout_provider_interface::kit::credentials;
use checkout_provider_interface::kit::simulator::{Route, Routed, Shared, decode_segment, json_response, route};
use checkout_provider_interface::{ConfigError, ProviderSetup, Simulator};
use http::{Method, Request, Response};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::config::{Config, TOKEN_PATH};

/// PayPal's usual access-token lifetime (nine hours).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::seconds(32_400);

pub(crate) fn build(setup: &ProviderSetup<'_>) -> Result<Arc<dyn Simulator>, ConfigError> {
    let config = Config::from_setup(setup)?;
    Ok(Arc::new(PayPalSimulator::new(
        config.credentials.client_id.expose(),
        config.credentials.client_secret.expose(),
        DEFAULT_TOKEN_LIFETIME,
    )))
}

/// The simulator. Build one with [`PayPalSimulator::new`] for a test with a short token lifetime.
pub struct PayPalSimulator {
    client_id: String,
    client_secret: String,
    token_lifetime: Duration,
    state: Shared<State>,
}

struct State {
    orders: BTreeMap<String, Value>,
    /// Access token → when it expires.
    tokens: BTreeMap<String, OffsetDateTime>,
    issued: u64,
    debug_ids: u64,
    /// Reads to fail after the next applied patch, and reads still to fail now.
    fail_reads_armed: u32,
    failing_reads: u32,
}

/// An error answer: status and body.
pub(crate) struct Failure(pub(crate) u16, pub(crate) Value);

#[derive(Clone, Copy)]
enum Target {
    Token,
    Read,
    Patch,
    ExpireTokens,
    Tokens,
    FailReads,
}

const ROUTES: [Route<Target>; 6] = [
    Route::new(Method::POST, TOKEN_PATH, Target::Token),
    Route::new(Method::GET, "/v2/checkout/orders/{id}", Target::Read),
    Route::new(Method::PATCH, "/v2/checkout/orders/{id}", Target::Patch),
    Route::new(Method::POST, "/_simulator/expire-tokens", Target::ExpireTokens),
    Route::new(Method::GET, "/_simulator/tokens", Target::Tokens),
    Route::new(Method::POST, "/_simulator/fail-reads-after-patch", Target::FailReads),
];

impl PayPalSimulator {
    pub fn new(client_id: &str, client_secret: &str, token_lifetime: Duration) -> Self {
        let state = State {
            orders: demo::orders(OffsetDateTime::now_utc()),
            tokens: BTreeMap::new(),
            issued: 0,
            debug_ids: 0,
            fail_reads_armed: 0,
            failing_reads: 0,
        };
        Self {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            token_lifetime,
            state: Shared::new(state),
        }
    }

    fn route(
        &self,
        state: &mut State,
        request: &Request<Vec<u8>>,
        debug_id: &str,
    ) -> Result<Response<Vec<u8>>, Failure> {
        let fail = |status, issue: &str, field: Option<&str>, description: &str| {
            Failure(status, error_body(status, issue, field, description, debug_id))
        };
        let (target, segments) = match route(&ROUTES, request.method(), request.uri().path()) {
            Routed::Found(target, segments) => (target, segments),
            Routed::WrongMethod => return Err(fail(405, "METHOD_NOT_SUPPORTED", None, "The method is not supported.")),
            Routed::NoRoute => {
                return Err(fail(404, "INVALID_RESOURCE_ID", None, "Specified resource ID does not exist."));
            }
        };
        match target {
            Target::Token => self.token(state, request),
            Target::ExpireTokens | Target::Tokens | Target::FailReads => {
                if !self.presents_client(request) {
                    return Ok(oauth_error(401, "invalid_client", "Client Authentication failed"));
                }
                match target {
                    Target::ExpireTokens => {
                        let now = OffsetDateTime::now_utc();
                        state.tokens.values_mut().for_each(|expiry| *expiry = now);
                    }
                    Target::FailReads => {
                        let count =
                            request.uri().query().and_then(|q| q.strip_prefix("count=")).and_then(|n| n.parse().ok());
                        let Some(count) = count.filter(|n| *n <= 100) else {
                            return Err(fail(400, "INVALID_PARAMETER_VALUE", Some("count"), "count is 0-100."));
                        };
                        state.fail_reads_armed = count;
                        if count == 0 {
                            state.failing_reads = 0;
                        }
                    }
                    _ => {}
                }
                Ok(json_response(200, &json!({"issued": state.issued})))
            }
            Target::Read | Target::Patch => {
                self.authenticate(state, request).map_err(|()| {
                    let description = "Authentication failed due to invalid authentication credentials or a missing Authorization header.";
                    Failure(401, error_body(401, "INVALID_TOKEN", None, description, debug_id))
                })?;
                let id = segments.first().copied().and_then(decode_segment).unwrap_or_default();
                let not_found = || {
                    fail(
                        404,
                        "INVALID_RESOURCE_ID",
                        None,
                        "Specified resource ID does not exist. Please check the resource ID and try again.",
                    )
                };
                let order = state.orders.get_mut(&id).ok_or_else(not_found)?;
                if matches!(target, Target::Read) {
                    if state.failing_reads > 0 {
                        state.failing_reads -= 1;
                        return Err(fail(
                            500,
                            "INTERNAL_SERVICE_ERROR",
                            None,
                            "An internal service error has occurred.",
                        ));
                    }
                    return Ok(json_response(200, order));
                }
                patch::apply(order, request, debug_id)?;
                state.failing_reads = std::mem::take(&mut state.fail_reads_armed);
                let mut response = Response::new(Vec::new());
                *response.status_mut() = http::StatusCode::NO_CONTENT;
                Ok(response)
            }
        }
    }

    /// `POST /v1/oauth2/token`: the client's id and secret in HTTP Basic, and the grant.
    fn token(&self, state: &mut State, request: &Request<Vec<u8>>) -> Result<Response<Vec<u8>>, Failure> {
        if !self.presents_client(request) {
            return Ok(oauth_error(401, "invalid_client", "Client Authentication failed"));
        }
        let form = std::str::from_utf8(request.body()).unwrap_or_default();
        let grant = form.split('&').filter_map(|pair| pair.split_once('=')).find(|(name, _)| *name == "grant_type");
        match grant {
            Some((_, "client_credentials")) => {}
            Some(_) => return Ok(oauth_error(400, "unsupported_grant_type", "Grant Type is not supported")),
            None => return Ok(oauth_error(400, "invalid_request", "grant_type is a required parameter")),
        }
        state.issued += 1;
        let token = format!("A21AA{:012}SIMULATED{}", state.issued, OffsetDateTime::now_utc().unix_timestamp());
        state.tokens.insert(token.clone(), OffsetDateTime::now_utc() + self.token_lifetime);
        Ok(json_response(
            200,
            &json!({
                "scope": "https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/payments/orders/client-side-integration",
                "access_token": token,
                "token_type": "Bearer",
                "app_id": "APP-80W284485P519543T",
                "expires_in": self.token_lifetime.whole_seconds(),
                "nonce": format!("{}-simulated", state.issued),
            }),
        ))
    }

    fn presents_client(&self, request: &Request<Vec<u8>>) -> bool {
        let Some(encoded) = credentials::authorization(request).and_then(|v| credentials::presented(v, "Basic")) else {
            return false;
        };
        let Some(decoded) = STANDARD.decode(encoded).ok().and_then(|bytes| String::from_utf8(bytes).ok()) else {
            return false;
        };
        let Some((id, secret)) = decoded.split_once(':') else { return false };
        // Both compared, so the time taken does not say which one was wrong.
        let id_ok = credentials::same(id, &self.client_id);
        let secret_ok = credentials::same(secret, &self.client_secret);
        id_ok && secret_ok
    }

    /// A bearer token the token endpoint issued and that has not expired.
    fn authenticate(&self, state: &State, request: &Request<Vec<u8>>) -> Result<(), ()> {
        let presented =
            credentials::authorization(request).and_then(|v| credentials::presented(v, "Bearer")).ok_or(())?;
        let now = OffsetDateTime::now_utc();
        let valid = state.tokens.iter().any(|(token, expiry)| credentials::same(presented, token) && *expiry > now);
        if valid { Ok(()) } else { Err(()) }
    }
}

impl Simulator for PayPalSimulator {
    fn handle(&self, request: Request<Vec<u8>>) -> Response<Vec<u8>> {
        let mut state = self.state.lock();
        state.debug_ids += 1;
        let debug_id = format!("f{:012x}", state.debug_ids);
        let mut response = match self.route(&mut state, &request, &debug_id) {
            Ok(response) => response,
            Err(Failure(status, body)) => json_response(status, &body),
        };
        if let Ok(value) = http::HeaderValue::from_str(&debug_id) {
            response.headers_mut().insert("paypal-debug-id", value);
        }
        response
    }
}

/// PayPal's error object for `status`, with one detail.
pub(crate) fn error_body(status: u16, issue: &str, field: Option<&str>, description: &str, debug_id: &str) -> Value {
    let (name, message) = match status {
        400 => ("INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema."),
        401 => (
            "AUTHENTICATION_FAILURE",
            "Authentication failed due to missing authorization header, or invalid authentication credentials.",
        ),
        404 => ("RESOURCE_NOT_FOUND", "The specified resource does not exist."),
        405 => ("METHOD_NOT_SUPPORTED", "The server does not implement the requested HTTP method."),
        422 => (
            "UNPROCESSABLE_ENTITY",
            "The requested action could not be performed, semantically incorrect, or failed business validation.",
        ),
        _ => ("INTERNAL_SERVER_ERROR", "An internal server error has occurred."),
    };
    if status == 401 {
        // The description's 401 allows only an account-status detail; a refused token has none.
        return json!({"name": name, "message": message, "debug_id": debug_id, "details": []});
    }
    let mut detail = json!({"issue": issue, "description": description});
    if let Some(field) = field {
        detail["field"] = json!(field);
        detail["location"] = json!("body");
    }
    json!({"name": name, "message": message, "debug_id": debug_id, "details": [detail]})
}

/// The token endpoint's own error shape (OAuth 2.0, RFC 6749 §5.2).
fn oauth_error(status: u16, error: &str, description: &str) -> Response<Vec<u8>> {
    json_response(status, &json!({"error": error, "error_description": description}))
}

#[cfg(test)]
mod tests;
