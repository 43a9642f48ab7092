//! The skeleton of every adapter's `error.rs`: classify by status (the core's defaults plus the
//! provider's own overrides), read text fields from a JSON error body, take the provider's
//! request id from a header, and build a unified pointer from tokens.

use serde_json::Value;

use crate::capability::escape_pointer;
use crate::{FailureClass, ProviderFailure, ProviderResponse, wire};

/// The class of `status`: the provider's `overrides` first, then
/// [`ProviderFailure::class_for_status`].
pub fn class_for_status(status: u16, overrides: &[(u16, FailureClass)]) -> FailureClass {
    overrides
        .iter()
        .find_map(|&(overridden, class)| (overridden == status).then_some(class))
        .unwrap_or_else(|| ProviderFailure::class_for_status(status))
}

/// A [`ProviderFailure`] for `status`, classed by [`class_for_status`], with the provider's
/// request id from `request_id_header` when the answer carries one.
pub fn from_status(
    response: &ProviderResponse,
    overrides: &[(u16, FailureClass)],
    request_id_header: &str,
) -> ProviderFailure {
    let status = response.status().as_u16();
    let mut failure = ProviderFailure::new(class_for_status(status, overrides), status);
    failure.request_id = wire::header(response, request_id_header).map(str::to_owned);
    failure
}

/// The body as JSON, or `None` when it is not JSON (such answers still map by status).
pub fn json(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok()
}

/// `object[key]` when it is a string; a field of another type counts as absent.
pub fn text<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

/// [`text`], owned.
pub fn owned_text(object: &Value, key: &str) -> Option<String> {
    text(object, key).map(str::to_owned)
}

/// A JSON pointer from unescaped tokens: `["metadata", "a/b"]` → `/metadata/a~1b`.
pub fn pointer<'a>(tokens: impl IntoIterator<Item = &'a str>) -> String {
    tokens.into_iter().fold(String::new(), |mut pointer, token| {
        pointer.push('/');
        pointer.push_str(&escape_pointer(token));
        pointer
    })
}

/// A JSON pointer from tokens that are already escaped (taken from another pointer).
pub fn join_escaped<'a>(tokens: impl IntoIterator<Item = &'a str>) -> String {
    tokens.into_iter().fold(String::new(), |mut pointer, token| {
        pointer.push('/');
        pointer.push_str(token);
        pointer
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn response(status: u16, headers: &[(&str, &str)]) -> ProviderResponse {
        let mut builder = http::Response::builder().status(status);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Vec::new()).unwrap_or_else(|e| panic!("response: {e}"))
    }

    #[test]
    fn overrides_win_and_other_statuses_keep_the_defaults() {
        let overrides = [(402, FailureClass::Rejected), (409, FailureClass::Conflict)];
        assert_eq!(class_for_status(402, &overrides), FailureClass::Rejected);
        assert_eq!(class_for_status(409, &overrides), FailureClass::Conflict);
        assert_eq!(class_for_status(409, &[]), FailureClass::NotUpdatable);
        assert_eq!(class_for_status(503, &overrides), FailureClass::Server);
    }

    #[test]
    fn a_failure_from_status_carries_the_request_id_header() {
        let failure =
            from_status(&response(425, &[("x-request-id", "req_1")]), &[(425, FailureClass::Conflict)], "x-request-id");
        assert_eq!((failure.class, failure.status), (FailureClass::Conflict, 425));
        assert_eq!(failure.request_id.as_deref(), Some("req_1"));
        assert_eq!(from_status(&response(404, &[]), &[], "request-id").request_id, None);
    }

    #[test]
    fn text_fields_of_another_type_count_as_absent() {
        let body = json!({"code": "bad", "message": 7});
        assert_eq!(text(&body, "code"), Some("bad"));
        assert_eq!(owned_text(&body, "message"), None);
        assert_eq!(text(&json!([1]), "code"), None);
        assert_eq!(json(b"not json"), None);
    }

    #[test]
    fn pointers_escape_raw_tokens_and_keep_escaped_ones() {
        assert_eq!(pointer(["metadata", "a/b~c"]), "/metadata/a~1b~0c");
        assert_eq!(join_escaped(["metadata", "a~1b"]), "/metadata/a~1b");
        assert_eq!(pointer([]), "");
    }
}
