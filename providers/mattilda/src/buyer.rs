//! The session's `buyer` with the unified details patches applied.

use checkout_provider_interface::{AddressPatch, DetailsPatch, Patch, UnifiedUpdate};
use serde_json::{Map, Value};

/// `GuestBuyer.display_name`: at most 200 characters.
const DISPLAY_NAME_MAX: usize = 200;

/// The session's buyer with the details patches applied; `None` when neither is touched.
pub fn merged(update: &UnifiedUpdate, current: Option<&Value>) -> Option<Value> {
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
    if let Patch::Set(billing) = &update.billing_details {
        follow_billing_name(&mut buyer, billing);
    }
    Some(Value::Object(buyer))
}

/// `display_name` is the buyer's name as shown (Gr4vy's example: "John Doe" for John Doe's
/// billing details). When the billing name changes, a display name the session had is rebuilt
/// from the new first and last name, so the two never contradict each other; if nothing fits
/// Mattilda's 200 characters it is cleared rather than left stale. A session without one gets none.
fn follow_billing_name(buyer: &mut Map<String, Value>, billing: &DetailsPatch) {
    let renamed = !billing.first_name.is_absent() || !billing.last_name.is_absent();
    if !renamed || buyer.get("display_name").is_none_or(Value::is_null) {
        return;
    }
    let details = buyer.get("billing_details").and_then(Value::as_object);
    let part = |key: &str| details.and_then(|d| d.get(key)).and_then(Value::as_str).map(str::trim);
    let name =
        [part("first_name"), part("last_name")].into_iter().flatten().filter(|p| !p.is_empty()).collect::<Vec<_>>();
    let name = name.join(" ");
    let display =
        if name.is_empty() || name.chars().count() > DISPLAY_NAME_MAX { Value::Null } else { Value::String(name) };
    buyer.insert("display_name".to_owned(), display);
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
    use serde_json::{Value, json};

    use super::merged;

    fn buyer(update: Value, current: &Value) -> Option<Value> {
        let update: UnifiedUpdate = serde_json::from_value(update).unwrap_or_else(|e| panic!("{e}"));
        merged(&update, Some(current))
    }

    #[test]
    fn details_merge_into_the_current_buyer() {
        let current = json!({"display_name": "J", "billing_details": {"first_name": "A", "tax_id": {"value": "1", "kind": "us.ein"},
            "address": {"line1": "old", "line2": "flat 2", "organization": "Acme", "state_code": "US-CA"}}});
        let got = buyer(
            json!({"billing_details": {"phone": null, "address": {"line2": null, "country": "us"}},
                   "shipping_details": null}),
            &current,
        );
        assert_eq!(
            got,
            Some(json!({"display_name": "J", "shipping_details": null, "billing_details": {
            "first_name": "A", "phone_number": null, "tax_id": {"value": "1", "kind": "us.ein"},
            "address": {"line1": "old", "line2": null, "organization": "Acme", "country": "US"}}}))
        );
    }

    #[test]
    fn the_display_name_follows_a_changed_billing_name() {
        let current =
            json!({"display_name": "John Doe", "billing_details": {"first_name": "John", "last_name": "Doe"}});
        let renamed = buyer(json!({"billing_details": {"first_name": "Jenny", "last_name": "Rosen"}}), &current);
        assert_eq!(renamed.as_ref().map(|b| &b["display_name"]), Some(&json!("Jenny Rosen")));
        let last_only = buyer(json!({"billing_details": {"last_name": "Roe"}}), &current);
        assert_eq!(last_only.as_ref().map(|b| &b["display_name"]), Some(&json!("John Roe")));
        let cleared = buyer(json!({"billing_details": {"first_name": null, "last_name": null}}), &current);
        assert_eq!(cleared.as_ref().map(|b| &b["display_name"]), Some(&Value::Null));
        let too_long = "x".repeat(150);
        let long = buyer(json!({"billing_details": {"first_name": too_long, "last_name": too_long}}), &current);
        assert_eq!(long.as_ref().map(|b| &b["display_name"]), Some(&Value::Null));
        // Shipping names and other billing fields leave it alone; a buyer without one gets none.
        let shipping = buyer(json!({"shipping_details": {"first_name": "Jenny"}}), &current);
        assert_eq!(shipping.as_ref().map(|b| &b["display_name"]), Some(&json!("John Doe")));
        let email = buyer(json!({"billing_details": {"email": "j@example.com"}}), &current);
        assert_eq!(email.as_ref().map(|b| &b["display_name"]), Some(&json!("John Doe")));
        let none = buyer(json!({"billing_details": {"first_name": "Jenny"}}), &json!({}));
        assert!(none.as_ref().is_some_and(|b| b.get("display_name").is_none()));
    }
}
