//! Value-dependent rules the capability table cannot say (run by the gateway before dispatch
//! through `Adapter::check_update`): where `currency` is needed and what
//! `collected_information[shipping_details]` requires; the line item rules are in
//! `line_items.rs`.

use checkout_provider_interface::capability::{UpdateCheck, escape_pointer};
use checkout_provider_interface::money::CurrencyUnits;
use checkout_provider_interface::{AddressPatch, DetailsPatch, FieldProblem, Patch, ShippingOption, UnifiedUpdate};

use crate::config::StripeConfig;
use crate::{line_items, units};

pub fn check(update: &UnifiedUpdate, config: &StripeConfig) -> UpdateCheck {
    let mut check = UpdateCheck::default();
    check_metadata(update, &mut check);
    if let Some(items) = &update.line_items {
        line_items::check(items, update.currency.as_deref(), config, &mut check);
    }
    check_shipping_options(update, &mut check);
    check_currency_use(update, &mut check);
    check_units(update, &mut check);
    if let Patch::Clear = update.shipping_details {
        check.unsupported.push(FieldProblem::new(
            "/shipping_details",
            "stripe cannot remove collected shipping details, only replace them",
        ));
    }
    if let Patch::Set(details) = &update.shipping_details {
        check_shipping_details(details, &mut check);
        check_lengths(details, &mut check);
    }
    check
}

/// Every amount the adapter sends must be exact in Stripe's units (`units.rs`): e.g. ISK in
/// whole krónur, MGA in whole ariary, three-decimal currencies in multiples of 10. Amounts
/// without a currency are refused elsewhere (`currency` is required for them).
fn check_units(update: &UnifiedUpdate, check: &mut UpdateCheck) {
    let session_currency = update.currency.as_deref();
    let session_units = session_currency.map(units::of);
    // Pointers are built only for the amounts refused: most are fine.
    let mut refuse = |units: Option<CurrencyUnits<'_>>, amount: i64, pointer: &dyn Fn() -> String| {
        let Some(units) = units else { return };
        if let Err(error) = units.to_provider(amount) {
            check.invalid.push(FieldProblem::new(pointer(), error.to_string()));
        }
    };
    for (index, item) in update.line_items.iter().flatten().enumerate() {
        if let Some(amount) = item.unit_amount.filter(|_| line_items::uses_price_data(item)) {
            refuse(session_units, amount, &|| format!("/line_items/{index}/unit_amount"));
        }
    }
    for (index, option) in update.shipping_options.value().into_iter().flatten().enumerate() {
        if let Some(amount) = option.amount.filter(|_| option.shipping_rate.is_none()) {
            let units = option.currency.as_deref().map(units::of).or(session_units);
            refuse(units, amount, &|| format!("/shipping_options/{index}/amount"));
        }
    }
}

/// Stripe's documented length limits that are tighter than the unified schema's
/// (`openapi.json`: `collected_information[shipping_details][name]` maxLength 255). The value is
/// valid unified input another provider may take, so it is unsupported here, not invalid.
fn check_lengths(details: &DetailsPatch, check: &mut UpdateCheck) {
    if let Patch::Set(name) = &details.name {
        if name.chars().count() > SHIPPING_NAME_MAX {
            check.unsupported.push(FieldProblem::new(
                "/shipping_details/name",
                format!("stripe takes at most {SHIPPING_NAME_MAX} characters in a shipping name"),
            ));
        }
    }
}

/// `collected_information[shipping_details][name]`: "maximum 255 characters".
const SHIPPING_NAME_MAX: usize = 255;

fn check_metadata(update: &UnifiedUpdate, check: &mut UpdateCheck) {
    let Patch::Set(map) = &update.metadata else { return };
    for (key, value) in map {
        let pointer = || format!("/metadata/{}", escape_pointer(key));
        if key.contains('[') || key.contains(']') {
            check.invalid.push(FieldProblem::new(pointer(), "stripe metadata keys cannot contain square brackets"));
        } else if value.as_deref() == Some("") {
            // Stripe reads an empty value as "remove this key": storing "" is impossible.
            check.invalid.push(FieldProblem::new(
                pointer(),
                "stripe cannot store an empty metadata value (it means removal); send null to remove the key",
            ));
        }
    }
}

fn check_shipping_options(update: &UnifiedUpdate, check: &mut UpdateCheck) {
    let Patch::Set(options) = &update.shipping_options else { return };
    for (index, option) in options.iter().enumerate() {
        let base = format!("/shipping_options/{index}");
        if option.shipping_rate.is_some() {
            let extra = [
                ("display_name", option.display_name.is_some()),
                ("amount", option.amount.is_some()),
                ("currency", option.currency.is_some()),
                ("delivery_estimate", option.delivery_estimate.is_some()),
            ];
            for (field, _) in extra.into_iter().filter(|(_, present)| *present) {
                check.invalid.push(FieldProblem::new(
                    format!("{base}/{field}"),
                    "give either `shipping_rate` or an inline rate, not both",
                ));
            }
            continue;
        }
        if option.display_name.is_none() {
            check.invalid.push(FieldProblem::new(format!("{base}/display_name"), "stripe needs a display name"));
        }
        if option.amount.is_none() {
            check.invalid.push(FieldProblem::new(format!("{base}/amount"), "stripe needs a fixed amount"));
        }
        if option.currency.is_none() && update.currency.is_none() {
            check.invalid.push(FieldProblem::new(
                format!("{base}/currency"),
                "stripe needs a currency for an inline shipping rate (here or in `currency`)",
            ));
        }
        let bounds = option.delivery_estimate.iter().flat_map(|e| [("minimum", &e.minimum), ("maximum", &e.maximum)]);
        for (name, bound) in bounds {
            if bound.as_ref().is_some_and(|b| b.value == 0) {
                check.invalid.push(FieldProblem::new(
                    format!("{base}/delivery_estimate/{name}/value"),
                    "stripe needs a delivery estimate greater than 0",
                ));
            }
        }
    }
}

