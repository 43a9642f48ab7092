//! `PATCH /v2/checkout/orders/{id}`: a JSON Patch array applied by the description's table of
//! patchable attributes, all operations or none. PayPal's reading of the ops is stricter than
//! RFC 6902's: `add` on a present attribute, `replace` or `remove` on an absent one are refused
//! (`INVALID_PATCH_OPERATION`: "Cannot add a property that's already present, use replace.
//! Cannot remove a property thats not present, use add. Cannot replace a property thats not
//! present, use add.").

use http::Request;
use serde_json::{Map, Value};

use super::{Failure, check, error_body};

/// The table in the PATCH description: attribute paths within a purchase unit and their ops.
const UNIT_TABLE: [(&str, &[&str]); 15] = [
    ("custom_id", &["replace", "add", "remove"]),
    ("description", &["replace", "add", "remove"]),
    ("payee/email", &["replace"]),
    ("shipping/name", &["replace", "add"]),
    ("shipping/address", &["replace", "add"]),
    ("shipping/type", &["replace", "add"]),
    ("soft_descriptor", &["replace", "remove"]),
    ("amount", &["replace"]),
    ("items", &["replace", "add", "remove"]),
    ("invoice_id", &["replace", "add", "remove"]),
    ("payment_instruction", &["replace"]),
    ("payment_instruction/disbursement_mode", &["replace"]),
    ("payment_instruction/platform_fees", &["replace", "add", "remove"]),
    ("supplementary_data/airline", &["replace", "add", "remove"]),
    ("supplementary_data/card", &["replace", "add", "remove"]),
];

/// The order-level rows of the table.
const ORDER_TABLE: [(&str, &[&str]); 3] = [
    ("intent", &["replace"]),
    ("payer", &["replace", "add"]),
    ("application_context/client_configuration", &["replace", "add"]),
];

const UNIT_PREFIX: &str = "/purchase_units/@reference_id=='";

/// Apply the request's patch to `order`, or change nothing and say why.
pub(super) fn apply(order: &mut Value, request: &Request<Vec<u8>>, debug_id: &str) -> Result<(), Failure> {
    let fail = |status, issue: &str, field: Option<&str>, description: &str| {
        Failure(status, error_body(status, issue, field, description, debug_id))
    };
    let json_type = request.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if !json_type.is_some_and(|v| v.starts_with("application/json")) {
        return Err(fail(415, "UNSUPPORTED_MEDIA_TYPE", None, "The request payload is not application/json."));
    }
    let Ok(Value::Array(ops)) = serde_json::from_slice::<Value>(request.body()) else {
        return Err(fail(400, "MALFORMED_REQUEST_JSON", None, "The request JSON is not well formed."));
    };
    match order.get("status").and_then(Value::as_str) {
        Some("COMPLETED") => {
            return Err(fail(
                422,
                "ORDER_ALREADY_COMPLETED",
                None,
                "The order cannot be patched after it is completed.",
            ));
        }
        Some("VOIDED") => {
            return Err(fail(
                422,
                "ORDER_COMPLETED_OR_VOIDED",
                None,
                "Order is voided or completed and hence cannot be processed.",
            ));
        }
        _ => {}
    }
    let mut patched = order.clone();
    for (index, op) in ops.iter().enumerate() {
        one(&mut patched, index, op)
            .map_err(|(status, issue, field, description)| fail(status, issue, Some(&field), &description))?;
    }
    check::order(&patched)
        .map_err(|(status, issue, field, description)| fail(status, issue, Some(&field), &description))?;
    if let Some(object) = patched.as_object_mut() {
        let now =
            time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        object.insert("update_time".to_owned(), Value::String(now));
    }
    *order = patched;
    Ok(())
}

