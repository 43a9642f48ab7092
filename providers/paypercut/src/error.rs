//! Paypercut error bodies → [`ProviderFailure`]. The documented object is
//! `{type, code, param, message, trace_id}` at the top level; it is also read from under
//! `error` (Paypercut's own PrestaShop plugin reads both). Bodies of any other shape still map
//! by HTTP status.

use checkout_provider_interface::kit::failure::{json, owned_text};
use checkout_provider_interface::{
    AdapterError, FailureClass, FieldProblem, ProviderFailure, ProviderResponse, Secret, wire::REDACTED,
};
use serde_json::Value;

/// The fields of a Paypercut error object that matter here.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ErrorBody {
    pub(crate) kind: Option<String>,
    pub(crate) code: Option<String>,
    pub(crate) param: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) trace_id: Option<String>,
}

/// Read the error object from either envelope; fields of the wrong type count as absent.
pub(crate) fn read(body: &[u8]) -> ErrorBody {
    let Some(top) = json(body).filter(Value::is_object) else {
        return ErrorBody::default();
    };
    let object = match top.get("error") {
        Some(inner @ Value::Object(_)) => inner,
        _ => &top,
    };
    let text = |key: &str| owned_text(object, key);
    ErrorBody {
        kind: text("type"),
        code: text("code"),
        param: text("param"),
        message: text("message"),
        trace_id: text("trace_id"),
    }
}

/// Classify a non-2xx answer.
pub(crate) fn failure(response: &ProviderResponse, api_key: &Secret) -> AdapterError {
    let status = response.status().as_u16();
    let body = read(response.body());
    let mut failure = ProviderFailure::new(classify(status, &body), status);
    if let Some(pointer) = body.param.as_deref().and_then(pointer_for) {
        failure.errors.push(FieldProblem::new(pointer, body.message.clone().unwrap_or_default()));
    }
    failure.code = body.code;
    failure.message = body.message.map(|m| redact(m, api_key));
    failure.param = body.param;
    failure.request_id = body.trace_id;
    for problem in &mut failure.errors {
        problem.detail = redact(std::mem::take(&mut problem.detail), api_key);
    }
    failure.into()
}

/// - `idempotency_error` (any status): our key was seen with another request. Never retried.
/// - 409: the docs' "conflicts with the current state of the resource"; for this endpoint that
///   is a session no longer open (complete, expired or confirming).
/// - 422 without `param`: "well-formed but cannot be processed in its current state", again the
///   session's state; a 422 naming a parameter is a rejected value.
/// - 404 naming a parameter other than `id` (e.g. an unknown `shipping_rate`): the session was
///   found, the request was refused.
/// - otherwise by status (DESIGN §4).
fn classify(status: u16, body: &ErrorBody) -> FailureClass {
    if body.kind.as_deref() == Some("idempotency_error") {
        return FailureClass::IdempotencyConflict;
    }
    let names_param = body.param.as_deref().is_some_and(|p| !p.is_empty() && p != "id");
    match status {
        409 => FailureClass::NotUpdatable,
        422 if !names_param => FailureClass::NotUpdatable,
        404 if names_param => FailureClass::Rejected,
        _ => ProviderFailure::class_for_status(status),
    }
}

/// Retrying cannot help a reused key or a closed session. The core's default would not retry a
/// 409 either (only 429 and 5xx); the advice says so, whatever that default becomes.
pub(crate) fn retry_advice(response: &ProviderResponse) -> Option<bool> {
    let status = response.status();
    if status.is_success() {
        return None;
    }
    let body = read(response.body());
    if body.kind.as_deref() == Some("idempotency_error") || status.as_u16() == 409 {
        return Some(false);
    }
    None
}

/// Paypercut's parameter names → unified pointers. Only `shipping_rate` is ever sent from the
/// unified body; other names (path `id`, headers, `provider_options` keys) have no pointer.
fn pointer_for(param: &str) -> Option<&'static str> {
    (param == "shipping_rate").then_some("/shipping_rate")
}

