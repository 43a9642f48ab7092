//! The `CheckoutSessionUpdate` body: the unified changes applied to the session's current state.
//!
//! Mattilda's update is a `PUT` and the docs do not say whether fields it omits are kept or
//! cleared. So the body always carries the full updatable state that the session reports
//! ([`CARRIED`]), with the client's changes applied: correct under either reading, and a
//! repeat of the same PUT is a pure overwrite. Three carried values are derived, not copied:
//! `expires_in` (the remaining lifetime, see `expiry`), `amount` next to a new cart (recomputed
//! with the `totals` rule) and `buyer.display_name` next to a new billing name (see `buyer`).
//! In a preview there is no current state and the body shows only the changes.

use checkout_provider_interface::adapter::merge_provider_options;
use checkout_provider_interface::{AdapterError, FieldProblem, Patch, UnifiedUpdate, Warning};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::{buyer, cart, expiry, totals};

/// `CheckoutSession` fields that `CheckoutSessionUpdate` also accepts, copied from the current
/// session unless the update sets them. (`expires_in` is derived from `expires_at`, see `expiry`.)
pub const CARRIED: [&str; 7] =
    ["cart_items", "metadata", "buyer", "airline", "amount", "currency", "payment_service_id"];

/// The PUT body and what the client should be told about it.
#[derive(Debug)]
pub struct Built {
    pub body: Map<String, Value>,
    pub warnings: Vec<Warning>,
}

/// The PUT body for `update` over `current` (the session read first; `None` in a preview).
pub fn update_body(
    update: &UnifiedUpdate,
    current: Option<&Map<String, Value>>,
    now: OffsetDateTime,
) -> Result<Built, AdapterError> {
    let empty = Map::new();
    let state = current.unwrap_or(&empty);
    let currency = update.currency.clone().or_else(|| text(state, "currency"));
    let mut body = Map::new();
    if let Some(items) = &update.line_items {
        body.insert("cart_items".to_owned(), cart::cart_items(items, currency.as_deref())?);
    }
    if let Some(currency) = &update.currency {
        body.insert("currency".to_owned(), Value::String(currency.to_ascii_uppercase()));
    }
    if let Some(seconds) = update.expires_in {
        body.insert("expires_in".to_owned(), Value::from(seconds));
    }
    if let Some(metadata) = merged_metadata(update, state.get("metadata")) {
        body.insert("metadata".to_owned(), metadata);
    }
    if let Some(buyer) = buyer::merged(update, state.get("buyer")) {
        body.insert("buyer".to_owned(), buyer);
    }
    // Options may set what the unified body did not, including carried fields (e.g. `airline`,
    // `amount`, `expires_in`): then the client's value is sent, not a derived one.
    merge_provider_options(&mut body, update, crate::KIND)?;
    let mut warnings = Vec::new();
    if let Some(current) = current {
        // Also refuses an expired session, whatever the update.
        let expiry = expiry::for_update(update, current, now)?;
        if !body.contains_key("expires_in") {
            body.insert("expires_in".to_owned(), Value::from(expiry.seconds));
            warnings.extend(expiry.warning);
        }
        // A cart the client sent (unified or as options) never goes out next to the old amount.
        if body.contains_key("cart_items") && !body.contains_key("amount") {
            if let Some(amount) = recomputed_amount(&body, current)? {
                body.insert("amount".to_owned(), Value::from(amount));
            }
        }
    }
    for key in CARRIED {
        if let Some(value) = state.get(key).filter(|v| !v.is_null()) {
            body.entry(key.to_owned()).or_insert_with(|| value.clone());
        }
    }
    Ok(Built { body, warnings })
}

/// The new cart's total, when the session states an `amount` (which must agree with its cart;
/// a session without one gets none). `None` when the cart lacks a figure: Mattilda refuses
/// such a cart anyway, and the stale amount is still not sent.
fn recomputed_amount(body: &Map<String, Value>, current: &Map<String, Value>) -> Result<Option<i64>, AdapterError> {
    if current.get("amount").is_none_or(Value::is_null) {
        return Ok(None);
    }
    let cart = body.get("cart_items").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object);
    match totals::of_cart(cart).total() {
        Some(total) if total < 0 => Err(AdapterError::Invalid(vec![FieldProblem::new(
            "/line_items",
            format!("the cart's reductions exceed its value (total {total}); mattilda's amount cannot be negative"),
        )])),
        total => Ok(total),
    }
}

fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_owned)
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

#[cfg(test)]
mod tests {
    use checkout_provider_interface::{AdapterError, UnifiedUpdate};
    use serde_json::{Map, Value, json};
    use time::macros::datetime;

