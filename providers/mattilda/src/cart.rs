//! Unified line items → Gr4vy `cart_items`, with each item's `provider_options.mattilda` merged
//! in (`upc`, `seller_country`, `tax_exempt`, `unit_of_measure`, `commodity_code`, `description`,
//! `duty_amount`, `shipping_amount`: `CartItem` fields with no unified equivalent).

use checkout_provider_interface::{AdapterError, FieldProblem, LineItem, LineItemForm, merge_item_options};
use serde_json::{Map, Value};

use crate::{KIND, units};

/// The cart for `items`, amounts in Mattilda's units for `currency`.
pub fn cart_items(items: &[LineItem], currency: Option<&str>) -> Result<Value, AdapterError> {
    let mut unsupported = Vec::new();
    let mut conflicts = Vec::new();
    let mut cart = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        // The gateway's capability check refuses these first; never send a silently altered cart.
        if item.form() != LineItemForm::AdHoc {
            unsupported.push(FieldProblem::new(
                format!("/line_items/{index}"),
                "mattilda takes ad-hoc items only (no item ids or catalog prices)",
            ));
            continue;
        }
        let mut fields = cart_item(item, index, |amount, pointer| units::to_provider(currency, amount, pointer))?;
        conflicts.extend(merge_item_options(&mut fields, item, index, KIND));
        cart.push(Value::Object(fields));
    }
    if !unsupported.is_empty() {
        return Err(AdapterError::Unsupported(unsupported));
    }
    if !conflicts.is_empty() {
        return Err(AdapterError::Invalid(conflicts));
    }
    Ok(Value::Array(cart))
}

/// Per-item options that would overwrite a field the unified item set (checked before any
/// call: the keys do not depend on the session).
pub fn option_conflicts(items: &[LineItem]) -> Vec<FieldProblem> {
    let mut conflicts = Vec::new();
    for (index, item) in items.iter().enumerate().filter(|(_, item)| item.form() == LineItemForm::AdHoc) {
        // Only the keys matter here, so amounts are taken as they are.
        let Ok(mut fields) = cart_item(item, index, |amount, _| Ok(amount)) else { continue };
        conflicts.extend(merge_item_options(&mut fields, item, index, KIND));
    }
    conflicts
}

/// One ad-hoc item as a `CartItem`; every unified item field has a Mattilda field.
fn cart_item(
    item: &LineItem,
    index: usize,
    convert: impl Fn(i64, &str) -> Result<i64, AdapterError>,
) -> Result<Map<String, Value>, AdapterError> {
    let mut out = Map::new();
    let mut money = |key: &str, unified: &str, amount: Option<i64>| -> Result<(), AdapterError> {
        if let Some(amount) = amount {
            let converted = convert(amount, &format!("/line_items/{index}/{unified}"))?;
            out.insert(key.to_owned(), Value::from(converted));
        }
        Ok(())
    };
    money("unit_amount", "unit_amount", item.unit_amount)?;
    money("discount_amount", "discount_amount", item.discount_amount)?;
    money("tax_amount", "tax_amount", item.tax_amount)?;
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            out.insert(key.to_owned(), value);
        }
    };
    put("name", item.name.clone().map(Value::String));
    put("quantity", item.quantity.map(Value::from));
    put("external_identifier", item.external_id.clone().map(Value::String));
    put("sku", item.sku.clone().map(Value::String));
    put("product_url", item.product_url.clone().map(Value::String));
    put("image_url", item.image_url.clone().map(Value::String));
    put("categories", item.categories.clone().map(|c| Value::Array(c.into_iter().map(Value::String).collect())));
    put("product_type", item.product_type.clone().map(Value::String));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use checkout_provider_interface::{AdapterError, LineItem};
    use serde_json::json;

    use super::{cart_items, option_conflicts};

    fn items(value: serde_json::Value) -> Vec<LineItem> {
        serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn item_options_are_merged_into_their_own_cart_item_only() {
        let items = items(json!([
            {"name": "A", "quantity": 1, "unit_amount": 100,
             "provider_options": {"mattilda": {"upc": "012345678905", "duty_amount": 30}, "stripe": {"x": 1}}},
            {"name": "B", "quantity": 2, "unit_amount": 50}
        ]));
        let cart = cart_items(&items, Some("USD")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            cart,
            json!([{"name": "A", "quantity": 1, "unit_amount": 100, "upc": "012345678905", "duty_amount": 30},
                   {"name": "B", "quantity": 2, "unit_amount": 50}])
        );
        assert!(option_conflicts(&items).is_empty());
    }

    #[test]
    fn an_option_may_not_overwrite_a_unified_item_field() {
        let items = items(json!([{"name": "A", "quantity": 1, "unit_amount": 100, "sku": "S",
                          "provider_options": {"mattilda": {"sku": "T", "upc": "1"}}}]));
        let pointers: Vec<_> = option_conflicts(&items).into_iter().map(|p| p.pointer).collect();
        assert_eq!(pointers, ["/line_items/0/provider_options/mattilda/sku"]);
        assert!(matches!(cart_items(&items, None), Err(AdapterError::Invalid(p)) if p.len() == 1));
    }
}
