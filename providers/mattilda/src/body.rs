//! The `CheckoutSessionUpdate` body: the unified changes applied to the session's current state.
//!
//! Mattilda's update is a `PUT` and the docs do not say whether fields it omits are kept or
//! cleared. So the body always carries the full updatable state that the session reports
//! ([`CARRIED`]), with the client's changes applied: correct under either reading, and a
//! repeat of the same PUT is a pure overwrite. In a preview there is no current state and the
//! body shows only the changes.

use checkout_provider_interface::adapter::merge_provider_options;
use checkout_provider_interface::{
    AdapterError, AddressPatch, DetailsPatch, FieldProblem, LineItem, LineItemForm, Patch, UnifiedUpdate,
};
use serde_json::{Map, Value};

/// `CheckoutSession` fields that `CheckoutSessionUpdate` also accepts, copied from the current
/// session unless the update sets them. (`expires_in` cannot be: the session reports only
/// `expires_at`.)
pub const CARRIED: [&str; 7] =
    ["cart_items", "metadata", "buyer", "airline", "amount", "currency", "payment_service_id"];

/// The PUT body for `update` over `current` (the session object, or empty in a preview).
pub fn update_body(update: &UnifiedUpdate, current: &Map<String, Value>) -> Result<Map<String, Value>, AdapterError> {
    let mut body = Map::new();
    if let Some(items) = &update.line_items {
        body.insert("cart_items".to_owned(), cart_items(items)?);
    }
    if let Some(currency) = &update.currency {
        body.insert("currency".to_owned(), Value::String(currency.to_ascii_uppercase()));
    }
    if let Some(seconds) = update.expires_in {
        body.insert("expires_in".to_owned(), Value::from(seconds));
    }
    if let Some(metadata) = merged_metadata(update, current.get("metadata")) {
        body.insert("metadata".to_owned(), metadata);
    }
    if let Some(buyer) = merged_buyer(update, current.get("buyer")) {
        body.insert("buyer".to_owned(), buyer);
    }
    // Options may set what the unified body did not, including carried fields (e.g. `airline`).
    merge_provider_options(&mut body, update, "mattilda")?;
    for key in CARRIED {
        if let Some(value) = current.get(key).filter(|v| !v.is_null()) {
            body.entry(key.to_owned()).or_insert_with(|| value.clone());
        }
    }
    Ok(body)
}

fn cart_items(items: &[LineItem]) -> Result<Value, AdapterError> {
    let mut unsupported = Vec::new();
    let mut cart = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        // The gateway's capability check refuses these first; never send a silently altered cart.
        if item.form() != LineItemForm::AdHoc {
            unsupported.push(FieldProblem::new(
                format!("/line_items/{index}"),
                "mattilda takes ad-hoc items only (no item ids or catalog prices)",
            ));
            continue;
        }
        cart.push(Value::Object(cart_item(item)));
    }
    if unsupported.is_empty() { Ok(Value::Array(cart)) } else { Err(AdapterError::Unsupported(unsupported)) }
}

/// One ad-hoc item as a `CartItem`; every unified item field has a Mattilda field.
fn cart_item(item: &LineItem) -> Map<String, Value> {
    let mut out = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            out.insert(key.to_owned(), value);
        }
    };
    put("name", item.name.clone().map(Value::String));
    put("quantity", item.quantity.map(Value::from));
    put("unit_amount", item.unit_amount.map(Value::from));
    put("discount_amount", item.discount_amount.map(Value::from));
    put("tax_amount", item.tax_amount.map(Value::from));
    put("external_identifier", item.external_id.clone().map(Value::String));
    put("sku", item.sku.clone().map(Value::String));
    put("product_url", item.product_url.clone().map(Value::String));
    put("image_url", item.image_url.clone().map(Value::String));
    put("categories", item.categories.clone().map(|c| Value::Array(c.into_iter().map(Value::String).collect())));
    put("product_type", item.product_type.clone().map(Value::String));
    out
}

/// The full map after the merge patch; `None` when the update leaves metadata alone.
fn merged_metadata(update: &UnifiedUpdate, current: Option<&Value>) -> Option<Value> {
    let changes = match &update.metadata {
        Patch::Absent => return None,
        // An empty map, not `null`: unambiguous whether Mattilda replaces or keeps on `null`.
        Patch::Clear => return Some(Value::Object(Map::new())),
        Patch::Set(changes) => changes,
    };
    let mut map = current.and_then(Value::as_object).cloned().unwrap_or_default();
    for (key, value) in changes {
        match value {
            Some(value) => map.insert(key.clone(), Value::String(value.clone())),
            None => map.remove(key),
        };
    }
    Some(Value::Object(map))
}

/// The session's buyer with the details patches applied; `None` when neither is touched.
fn merged_buyer(update: &UnifiedUpdate, current: Option<&Value>) -> Option<Value> {
    if update.shipping_details.is_absent() && update.billing_details.is_absent() {
        return None;
    }
    let mut buyer = current.and_then(Value::as_object).cloned().unwrap_or_default();
    for (key, patch) in [("shipping_details", &update.shipping_details), ("billing_details", &update.billing_details)] {
        let merged = match patch {
            Patch::Absent => continue,
            Patch::Clear => Value::Null,
            Patch::Set(details) => merged_details(buyer.get(key), details),
        };
        buyer.insert(key.to_owned(), merged);
    }
    Some(Value::Object(buyer))
}