/// `currency` has no session-level meaning at Stripe: it only feeds ad-hoc items and inline
/// shipping rates, so a currency nothing uses would be silently dropped.
fn check_currency_use(update: &UnifiedUpdate, check: &mut UpdateCheck) {
    if update.currency.is_none() {
        return;
    }
    let ad_hoc = update.line_items.iter().flatten().any(line_items::uses_price_data);
    let inline_rate = update.shipping_options.value().is_some_and(|options| options.iter().any(uses_session_currency));
    if !ad_hoc && !inline_rate {
        check.unsupported.push(FieldProblem::new(
            "/currency",
            "stripe cannot change a session's currency; `currency` only applies to inline prices of line items and inline shipping rates",
        ));
    }
}

fn uses_session_currency(option: &ShippingOption) -> bool {
    option.shipping_rate.is_none() && option.currency.is_none()
}

fn check_shipping_details(details: &DetailsPatch, check: &mut UpdateCheck) {
    let contact = [
        ("first_name", &details.first_name),
        ("last_name", &details.last_name),
        ("email", &details.email),
        ("phone", &details.phone),
    ];
    for (field, patch) in contact {
        if !patch.is_absent() {
            check.unsupported.push(FieldProblem::new(
                format!("/shipping_details/{field}"),
                "stripe's collected shipping details hold only a name and an address",
            ));
        }
    }
    let required = "stripe requires it in collected shipping details";
    if let Patch::Clear = details.name {
        check.invalid.push(FieldProblem::new("/shipping_details/name", required));
    }
    match &details.address {
        Patch::Clear => check.invalid.push(FieldProblem::new("/shipping_details/address", required)),
        Patch::Set(address) => {
            if let Patch::Clear = address.line1 {
                check.invalid.push(FieldProblem::new("/shipping_details/address/line1", required));
            }
            if let Patch::Clear = address.country {
                check.invalid.push(FieldProblem::new("/shipping_details/address/country", required));
            }
        }
        Patch::Absent => {}
    }
}

/// Whether the shipping details patch names every field Stripe stores, so that sending it as
/// is loses nothing. Otherwise the adapter reads the current details and merges first
/// (Stripe replaces the whole object).
pub fn shipping_details_complete(details: &DetailsPatch) -> bool {
    let Patch::Set(address) = &details.address else { return false };
    let AddressPatch { line1, line2, city, state, postal_code, country } = address;
    details.name.value().is_some()
        && [line1, line2, city, state, postal_code, country].iter().all(|field| !field.is_absent())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pointers(body: serde_json::Value) -> (Vec<String>, Vec<String>) {
        let update: UnifiedUpdate = serde_json::from_value(body).unwrap_or_default();
        let settings = json!({"api_key": {"value": "sk_test_1"}}).as_object().cloned().unwrap_or_default();
        let setup = checkout_provider_interface::ProviderSetup {
            name: "stripe-test",
            settings: &settings,
            secrets: &checkout_provider_interface::contract::InlineSecrets,
        };
        let config = StripeConfig::from_setup(&setup).unwrap_or_else(|e| panic!("{e}"));
        let check = check(&update, &config);
        let list = |problems: &[FieldProblem]| problems.iter().map(|p| p.pointer.clone()).collect();
        (list(&check.unsupported), list(&check.invalid))
    }

    #[test]
    fn unused_currency_is_unsupported() {
        assert_eq!(pointers(json!({"currency": "usd", "metadata": {"a": "b"}})).0, ["/currency"]);
        let inline = json!({"currency": "usd", "shipping_options": [{"display_name": "x", "amount": 1}]});
        assert_eq!(pointers(inline), (vec![], vec![]));
        let (_, invalid) = pointers(json!({"shipping_options": [{"display_name": "x", "amount": 1}]}));
        assert_eq!(invalid, ["/shipping_options/0/currency"]);
    }

    #[test]
    fn metadata_keys_and_empty_values() {
        let (_, invalid) = pointers(json!({"metadata": {"a[b]": "x", "empty": "", "gone": null, "ok": "v"}}));
        assert_eq!(invalid, ["/metadata/a[b]", "/metadata/empty"]);
    }

    #[test]
    fn shipping_details_rules() {
        assert_eq!(pointers(json!({"shipping_details": null})).0, ["/shipping_details"]);
        let (unsupported, invalid) = pointers(json!({"shipping_details": {
            "email": "a@b.c", "name": null, "address": {"line1": null, "city": "x"}}}));
        assert_eq!(unsupported, ["/shipping_details/email"]);
        assert_eq!(invalid, ["/shipping_details/name", "/shipping_details/address/line1"]);
    }

    #[test]
    fn completeness_needs_every_stored_field() {
        let full: DetailsPatch = serde_json::from_value(json!({"name": "J", "address": {
            "line1": "1", "line2": null, "city": "c", "state": null, "postal_code": "p", "country": "US"}}))
        .unwrap_or_default();
        assert!(shipping_details_complete(&full));
        let partial: DetailsPatch =
            serde_json::from_value(json!({"name": "J", "address": {"line1": "1", "country": "US"}}))
                .unwrap_or_default();
        assert!(!shipping_details_complete(&partial));
    }
}
