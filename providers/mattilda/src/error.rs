//! Mattilda error answers → [`ProviderFailure`].
//!
//! Two body shapes (Gr4vy OpenAPI): `Error4xx/5xx` `{type: "error", code, status, message,
//! details: [{location, pointer, message, type}]}`, and FastAPI's 422 `HTTPValidationError`
//! `{detail: [{loc, msg, type}]}`. Provider pointers are translated back to the unified request
//! (`/cart_items/0/quantity` → `/line_items/0/quantity`).

use checkout_provider_interface::capability::escape_pointer;
use checkout_provider_interface::kit::failure::{from_status, join_escaped, json, owned_text};
use checkout_provider_interface::{AdapterError, FailureClass, FieldProblem, ProviderFailure, ProviderResponse};
use serde_json::Value;

/// Classify an error answer; odd or empty bodies still map by status.
pub fn failure(response: &ProviderResponse) -> AdapterError {
    let mut failure = from_status(response, &STATUS_CLASSES, "x-request-id");
    match json(response.body()) {
        Some(body) if body.get("detail").is_some_and(Value::is_array) => validation_body(&body, &mut failure),
        Some(body) => error_body(&body, &mut failure),
        None => {}
    }
    failure.into()
}

/// Gr4vy's documented statuses. 409 is its `duplicate_record` ("A duplicate record was
/// found"): nothing says the session is closed, so it is not "not updatable"; it is a refusal
/// of this request that repeating will not change, so rejected (never retried). An expired
/// session is refused by the adapter itself before any PUT (see `expiry`). 425 `too_early`
/// means the resource is still being processed: a transient conflict.
const STATUS_CLASSES: [(u16, FailureClass); 2] = [(409, FailureClass::Rejected), (425, FailureClass::Conflict)];

/// 425 is worth a retry (the PUT is an overwrite); 409 never is.
pub fn retry_advice(status: u16) -> Option<bool> {
    match status {
        425 => Some(true),
        409 => Some(false),
        _ => None,
    }
}

fn error_body(body: &Value, failure: &mut ProviderFailure) {
    failure.code = owned_text(body, "code");
    failure.message = owned_text(body, "message");
    for detail in body.get("details").and_then(Value::as_array).into_iter().flatten() {
        let pointer = detail.get("pointer").and_then(Value::as_str).unwrap_or_default();
        let in_body = detail.get("location").and_then(Value::as_str).is_none_or(|l| l == "body");
        let message = detail.get("message").and_then(Value::as_str).unwrap_or("invalid");
        if failure.param.is_none() && !pointer.is_empty() {
            failure.param = Some(pointer.to_owned());
        }
        let unified = if in_body { unified_pointer(pointer) } else { String::new() };
        failure.errors.push(FieldProblem::new(unified, message));
    }
}

fn validation_body(body: &Value, failure: &mut ProviderFailure) {
    let mut messages = Vec::new();
    for item in body.get("detail").and_then(Value::as_array).into_iter().flatten() {
        let message = item.get("msg").and_then(Value::as_str).unwrap_or("invalid");
        let loc = item.get("loc").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let (in_body, pointer) = loc_pointer(loc);
        if failure.param.is_none() && !pointer.is_empty() {
            failure.param = Some(pointer.clone());
        }
        let unified = if in_body { unified_pointer(&pointer) } else { String::new() };
        let kind = item.get("type").and_then(Value::as_str);
        failure.errors.push(FieldProblem::new(
            unified,
            kind.map_or_else(|| message.to_owned(), |kind| format!("{message} ({kind})")),
        ));
        messages.push(message.to_owned());
    }
    if !messages.is_empty() {
        failure.message = Some(messages.join("; "));
    }
}

/// FastAPI `loc` (`["body", "cart_items", 0, "quantity"]`) → (in the body?, `/cart_items/0/quantity`).
/// Pydantic may insert union tags such as `list[CartItem]`; they are not part of the path.
fn loc_pointer(loc: &[Value]) -> (bool, String) {
    let in_body = loc.first().and_then(Value::as_str) == Some("body");
    let mut pointer = String::new();
    for segment in loc.iter().skip(1) {
        match segment {
            Value::Number(n) => pointer.push_str(&format!("/{n}")),
            Value::String(s) if !s.contains('[') => pointer.push_str(&format!("/{}", escape_pointer(s))),
            _ => {}
        }
    }
    (in_body, pointer)
}

