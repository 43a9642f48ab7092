//! The unified update request, typed. The gateway validates the raw JSON against the unified
//! JSON Schema first, so these types only need to represent valid input faithfully.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A merge-patch field: absent leaves the provider's value alone, `null` clears it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    #[default]
    Absent,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Self::Absent)
    }

    /// The value when set; `None` for both absent and clear.
    pub fn value(&self) -> Option<&T> {
        match self {
            Self::Set(v) => Some(v),
            Self::Absent | Self::Clear => None,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Only called when the key is present (absent keys take `Default`), so `None` is `null`.
        Ok(Option::<T>::deserialize(deserializer)?.map_or(Self::Clear, Self::Set))
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(serializer)
    }
}

/// `PATCH /v1/checkout/sessions/{id}` body (DESIGN §3.1).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UnifiedUpdate {
    /// `null` clears every key; a key mapped to `null` removes that key.
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub metadata: Patch<BTreeMap<String, Option<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_items: Option<Vec<LineItem>>,
    /// ISO 4217 code as the client sent it; adapters normalise case for their wire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_rate: Option<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub shipping_options: Patch<Vec<ShippingOption>>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub shipping_details: Patch<DetailsPatch>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub billing_details: Patch<DetailsPatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirects: Option<RedirectsPatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<PagePatch>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub description: Patch<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u32>,
    /// Per provider kind; only the entry of the resolved provider's kind is used.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub provider_options: BTreeMap<String, Map<String, Value>>,
}

/// One of three forms (the schema enforces exactly one): keep/update an existing provider item
/// (`id`), a provider catalog price (`price`), or an ad-hoc item (`name` + `unit_amount`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_type: Option<String>,
    /// Per provider kind: provider item fields with no unified equivalent, merged into this
    /// item for providers of that kind only (other kinds' entries are ignored).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub provider_options: BTreeMap<String, Map<String, Value>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineItemForm {
    Existing,
    Catalog,
    AdHoc,
}

impl LineItem {
    pub fn form(&self) -> LineItemForm {
        if self.id.is_some() {
            LineItemForm::Existing
        } else if self.price.is_some() {
            LineItemForm::Catalog
        } else {
            LineItemForm::AdHoc
        }
    }
}

/// Either an existing rate (`shipping_rate`) or an inline fixed-amount rate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingOption {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_rate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_estimate: Option<crate::session::DeliveryEstimate>,
}

/// Shipping or billing details as a merge patch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DetailsPatch {
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub name: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub first_name: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub last_name: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub email: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub phone: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub address: Patch<AddressPatch>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AddressPatch {
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub line1: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub line2: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub city: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub state: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub postal_code: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub country: Patch<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedirectsPatch {
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub success_url: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub cancel_url: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub success_message: Patch<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PagePatch {
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub title: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub description: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub image_url: Patch<String>,
}
