//! The unified session returned by every endpoint (DESIGN §3.2). Every field is always present
//! on the wire; `null` means the provider did not report it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnifiedSession {
    /// Always `checkout_session`.
    pub object: String,
    pub id: String,
    /// The configured provider name; filled in by the gateway.
    pub provider: String,
    pub provider_kind: String,
    pub status: SessionStatus,
    pub payment_status: Option<PaymentStatus>,
    /// Upper-case ISO 4217 code (or the provider's currency code, e.g. `SATS`).
    pub currency: Option<String>,
    pub amounts: Amounts,
    pub line_items: Option<Vec<SessionLineItem>>,
    pub metadata: Option<BTreeMap<String, String>>,
    pub shipping: Option<Shipping>,
    pub redirects: Option<RedirectTargets>,
    pub page: Option<PageTexts>,
    pub description: Option<String>,
    pub payment_method: Option<PaymentMethodSummary>,
    pub url: Option<String>,
    pub livemode: Option<bool>,
    /// RFC 3339, UTC.
    pub created_at: Option<String>,
    /// RFC 3339, UTC.
    pub expires_at: Option<String>,
    pub warnings: Vec<Warning>,
    /// The provider's raw response object; only with `?include=provider_data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_data: Option<Value>,
}

impl UnifiedSession {
    /// A session with every optional field null, for adapters to fill in.
    pub fn new(id: impl Into<String>, provider_kind: &str, status: SessionStatus) -> Self {
        Self {
            object: "checkout_session".to_owned(),
            id: id.into(),
            provider: String::new(),
            provider_kind: provider_kind.to_owned(),
            status,
            payment_status: None,
            currency: None,
            amounts: Amounts::default(),
            line_items: None,
            metadata: None,
            shipping: None,
            redirects: None,
            page: None,
            description: None,
            payment_method: None,
            url: None,
            livemode: None,
            created_at: None,
            expires_at: None,
            warnings: Vec::new(),
            provider_data: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Open,
    Complete,
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Unpaid,
    Paid,
    NoPaymentRequired,
}

/// Minor-unit integers in the session's currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Amounts {
    pub subtotal: Option<i64>,
    pub discount: Option<i64>,
    pub tax: Option<i64>,
    pub shipping: Option<i64>,
    pub total: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionLineItem {
    pub id: Option<String>,
    pub name: Option<String>,
    pub quantity: Option<u64>,
    pub unit_amount: Option<i64>,
    pub amount_total: Option<i64>,
    pub sku: Option<String>,
    pub external_id: Option<String>,
    pub image_url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Shipping {
    pub selected_rate: Option<String>,
    pub options: Vec<ShippingRate>,
    pub details: Option<Details>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingRate {
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub delivery_estimate: Option<DeliveryEstimate>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryEstimate {
    #[serde(default)]
    pub minimum: Option<DeliveryBound>,
    #[serde(default)]
    pub maximum: Option<DeliveryBound>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryBound {
    /// `hour`, `day`, `business_day`, `week` or `month`.
    pub unit: String,
    pub value: u32,
}

/// Shipping or billing details as the provider reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Details {
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<Address>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedirectTargets {
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub success_message: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageTexts {
    pub title: Option<String>,
    pub description: Option<String>,
    pub image_url: Option<String>,
}

/// What the buyer chose to pay with, where the provider reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethodSummary {
    /// e.g. `card`, `paypal`.
    pub method: Option<String>,
    /// Card scheme, e.g. `visa`.
    pub scheme: Option<String>,
    /// Display label, e.g. the last four digits.
    pub label: Option<String>,
    pub id: Option<String>,
}

/// Something the client should know that did not fail the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Warning {
    /// e.g. `field_ignored`, `amount_not_convertible`.
    pub code: String,
    pub pointer: Option<String>,
    pub detail: String,
}