/// A pointer into the Mattilda body → the unified request field that produced it.
///
/// The PUT also carries state the client never sent (the session's `amount`, `airline`,
/// `payment_service_id`, the buyer's own fields, an address's `state_code`). A problem there is
/// reported without a pointer (`""`; the provider's pointer stays in `param`): blaming a field
/// the client did not send would be wrong, and the client may not have sent it. Item fields
/// without a unified name can only come from the item's `provider_options.mattilda` (a carried
/// cart is Mattilda's own, valid data); top-level fields Mattilda has and the session does not
/// report (`country`, `intent`, …) only from `provider_options.mattilda`.
pub fn unified_pointer(provider: &str) -> String {
    let tokens: Vec<&str> = provider.split('/').skip(1).collect();
    match tokens.as_slice() {
        [] | [""] => String::new(),
        ["cart_items", index, field, rest @ ..] => match *field {
            "external_identifier" => join(&["line_items", index, "external_id"], rest),
            known @ ("name" | "quantity" | "unit_amount" | "discount_amount" | "tax_amount" | "sku" | "product_url"
            | "image_url" | "categories" | "product_type") => join(&["line_items", index, known], rest),
            option => join(&["line_items", index, "provider_options", "mattilda", option], rest),
        },
        ["cart_items", rest @ ..] => join(&["line_items"], rest),
        [field @ ("metadata" | "currency" | "expires_in"), rest @ ..] => join(&[field], rest),
        ["buyer", side @ ("shipping_details" | "billing_details"), rest @ ..] => details_pointer(side, rest),
        ["buyer", ..] | ["amount" | "airline" | "payment_service_id", ..] => String::new(),
        rest => join(&["provider_options", "mattilda"], rest),
    }
}

/// Details fields the client can send map back; the buyer's carried extras (`tax_id`, an
/// address's `state_code`, `house_number_or_name`, `organization`) get no pointer.
fn details_pointer(side: &str, rest: &[&str]) -> String {
    match rest {
        [] => format!("/{side}"),
        ["email_address", ..] => format!("/{side}/email"),
        ["phone_number", ..] => format!("/{side}/phone"),
        [field @ ("first_name" | "last_name"), ..] => format!("/{side}/{field}"),
        ["address"] => format!("/{side}/address"),
        ["address", field @ ("line1" | "line2" | "city" | "state" | "postal_code" | "country"), ..] => {
            format!("/{side}/address/{field}")
        }
        _ => String::new(),
    }
}

/// The tokens come from a provider pointer, so they are already escaped.
fn join(head: &[&str], rest: &[&str]) -> String {
    join_escaped(head.iter().chain(rest).copied())
}

#[cfg(test)]
mod tests {
    use super::unified_pointer;

    #[test]
    fn provider_pointers_translate_to_unified_ones() {
        let cases = [
            ("/cart_items/0/quantity", "/line_items/0/quantity"),
            ("/cart_items/2/external_identifier", "/line_items/2/external_id"),
            ("/cart_items/1/categories/0", "/line_items/1/categories/0"),
            ("/cart_items/1/upc", "/line_items/1/provider_options/mattilda/upc"),
            ("/cart_items/0/duty_amount", "/line_items/0/provider_options/mattilda/duty_amount"),
            ("/cart_items", "/line_items"),
            ("/metadata/order~1id", "/metadata/order~1id"),
            ("/currency", "/currency"),
            ("/buyer/shipping_details/phone_number", "/shipping_details/phone"),
            ("/buyer/billing_details/address/country", "/billing_details/address/country"),
            ("/buyer/billing_details/tax_id/value", ""),
            ("/buyer/billing_details/address/state_code", ""),
            ("/buyer/shipping_details/address", "/shipping_details/address"),
            ("/buyer/display_name", ""),
            ("/airline/legs/0", ""),
            ("/amount", ""),
            ("/payment_service_id", ""),
            ("/intent", "/provider_options/mattilda/intent"),
            ("", ""),
            ("/", ""),
        ];
        for (provider, unified) in cases {
            assert_eq!(unified_pointer(provider), unified, "{provider}");
        }
    }
}
