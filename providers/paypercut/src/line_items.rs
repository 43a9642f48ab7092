//! Paypercut line items → unified line items.
//!
//! Paypercut's line item is `{quantity, price, price_data, metadata}`: no id and no total of its
//! own, so the unified `id` and `amount_total` stay null rather than being made up. The price is
//! `price_data`, or the expanded `price` object; its `unit_amount` may be null when only
//! `unit_amount_decimal` is set, which is read exactly (a whole number of minor units) or left
//! null with a warning. A price in another currency than the session's has no unified amount: the
//! unified line item has no currency of its own to say which one it would be in.

use std::collections::BTreeMap;

use checkout_provider_interface::{SessionLineItem, Warning};
use serde_json::Value;

use crate::scale::Scaler;
use crate::wire::{Expandable, WireLineItem, WirePrice};

/// Map every line item. `session_currency` is upper case; `scaler` takes session amounts to ISO
/// minor units.
pub(crate) fn map(
    items: &[WireLineItem],
    session_currency: Option<&str>,
    scaler: &Scaler,
    warnings: &mut Vec<Warning>,
) -> Vec<SessionLineItem> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let price = item.price_data.as_ref().or(match &item.price {
                Some(Expandable::Object(price)) => Some(price),
                Some(Expandable::Id(_)) | None => None,
            });
            let pointer = format!("/line_items/{index}/unit_amount");
            let unit_amount = price.and_then(|p| unit_amount(p, session_currency, scaler, &pointer, warnings));
            let text = |key: &str| metadata_text(item.metadata.as_ref(), key);
            SessionLineItem {
                id: None,
                name: price.and_then(product_name),
                quantity: item.quantity,
                unit_amount,
                amount_total: None,
                sku: text("sku"),
                external_id: text("external_id"),
                image_url: None,
            }
        })
        .collect()
}

fn product_name(price: &WirePrice) -> Option<String> {
    let from_data = price.product_data.as_ref().and_then(|p| p.name.clone());
    from_data.or_else(|| match &price.product {
        Some(Expandable::Object(product)) => product.name.clone(),
        Some(Expandable::Id(_)) | None => None,
    })
}

/// The price's unit amount in unified minor units of the session currency, or `None` (with a
/// warning when Paypercut did give an amount that cannot be shown).
fn unit_amount(
    price: &WirePrice,
    session_currency: Option<&str>,
    scaler: &Scaler,
    pointer: &str,
    warnings: &mut Vec<Warning>,
) -> Option<i64> {
    let raw = match (price.unit_amount, price.unit_amount_decimal.as_ref()) {
        (Some(amount), _) => amount,
        (None, None | Some(Value::Null)) => return None,
        (None, Some(decimal)) => match whole_minor_units(decimal) {
            Some(amount) => amount,
            None => {
                warn(warnings, pointer, &format!("unit_amount_decimal {decimal} is not a whole number of minor units"));
                return None;
            }
        },
    };
    let line_currency = price.currency.as_deref().map(str::to_ascii_uppercase);
    if let (Some(line), Some(session)) = (line_currency.as_deref(), session_currency) {
        if line != session {
            warn(warnings, pointer, &format!("the price is in {line}, not the session's {session}"));
            return None;
        }
    }
    scaler.convert(raw, pointer, warnings)
}

/// A decimal count of minor units (`"1250"`, `"1250.000"`) as an integer; `None` when it has a
/// non-zero fraction, is not a plain decimal, or does not fit. Integer JSON numbers are taken too.
pub(crate) fn whole_minor_units(value: &Value) -> Option<i64> {
    let text = match value {
        Value::String(text) => text.as_str(),
        Value::Number(number) => return number.as_i64(),
        Value::Null | Value::Bool(_) | Value::Array(_) | Value::Object(_) => return None,
    };
    let (integer, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = integer.strip_prefix('-').unwrap_or(integer);
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if digits.is_empty() || !all_digits(digits) || !all_digits(fraction) || fraction.bytes().any(|b| b != b'0') {
        return None;
    }
    integer.parse().ok()
}

fn metadata_text(metadata: Option<&BTreeMap<String, Value>>, key: &str) -> Option<String> {
    metadata?.get(key)?.as_str().map(str::to_owned)
}

fn warn(warnings: &mut Vec<Warning>, pointer: &str, detail: &str) {
    warnings.push(Warning {
        code: "amount_not_convertible".to_owned(),
        pointer: Some(pointer.to_owned()),
        detail: format!("paypercut line item: {detail}"),
    });
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{map, whole_minor_units};
    use crate::scale::Scaler;
    use crate::wire::WireLineItem;

    fn items(value: Value) -> Vec<WireLineItem> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn decimals_are_whole_minor_units_or_nothing() {
        assert_eq!(whole_minor_units(&json!("1250")), Some(1250));
        assert_eq!(whole_minor_units(&json!("1250.000000")), Some(1250));
        assert_eq!(whole_minor_units(&json!(77)), Some(77));
        assert_eq!(whole_minor_units(&json!("-5")), Some(-5));
        for odd in [
            json!("33.5"),
            json!("1e3"),
            json!(""),
            json!("."),
            json!("12a"),
            json!(1.5),
            json!("99999999999999999999"),
        ] {
            assert_eq!(whole_minor_units(&odd), None, "{odd}");
        }
    }

    #[test]
    fn price_id_price_data_and_metadata_are_read_as_documented() {
        let wire = items(json!([
            {"quantity": 2, "price": "01K755J9SV2364REVHB915Z2FW",
             "price_data": {"currency": "eur", "unit_amount": null, "unit_amount_decimal": "2490",
                            "product_data": {"name": "T-shirt"}},
             "metadata": {"sku": "TS-001", "external_id": "item-1", "other": "x"}},
            {"quantity": 1, "price": {"currency": "EUR", "unit_amount": 500, "product": {"name": "Socks"}}},
            {"quantity": 1, "price": "price_only"}
        ]));
        let mut warnings = Vec::new();
        let got = map(&wire, Some("EUR"), &Scaler::Same, &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            (got[0].id.as_deref(), got[0].name.as_deref(), got[0].quantity, got[0].unit_amount),
            (None, Some("T-shirt"), Some(2), Some(2490))
        );
        assert_eq!((got[0].sku.as_deref(), got[0].external_id.as_deref()), (Some("TS-001"), Some("item-1")));
        assert_eq!(got[0].amount_total, None);
        assert_eq!((got[1].name.as_deref(), got[1].unit_amount), (Some("Socks"), Some(500)));
        assert_eq!((got[2].name.as_deref(), got[2].unit_amount), (None, None));
    }

    #[test]
    fn fractions_and_other_currencies_are_null_with_warnings_and_scales_apply() {
        let wire = items(json!([
            {"quantity": 1, "price_data": {"currency": "jpy", "unit_amount_decimal": "150050.5"}},
            {"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 100}},
            {"quantity": 1, "price_data": {"currency": "jpy", "unit_amount": 150_000}}
        ]));
        let mut warnings = Vec::new();
        let got = map(&wire, Some("JPY"), &Scaler::new("jpy", 2), &mut warnings);
        assert_eq!(got.iter().map(|i| i.unit_amount).collect::<Vec<_>>(), [None, None, Some(1500)]);
        let pointers: Vec<_> = warnings.iter().filter_map(|w| w.pointer.as_deref()).collect();
        assert_eq!(pointers, ["/line_items/0/unit_amount", "/line_items/1/unit_amount"]);
    }
}
