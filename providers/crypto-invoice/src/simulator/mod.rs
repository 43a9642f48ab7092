//! An in-memory Speed: `GET`/`POST /checkout-sessions/{id}` with Basic auth against the
//! configured key, the `speed-version` enum, Speed's request rules (eight string/object fields,
//! `success_url` XOR `success_message`), metadata merge, and paid or deactivated sessions
//! refused. Answers use Speed's `{"errors": [{type, message}]}` shape.
//!
//! API versions: a request without `speed-version` runs on the account's pinned version, here
//! 2022-04-15 (the docs' default), which "only supports lightning payments": the session object
//! then lists only its lightning payment method. 2022-10-15 shows every method (on-chain,
//! lightning, Ethereum, Solana, Tron).

mod demo;

use std::collections::BTreeMap;

use checkout_provider_interface::kit::credentials;
use checkout_provider_interface::kit::simulator::{Sessions, decode_segment, json_response, match_template};
use serde_json::{Map, Value, json};

use crate::config::API_VERSIONS;
use demo::DemoSession;

pub struct SpeedSimulator {
    /// The whole expected `Authorization` value; never echoed.
    expected_authorization: String,
    sessions: Sessions<DemoSession>,
}

type Response = http::Response<Vec<u8>>;

/// The request fields Speed's update documents.
const TEXT_FIELDS: [&str; 7] =
    ["description", "success_message", "success_url", "cancel_url", "title", "title_description", "title_image"];

fn error(status: u16, kind: &str, message: &str, param: Option<&str>) -> Response {
    let mut item = json!({ "type": kind, "message": message });
    if let (Some(param), Some(object)) = (param, item.as_object_mut()) {
        object.insert("param".to_owned(), Value::String(param.to_owned()));
    }
    json_response(status, &json!({ "errors": [item] }))
}

fn invalid(message: &str, param: Option<&str>) -> Response {
    error(400, "invalid_request_error", message, param)
}

impl SpeedSimulator {
    /// `authorization` is the exact header value the configured key produces.
    pub fn new(authorization: &str) -> Self {
        let sessions = demo::seed().into_iter().map(|s| (s.id.clone(), s)).collect();
        Self { expected_authorization: authorization.to_owned(), sessions: Sessions::new(sessions) }
    }

    fn authorized(&self, request: &http::Request<Vec<u8>>) -> bool {
        let expected = self.expected_authorization.strip_prefix("Basic ").unwrap_or_default();
        credentials::presents(request, "Basic", expected)
    }

    fn respond(&self, request: &http::Request<Vec<u8>>) -> Response {
        if !self.authorized(request) {
            return error(401, "authentication_error", "Invalid API key provided.", None);
        }
        let version = request.headers().get("speed-version").map(|v| v.to_str().unwrap_or_default());
        if version.is_some_and(|v| !API_VERSIONS.contains(&v)) {
            return invalid("Invalid speed-version header.", Some("speed-version"));
        }
        let version = version.unwrap_or(PINNED_VERSION);
        let Some(id) = session_id(request.uri().path()) else {
            return error(404, "invalid_request_error", "Unrecognized request URL.", None);
        };
        let mut sessions = self.sessions.lock();
        let Some(session) = sessions.get_mut(&id) else {
            return error(404, "invalid_request_error", "No such checkout session.", None);
        };
        match *request.method() {
            http::Method::GET => session_response(session, version),
            http::Method::POST => update(session, request.body(), version),
            _ => error(405, "invalid_request_error", "Method not allowed.", None),
        }
    }
}

impl checkout_provider_interface::Simulator for SpeedSimulator {
    fn handle(&self, request: http::Request<Vec<u8>>) -> Response {
        self.respond(&request)
    }
}

/// The account's version when a request names none.
const PINNED_VERSION: &str = "2022-04-15";

/// The session object as `version` shows it.
fn session_response(session: &DemoSession, version: &str) -> Response {
    let mut shown = session.clone();
    if version == PINNED_VERSION {
        shown.payment_methods.retain(|method| *method == "lightning");
    }
    match serde_json::to_vec(&shown) {
        Ok(body) => {
            let mut response = json_response(200, &Value::Null);
            *response.body_mut() = body;
            response
        }
        Err(_) => error(500, "api_error", "Something went wrong.", None),
    }
}

/// `/checkout-sessions/{id}` → the percent-decoded id.
fn session_id(path: &str) -> Option<String> {
    decode_segment(match_template("/checkout-sessions/{id}", path)?.first()?)
}

fn update(session: &mut DemoSession, body: &[u8], version: &str) -> Response {
    if session.status != "active" {
        let message = format!("This checkout session is {} and cannot be updated.", session.status);
        return invalid(&message, None);
    }
    let fields: Map<String, Value> = if body.is_empty() {
        Map::new()
    } else {
        match serde_json::from_slice(body) {
            Ok(fields) => fields,
            Err(_) => return invalid("The request body must be a JSON object.", None),
        }
    };
    let mut texts = BTreeMap::new();
    let mut metadata = BTreeMap::new();
    for (key, value) in &fields {
        match (key.as_str(), value) {
            (field, Value::String(text)) if TEXT_FIELDS.contains(&field) => {
                texts.insert(field, text.clone());
            }
            ("metadata", Value::Object(map)) => {
                for (k, v) in map {
                    let Value::String(v) = v else {
                        return invalid("Metadata values must be strings.", Some("metadata"));
                    };
                    metadata.insert(k.clone(), v.clone());
                }
            }
            (field, _) if TEXT_FIELDS.contains(&field) || field == "metadata" => {
                return invalid(&format!("Invalid value for {field}."), Some(field));
            }
            (field, _) => return invalid(&format!("Received unknown parameter: {field}."), Some(field)),
        }
    }
    if texts.contains_key("success_url") && texts.contains_key("success_message") {
        return invalid("success_url and success_message are mutually exclusive.", Some("success_message"));
    }
    for (field, text) in texts {
        let slot = match field {
            "description" => &mut session.description,
            "success_message" => &mut session.success_message,
            "success_url" => &mut session.success_url,
            "cancel_url" => &mut session.cancel_url,
            "title" => &mut session.title,
            "title_description" => &mut session.title_description,
            _ => &mut session.title_image,
        };
        *slot = Some(text);
        // Exclusive on the object too (simulator assumption): setting one replaces the other.
        match field {
            "success_url" => session.success_message = None,
            "success_message" => session.success_url = None,
            _ => {}
        }
    }
    session.metadata.extend(metadata);
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    session.modified = i64::try_from(now).unwrap_or(session.modified).max(session.modified);
    session_response(session, version)
}

#[cfg(test)]
mod tests;
