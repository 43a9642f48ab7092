//! Speed error answers → `ProviderFailure`.
//!
//! Speed documents `{"errors": [{"type", "message", ...}]}`. A single error object (under
//! `errors`, under `error`, or at the top level) is tolerated; a body of any other shape still
//! maps by status. The class follows the status: 400/402/422 rejected, 401/403 authentication,
//! 404 not found, 409 not updatable, 429 rate limited, 5xx server. A 400/402 whose message says
//! the session is paid or deactivated is classed not updatable: Speed documents no code for it.

use checkout_provider_interface::{FailureClass, FieldProblem, ProviderFailure, ProviderResponse};
use serde_json::Value;

struct Item {
    kind: Option<String>,
    message: Option<String>,
    param: Option<String>,
}

pub fn failure(response: &ProviderResponse) -> ProviderFailure {
    let status = response.status().as_u16();
    let class = match status {
        402 => FailureClass::Rejected,
        other => ProviderFailure::class_for_status(other),
    };
    let mut failure = ProviderFailure::new(class, status);
    let items = serde_json::from_slice::<Value>(response.body()).map(|body| items(&body)).unwrap_or_default();
    failure.code = items.iter().find_map(|item| item.kind.clone());
    let messages: Vec<&str> = items.iter().filter_map(|item| item.message.as_deref()).collect();
    failure.message = (!messages.is_empty()).then(|| messages.join("; "));
    failure.param = items.iter().find_map(|item| item.param.clone());
    failure.errors = items
        .iter()
        .filter_map(|item| {
            let param = item.param.as_deref()?;
            let detail = item.message.clone().unwrap_or_else(|| format!("Speed refused `{param}`"));
            Some(FieldProblem::new(unified_pointer(param)?, detail))
        })
        .collect();
    if matches!(status, 400 | 402) && messages.iter().any(|m| says_not_updatable(m)) {
        failure.class = FailureClass::NotUpdatable;
    }
    failure
}

fn items(body: &Value) -> Vec<Item> {
    let list = match body.get("errors").or_else(|| body.get("error")) {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(single @ Value::Object(_)) => vec![single],
        Some(_) => Vec::new(),
        None if body.get("type").is_some() || body.get("message").is_some() => vec![body],
        None => Vec::new(),
    };
    let text = |item: &Value, key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
    list.into_iter()
        .filter(|item| item.is_object())
        .map(|item| Item { kind: text(item, "type"), message: text(item, "message"), param: text(item, "param") })
        .collect()
}

/// Phrases Speed-style messages use for a session closed to updates (lower case).
const NOT_UPDATABLE: [&str; 7] = [
    "already paid",
    "is paid",
    "has been paid",
    "deactivated",
    "cannot be updated",
    "can no longer be updated",
    "not updatable",
];

fn says_not_updatable(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    NOT_UPDATABLE.iter().any(|phrase| message.contains(phrase))
}

/// A Speed request field → the unified pointer it came from.
fn unified_pointer(param: &str) -> Option<&'static str> {
    Some(match param.split(['.', '[']).next()? {
        "success_url" => "/redirects/success_url",
        "cancel_url" => "/redirects/cancel_url",
        "success_message" => "/redirects/success_message",
        "title" => "/page/title",
        "title_description" => "/page/description",
        "title_image" => "/page/image_url",
        "description" => "/description",
        "metadata" => "/metadata",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use checkout_provider_interface::FailureClass;

    use super::failure;

    fn classify(status: u16, body: &str) -> checkout_provider_interface::ProviderFailure {
        let response = http::Response::builder().status(status).body(body.as_bytes().to_vec()).unwrap_or_default();
        failure(&response)
    }

    #[test]
    fn classes_follow_the_status() {
        let cases = [
            (400, FailureClass::Rejected),
            (402, FailureClass::Rejected),
            (401, FailureClass::Authentication),
            (403, FailureClass::Authentication),
            (404, FailureClass::NotFound),
            (409, FailureClass::NotUpdatable),
            (429, FailureClass::RateLimited),
            (500, FailureClass::Server),
            (503, FailureClass::Server),
            (418, FailureClass::Unexpected),
        ];
        for (status, class) in cases {
            assert_eq!(classify(status, "<html>oops</html>").class, class, "{status}");
        }
    }

    #[test]
    fn tolerates_single_objects() {
        for body in [
            r#"{"errors":{"type":"invalid_request_error","message":"m"}}"#,
            r#"{"error":{"type":"invalid_request_error","message":"m"}}"#,
            r#"{"type":"invalid_request_error","message":"m"}"#,
        ] {
            let failure = classify(400, body);
            assert_eq!(failure.code.as_deref(), Some("invalid_request_error"), "{body}");
            assert_eq!(failure.message.as_deref(), Some("m"), "{body}");
        }
    }

    #[test]
    fn params_map_to_unified_pointers_and_messages_join() {
        let failure = classify(
            400,
            r#"{"errors":[{"type":"invalid_request_error","message":"bad url","param":"success_url"},
                          {"type":"invalid_request_error","message":"bad image","param":"title_image"},
                          {"type":"invalid_request_error","message":"other","param":"foo"}]}"#,
        );
        let pointers: Vec<_> = failure.errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/redirects/success_url", "/page/image_url"]);
        assert_eq!(failure.param.as_deref(), Some("success_url"));
        assert_eq!(failure.message.as_deref(), Some("bad url; bad image; other"));
    }

    #[test]
    fn a_paid_session_refusal_is_not_updatable_only_on_client_errors() {
        let body = r#"{"errors":[{"type":"invalid_request_error","message":"Checkout session is already paid."}]}"#;
        assert_eq!(classify(400, body).class, FailureClass::NotUpdatable);
        assert_eq!(classify(500, body).class, FailureClass::Server);
        assert_eq!(classify(401, body).class, FailureClass::Authentication);
    }
}
