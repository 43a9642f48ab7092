//! Stripe `checkout.session` JSON -> the unified session. Wire structs are private and only
//! name the fields the gateway maps; Stripe adds fields over time, so unknown ones are ignored.

use std::collections::BTreeMap;

use checkout_provider_interface::session::Address;
use checkout_provider_interface::{
    AdapterError, Amounts, DeliveryBound, DeliveryEstimate, Details, PaymentStatus, ProviderResponse, RedirectTargets,
    SessionLineItem, SessionStatus, Shipping, ShippingRate, UnifiedSession, Warning, timestamp, wire,
};
use serde::Deserialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::{KIND, error, units};

/// Keys of the line item's metadata (or, before line-item metadata existed, the inline
/// product's metadata) that carry the unified item `sku` / `external_id`.
pub const SKU_KEY: &str = "sku";
pub const EXTERNAL_ID_KEY: &str = "external_id";

#[derive(Deserialize)]
struct WireSession {
    id: String,
    object: Option<String>,
    status: Option<String>,
    payment_status: Option<String>,
    amount_subtotal: Option<i64>,
    amount_total: Option<i64>,
    currency: Option<String>,
    total_details: Option<TotalDetails>,
    shipping_cost: Option<ShippingCost>,
    shipping_options: Option<Vec<WireShippingOption>>,
    collected_information: Option<Collected>,
    metadata: Option<BTreeMap<String, String>>,
    url: Option<String>,
    success_url: Option<String>,
    cancel_url: Option<String>,
    /// Embedded and elements sessions return here instead of `success_url`.
    return_url: Option<String>,
    livemode: Option<bool>,
    created: Option<i64>,
    expires_at: Option<i64>,
    /// Only present when expanded (`expand[]=line_items`): the first page (Stripe: 10 items).
    line_items: Option<WireList>,
}

/// An id, or the object itself when the request expanded it.
enum Expandable<T> {
    Id(String),
    Object(T),
}

