//! Stripe error answers (`{"error": {type, code, message, param, …}}`) -> classified
//! `ProviderFailure`, with Stripe's bracket-notation `param` mapped back to a unified pointer.

use checkout_provider_interface::kit::failure::{class_for_status, from_status, pointer};
use checkout_provider_interface::{AdapterError, FailureClass, FieldProblem, ProviderResponse, wire};
use serde::Deserialize;

use crate::KIND;

#[derive(Deserialize)]
struct Envelope {
    error: WireError,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(rename = "type")]
    kind: Option<String>,
    code: Option<String>,
    message: Option<String>,
    param: Option<String>,
}

/// Codes Stripe uses when a Checkout Session is no longer open (complete or expired).
/// UNCONFIRMED for the update endpoint: seen on Stripe's other Checkout endpoints.
const NOT_OPEN_CODES: [&str; 2] = ["checkout_not_active_session", "checkout_succeeded_session"];

/// Classify any non-2xx answer. A body that is not Stripe's envelope still maps by status.
pub fn failure(response: &ProviderResponse) -> AdapterError {
    let status = response.status().as_u16();
    let mut failure = from_status(response, &STATUS_CLASSES, "request-id");
    let Ok(Envelope { error }) = serde_json::from_slice::<Envelope>(response.body()) else {
        return failure.into();
    };
    failure.class = classify(status, &error);
    if let Some(param) = &error.param {
        if let Some(pointer) = pointer_for_param(param) {
            let detail = error.message.clone().unwrap_or_else(|| format!("stripe rejected `{param}`"));
            failure.errors.push(FieldProblem::new(pointer, detail));
        }
    }
    failure.code = error.code;
    failure.message = error.message;
    failure.param = error.param;
    failure.into()
}

fn classify(status: u16, error: &WireError) -> FailureClass {
    let code = error.code.as_deref().unwrap_or_default();
    // 409: a request with the same key is still executing. Transient: Stripe saved nothing for
    // this request, and the same request may go through once the other one finishes.
    if code == "idempotency_key_in_use" {
        return FailureClass::KeyInUse;
    }
    // The key was first used with other parameters: a client mistake no retry can fix.
    if error.kind.as_deref() == Some("idempotency_error") || code.starts_with("idempotency_key") {
        return FailureClass::IdempotencyConflict;
    }
    // Another request holds the session's lock: transient, retried (`provider_conflict`).
    if code == "lock_timeout" {
        return FailureClass::Conflict;
    }
    let message = error.message.as_deref().unwrap_or_default();
    if NOT_OPEN_CODES.contains(&code) || (status == 400 && message.contains("no longer active")) {
        return FailureClass::NotUpdatable;
    }
    class_for_status(status, &STATUS_CLASSES)
}

/// Stripe's statuses: 402 is a valid request that failed (a refusal, not our fault); a 409
/// without a known code is a transient conflict between concurrent requests.
const STATUS_CLASSES: [(u16, FailureClass); 2] = [(402, FailureClass::Rejected), (409, FailureClass::Conflict)];

/// `Stripe-Should-Retry` is authoritative when present. Without it, a lock timeout and a key
/// still in use are worth a retry (DESIGN §5: retry 409 lock conflicts): the other request
/// holding the lock or the key finishes, and the retry (under its own attempt key) runs.
pub fn retry_advice(response: &ProviderResponse) -> Option<bool> {
    match wire::header(response, "stripe-should-retry").map(str::trim) {
        Some(v) if v.eq_ignore_ascii_case("true") => return Some(true),
        Some(v) if v.eq_ignore_ascii_case("false") => return Some(false),
        _ => {}
    }
    if response.status().is_success() {
        return None;
    }
    let envelope = serde_json::from_slice::<Envelope>(response.body()).ok()?;
    matches!(envelope.error.code.as_deref(), Some("lock_timeout" | "idempotency_key_in_use")).then_some(true)
}

/// Map a Stripe parameter in bracket notation to the unified field it came from, e.g.
/// `line_items[2][price_data][unit_amount]` -> `/line_items/2/unit_amount`. Parameters the
/// adapter never sets came from `provider_options.stripe`; `session` (the path) maps to none.
pub fn pointer_for_param(param: &str) -> Option<String> {
    let segments = split_param(param)?;
    let refs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let unified: Vec<String> = match refs.as_slice() {
        ["session" | "id"] => return None,
        ["metadata", rest @ ..] => owned(["metadata"], rest),
        ["line_items"] => vec!["line_items".to_owned()],
        ["line_items", index, rest @ ..] => line_item_pointer(index, rest),
        ["shipping_options"] => vec!["shipping_options".to_owned()],
        ["shipping_options", index, rest @ ..] => shipping_option_pointer(index, rest),
        ["collected_information", "shipping_details", rest @ ..] => owned(["shipping_details"], rest),
        ["collected_information", ..] => vec!["shipping_details".to_owned()],
        other => owned(["provider_options", KIND], other),
    };
    Some(pointer(unified.iter().map(String::as_str)))
}

fn line_item_pointer(index: &str, rest: &[&str]) -> Vec<String> {
    let field: &[&str] = match rest {
        ["price_data", "currency", ..] => return vec!["currency".to_owned()],
        ["price_data", "unit_amount" | "unit_amount_decimal", ..] => &["unit_amount"],
        ["price_data", "product_data", "name", ..] => &["name"],
        ["price_data", "product_data", "images", ..] => &["image_url"],
        ["price_data", "product_data", "metadata", "sku", ..] => &["sku"],
        ["price_data", "product_data", "metadata", "external_id", ..] => &["external_id"],
        [field @ ("id" | "price" | "quantity"), ..] => std::slice::from_ref(field),
        _ => &[],
    };
    owned(["line_items", index], field)
}