type OpError = (u16, &'static str, String, String);

fn one(order: &mut Value, index: usize, op: &Value) -> Result<(), OpError> {
    let at = |field: &str| format!("/{index}/{field}");
    let kind = op.get("op").and_then(Value::as_str).unwrap_or_default();
    if !["add", "replace", "remove"].contains(&kind) {
        return Err((400, "INVALID_PARAMETER_VALUE", at("op"), "The value of a field is invalid.".to_owned()));
    }
    let Some(path) = op.get("path").and_then(Value::as_str) else {
        let description = "Please specify a 'path' for the field for which the operation needs to be performed.";
        return Err((422, "PATCH_PATH_REQUIRED", at("path"), description.to_owned()));
    };
    let value = op.get("value");
    if kind != "remove" && value.is_none() {
        let description = "Please specify a 'value' to for the field that is being patched.";
        return Err((422, "PATCH_VALUE_REQUIRED", at("value"), description.to_owned()));
    }
    let not_patchable = || (400, "FIELD_NOT_PATCHABLE", path.to_owned(), "Field cannot be patched.".to_owned());
    let (target, attribute, allowed) = if let Some(rest) = path.strip_prefix(UNIT_PREFIX) {
        let (reference, attribute) = rest.split_once("'/").ok_or_else(|| {
            let description = "Path should be a valid JSON Pointer that references a location within the request.";
            (422, "INVALID_JSON_POINTER_FORMAT", path.to_owned(), description.to_owned())
        })?;
        let allowed = UNIT_TABLE.iter().find(|(row, _)| *row == attribute).ok_or_else(not_patchable)?.1;
        let units = order.get_mut("purchase_units").and_then(Value::as_array_mut);
        let unit = units.into_iter().flatten().find(|unit| {
            unit.get("reference_id").and_then(Value::as_str).unwrap_or(crate::order::DEFAULT_REFERENCE) == reference
        });
        let unit = unit.ok_or_else(|| {
            let description =
                "Filter expression value is incorrect. Please check the value of the reference_id and try again.";
            (422, "REFERENCE_ID_NOT_FOUND", path.to_owned(), description.to_owned())
        })?;
        (unit, attribute, allowed)
    } else {
        let attribute = path.strip_prefix('/').unwrap_or(path);
        let allowed = ORDER_TABLE.iter().find(|(row, _)| *row == attribute).ok_or_else(not_patchable)?.1;
        (order, attribute, allowed)
    };
    let refused = |why: &str| (400, "INVALID_PATCH_OPERATION", path.to_owned(), why.to_owned());
    if !allowed.contains(&kind) {
        return Err(refused("The operation cannot be honored for this field."));
    }
    let present = lookup(target, attribute).is_some_and(|v| !v.is_null());
    match (kind, present, value) {
        ("add", true, _) => Err(refused("Cannot add a property that's already present, use replace.")),
        ("replace", false, _) => Err(refused("Cannot replace a property thats not present, use add.")),
        ("remove", false, _) => Err(refused("Cannot remove a property thats not present, use add.")),
        ("remove", true, _) => {
            remove(target, attribute);
            Ok(())
        }
        (_, _, Some(value)) => {
            set(target, attribute, value.clone());
            Ok(())
        }
        _ => Err(refused("The operation cannot be honored.")),
    }
}

fn lookup<'a>(target: &'a Value, attribute: &str) -> Option<&'a Value> {
    attribute.split('/').try_fold(target, |value, token| value.get(token))
}

/// Set `attribute`, creating the objects above it (the table allows adding `shipping.name` to
/// a unit without shipping).
fn set(target: &mut Value, attribute: &str, value: Value) {
    let mut tokens: Vec<&str> = attribute.split('/').collect();
    let Some(last) = tokens.pop() else { return };
    let mut object = target;
    for token in tokens {
        let Some(map) = object.as_object_mut() else { return };
        object = map.entry(token.to_owned()).or_insert_with(|| Value::Object(Map::new()));
    }
    if let Some(map) = object.as_object_mut() {
        map.insert(last.to_owned(), value);
    }
}

fn remove(target: &mut Value, attribute: &str) {
    let mut tokens: Vec<&str> = attribute.split('/').collect();
    let Some(last) = tokens.pop() else { return };
    let parent = tokens.into_iter().try_fold(target, |value, token| value.get_mut(token));
    if let Some(map) = parent.and_then(Value::as_object_mut) {
        map.remove(last);
    }
}
