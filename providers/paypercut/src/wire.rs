//! Paypercut's checkout session JSON as documented (`CheckoutSession` model, the update page's
//! example). Private to the crate and tolerant: every field Paypercut may omit is optional, and
//! fields that are expandable (an id, or the object on `expand`) accept both forms, so an
//! unexpanded answer never makes the whole session unparseable.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
pub(crate) struct WireSession {
    pub(crate) id: String,
    pub(crate) status: Option<String>,
    pub(crate) payment_status: Option<String>,
    pub(crate) currency: Option<WireCurrency>,
    pub(crate) amount_subtotal: Option<i64>,
    pub(crate) amount_total: Option<i64>,
    pub(crate) total_details: Option<WireTotals>,
    pub(crate) shipping_cost: Option<WireShippingCost>,
    pub(crate) shipping_options: Option<Vec<WireShippingOption>>,
    pub(crate) url: Option<String>,
    pub(crate) success_url: Option<String>,
    pub(crate) cancel_url: Option<String>,
    /// Where an embedded session sends the customer back (it has no `success_url`).
    pub(crate) return_url: Option<String>,
    pub(crate) after_completion: Option<WireAfterCompletion>,
    pub(crate) description: Option<String>,
    pub(crate) metadata: Option<BTreeMap<String, Value>>,
    pub(crate) line_items: Option<Vec<WireLineItem>>,
    pub(crate) livemode: Option<bool>,
    /// ISO 8601 per the model, "seconds since the Unix epoch" per its text: both accepted.
    pub(crate) created: Option<Value>,
    pub(crate) expires_at: Option<Value>,
}

/// `{iso, scale}` as documented; a bare code is accepted too (its scale is then the exponent).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum WireCurrency {
    Object { iso: String, scale: Option<i64> },
    Code(String),
}

impl WireCurrency {
    pub(crate) fn iso(&self) -> &str {
        match self {
            Self::Object { iso, .. } | Self::Code(iso) => iso,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireTotals {
    pub(crate) amount_discount: Option<i64>,
    pub(crate) amount_shipping: Option<i64>,
    pub(crate) amount_tax: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireShippingCost {
    pub(crate) shipping_rate: Option<String>,
    pub(crate) amount_total: Option<i64>,
    /// The cost's own `{iso, scale}`; its amounts are in this scale, not necessarily the session's.
    pub(crate) currency: Option<WireCurrency>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireShippingOption {
    pub(crate) shipping_rate: Option<Expandable<WireShippingRate>>,
}

/// An expandable field: the id alone, or the object.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Expandable<T> {
    Id(String),
    Object(T),
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireShippingRate {
    pub(crate) id: Option<String>,
    pub(crate) display_name: Option<String>,
    pub(crate) fixed_amount: Option<WireFixedAmount>,
    pub(crate) delivery_estimate: Option<WireDeliveryEstimate>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireFixedAmount {
    pub(crate) amount: Option<i64>,
    pub(crate) currency: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireDeliveryEstimate {
    pub(crate) minimum: Option<WireBound>,
    pub(crate) maximum: Option<WireBound>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireBound {
    pub(crate) unit: Option<String>,
    pub(crate) value: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireAfterCompletion {
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    pub(crate) redirect: Option<WireRedirect>,
    pub(crate) hosted: Option<WireHosted>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireRedirect {
    pub(crate) url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireHosted {
    pub(crate) custom_message: Option<String>,
}

/// A line item as the docs show it: `quantity`, `price` (an id, or the price object when
/// expanded), `price_data` (the price object) and `metadata`. It has no `id` and no
/// `amount_total` of its own.
#[derive(Debug, Deserialize)]
pub(crate) struct WireLineItem {
    pub(crate) quantity: Option<u64>,
    pub(crate) price: Option<Expandable<WirePrice>>,
    pub(crate) price_data: Option<WirePrice>,
    pub(crate) metadata: Option<BTreeMap<String, Value>>,
}

/// The price object: `unit_amount` in minor units of its own `currency`, or null when only
/// `unit_amount_decimal` (the same amount as a decimal string, possibly with a fraction of a
/// minor unit) is set.
#[derive(Debug, Deserialize)]
pub(crate) struct WirePrice {
    pub(crate) currency: Option<String>,
    pub(crate) unit_amount: Option<i64>,
    pub(crate) unit_amount_decimal: Option<Value>,
    pub(crate) product_data: Option<WireProduct>,
    pub(crate) product: Option<Expandable<WireProduct>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireProduct {
    pub(crate) name: Option<String>,
}