fn shipping_option_pointer(index: &str, rest: &[&str]) -> Vec<String> {
    let field: &[&str] = match rest {
        ["shipping_rate", ..] => &["shipping_rate"],
        ["shipping_rate_data", "display_name", ..] => &["display_name"],
        ["shipping_rate_data", "fixed_amount", "amount", ..] => &["amount"],
        ["shipping_rate_data", "fixed_amount", "currency", ..] => &["currency"],
        ["shipping_rate_data", "delivery_estimate", tail @ ..] => {
            let mut field = vec!["delivery_estimate"];
            field.extend(tail.iter().take(2));
            return owned(["shipping_options", index], &field);
        }
        _ => &[],
    };
    owned(["shipping_options", index], field)
}

fn owned<const N: usize>(head: [&str; N], tail: &[&str]) -> Vec<String> {
    head.iter().chain(tail).map(|s| (*s).to_owned()).collect()
}

/// `a[b][0]` -> `["a", "b", "0"]`; `None` for text that is not bracket notation.
fn split_param(param: &str) -> Option<Vec<String>> {
    let (head, mut rest) = match param.find('[') {
        Some(at) => (param.get(..at)?, param.get(at..)?),
        None => (param, ""),
    };
    if head.is_empty() || head.contains(']') {
        return None;
    }
    let mut segments = vec![head.to_owned()];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        segments.push(inner.get(..close)?.to_owned());
        rest = inner.get(close + 1..)?;
    }
    Some(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_map_to_unified_pointers() {
        let cases = [
            ("metadata[foo]", Some("/metadata/foo")),
            ("metadata[a/b]", Some("/metadata/a~1b")),
            ("metadata", Some("/metadata")),
            ("line_items[2][quantity]", Some("/line_items/2/quantity")),
            ("line_items[0][price_data][currency]", Some("/currency")),
            ("line_items[1][price_data][product_data][images][0]", Some("/line_items/1/image_url")),
            ("line_items[1][price_data][product_data][metadata][sku]", Some("/line_items/1/sku")),
            ("line_items[1][price_data][unit_amount]", Some("/line_items/1/unit_amount")),
            ("line_items[3][tax_rates][0]", Some("/line_items/3")),
            ("shipping_options[1][shipping_rate_data][fixed_amount][amount]", Some("/shipping_options/1/amount")),
            (
                "shipping_options[0][shipping_rate_data][delivery_estimate][minimum][value]",
                Some("/shipping_options/0/delivery_estimate/minimum/value"),
            ),
            ("collected_information[shipping_details][address][line1]", Some("/shipping_details/address/line1")),
            ("expand[0]", Some("/provider_options/stripe/expand/0")),
            ("session", None),
            ("bad]param", None),
            ("line_items[0", None),
        ];
        for (param, expected) in cases {
            assert_eq!(pointer_for_param(param).as_deref(), expected, "{param}");
        }
    }

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> ProviderResponse {
        let mut builder = http::Response::builder().status(status);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(body.as_bytes().to_vec()).unwrap_or_default()
    }

    #[test]
    fn retry_advice_honours_header_then_lock_timeout() {
        assert_eq!(retry_advice(&response(500, &[("Stripe-Should-Retry", "false")], "")), Some(false));
        assert_eq!(retry_advice(&response(400, &[("Stripe-Should-Retry", "true")], "")), Some(true));
        let lock = r#"{"error":{"type":"invalid_request_error","code":"lock_timeout"}}"#;
        assert_eq!(retry_advice(&response(409, &[], lock)), Some(true));
        let in_use = r#"{"error":{"type":"invalid_request_error","code":"idempotency_key_in_use"}}"#;
        assert_eq!(retry_advice(&response(409, &[], in_use)), Some(true));
        assert_eq!(retry_advice(&response(400, &[], "{}")), None);
        assert_eq!(retry_advice(&response(200, &[], lock)), None);
    }

    #[test]
    fn idempotency_answers_classify_by_code() {
        let classes = [
            (
                409,
                r#"{"error":{"type":"invalid_request_error","code":"idempotency_key_in_use"}}"#,
                FailureClass::KeyInUse,
            ),
            (
                400,
                r#"{"error":{"type":"idempotency_error","message":"Keys for idempotent requests…"}}"#,
                FailureClass::IdempotencyConflict,
            ),
            (409, r#"{"error":{"type":"invalid_request_error","code":"lock_timeout"}}"#, FailureClass::Conflict),
        ];
        for (status, body, class) in classes {
            match failure(&response(status, &[], body)) {
                AdapterError::Provider(f) => assert_eq!(f.class, class, "{body}"),
                other => panic!("{other:?}"),
            }
        }
        assert!(FailureClass::KeyInUse.is_transient() && FailureClass::Conflict.is_transient());
    }

    #[test]
    fn odd_bodies_still_classify_by_status() {
        let classes = [(502, FailureClass::Server), (409, FailureClass::Conflict), (418, FailureClass::Unexpected)];
        for (status, class) in classes {
            match failure(&response(status, &[("Request-Id", "req_1")], "<html>")) {
                AdapterError::Provider(f) => assert_eq!((f.class, f.request_id.as_deref()), (class, Some("req_1"))),
                other => panic!("{other:?}"),
            }
        }
    }
}
