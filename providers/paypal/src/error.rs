//! PayPal error answers (`{name, message, debug_id, details[{field, value, location, issue,
//! description}]}`) -> a classified `ProviderFailure`: `debug_id` is the provider's request id,
//! the first detail's `issue` the code, and each detail's `field` (a pointer into what the
//! patch wrote) is mapped back to the unified field it came from.

use checkout_provider_interface::kit::failure::{class_for_status, json, owned_text, pointer};
use checkout_provider_interface::{AdapterError, FailureClass, FieldProblem, ProviderFailure, ProviderResponse};
use serde_json::Value;

use crate::KIND;
use crate::capabilities::UNIT_OPTIONS;

/// Issues saying the order can no longer be changed (the PATCH description's 422 list, and the
/// name PayPal's other order calls use for the same state).
const NOT_UPDATABLE_ISSUES: [&str; 2] = ["ORDER_ALREADY_COMPLETED", "ORDER_COMPLETED_OR_VOIDED"];

/// PayPal answers 409 to a request still in progress under the same id, or a resource changed
/// meanwhile: transient, not "closed" (that is a 422 issue).
const STATUS_CLASSES: [(u16, FailureClass); 1] = [(409, FailureClass::Conflict)];

/// Classify any non-2xx answer. A body that is not PayPal's error object maps by status.
pub fn failure(response: &ProviderResponse) -> AdapterError {
    let status = response.status().as_u16();
    let mut failure = ProviderFailure::new(class_for_status(status, &STATUS_CLASSES), status);
    failure.request_id = checkout_provider_interface::wire::header(response, "paypal-debug-id").map(str::to_owned);
    let Some(body) = json(response.body()).filter(Value::is_object) else {
        return failure.into();
    };
    let details: Vec<&Value> = body.get("details").and_then(Value::as_array).into_iter().flatten().collect();
    fn issue<'a>(detail: &&'a Value) -> Option<&'a str> {
        detail.get("issue").and_then(Value::as_str)
    }
    if details.iter().filter_map(issue).any(|i| NOT_UPDATABLE_ISSUES.contains(&i)) {
        failure.class = FailureClass::NotUpdatable;
    }
    failure.code = details.first().and_then(issue).map(str::to_owned).or_else(|| owned_text(&body, "name"));
    failure.message = owned_text(&body, "message");
    failure.param = details.iter().find_map(|d| owned_text(d, "field"));
    if let Some(debug_id) = owned_text(&body, "debug_id") {
        failure.request_id = Some(debug_id);
    }
    for detail in &details {
        let Some(field) = detail.get("field").and_then(Value::as_str) else { continue };
        let Some(pointer) = pointer_for_field(field) else { continue };
        let text = owned_text(detail, "description").or_else(|| issue(detail).map(str::to_owned)).unwrap_or_default();
        failure.errors.push(FieldProblem::new(pointer, text));
    }
    failure.into()
}

/// A detail's `field` (a JSON pointer into the order as the patch wrote it, e.g.
/// `/purchase_units/@reference_id=='default'/items/0/unit_amount/value`) -> the unified pointer.
/// `None` for a pointer that names no field the adapter writes (e.g. into the patch array).
pub fn pointer_for_field(field: &str) -> Option<String> {
    let tokens: Vec<String> = field.strip_prefix('/')?.split('/').map(unescape).collect();
    let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let unified: Vec<&str> = match refs.as_slice() {
        ["purchase_units", unit, rest @ ..] if is_unit(unit) => return Some(unit_pointer(rest)),
        [option @ ("intent" | "payer"), ..] => vec!["provider_options", KIND, option],
        _ => return None,
    };
    Some(pointer(unified))
}

fn is_unit(token: &str) -> bool {
    token.starts_with("@reference_id==") || token.parse::<usize>().is_ok()
}

