//! Reading a PayPal order: which purchase unit the gateway works on, and the paths that address
//! it. One purchase unit is one unified session's worth of goods; an order with several needs
//! `provider_options.paypal.reference_id` to say which one an update changes.

use checkout_provider_interface::{AdapterError, FieldProblem, ProviderResponse, UnifiedUpdate, wire};
use serde_json::{Map, Value};

use crate::KIND;

/// PayPal's reference id when the order was created without one and has one purchase unit.
pub const DEFAULT_REFERENCE: &str = "default";

/// The purchase unit an update addresses: its reference id and its current attributes (empty
/// in a preview, where nothing was read).
#[derive(Debug, Default)]
pub struct Unit {
    pub reference_id: String,
    pub attributes: Map<String, Value>,
}

impl Unit {
    /// The JSON Patch path of `attribute` (`/`-separated, already escaped) in this unit.
    pub fn path(&self, attribute: &str) -> String {
        format!("/purchase_units/@reference_id=='{}'/{attribute}", self.reference_id)
    }

    /// The current value at `attribute` (`/`-separated), if present and not null.
    pub fn current(&self, attribute: &str) -> Option<&Value> {
        let mut value = self.attributes.get(attribute.split('/').next()?)?;
        for token in attribute.split('/').skip(1) {
            value = value.get(token)?;
        }
        (!value.is_null()).then_some(value)
    }
}

/// The unit `update` addresses in the order `current` (the read before the write). Without a
/// read (a preview), the reference id is the option's or PayPal's `default`.
pub fn unit_for(update: &UnifiedUpdate, current: Option<&ProviderResponse>) -> Result<Unit, AdapterError> {
    let wanted = update.provider_options.get(KIND).and_then(|o| o.get("reference_id")).and_then(Value::as_str);
    let Some(response) = current else {
        let reference_id = wanted.unwrap_or(DEFAULT_REFERENCE).to_owned();
        return Ok(Unit { reference_id, attributes: Map::new() });
    };
    let order = wire::json_body(response)?;
    let units = purchase_units(&order);
    let pointer = format!("/provider_options/{KIND}/reference_id");
    let found = match wanted {
        Some(wanted) => units.iter().find(|unit| reference_of(unit) == wanted).ok_or_else(|| {
            AdapterError::Invalid(vec![FieldProblem::new(
                &pointer,
                "the order has no purchase unit with this reference id",
            )])
        })?,
        None => match units.as_slice() {
            [only] => only,
            [] => return Err(AdapterError::unparseable("the order has no purchase units")),
            several => {
                let detail = format!("the order has {} purchase units: name the one to update", several.len());
                return Err(AdapterError::Invalid(vec![FieldProblem::new(pointer, detail)]));
            }
        },
    };
    let reference_id = reference_of(found).to_owned();
    if !crate::capabilities::addressable(&reference_id) {
        let detail = "the purchase unit's reference id cannot be addressed in a patch path";
        return Err(AdapterError::Invalid(vec![FieldProblem::new(pointer, detail)]));
    }
    Ok(Unit { reference_id, attributes: (*found).clone() })
}

/// The order's purchase units (objects only).
pub fn purchase_units(order: &Value) -> Vec<&Map<String, Value>> {
    order.get("purchase_units").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object).collect()
}

/// A unit's reference id; PayPal's `default` when it has none.
pub fn reference_of(unit: &Map<String, Value>) -> &str {
    unit.get("reference_id").and_then(Value::as_str).unwrap_or(DEFAULT_REFERENCE)
}
