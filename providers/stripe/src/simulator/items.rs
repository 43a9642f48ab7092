//! Line items of an update form, as Stripe applies them: the list is retransmitted whole; an
//! `{id}` entry keeps an existing item and takes "the new values of the fields to update"
//! (`quantity`, a new `price` or `price_data` replacing its price and product, `metadata` merged
//! key by key, `adjustable_quantity`); `price` / `price_data` entries create new items.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::StripeError;
use super::state::{Item, Session, catalog};
use super::update::{Ids, apply_metadata, integer, positive_integer};

pub fn line_items(
    session: &Session,
    value: &Value,
    ids: &mut dyn Ids,
    item_metadata: bool,
) -> Result<Vec<Item>, StripeError> {
    let Value::Array(entries) = value else {
        return Err(StripeError::invalid("parameter_invalid_array", "Invalid array", "line_items"));
    };
    if entries.is_empty() {
        return Err(StripeError::invalid("", "You must provide at least one line item.", "line_items"));
    }
    let known: &[&str] = if item_metadata {
        &["id", "price", "price_data", "quantity", "metadata", "adjustable_quantity"]
    } else {
        &["id", "price", "price_data", "quantity", "adjustable_quantity"]
    };
    let mut items = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let at = |field: &str| format!("line_items[{index}][{field}]");
        let Value::Object(fields) = entry else {
            return Err(StripeError::invalid(
                "parameter_invalid_array",
                "Invalid hash",
                &format!("line_items[{index}]"),
            ));
        };
        if let Some(key) = fields.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(StripeError::unknown(&at(key)));
        }
        let quantity = match fields.get("quantity") {
            Some(q) => Some(positive_integer(q, &at("quantity"))?),
            None => None,
        };
        let price = match (fields.get("price"), fields.get("price_data")) {
            (Some(price), None) => Some(catalog_item(session, price.as_str().unwrap_or_default(), &at("price"))?),
            (None, Some(Value::Object(data))) => Some(ad_hoc_item(session, data, index)?),
            (None, None) => None,
            _ => {
                let message = "You may only specify one of these parameters: price, price_data.";
                return Err(StripeError::invalid("", message, &at("price")));
            }
        };
        let mut item = if let Some(id) = fields.get("id") {
            let id = id.as_str().unwrap_or_default();
            let existing = session.items.iter().find(|item| item.id == id);
            let mut item =
                existing.cloned().ok_or_else(|| StripeError::missing_resource("line item", id, &at("id")))?;
            // A new price replaces the item's price and product; id, quantity and metadata stay.
            if let Some(price) = price {
                item = Item {
                    id: item.id,
                    quantity: item.quantity,
                    metadata: item.metadata,
                    adjustable_quantity: item.adjustable_quantity,
                    ..price
                };
            }
            item
        } else {
            let Some(mut item) = price else {
                return Err(StripeError::invalid("", "You must specify either `price` or `price_data`.", &at("price")));
            };
            item.id = ids.next("li");
            item.quantity = quantity.ok_or_else(|| StripeError::param_missing(&at("quantity")))?;
            item
        };
        if let Some(quantity) = quantity {
            item.quantity = quantity;
        }
        if let Some(metadata) = fields.get("metadata") {
            apply_metadata(&mut item.metadata, metadata, &at("metadata"))?;
        }
        if let Some(adjustable) = fields.get("adjustable_quantity") {
            item.adjustable_quantity = adjustable_quantity(adjustable, &at("adjustable_quantity"))?;
        }
        items.push(item);
    }
    Ok(items)
}

/// `{enabled, maximum?, minimum?}` as Stripe reports it (unset bounds are null).
fn adjustable_quantity(value: &Value, base: &str) -> Result<Value, StripeError> {
    let enabled = match value.get("enabled").and_then(Value::as_str) {
        Some("true") => true,
        Some("false") => false,
        Some(_) => {
            return Err(StripeError::invalid(
                "parameter_invalid_boolean",
                "Invalid boolean",
                &format!("{base}[enabled]"),
            ));
        }
        None => return Err(StripeError::param_missing(&format!("{base}[enabled]"))),
    };
    let mut out = Map::new();
    out.insert("enabled".to_owned(), json!(enabled));
    for bound in ["maximum", "minimum"] {
        let parsed = match value.get(bound) {
            Some(text) => json!(integer(text, &format!("{base}[{bound}]"))?),
            None => Value::Null,
        };
        out.insert(bound.to_owned(), parsed);
    }
    if let Some(key) =
        value.as_object().and_then(|m| m.keys().find(|k| !["enabled", "maximum", "minimum"].contains(&k.as_str())))
    {
        return Err(StripeError::unknown(&format!("{base}[{key}]")));
    }
    Ok(Value::Object(out))
}

fn catalog_item(session: &Session, price_id: &str, param: &str) -> Result<Item, StripeError> {
    let price = catalog().remove(price_id).ok_or_else(|| StripeError::missing_resource("price", price_id, param))?;
    Ok(Item {
        id: String::new(),
        price_id: price_id.to_owned(),
        product_id: price.product_id.to_owned(),
        name: price.name.to_owned(),
        unit_amount: price.unit_amount,
        quantity: 0,
        currency: session.currency.clone(),
        images: Vec::new(),
        product_metadata: BTreeMap::new(),
        metadata: BTreeMap::new(),
        adjustable_quantity: Value::Null,
    })
}

fn ad_hoc_item(session: &Session, data: &Map<String, Value>, index: usize) -> Result<Item, StripeError> {
    let at = |field: &str| format!("line_items[{index}][price_data]{field}");
    let currency =
        data.get("currency").and_then(Value::as_str).ok_or_else(|| StripeError::param_missing(&at("[currency]")))?;
    if currency != session.currency {
        let message =
            format!("The currency `{currency}` does not match the Checkout Session's currency `{}`.", session.currency);
        return Err(StripeError::invalid("", &message, &at("[currency]")));
    }
    let unit_amount = data.get("unit_amount").ok_or_else(|| StripeError::param_missing(&at("[unit_amount]")))?;
    let unit_amount = i64::try_from(integer(unit_amount, &at("[unit_amount]"))?)
        .map_err(|_| StripeError::invalid("amount_too_large", "Amount too large.", &at("[unit_amount]")))?;
    let Some(Value::Object(product)) = data.get("product_data") else {
        return Err(StripeError::param_missing(&at("[product_data][name]")));
    };
    let name = product.get("name").and_then(Value::as_str).filter(|n| !n.is_empty());
    let name = name.ok_or_else(|| StripeError::param_missing(&at("[product_data][name]")))?;
    let images = match product.get("images") {
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    let product_metadata = match product.get("metadata") {
        Some(Value::Object(map)) => map.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect(),
        _ => BTreeMap::new(),
    };
    Ok(Item {
        id: String::new(),
        price_id: format!("price_inline_{index}"),
        product_id: format!("prod_inline_{index}"),
        name: name.to_owned(),
        unit_amount,
        quantity: 0,
        currency: currency.to_owned(),
        images,
        product_metadata,
        metadata: BTreeMap::new(),
        adjustable_quantity: Value::Null,
    })
}