    use super::update_body;

    const NOW: time::OffsetDateTime = datetime!(2026-11-23 12:00:00 UTC);

    fn built(update: Value, current: Option<&Value>) -> Result<(Value, Vec<String>), AdapterError> {
        let update: UnifiedUpdate = serde_json::from_value(update).unwrap_or_else(|e| panic!("{e}"));
        let current: Option<Map<String, Value>> = current.and_then(Value::as_object).cloned();
        let built = update_body(&update, current.as_ref(), NOW)?;
        Ok((Value::Object(built.body), built.warnings.into_iter().map(|w| w.code).collect()))
    }

    fn body(update: Value, current: &Value) -> Value {
        built(update, Some(current)).map(|(body, _)| body).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn untouched_state_is_carried_with_the_remaining_lifetime() {
        let current = json!({"id": "x", "expires_at": "2026-11-24T10:00:00Z", "type": "checkout-session",
            "payment_method": null, "cart_items": [{"name": "A", "quantity": 1, "unit_amount": 5}],
            "metadata": {"a": "1", "b": "2"}, "currency": "USD", "amount": 5, "buyer": null});
        let got = built(json!({"metadata": {"b": null, "c": "3"}}), Some(&current)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            got,
            (
                json!({"cart_items": [{"name": "A", "quantity": 1, "unit_amount": 5}], "expires_in": 79200,
                       "metadata": {"a": "1", "c": "3"}, "currency": "USD", "amount": 5}),
                vec![]
            )
        );
        let short = json!({"expires_at": "2026-11-23T12:30:00Z"});
        let got = built(json!({"metadata": {"a": "1"}}), Some(&short)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, (json!({"metadata": {"a": "1"}, "expires_in": 3600}), vec!["expiry_clamped".to_owned()]));
    }

    #[test]
    fn a_new_cart_gets_its_own_amount_never_the_stale_one() {
        let current = json!({"expires_at": "2026-11-24T10:00:00Z", "amount": 9900, "currency": "USD",
            "cart_items": [{"name": "Old", "quantity": 1, "unit_amount": 9900}]});
        let got = body(
            json!({"line_items": [
                {"name": "Tripod", "quantity": 2, "unit_amount": 2500, "tax_amount": 400,
                 "provider_options": {"mattilda": {"shipping_amount": 300}}},
                {"name": "SPRING", "quantity": 1, "unit_amount": 1000, "product_type": "discount"}]}),
            &current,
        );
        assert_eq!(got["amount"], 5000 + 400 + 300 - 1000);
        // A session without an amount gets none; the client's own amount is sent as given.
        let none = body(
            json!({"line_items": [{"name": "A", "quantity": 1, "unit_amount": 1}]}),
            &json!({"expires_at": "2026-11-24T10:00:00Z", "amount": null}),
        );
        assert!(none.get("amount").is_none());
        let own = body(
            json!({"line_items": [{"name": "A", "quantity": 1, "unit_amount": 1}],
            "provider_options": {"mattilda": {"amount": 7}}}),
            &current,
        );
        assert_eq!(own["amount"], 7);
        // Without new items the cart and its amount are carried together.
        assert_eq!(body(json!({"metadata": {"k": "v"}}), &current)["amount"], 9900);
        let negative = built(
            json!({"line_items": [{"name": "G", "quantity": 1, "unit_amount": 10,
            "product_type": "gift_card"}]}),
            Some(&current),
        );
        assert!(matches!(negative, Err(AdapterError::Invalid(p)) if p[0].pointer == "/line_items"));
    }

    #[test]
    fn a_preview_shows_only_the_changes() {
        let got = built(json!({"metadata": {"k": "v", "gone": null}, "currency": "eur", "expires_in": 3600}), None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, (json!({"metadata": {"k": "v"}, "currency": "EUR", "expires_in": 3600}), vec![]));
    }

    #[test]
    fn options_may_override_carried_state_but_not_unified_fields() {
        let current = json!({"airline": {"booking_code": "OLD"}, "expires_at": "2026-11-24T10:00:00Z"});
        let got = body(
            json!({"provider_options": {"mattilda": {"airline": {"booking_code": "X"}, "expires_in": 5000}}}),
            &current,
        );
        assert_eq!(got, json!({"airline": {"booking_code": "X"}, "expires_in": 5000}));
        let conflict = built(json!({"currency": "USD", "provider_options": {"mattilda": {"currency": "EUR"}}}), None);
        assert!(conflict.is_err());
    }
}
