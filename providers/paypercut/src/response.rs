//! Paypercut's checkout session JSON (see `wire`) → the unified session. Only a body that is not
//! a session at all (or has no usable `status`) is unparseable; odd values degrade to null with
//! a warning.

use std::collections::BTreeMap;

use checkout_provider_interface::session::{DeliveryBound, DeliveryEstimate};
use checkout_provider_interface::{
    AdapterError, Amounts, PaymentStatus, RedirectTargets, SessionStatus, Shipping, ShippingRate, UnifiedSession,
    Warning, timestamp,
};
use serde_json::Value;

use crate::KIND;
use crate::line_items;
use crate::scale::{Scaler, UNITS};
use crate::wire::{Expandable, WireBound, WireCurrency, WireSession, WireShippingCost, WireShippingRate};

/// Parse a 2xx body into the unified session.
pub(crate) fn parse(body: &[u8]) -> Result<UnifiedSession, AdapterError> {
    let wire: WireSession = serde_json::from_slice(body)
        .map_err(|e| AdapterError::unparseable(format!("not a paypercut checkout session: {e}")))?;
    let status = match wire.status.as_deref() {
        Some("open") => SessionStatus::Open,
        Some("complete") => SessionStatus::Complete,
        Some("expired") => SessionStatus::Expired,
        other => return Err(AdapterError::unparseable(format!("unknown checkout status {other:?}"))),
    };
    let mut warnings = Vec::new();
    let mut session = UnifiedSession::new(wire.id.clone(), KIND, status);
    session.payment_status = payment_status(wire.payment_status.as_deref(), &mut warnings);

    let currency = wire.currency.as_ref().map(|c| c.iso().to_ascii_uppercase());
    let scaler = scaler_for(wire.currency.as_ref());
    let amount = |value: Option<i64>, pointer: &str, warnings: &mut Vec<Warning>| {
        value.and_then(|v| scaler.convert(v, pointer, warnings))
    };
    let totals = wire.total_details.as_ref();
    let shipping = match totals.and_then(|t| t.amount_shipping) {
        Some(total) => scaler.convert(total, "/amounts/shipping", &mut warnings),
        None => wire.shipping_cost.as_ref().and_then(|cost| shipping_cost(cost, currency.as_deref(), &mut warnings)),
    };
    session.amounts = Amounts {
        subtotal: amount(wire.amount_subtotal, "/amounts/subtotal", &mut warnings),
        discount: amount(totals.and_then(|t| t.amount_discount), "/amounts/discount", &mut warnings),
        tax: amount(totals.and_then(|t| t.amount_tax), "/amounts/tax", &mut warnings),
        shipping,
        total: amount(wire.amount_total, "/amounts/total", &mut warnings),
    };

    if wire.shipping_options.is_some() || wire.shipping_cost.is_some() {
        let options = wire.shipping_options.iter().flatten().filter_map(|o| o.shipping_rate.as_ref());
        let options = options
            .enumerate()
            .map(|(index, rate)| shipping_rate(rate, index, currency.as_deref(), &scaler, &mut warnings))
            .collect();
        let selected_rate = wire.shipping_cost.as_ref().and_then(|c| c.shipping_rate.clone());
        session.shipping = Some(Shipping { selected_rate, options, details: None });
    }

    session.line_items =
        wire.line_items.as_deref().map(|items| line_items::map(items, currency.as_deref(), &scaler, &mut warnings));
    session.redirects = Some(redirects(&wire));
    session.currency = currency;
    session.metadata = wire.metadata.as_ref().map(metadata);
    session.description = wire.description;
    session.url = wire.url;
    session.livemode = wire.livemode;
    session.created_at = time_field(wire.created.as_ref(), "/created_at", &mut warnings);
    session.expires_at = time_field(wire.expires_at.as_ref(), "/expires_at", &mut warnings);
    session.warnings = warnings;
    Ok(session)
}

/// How a session's amounts (at its `scale`) become ISO minor units.
fn scaler_for(currency: Option<&WireCurrency>) -> Scaler {
    match currency {
        Some(WireCurrency::Object { iso, scale: Some(scale) }) => Scaler::new(iso, *scale),
        Some(WireCurrency::Object { scale: None, .. } | WireCurrency::Code(_)) | None => Scaler::Same,
    }
}