fn unit_pointer(rest: &[&str]) -> String {
    let tokens: Vec<&str> = match rest {
        ["custom_id", ..] => vec!["metadata"],
        ["description", ..] => vec!["description"],
        ["items", index, field, ..] if index.parse::<usize>().is_ok() => {
            let unified = match *field {
                "name" | "quantity" | "unit_amount" | "sku" => Some(*field),
                "tax" => Some("tax_amount"),
                "category" => Some("product_type"),
                _ => None,
            };
            let mut tokens = vec!["line_items", index];
            tokens.extend(unified);
            tokens
        }
        ["items", index, ..] if index.parse::<usize>().is_ok() => vec!["line_items", index],
        ["amount", "currency_code"] | ["amount", _, _, "currency_code"] => vec!["currency"],
        ["items" | "amount", ..] => vec!["line_items"],
        ["shipping", "name", ..] => vec!["shipping_details", "name"],
        ["shipping", "address", field, ..] => {
            let unified = match *field {
                "address_line_1" => Some("line1"),
                "address_line_2" => Some("line2"),
                "admin_area_2" => Some("city"),
                "admin_area_1" => Some("state"),
                "postal_code" => Some("postal_code"),
                "country_code" => Some("country"),
                _ => None,
            };
            let mut tokens = vec!["shipping_details", "address"];
            tokens.extend(unified);
            tokens
        }
        ["shipping", ..] => vec!["shipping_details"],
        [attribute, nested, ..] if UNIT_OPTIONS.contains(&format!("{attribute}.{nested}").as_str()) => {
            return pointer(["provider_options", KIND, &format!("{attribute}.{nested}")]);
        }
        [attribute, ..] => vec!["provider_options", KIND, attribute],
        [] => Vec::new(),
    };
    pointer(tokens)
}

/// RFC 6901 unescaping of one token.
fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_map_back_to_unified_pointers() {
        let unit = "/purchase_units/@reference_id=='default'";
        let cases = [
            (format!("{unit}/custom_id"), Some("/metadata")),
            (format!("{unit}/description"), Some("/description")),
            (format!("{unit}/items/1/unit_amount/value"), Some("/line_items/1/unit_amount")),
            (format!("{unit}/items/0/tax/currency_code"), Some("/line_items/0/tax_amount")),
            (format!("{unit}/items/0/category"), Some("/line_items/0/product_type")),
            (format!("{unit}/items/2/url"), Some("/line_items/2")),
            (format!("{unit}/amount/breakdown/item_total/value"), Some("/line_items")),
            (format!("{unit}/amount/value"), Some("/line_items")),
            (format!("{unit}/amount/currency_code"), Some("/currency")),
            (format!("{unit}/shipping/address/admin_area_2"), Some("/shipping_details/address/city")),
            (format!("{unit}/shipping/name/full_name"), Some("/shipping_details/name")),
            (format!("{unit}/invoice_id"), Some("/provider_options/paypal/invoice_id")),
            ("/purchase_units/0/soft_descriptor".to_owned(), Some("/provider_options/paypal/soft_descriptor")),
            (format!("{unit}/payee/email"), Some("/provider_options/paypal/payee.email")),
            (
                format!("{unit}/payment_instruction/platform_fees/0"),
                Some("/provider_options/paypal/payment_instruction.platform_fees"),
            ),
            ("/intent".to_owned(), Some("/provider_options/paypal/intent")),
            ("/0/value".to_owned(), None),
            ("custom_id".to_owned(), None),
        ];
        for (field, expected) in cases {
            assert_eq!(pointer_for_field(&field).as_deref(), expected, "{field}");
        }
    }

    fn response(status: u16, body: &str) -> ProviderResponse {
        http::Response::builder().status(status).body(body.as_bytes().to_vec()).unwrap_or_default()
    }

    #[test]
    fn odd_bodies_still_classify_by_status() {
        for (status, class) in
            [(502, FailureClass::Server), (409, FailureClass::Conflict), (401, FailureClass::Authentication)]
        {
            match failure(&response(status, "<html>")) {
                AdapterError::Provider(f) => assert_eq!(f.class, class),
                other => panic!("{other:?}"),
            }
        }
    }
}
