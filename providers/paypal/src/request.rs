//! Unified update -> `PATCH /v2/checkout/orders/{id}` with a JSON Patch (RFC 6902) array, built
//! over the order as read just before (PayPal refuses `add` on a present attribute and `replace`
//! on an absent one, so each operation depends on what is there). Requests carry no
//! `Authorization`: the gateway's token source adds the bearer token.

use std::collections::BTreeMap;

use checkout_provider_interface::{
    AdapterError, AddressPatch, CheckedUpdate, Context, DetailsPatch, FieldProblem, Patch, ProviderRequest,
    ProviderResponse, wire,
};
use serde_json::{Map, Value, json};

use crate::capabilities::{MAX_TEXT, ORDER_OPTIONS};
use crate::order::{Unit, unit_for};
use crate::{KIND, items};

pub fn order_path(ctx: &Context) -> String {
    format!("/v2/checkout/orders/{}", wire::encode_segment(&ctx.session_id))
}

/// `GET /v2/checkout/orders/{id}`: the retrieve, the read before an update and the read after
/// its `204`.
pub fn build_retrieve(ctx: &Context) -> Result<ProviderRequest, AdapterError> {
    wire::finish(wire::request(http::Method::GET, &order_path(ctx)), Vec::new())
}

/// The patch for `update` over `current` (the order read first; `None` in a preview, built as
/// if the order had none of the attributes).
pub fn build_update(
    update: &CheckedUpdate,
    current: Option<&ProviderResponse>,
    ctx: &Context,
) -> Result<ProviderRequest, AdapterError> {
    let unit = unit_for(update, current)?;
    let mut patch = Operations::new(&unit);
    if let Some(custom_id) = metadata(&update.metadata, &unit)? {
        patch.set_or_remove("custom_id", custom_id);
    }
    match &update.description {
        Patch::Absent => {}
        Patch::Clear => patch.set_or_remove("description", None),
        Patch::Set(text) => patch.set_or_remove("description", Some(json!(text))),
    }
    if let Some(line_items) = &update.line_items {
        let priced = items::build(line_items, update.currency.as_deref(), &unit)?;
        patch.set_or_remove("items", Some(priced.items));
        // The amount is always there and only `replace` is in the table.
        patch.replace("amount", priced.amount);
    }
    if let Patch::Set(details) = &update.shipping_details {
        shipping(details, &unit, &mut patch)?;
    }
    options(update, &mut patch);
    let body = serde_json::to_vec(&Value::Array(patch.ops))
        .map_err(|e| AdapterError::internal("cannot encode the paypal patch", e))?;
    let builder = wire::request(http::Method::PATCH, &order_path(ctx)).header(http::header::CONTENT_TYPE, wire::JSON);
    wire::finish(builder, body)
}

/// The operations, each `add` or `replace` by whether the unit has the attribute now.
struct Operations<'a> {
    unit: &'a Unit,
    ops: Vec<Value>,
}

impl<'a> Operations<'a> {
    fn new(unit: &'a Unit) -> Self {
        Self { unit, ops: Vec::new() }
    }

    /// Set `attribute` (`/`-separated, escaped) to `value`, or remove it (`None`; nothing when
    /// it is not there: PayPal refuses removing an absent attribute).
    fn set_or_remove(&mut self, attribute: &str, value: Option<Value>) {
        let present = self.unit.current(attribute).is_some();
        let path = self.unit.path(attribute);
        match (value, present) {
            (Some(value), true) => self.ops.push(json!({"op": "replace", "path": path, "value": value})),
            (Some(value), false) => self.ops.push(json!({"op": "add", "path": path, "value": value})),
            (None, true) => self.ops.push(json!({"op": "remove", "path": path})),
            (None, false) => {}
        }
    }

    fn replace(&mut self, attribute: &str, value: Value) {
        let mut op = Map::new();
        op.insert("op".to_owned(), Value::String("replace".to_owned()));
        op.insert("path".to_owned(), Value::String(self.unit.path(attribute)));
        op.insert("value".to_owned(), value);
        self.ops.push(Value::Object(op));
    }
}

