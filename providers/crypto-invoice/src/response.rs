//! Speed's checkout session object → the unified session.
//!
//! The body is deserialized straight from its bytes so that `amount` (and metadata values) can be
//! held as `RawValue`: the number's exact text, never an `f64`.

use std::collections::BTreeMap;

use checkout_provider_interface::{
    AdapterError, Amounts, PageTexts, PaymentStatus, ProviderResponse, RedirectTargets, SessionStatus, UnifiedSession,
    Warning, capability::escape_pointer, timestamp,
};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::KIND;
use crate::units;

/// The fields the adapter maps; others (payments, target_currency, ...) are ignored here
/// and remain in the raw object the gateway can attach as `provider_data`.
#[derive(Deserialize)]
struct WireSession {
    id: String,
    status: String,
    #[serde(default)]
    livemode: Option<bool>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    amount: Option<Box<RawValue>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    success_url: Option<String>,
    #[serde(default)]
    cancel_url: Option<String>,
    #[serde(default)]
    success_message: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    title_description: Option<String>,
    #[serde(default)]
    title_image: Option<String>,
    #[serde(default)]
    metadata: Option<BTreeMap<String, Option<Box<RawValue>>>>,
    /// Epoch milliseconds.
    #[serde(default)]
    created: Option<i64>,
    /// "Seconds until the session's payment expires", from creation.
    #[serde(default)]
    ttl: Option<i64>,
}

/// The warning code for an amount with no exact minor-unit value.
pub const AMOUNT_WARNING: &str = "amount_not_convertible";

pub fn parse(response: &ProviderResponse) -> Result<UnifiedSession, AdapterError> {
    let wire: WireSession = serde_json::from_slice(response.body())
        .map_err(|e| AdapterError::unparseable(format!("not a Speed checkout session: {e}")))?;
    let (status, payment_status) = match wire.status.as_str() {
        "active" => (SessionStatus::Open, PaymentStatus::Unpaid),
        "paid" => (SessionStatus::Complete, PaymentStatus::Paid),
        "deactivated" => (SessionStatus::Expired, PaymentStatus::Unpaid),
        // Not documented, but its meaning is plain if Speed ever sends it.
        "expired" => (SessionStatus::Expired, PaymentStatus::Unpaid),
        other => return Err(AdapterError::unparseable(format!("unknown Speed session status `{other}`"))),
    };
    let mut session = UnifiedSession::new(wire.id, KIND, status);
    session.payment_status = Some(payment_status);
    let currency = wire.currency.map(|c| c.to_ascii_uppercase());
    let total = total(currency.as_deref(), wire.amount.as_deref(), &mut session.warnings);
    session.amounts = Amounts { total, ..Amounts::default() };
    session.currency = currency;
    session.metadata = wire.metadata.map(|m| metadata(m, &mut session.warnings));
    session.redirects = Some(RedirectTargets {
        success_url: wire.success_url,
        cancel_url: wire.cancel_url,
        success_message: wire.success_message,
    });
    session.page =
        Some(PageTexts { title: wire.title, description: wire.title_description, image_url: wire.title_image });
    session.description = wire.description;
    session.url = wire.url;
    session.livemode = wire.livemode;
    session.created_at = wire.created.and_then(timestamp::from_unix_millis);
    session.expires_at = expires_at(wire.created, wire.ttl, &mut session.warnings);
    Ok(session)
}

/// `amount` in exact unified minor units, or `None` plus a warning saying why not.
fn total(currency: Option<&str>, amount: Option<&RawValue>, warnings: &mut Vec<Warning>) -> Option<i64> {
    let text = amount?.get();
    let problem = match currency {
        None => format!("amount {text} has no currency"),
        Some(code) => match units::to_unified(text, code) {
            Ok(minor) => return Some(minor),
            Err(why) => why.to_string(),
        },
    };
    warnings.push(Warning {
        code: AMOUNT_WARNING.to_owned(),
        pointer: Some("/amounts/total".to_owned()),
        detail: problem,
    });
    None
}