/// Decided by the JSON token (a string or an object) and read in one pass. `#[serde(untagged)]`
/// would first copy the whole object into a buffer of owned values to try each variant on it:
/// with 100 expanded prices and products, a quarter of parsing the answer (BENCHMARKS.md).
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Expandable<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdOrObject<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for IdOrObject<T> {
            type Value = Expandable<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an id or an expanded object")
            }

            fn visit_str<E: serde::de::Error>(self, id: &str) -> Result<Self::Value, E> {
                Ok(Expandable::Id(id.to_owned()))
            }

            fn visit_string<E: serde::de::Error>(self, id: String) -> Result<Self::Value, E> {
                Ok(Expandable::Id(id))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Expandable::Object)
            }
        }

        deserializer.deserialize_any(IdOrObject(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct TotalDetails {
    amount_discount: Option<i64>,
    amount_shipping: Option<i64>,
    amount_tax: Option<i64>,
}

#[derive(Deserialize)]
struct ShippingCost {
    amount_total: Option<i64>,
    shipping_rate: Option<Expandable<WireRate>>,
}

#[derive(Deserialize)]
struct WireShippingOption {
    shipping_amount: Option<i64>,
    shipping_rate: Option<Expandable<WireRate>>,
}

#[derive(Deserialize)]
struct WireRate {
    id: Option<String>,
    display_name: Option<String>,
    fixed_amount: Option<FixedAmount>,
    delivery_estimate: Option<WireEstimate>,
}

#[derive(Deserialize)]
struct FixedAmount {
    amount: Option<i64>,
    currency: Option<String>,
}

#[derive(Deserialize)]
struct WireEstimate {
    minimum: Option<WireBound>,
    maximum: Option<WireBound>,
}

#[derive(Deserialize)]
struct WireBound {
    unit: String,
    value: u32,
}

#[derive(Deserialize)]
struct Collected {
    shipping_details: Option<WireShippingDetails>,
}

#[derive(Deserialize)]
struct WireShippingDetails {
    name: Option<String>,
    address: Option<WireAddress>,
}

/// Own copy rather than the unified `Address`, which denies unknown fields.
#[derive(Deserialize)]
struct WireAddress {
    line1: Option<String>,
    line2: Option<String>,
    city: Option<String>,
    state: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
}

impl From<WireAddress> for Address {
    fn from(a: WireAddress) -> Self {
        Self {
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            state: a.state,
            postal_code: a.postal_code,
            country: a.country,
        }
    }
}

#[derive(Deserialize)]
struct WireList {
    #[serde(default)]
    data: Vec<WireLineItem>,
    #[serde(default)]
    has_more: bool,
}

/// The answer of `GET /v1/checkout/sessions/{id}/line_items`: `{object: "list", data, has_more, url}`.
#[derive(Deserialize)]
struct WirePage {
    object: Option<String>,
    data: Vec<WireLineItem>,
    #[serde(default)]
    has_more: bool,
}

#[derive(Deserialize)]
struct WireLineItem {
    id: Option<String>,
    description: Option<String>,
    quantity: Option<u64>,
    amount_total: Option<i64>,
    price: Option<WirePrice>,
    /// Line-item metadata (API 2025-12-15.clover and later); where the gateway keeps `sku` and
    /// `external_id`.
    metadata: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct WirePrice {
    unit_amount: Option<i64>,
    product: Option<Expandable<WireProduct>>,
}

#[derive(Deserialize)]
struct WireProduct {
    name: Option<String>,
    images: Option<Vec<String>>,
    metadata: Option<BTreeMap<String, String>>,
}

/// Any Stripe answer: a session on 2xx, else the classified error.
/// `now` is the call's clock, for a session whose `status` is null.
pub fn parse(response: &ProviderResponse, now: OffsetDateTime) -> Result<UnifiedSession, AdapterError> {
    if !response.status().is_success() {
        return Err(error::failure(response));
    }
    map(from_body(response, "a checkout.session")?, now)
}

/// A session answer whose expanded `line_items` was cut short, together with the answer to the
/// follow-up read of the session's line items (`GET …/line_items?limit=100`), which replaces
/// the first page. A follow-up body that is not a list leaves the first page, with warnings:
/// the update itself went through, so its answer is still worth showing.
pub fn parse_with_line_items(
    response: &ProviderResponse,
    page: &ProviderResponse,
    now: OffsetDateTime,
) -> Result<UnifiedSession, AdapterError> {
    if !response.status().is_success() {
        return Err(error::failure(response));
    }
    let mut wire: WireSession = from_body(response, "a checkout.session")?;
    let list = if page.status().is_success() {
        from_body::<WirePage>(page, "a list of line items").map_err(|e| e.to_string())
    } else {
        Err(format!("stripe answered {}", page.status()))
    };
    match list {
        Ok(list) if list.object.as_deref().is_none_or(|o| o == "list") => {
            wire.line_items = Some(WireList { data: list.data, has_more: list.has_more });
            map(wire, now)
        }
        outcome => {
            let why = outcome.err().unwrap_or_else(|| "its object is not a list".to_owned());
            let mut session = map(wire, now)?;
            session.warnings.push(Warning {
                code: "follow_up_failed".to_owned(),
                pointer: Some("/line_items".to_owned()),
                detail: format!("the read of the remaining line items failed ({why}); the first page is shown"),
            });
            Ok(session)
        }
    }
}

/// Whether a successful answer lists only the first page of the session's line items (Stripe
/// includes "the first handful" of them when `line_items` is expanded, with `has_more`).
pub fn line_items_cut_short(response: &ProviderResponse) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        line_items: Option<ProbeList>,
    }
    #[derive(Deserialize)]
    struct ProbeList {
        #[serde(default)]
        has_more: bool,
    }
    // Most answers say `has_more: false`: a byte search settles those without parsing the whole
    // answer a second time (80 KB for 100 expanded items), and only a possible `true` is parsed.
    let body = response.body();
    if !may_say_has_more(body) {
        return false;
    }
    let probe: Option<Probe> = serde_json::from_slice(body).ok();
    probe.and_then(|p| p.line_items).is_some_and(|list| list.has_more)
}

/// Whether the JSON `body` may hold a `has_more` member that is `true`: a `"has_more"` followed by
/// `:` and `true` (JSON whitespace allowed between), or a `\u` escape anywhere, which could spell
/// the key another way. `false` is certain; `true` only means "parse to know".
fn may_say_has_more(body: &[u8]) -> bool {
    if memchr::memmem::find(body, b"\\u").is_some() {
        return true;
    }
    let after_whitespace = |bytes: &[u8]| -> usize {
        bytes.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r')).unwrap_or(bytes.len())
    };
    const KEY: &[u8] = b"\"has_more\"";
    memchr::memmem::find_iter(body, KEY).any(|at| {
        let rest = &body[at + KEY.len()..];
        let rest = &rest[after_whitespace(rest)..];
        rest.strip_prefix(b":").is_some_and(|value| value[after_whitespace(value)..].starts_with(b"true"))
    })
}

/// Straight from the text into the wire structs: the fields the gateway does not map are
/// skipped without building a JSON tree (most of a Stripe session), and UTF-8 is checked once
/// for the whole body rather than per string (BENCHMARKS.md).
fn from_body<T: serde::de::DeserializeOwned>(response: &ProviderResponse, what: &str) -> Result<T, AdapterError> {
    let text = std::str::from_utf8(response.body())
        .map_err(|e| AdapterError::unparseable(format!("body is not JSON: not UTF-8: {e}")))?;
    serde_json::from_str(text).map_err(|e| {
        if e.is_data() {
            AdapterError::unparseable(format!("not {what}: {e}"))
        } else {
            AdapterError::unparseable(format!("body is not JSON: {e}"))
        }
    })
}

fn map(wire: WireSession, now: OffsetDateTime) -> Result<UnifiedSession, AdapterError> {
    if let Some(object) = wire.object.as_deref().filter(|o| *o != "checkout.session") {
        return Err(AdapterError::unparseable(format!("expected a checkout.session, got `{object}`")));
    }
    let (status, status_warning) = match wire.status.as_deref() {
        Some("open") => (SessionStatus::Open, None),
        Some("complete") => (SessionStatus::Complete, None),
        Some("expired") => (SessionStatus::Expired, None),
        None => derived_status(&wire, now),
        Some(other) => return Err(AdapterError::unparseable(format!("unknown session status `{other}`"))),
    };
    let mut session = UnifiedSession::new(wire.id, KIND, status);
    session.warnings.extend(status_warning);
    session.payment_status = match wire.payment_status.as_deref() {
        Some("paid") => Some(PaymentStatus::Paid),
        Some("unpaid") => Some(PaymentStatus::Unpaid),
        Some("no_payment_required") => Some(PaymentStatus::NoPaymentRequired),
        _ => None,
    };
    let currency = wire.currency.map(|c| c.to_ascii_uppercase());
    let totals = wire.total_details.as_ref();
    session.amounts = Amounts {
        subtotal: wire.amount_subtotal,
        discount: totals.and_then(|t| t.amount_discount),
        tax: totals.and_then(|t| t.amount_tax),
        // `amount_shipping` is null until a rate applies; `shipping_cost` may still say it.
        shipping: totals
            .and_then(|t| t.amount_shipping)
            .or_else(|| wire.shipping_cost.as_ref().and_then(|c| c.amount_total)),
        total: wire.amount_total,
    };
    if let Some(list) = wire.line_items {
        // Only when items are still missing: a first page is completed by the follow-up read
        // before this runs, so `has_more` here means that read failed or there were over 100.
        if list.has_more {
            session.warnings.push(Warning {
                code: "line_items_truncated".to_owned(),
                pointer: Some("/line_items".to_owned()),
                detail: format!("stripe returned the first {} line items; the session has more", list.data.len()),
            });
        }
        session.line_items = Some(list.data.into_iter().map(line_item).collect());
    }
    session.metadata = wire.metadata;
    let selected_rate = wire.shipping_cost.and_then(|c| c.shipping_rate).and_then(|rate| match rate {
        Expandable::Id(id) => Some(id),
        Expandable::Object(rate) => rate.id,
    });
    let options = wire.shipping_options.unwrap_or_default();
    let options = options.into_iter().map(|option| shipping_rate(option, currency.as_deref())).collect();
    let details = shipping_details(wire.collected_information);
    session.shipping = Some(Shipping { selected_rate, options, details });
    session.redirects = Some(RedirectTargets {
        success_url: wire.success_url.or(wire.return_url),
        cancel_url: wire.cancel_url,
        success_message: None,
    });
    session.currency = currency;
    session.url = wire.url;
    session.livemode = wire.livemode;
    session.created_at = wire.created.and_then(timestamp::from_unix_seconds);
    session.expires_at = wire.expires_at.and_then(timestamp::from_unix_seconds);
    units::session_to_unified(&mut session);
    Ok(session)
}

/// The published type allows `status: null`. Rather than fail the whole answer, the status is
/// derived the way Stripe's own states follow: a paid session is complete (Stripe sets
/// `payment_status=paid` only on completion), a session past `expires_at` is expired (the
/// rule DESIGN §10 uses for providers without a status), anything else is open; a warning at
/// `/status` says it was derived.
fn derived_status(wire: &WireSession, now: OffsetDateTime) -> (SessionStatus, Option<Warning>) {
    let (status, why) = if wire.payment_status.as_deref() == Some("paid") {
        (SessionStatus::Complete, "payment_status is paid")
    } else if wire.expires_at.is_some_and(|at| at <= now.unix_timestamp()) {
        (SessionStatus::Expired, "expires_at has passed")
    } else {
        (SessionStatus::Open, "the session is unpaid and has not expired")
    };
    let warning = Warning {
        code: "status_derived".to_owned(),
        pointer: Some("/status".to_owned()),
        detail: format!("stripe sent no status; derived from the session ({why})"),
    };
    (status, Some(warning))
}

fn line_item(item: WireLineItem) -> SessionLineItem {
    let (unit_amount, product) = match item.price {
        Some(WirePrice { unit_amount, product: Some(Expandable::Object(product)) }) => (unit_amount, Some(product)),
        Some(WirePrice { unit_amount, .. }) => (unit_amount, None),
        None => (None, None),
    };
    // The line item's own metadata first (where the gateway writes from 2025-12-15.clover on),
    // then the inline product's (where it wrote before, and still does on older versions).
    let product_metadata = product.as_ref().and_then(|p| p.metadata.as_ref());
    let from_metadata = |key: &str| {
        let own = item.metadata.as_ref().and_then(|m| m.get(key));
        own.or_else(|| product_metadata.and_then(|m| m.get(key))).cloned()
    };
    SessionLineItem {
        id: item.id,
        name: item.description.or_else(|| product.as_ref().and_then(|p| p.name.clone())),
        quantity: item.quantity,
        unit_amount,
        amount_total: item.amount_total,
        sku: from_metadata(SKU_KEY),
        external_id: from_metadata(EXTERNAL_ID_KEY),
        image_url: product.as_ref().and_then(|p| p.images.as_ref()).and_then(|images| images.first().cloned()),
    }
}

/// Without `expand[]=shipping_options.shipping_rate` only the id and amount are known.
fn shipping_rate(option: WireShippingOption, session_currency: Option<&str>) -> ShippingRate {
    let mut rate = ShippingRate {
        amount: option.shipping_amount,
        currency: session_currency.map(str::to_owned),
        ..ShippingRate::default()
    };
    match option.shipping_rate {
        Some(Expandable::Id(id)) => rate.id = Some(id),
        Some(Expandable::Object(object)) => {
            rate.id = object.id;
            rate.display_name = object.display_name;
            if let Some(fixed) = object.fixed_amount {
                rate.amount = rate.amount.or(fixed.amount);
                rate.currency = fixed.currency.map(|c| c.to_ascii_uppercase()).or(rate.currency);
            }
            rate.delivery_estimate = object.delivery_estimate.map(|e| DeliveryEstimate {
                minimum: e.minimum.map(|b| DeliveryBound { unit: b.unit, value: b.value }),
                maximum: e.maximum.map(|b| DeliveryBound { unit: b.unit, value: b.value }),
            });
        }
        None => {}
    }
    rate
}

/// Name and address from `collected_information.shipping_details`, the only shipping
/// details Stripe keeps. `customer_details.email` / `.phone` are the paying customer's
/// contact, not the shipment's: reporting them here would show values a client cannot set
/// through `shipping_details` and invent a shipping block for sessions that have none.
fn shipping_details(collected: Option<Collected>) -> Option<Details> {
    let shipping = collected.and_then(|c| c.shipping_details)?;
    let address = shipping.address.map(Address::from);
    Some(Details { name: shipping.name, first_name: None, last_name: None, email: None, phone: None, address })
}

/// The session's current collected shipping details as a form-ready object (null fields
/// dropped), for merging a partial `shipping_details` patch.
pub fn current_shipping_details(response: &ProviderResponse) -> Result<Map<String, Value>, AdapterError> {
    if !response.status().is_success() {
        return Err(error::failure(response));
    }
    let body = wire::json_body(response)?;
    let mut out = Map::new();
    let Some(details) = body.pointer("/collected_information/shipping_details").and_then(Value::as_object) else {
        return Ok(out);
    };
    if let Some(name) = details.get("name").filter(|v| v.is_string()) {
        out.insert("name".to_owned(), name.clone());
    }
    if let Some(address) = details.get("address").and_then(Value::as_object) {
        let kept: Map<String, Value> = address
            .iter()
            .filter(|(key, value)| value.is_string() && ADDRESS_FIELDS.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        out.insert("address".to_owned(), Value::Object(kept));
    }
    Ok(out)
}

const ADDRESS_FIELDS: [&str; 6] = ["line1", "line2", "city", "state", "postal_code", "country"];

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Named {
        name: Option<String>,
    }

    fn expandable(json: &str) -> Result<Expandable<Named>, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    fn cut_short(body: &str) -> bool {
        let response = http::Response::builder().status(200).body(body.as_bytes().to_vec());
        line_items_cut_short(&response.unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn only_a_true_has_more_of_the_line_items_is_cut_short() {
        let cases = [
            (r#"{"id": "cs_1", "line_items": {"data": [], "has_more": true}}"#, true),
            ("{\"line_items\":{\"has_more\"\n :\t true}}", true),
            // The key spelled with an escape is still the key.
            (r#"{"line_items": {"has\u005fmore": true}}"#, true),
            (r#"{"id": "cs_1", "line_items": {"data": [], "has_more": false}}"#, false),
            (r#"{"id": "cs_1"}"#, false),
            // `has_more` elsewhere, or only in a text, is not the items' own.
            (r#"{"shipping_options": {"has_more": true}, "line_items": {"has_more": false}}"#, false),
            (r#"{"metadata": {"note": "\"has_more\": true"}, "line_items": {"has_more": false}}"#, false),
            (r#"{"metadata": {"has_more": "true"}}"#, false),
            ("not json \"has_more\": true", false),
        ];
        for (body, expected) in cases {
            assert_eq!(cut_short(body), expected, "{body}");
        }
        // The byte search never says no where the parse would say yes.
        for (body, expected) in cases {
            assert!(may_say_has_more(body.as_bytes()) || !expected, "{body}");
        }
    }

    #[test]
    fn an_expandable_is_an_id_or_the_object() {
        assert!(matches!(expandable(r#""prod_1""#), Ok(Expandable::Id(id)) if id == "prod_1"));
        assert!(matches!(expandable(r#""prod_\u0031""#), Ok(Expandable::Id(id)) if id == "prod_1"));
        let object = expandable(r#"{"id": "prod_1", "name": "Strap", "images": [], "metadata": {"a": "b"}}"#);
        assert!(matches!(object, Ok(Expandable::Object(Named { name: Some(name) })) if name == "Strap"));
        for other in ["1", "[]", "true"] {
            let refused = expandable(other).err().unwrap_or_default();
            assert!(refused.contains("expected an id or an expanded object"), "{other}: {refused}");
        }
    }
}
