//! Speed error answers → `ProviderFailure`.
//!
//! Speed documents `{"errors": [{"type", "message", ...}]}`. A single error object (under
//! `errors`, under `error`, or at the top level) is tolerated; a body of any other shape still
//! maps by status. The class follows the status: 400/402/422 rejected, 401/403 authentication,
//! 404 not found, 409 not updatable, 429 rate limited, 5xx server. A 400/402 that names no
//! parameter and whose message says the session is paid, deactivated or closed to updates is
//! classed not updatable: Speed documents no code for it (see the README's Quirks).

use checkout_provider_interface::kit::failure::{class_for_status, json, owned_text, pointer};
use checkout_provider_interface::{FailureClass, FieldProblem, ProviderFailure, ProviderResponse};
use serde_json::Value;

struct Item {
    kind: Option<String>,
    message: Option<String>,
    param: Option<String>,
}

pub fn failure(response: &ProviderResponse) -> ProviderFailure {
    let status = response.status().as_u16();
    let mut failure = ProviderFailure::new(class_for_status(status, &[(402, FailureClass::Rejected)]), status);
    let items = json(response.body()).map(|body| items(&body)).unwrap_or_default();
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
    // An item naming a parameter is about that parameter's value, whatever its words.
    let about_the_session =
        items.iter().any(|item| item.param.is_none() && item.message.as_deref().is_some_and(says_not_updatable));
    if matches!(status, 400 | 402) && about_the_session {
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
    list.into_iter()
        .filter(|item| item.is_object())
        .map(|item| Item {
            kind: owned_text(item, "type"),
            message: owned_text(item, "message"),
            param: owned_text(item, "param"),
        })
        .collect()
}

/// Phrases that say the session itself is closed to updates (lower case). Each names a state
/// (`is paid`, `is deactivated`) or a refusal to update, never a bare word such as `deactivated`
/// that a message about a value could contain.
const NOT_UPDATABLE: [&str; 9] = [
    "already paid",
    "is paid",
    "has been paid",
    "is deactivated",
    "has been deactivated",
    "already deactivated",
    "cannot be updated",
    "can no longer be updated",
    "not updatable",
];

fn says_not_updatable(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    NOT_UPDATABLE.iter().any(|phrase| message.contains(phrase))
}

/// A Speed request field → the unified pointer it came from. A metadata key (`metadata.order_id`
/// or `metadata[order_id]`) keeps its key: `/metadata/order_id`.
fn unified_pointer(param: &str) -> Option<String> {
    let (field, rest) = match param.find(['.', '[']) {
        Some(at) => (&param[..at], Some(&param[at..])),
        None => (param, None),
    };
    let pointer = match field {
        "success_url" => "/redirects/success_url",
        "cancel_url" => "/redirects/cancel_url",
        "success_message" => "/redirects/success_message",
        "title" => "/page/title",
        "title_description" => "/page/description",
        "title_image" => "/page/image_url",
        "description" => "/description",
        "metadata" => return Some(metadata_pointer(rest)),
        _ => return None,
    };
    Some(pointer.to_owned())
}

/// `.key` or `[key]` after `metadata` → `/metadata/key`; anything else → `/metadata`.
fn metadata_pointer(rest: Option<&str>) -> String {
    let key = rest.and_then(|rest| {
        rest.strip_prefix('.').or_else(|| rest.strip_prefix('[').and_then(|inner| inner.strip_suffix(']')))
    });
    match key {
        Some(key) if !key.is_empty() => pointer(["metadata", key]),
        _ => "/metadata".to_owned(),
    }
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
    fn metadata_params_keep_their_key() {
        let pointer = |param: &str| {
            let body = format!(r#"{{"errors":[{{"type":"invalid_request_error","message":"m","param":"{param}"}}]}}"#);
            classify(400, &body).errors.first().map(|e| e.pointer.clone())
        };
        assert_eq!(pointer("metadata.order_id").as_deref(), Some("/metadata/order_id"));
        assert_eq!(pointer("metadata[a/b]").as_deref(), Some("/metadata/a~1b"));
        assert_eq!(pointer("metadata").as_deref(), Some("/metadata"));
        assert_eq!(pointer("metadata.").as_deref(), Some("/metadata"));
        assert_eq!(pointer("title.x").as_deref(), Some("/page/title"));
    }

    #[test]
    fn a_message_about_a_value_is_not_a_closed_session() {
        let named = r#"{"errors":[{"type":"invalid_request_error","message":"metadata key deactivated_at is not updatable","param":"metadata.deactivated_at"}]}"#;
        assert_eq!(classify(400, named).class, FailureClass::Rejected);
        let word = r#"{"errors":[{"type":"invalid_request_error","message":"title must not say deactivated"}]}"#;
        assert_eq!(classify(400, word).class, FailureClass::Rejected);
        let state =
            r#"{"errors":[{"type":"invalid_request_error","message":"This checkout session is deactivated."}]}"#;
        assert_eq!(classify(402, state).class, FailureClass::NotUpdatable);
    }

    #[test]
    fn a_paid_session_refusal_is_not_updatable_only_on_client_errors() {
        let body = r#"{"errors":[{"type":"invalid_request_error","message":"Checkout session is already paid."}]}"#;
        assert_eq!(classify(400, body).class, FailureClass::NotUpdatable);
        assert_eq!(classify(500, body).class, FailureClass::Server);
        assert_eq!(classify(401, body).class, FailureClass::Authentication);
    }
}