/// The unit's new `custom_id` (`Some(None)`: remove it), or `None` when metadata is untouched.
/// The unified metadata is kept in `custom_id` as compact JSON with sorted keys; the patch is
/// merged onto what the order holds. A `custom_id` that is not such JSON was set by someone
/// else: overwriting it would lose it, so the update is refused.
fn metadata(
    patch: &Patch<BTreeMap<String, Option<String>>>,
    unit: &Unit,
) -> Result<Option<Option<Value>>, AdapterError> {
    let mut merged = match patch {
        // An empty patch asks for nothing (as Stripe sends nothing for it).
        Patch::Absent => return Ok(None),
        Patch::Set(changes) if changes.is_empty() => return Ok(None),
        Patch::Clear => BTreeMap::new(),
        Patch::Set(_) => match unit.current("custom_id") {
            None => BTreeMap::new(),
            Some(held) => crate::response::metadata_from_custom_id(held).ok_or_else(|| {
                invalid("/metadata", "the order's custom_id is not gateway metadata (JSON); set it with provider_options.paypal.custom_id")
            })?,
        },
    };
    if let Patch::Set(changes) = patch {
        for (key, value) in changes {
            match value {
                Some(value) => merged.insert(key.clone(), value.clone()),
                None => merged.remove(key),
            };
        }
    }
    if merged.is_empty() {
        return Ok(Some(None));
    }
    let encoded =
        serde_json::to_string(&merged).map_err(|e| AdapterError::internal("cannot encode metadata as JSON", e))?;
    let length = encoded.chars().count();
    if length > MAX_TEXT {
        let detail =
            format!("the metadata takes {length} characters as JSON in paypal's custom_id, which holds {MAX_TEXT}");
        return Err(invalid("/metadata", &detail));
    }
    Ok(Some(Some(Value::String(encoded))))
}

/// `shipping.name` (`{full_name}`) and `shipping.address`, each merged onto the order's.
fn shipping(details: &DetailsPatch, unit: &Unit, patch: &mut Operations<'_>) -> Result<(), AdapterError> {
    if let Patch::Set(name) = &details.name {
        let mut merged = current_object(unit, "shipping/name");
        merged.insert("full_name".to_owned(), json!(name));
        patch.set_or_remove("shipping/name", Some(Value::Object(merged)));
    }
    if let Patch::Set(address) = &details.address {
        let mut merged = current_object(unit, "shipping/address");
        let AddressPatch { line1, line2, city, state, postal_code, country } = address;
        let country = match country {
            Patch::Set(code) => Patch::Set(code.to_ascii_uppercase()),
            Patch::Clear => Patch::Clear,
            Patch::Absent => Patch::Absent,
        };
        let fields = [
            ("address_line_1", line1),
            ("address_line_2", line2),
            ("admin_area_2", city),
            ("admin_area_1", state),
            ("postal_code", postal_code),
            ("country_code", &country),
        ];
        for (key, field) in fields {
            match field {
                Patch::Absent => {}
                Patch::Clear => {
                    merged.remove(key);
                }
                Patch::Set(value) => {
                    merged.insert(key.to_owned(), json!(value));
                }
            }
        }
        if merged.get("country_code").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(invalid(
                "/shipping_details/address/country",
                "paypal requires a country code in the shipping address and the order has none to keep",
            ));
        }
        patch.set_or_remove("shipping/address", Some(Value::Object(merged)));
    }
    Ok(())
}

fn current_object(unit: &Unit, attribute: &str) -> Map<String, Value> {
    unit.current(attribute).and_then(Value::as_object).cloned().unwrap_or_default()
}

/// `provider_options.paypal`: purchase-unit attributes at the unit's path, `intent` and `payer`
/// at the order's; `null` removes. `reference_id` only chose the unit. Conflicts with the
/// unified body were refused by `capabilities::check`.
fn options(update: &CheckedUpdate, patch: &mut Operations<'_>) {
    let Some(options) = update.provider_options.get(KIND) else { return };
    for (key, value) in options {
        if key == "reference_id" {
            continue;
        }
        if ORDER_OPTIONS.contains(&key.as_str()) {
            // Order-level attributes are always present on an order: `replace` (the table's op).
            patch.ops.push(json!({"op": "replace", "path": format!("/{key}"), "value": value}));
        } else {
            // The table's dotted names are the attribute's path in the unit.
            let value = (!value.is_null()).then(|| value.clone());
            patch.set_or_remove(&key.replace('.', "/"), value);
        }
    }
}

pub fn invalid(pointer: &str, detail: &str) -> AdapterError {
    AdapterError::Invalid(vec![FieldProblem::new(pointer, detail)])
}