/// Details merged key by key; fields Mattilda has and we do not (e.g. `tax_id`) are kept.
/// `name` is not a Mattilda field: `capabilities::check` accepts it only as the display form of
/// `first_name` + `last_name`, which are sent.
fn merged_details(current: Option<&Value>, patch: &DetailsPatch) -> Value {
    let mut out = current.and_then(Value::as_object).cloned().unwrap_or_default();
    apply(&mut out, "first_name", &patch.first_name, str::to_owned);
    apply(&mut out, "last_name", &patch.last_name, str::to_owned);
    apply(&mut out, "email_address", &patch.email, str::to_owned);
    apply(&mut out, "phone_number", &patch.phone, str::to_owned);
    match &patch.address {
        Patch::Absent => {}
        Patch::Clear => {
            out.insert("address".to_owned(), Value::Null);
        }
        Patch::Set(address) => {
            let merged = merged_address(out.get("address"), address);
            out.insert("address".to_owned(), merged);
        }
    }
    Value::Object(out)
}

fn merged_address(current: Option<&Value>, patch: &AddressPatch) -> Value {
    let mut out = current.and_then(Value::as_object).cloned().unwrap_or_default();
    // Mattilda-only fields derived from ones the client changes would go stale: `state_code`
    // (ISO 3166-2) encodes state and country, `house_number_or_name` repeats part of line 1.
    if !patch.state.is_absent() || !patch.country.is_absent() {
        out.remove("state_code");
    }
    if !patch.line1.is_absent() {
        out.remove("house_number_or_name");
    }
    apply(&mut out, "line1", &patch.line1, str::to_owned);
    apply(&mut out, "line2", &patch.line2, str::to_owned);
    apply(&mut out, "city", &patch.city, str::to_owned);
    apply(&mut out, "state", &patch.state, str::to_owned);
    apply(&mut out, "postal_code", &patch.postal_code, str::to_owned);
    // Mattilda's pattern is `^[A-Z]{2}$`; the unified schema accepts the code in any case.
    apply(&mut out, "country", &patch.country, str::to_ascii_uppercase);
    Value::Object(out)
}

/// `null` clears explicitly (the schema allows it everywhere here), so a deep-merging server
/// could not keep the old value either.
fn apply(map: &mut Map<String, Value>, key: &str, patch: &Patch<String>, convert: fn(&str) -> String) {
    match patch {
        Patch::Absent => {}
        Patch::Clear => {
            map.insert(key.to_owned(), Value::Null);
        }
        Patch::Set(value) => {
            map.insert(key.to_owned(), Value::String(convert(value)));
        }
    }
}

#[cfg(test)]
mod tests {
    use checkout_provider_interface::UnifiedUpdate;
    use serde_json::{Map, Value, json};

    use super::update_body;

    fn body(update: Value, current: &Value) -> Value {
        let update: UnifiedUpdate = serde_json::from_value(update).unwrap_or_else(|e| panic!("{e}"));
        let current: Map<String, Value> = current.as_object().cloned().unwrap_or_default();
        update_body(&update, &current).map(Value::Object).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn untouched_state_is_carried_and_metadata_merged() {
        let current = json!({"id": "x", "expires_at": "t", "type": "checkout-session", "payment_method": null,
            "cart_items": [{"name": "A", "quantity": 1, "unit_amount": 5}], "metadata": {"a": "1", "b": "2"},
            "currency": "USD", "amount": 5, "buyer": null});
        let got = body(json!({"metadata": {"b": null, "c": "3"}}), &current);
        assert_eq!(
            got,
            json!({"cart_items": [{"name": "A", "quantity": 1, "unit_amount": 5}],
            "metadata": {"a": "1", "c": "3"}, "currency": "USD", "amount": 5})
        );
    }

    #[test]
    fn a_preview_shows_only_the_changes() {
        let got =
            body(json!({"metadata": {"k": "v", "gone": null}, "currency": "eur", "expires_in": 3600}), &json!({}));
        assert_eq!(got, json!({"metadata": {"k": "v"}, "currency": "EUR", "expires_in": 3600}));
    }

    #[test]
    fn details_merge_into_the_current_buyer() {
        let current = json!({"buyer": {"display_name": "J", "billing_details": {"first_name": "A", "tax_id": {"value": "1", "kind": "us.ein"},
            "address": {"line1": "old", "line2": "flat 2", "organization": "Acme", "state_code": "US-CA"}}}});
        let got = body(
            json!({"billing_details": {"last_name": "B", "phone": null, "address": {"line2": null, "country": "us"}},
                   "shipping_details": null}),
            &current,
        );
        assert_eq!(
            got,
            json!({"buyer": {"display_name": "J", "shipping_details": null, "billing_details": {
            "first_name": "A", "last_name": "B", "phone_number": null, "tax_id": {"value": "1", "kind": "us.ein"},
            "address": {"line1": "old", "line2": null, "organization": "Acme", "country": "US"}}}})
        );
    }

    #[test]
    fn options_may_override_carried_state_but_not_unified_fields() {
        let got = body(
            json!({"provider_options": {"mattilda": {"airline": {"booking_code": "X"}}}}),
            &json!({"airline": {"booking_code": "OLD"}}),
        );
        assert_eq!(got, json!({"airline": {"booking_code": "X"}}));
        let update: UnifiedUpdate = serde_json::from_value(json!({"currency": "USD",
            "provider_options": {"mattilda": {"currency": "EUR"}}}))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(update_body(&update, &Map::new()).is_err());
    }
}