/// `shipping_cost.amount_total` (used when `total_details` has no shipping amount) is in the
/// cost's own `currency {iso, scale}` when it states one. In another currency than the session's
/// it cannot be a session amount: null with a warning.
fn shipping_cost(cost: &WireShippingCost, session: Option<&str>, warnings: &mut Vec<Warning>) -> Option<i64> {
    let amount = cost.amount_total?;
    let pointer = "/amounts/shipping";
    let Some(own) = cost.currency.as_ref() else {
        return Some(amount);
    };
    let iso = own.iso().to_ascii_uppercase();
    if session.is_some_and(|session| session != iso) {
        warnings.push(Warning {
            code: "amount_not_convertible".to_owned(),
            pointer: Some(pointer.to_owned()),
            detail: format!("paypercut's shipping cost is in {iso}, not the session's currency"),
        });
        return None;
    }
    scaler_for(Some(own)).convert(amount, pointer, warnings)
}

/// Paypercut keeps plain URLs and an `after_completion` choice. `success_url` first; an embedded
/// session has `return_url` instead (read like Stripe's); then a redirect `after_completion`. A
/// hosted page's message is the success message.
fn redirects(wire: &WireSession) -> RedirectTargets {
    let after = wire.after_completion.as_ref();
    let of_kind = |kind: &str| after.filter(|a| a.kind.as_deref() == Some(kind));
    RedirectTargets {
        success_url: wire
            .success_url
            .clone()
            .or_else(|| wire.return_url.clone())
            .or_else(|| of_kind("redirect")?.redirect.as_ref()?.url.clone()),
        cancel_url: wire.cancel_url.clone(),
        success_message: of_kind("hosted").and_then(|a| a.hosted.as_ref()?.custom_message.clone()),
    }
}

/// `processing` (payment confirmation under way) has no unified value; it is not paid yet, so
/// it maps to `unpaid` with a warning saying so.
fn payment_status(value: Option<&str>, warnings: &mut Vec<Warning>) -> Option<PaymentStatus> {
    match value? {
        "unpaid" => Some(PaymentStatus::Unpaid),
        "paid" => Some(PaymentStatus::Paid),
        "no_payment_required" => Some(PaymentStatus::NoPaymentRequired),
        other => {
            warnings.push(Warning {
                code: "payment_status_approximated".to_owned(),
                pointer: Some("/payment_status".to_owned()),
                detail: format!("paypercut reports payment_status `{other}`, shown as `unpaid`"),
            });
            Some(PaymentStatus::Unpaid)
        }
    }
}

/// A rate's amount is in minor units of its own currency. When that is the session's currency
/// (or unstated) it is scaled like the session's amounts, so options and totals agree; a rate in
/// another currency states no scale, so its amount is read in Paypercut's units for that currency
/// (`UNITS`) and shown with its own currency. An unexpanded rate (its id alone) gives only the id.
fn shipping_rate(
    rate: &Expandable<WireShippingRate>,
    index: usize,
    session_currency: Option<&str>,
    scaler: &Scaler,
    warnings: &mut Vec<Warning>,
) -> ShippingRate {
    let rate = match rate {
        Expandable::Object(rate) => rate,
        Expandable::Id(id) => return ShippingRate { id: Some(id.clone()), ..ShippingRate::default() },
    };
    let fixed = rate.fixed_amount.as_ref();
    let currency = fixed.and_then(|f| f.currency.as_deref()).map(str::to_ascii_uppercase);
    let same_currency = currency.is_none() || currency.as_deref() == session_currency;
    let pointer = format!("/shipping/options/{index}/amount");
    let amount = fixed.and_then(|f| f.amount).and_then(|amount| match currency.as_deref() {
        Some(own) if !same_currency => foreign_amount(own, amount, &pointer, warnings),
        _ => scaler.convert(amount, &pointer, warnings),
    });
    let bound = |b: Option<&WireBound>| {
        let b = b?;
        Some(DeliveryBound { unit: b.unit.clone()?, value: u32::try_from(b.value?).ok()? })
    };
    let delivery_estimate = rate.delivery_estimate.as_ref().map(|estimate| DeliveryEstimate {
        minimum: bound(estimate.minimum.as_ref()),
        maximum: bound(estimate.maximum.as_ref()),
    });
    ShippingRate {
        id: rate.id.clone(),
        display_name: rate.display_name.clone(),
        amount,
        currency: currency.or_else(|| session_currency.map(str::to_owned)),
        delivery_estimate,
    }
}