/// Paypercut masks keys in its messages; this makes sure ours never leaks through one anyway.
fn redact(text: String, api_key: &Secret) -> String {
    if text.contains(api_key.expose()) { text.replace(api_key.expose(), REDACTED) } else { text }
}

/// The Paypercut error object for a simulator answer.
#[cfg(feature = "simulator")]
pub(crate) fn body(kind: &str, code: Option<&str>, param: Option<&str>, message: &str, trace_id: &str) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("type".to_owned(), Value::from(kind));
    object.insert("code".to_owned(), code.map_or(Value::Null, Value::from));
    if let Some(param) = param {
        object.insert("param".to_owned(), Value::from(param));
    }
    object.insert("message".to_owned(), Value::from(message));
    object.insert("trace_id".to_owned(), Value::from(trace_id));
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use checkout_provider_interface::{AdapterError, FailureClass, Secret};
    use serde_json::json;

    use super::{ErrorBody, failure, read, retry_advice};

    fn response(status: u16, body: &str) -> http::Response<Vec<u8>> {
        http::Response::builder().status(status).body(body.as_bytes().to_vec()).unwrap()
    }

    fn class(status: u16, body: &serde_json::Value) -> FailureClass {
        match failure(&response(status, &body.to_string()), &Secret::new("sk_test_k")) {
            AdapterError::Provider(f) => f.class,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn both_envelopes_are_read_and_odd_fields_ignored() {
        let flat = read(br#"{"type":"api_error","code":"x","message":"m","trace_id":"t"}"#);
        let nested = read(br#"{"error":{"type":"api_error","code":"x","message":"m","trace_id":"t"}}"#);
        assert_eq!(flat, nested);
        assert_eq!(read(br#"{"type":5,"message":"m"}"#).kind, None);
        assert_eq!(read(b"<html>oops</html>"), ErrorBody::default());
        assert_eq!(read(br#"{"error":"text"}"#), ErrorBody::default());
    }

    #[test]
    fn classes_follow_type_status_and_param() {
        assert_eq!(class(409, &json!({"type": "idempotency_error"})), FailureClass::IdempotencyConflict);
        assert_eq!(class(400, &json!({"type": "idempotency_error"})), FailureClass::IdempotencyConflict);
        assert_eq!(class(409, &json!({"type": "invalid_request_error"})), FailureClass::NotUpdatable);
        assert_eq!(class(422, &json!({"message": "state"})), FailureClass::NotUpdatable);
        assert_eq!(class(422, &json!({"param": "shipping_rate"})), FailureClass::Rejected);
        assert_eq!(class(404, &json!({"param": "id"})), FailureClass::NotFound);
        assert_eq!(class(404, &json!({"param": "shipping_rate"})), FailureClass::Rejected);
        assert_eq!(class(403, &json!({"code": "account_required"})), FailureClass::Authentication);
        assert_eq!(class(503, &json!({})), FailureClass::Server);
        assert_eq!(class(302, &json!({})), FailureClass::Unexpected);
    }

    #[test]
    fn the_key_never_survives_in_a_message() {
        let body = json!({"type": "authentication_error", "message": "bad key sk_test_k", "param": "shipping_rate"});
        let AdapterError::Provider(f) = failure(&response(401, &body.to_string()), &Secret::new("sk_test_k")) else {
            panic!("not a provider failure");
        };
        assert_eq!(f.message.as_deref(), Some("bad key [redacted]"));
        assert_eq!(f.errors[0].detail, "bad key [redacted]");
    }

    #[test]
    fn retry_advice_stops_reused_keys_and_closed_sessions() {
        assert_eq!(retry_advice(&response(409, "{}")), Some(false));
        assert_eq!(retry_advice(&response(400, r#"{"error":{"type":"idempotency_error"}}"#)), Some(false));
        assert_eq!(retry_advice(&response(503, "{}")), None);
        assert_eq!(retry_advice(&response(200, "{}")), None);
    }
}