/// The session's expiry: Speed's only expiry field is `ttl`, "seconds until the session's
/// payment expires", counted from `created`. A checkout session exists to take that payment, so
/// when the payment can no longer be made the session is over: `created + ttl`. A `ttl` that
/// makes no time (negative, or beyond the calendar) is null with a warning.
fn expires_at(created: Option<i64>, ttl: Option<i64>, warnings: &mut Vec<Warning>) -> Option<String> {
    let (created, ttl) = (created?, ttl?);
    let at = u64::try_from(ttl)
        .ok()
        .and_then(|ttl| i64::try_from(ttl).ok()?.checked_mul(1000))
        .and_then(|ttl_ms| created.checked_add(ttl_ms))
        .and_then(timestamp::from_unix_millis);
    if at.is_none() {
        warnings.push(Warning {
            code: "timestamp_unparseable".to_owned(),
            pointer: Some("/expires_at".to_owned()),
            detail: format!("Speed's ttl {ttl} s after created {created} ms is not a time"),
        });
    }
    at
}

/// String values as they are; other JSON values as their exact JSON text, with a warning;
/// `null` values are left out (no value reported).
fn metadata(raw: BTreeMap<String, Option<Box<RawValue>>>, warnings: &mut Vec<Warning>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (key, value) in raw {
        let Some(value) = value else { continue };
        let text = match serde_json::from_str::<String>(value.get()) {
            Ok(text) => text,
            Err(_) => {
                warnings.push(Warning {
                    code: "metadata_value_converted".to_owned(),
                    pointer: Some(format!("/metadata/{}", escape_pointer(&key))),
                    detail: "Speed reported a non-string metadata value; it is shown as its JSON text".to_owned(),
                });
                value.get().to_owned()
            }
        };
        out.insert(key, text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{AMOUNT_WARNING, parse};

    fn session(body: &str) -> checkout_provider_interface::UnifiedSession {
        let response = http::Response::builder().status(200).body(body.as_bytes().to_vec()).unwrap_or_default();
        parse(&response).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn exact_amounts_survive_where_f64_would_not() {
        // 2^53 + 1 minor units: an f64 would round it.
        let s = session(r#"{"id":"cs_1","status":"active","currency":"USD","amount":90071992547409.93}"#);
        assert_eq!(s.amounts.total, Some(9_007_199_254_740_993));
    }

    #[test]
    fn metadata_values_keep_their_text() {
        let s = session(r#"{"id":"cs_1","status":"paid","metadata":{"a":"x","n":0.1000000000000000055511,"z":null}}"#);
        let metadata = s.metadata.unwrap_or_default();
        assert_eq!(metadata.get("a").map(String::as_str), Some("x"));
        assert_eq!(metadata.get("n").map(String::as_str), Some("0.1000000000000000055511"));
        assert!(!metadata.contains_key("z"));
        assert_eq!(s.warnings.len(), 1);
    }

    #[test]
    fn expiry_is_created_plus_ttl() {
        let s = session(r#"{"id":"cs_1","status":"active","created":1669985420448,"ttl":86400}"#);
        assert_eq!(s.expires_at.as_deref(), Some("2022-12-03T12:50:20.448Z"));
        assert!(s.warnings.is_empty());
        let s = session(r#"{"id":"cs_1","status":"active","ttl":86400}"#);
        assert_eq!(s.expires_at, None);
        let s = session(r#"{"id":"cs_1","status":"active","created":1669985420448,"ttl":-1}"#);
        assert_eq!((s.expires_at, s.warnings[0].code.as_str()), (None, "timestamp_unparseable"));
        let s = session(r#"{"id":"cs_1","status":"active","created":1669985420448,"ttl":9223372036854775807}"#);
        assert_eq!(s.expires_at, None);
    }

    #[test]
    fn stablecoin_amounts_are_exact_in_token_units() {
        let s = session(r#"{"id":"cs_1","status":"active","currency":"USDT","amount":25.123456}"#);
        assert_eq!((s.currency.as_deref(), s.amounts.total), (Some("USDT"), Some(25_123_456)));
    }

    #[test]
    fn unknown_currency_and_missing_currency_warn() {
        let s = session(r#"{"id":"cs_1","status":"active","currency":"XBT","amount":1}"#);
        assert_eq!((s.amounts.total, s.warnings[0].code.as_str()), (None, AMOUNT_WARNING));
        let s = session(r#"{"id":"cs_1","status":"active","amount":1}"#);
        assert_eq!((s.amounts.total, s.warnings[0].code.as_str()), (None, AMOUNT_WARNING));
    }

    #[test]
    fn odd_bodies_are_unparseable() {
        for body in
            ["", "[]", "{}", r#"{"id":"cs_1","status":"open"}"#, r#"{"id":"cs_1","status":"paid","created":1.5}"#]
        {
            let response = http::Response::builder().status(200).body(body.as_bytes().to_vec()).unwrap_or_default();
            assert!(parse(&response).is_err(), "{body}");
        }
    }
}