fn foreign_amount(currency: &str, amount: i64, pointer: &str, warnings: &mut Vec<Warning>) -> Option<i64> {
    match UNITS.from_provider(currency, amount) {
        Ok(unified) => Some(unified),
        Err(why) => {
            warnings.push(Warning {
                code: "amount_not_convertible".to_owned(),
                pointer: Some(pointer.to_owned()),
                detail: why.to_string(),
            });
            None
        }
    }
}

/// Metadata values are strings; scalars of other types are shown as text, anything else is
/// left out rather than failing the whole session.
fn metadata(raw: &BTreeMap<String, Value>) -> BTreeMap<String, String> {
    raw.iter()
        .filter_map(|(key, value)| {
            let text = match value {
                Value::String(text) => text.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null | Value::Array(_) | Value::Object(_) => return None,
            };
            Some((key.clone(), text))
        })
        .collect()
}

/// ISO 8601 text or epoch seconds (as a number or digits) → RFC 3339 UTC. Anything else is
/// null with a warning.
fn time_field(value: Option<&Value>, pointer: &str, warnings: &mut Vec<Warning>) -> Option<String> {
    let value = value?;
    let parsed = match value {
        Value::Null => return None,
        Value::Number(n) => n.as_i64().and_then(timestamp::from_unix_seconds),
        Value::String(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            text.parse().ok().and_then(timestamp::from_unix_seconds)
        }
        Value::String(text) => timestamp::from_rfc3339(text),
        Value::Bool(_) | Value::Array(_) | Value::Object(_) => None,
    };
    if parsed.is_none() {
        warnings.push(Warning {
            code: "timestamp_unparseable".to_owned(),
            pointer: Some(pointer.to_owned()),
            detail: format!("paypercut sent {value}, which is neither ISO 8601 nor epoch seconds"),
        });
    }
    parsed
}

#[cfg(test)]
mod tests {
    use checkout_provider_interface::{AdapterError, PaymentStatus, SessionStatus};
    use serde_json::json;

    use super::parse;

    fn session(body: &serde_json::Value) -> Result<checkout_provider_interface::UnifiedSession, AdapterError> {
        parse(&serde_json::to_vec(body).unwrap())
    }

    #[test]
    fn minimal_session_leaves_unreported_fields_null() {
        let got = session(&json!({"id": "chk_1", "status": "expired"})).unwrap();
        assert_eq!(got.status, SessionStatus::Expired);
        assert!(got.currency.is_none() && got.shipping.is_none() && got.line_items.is_none());
        assert!(got.warnings.is_empty());
    }

    #[test]
    fn bodies_that_are_not_sessions_are_unparseable() {
        assert!(matches!(session(&json!({"id": "chk_1", "status": "weird"})), Err(AdapterError::Unparseable(_))));
        assert!(matches!(session(&json!({"status": "open"})), Err(AdapterError::Unparseable(_))));
        assert!(matches!(session(&json!([1])), Err(AdapterError::Unparseable(_))));
        assert!(matches!(parse(b"<html>"), Err(AdapterError::Unparseable(_))));
    }

    #[test]
    fn odd_values_degrade_to_null_with_warnings() {
        let got = session(&json!({"id": "c", "status": "open", "payment_status": "processing",
            "created": "yesterday", "expires_at": "1767225600", "metadata": {"n": 1, "o": {}, "s": "x"},
            "currency": "usd", "amount_total": 100,
            "shipping_options": [{"shipping_rate": {"id": "r", "delivery_estimate": {"minimum": {"unit": "day", "value": -1}}}}]}))
        .unwrap();
        assert_eq!(got.payment_status, Some(PaymentStatus::Unpaid));
        assert_eq!(got.created_at, None);
        assert_eq!(got.expires_at.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(got.currency.as_deref(), Some("USD"));
        assert_eq!(got.amounts.total, Some(100));
        let codes: Vec<_> = got.warnings.iter().map(|w| w.code.as_str()).collect();
        assert_eq!(codes, ["payment_status_approximated", "timestamp_unparseable"]);
        assert_eq!(got.metadata.unwrap().len(), 2);
        let shipping = got.shipping.unwrap();
        assert_eq!(shipping.options[0].currency.as_deref(), Some("USD"));
        assert_eq!(shipping.options[0].delivery_estimate.as_ref().unwrap().minimum, None);
    }
}
