//! Unified line items -> the purchase unit's `items` and the `amount` that must go with them.
//!
//! PayPal checks that `amount.value` = item_total + tax_total + shipping + handling + insurance
//! − shipping_discount − discount (`AMOUNT_MISMATCH`), that item_total = Σ unit_amount ×
//! quantity (`ITEM_TOTAL_MISMATCH`) and tax_total = Σ tax × quantity (`TAX_TOTAL_MISMATCH`). The
//! new items give item_total, tax_total and discount; shipping, handling, insurance and
//! shipping_discount are the order's own, kept as read. Sums are in unified minor units and
//! each is converted once, so the strings add up exactly.

use checkout_provider_interface::{AdapterError, LineItem, adapter::merge_item_options};
use serde_json::{Map, Value, json};

use crate::order::Unit;
use crate::request::invalid;
use crate::{KIND, capabilities, units};

/// The breakdown parts an update keeps from the order.
const KEPT: [&str; 4] = ["shipping", "handling", "insurance", "shipping_discount"];

pub struct Priced {
    pub items: Value,
    pub amount: Value,
}

/// Build `items` and `amount`. The currency is the request's, else the order's.
pub fn build(items: &[LineItem], requested: Option<&str>, unit: &Unit) -> Result<Priced, AdapterError> {
    let held = unit.current("amount/currency_code").and_then(Value::as_str).map(str::to_ascii_uppercase);
    let currency = requested.map(str::to_ascii_uppercase).or_else(|| held.clone()).ok_or_else(|| {
        invalid("/currency", "paypal prices items in the order's currency: give currency (the order was not read)")
    })?;
    let money = |pointer: &str, amount: i64| -> Result<Value, AdapterError> {
        let value = units::to_value(&currency, amount).map_err(|e| invalid(pointer, &e.to_string()))?;
        Ok(json!({"currency_code": currency, "value": value}))
    };
    let overflow = |pointer: &str| invalid(pointer, "the sum overflows");
    let (mut item_total, mut tax_total, mut discount) = (0_i64, 0_i64, 0_i64);
    let mut built = Vec::with_capacity(items.len());
    let mut conflicts = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let base = format!("/line_items/{index}");
        let quantity = i64::from(item.quantity.unwrap_or(1));
        let unit_amount = item.unit_amount.unwrap_or_default();
        let line = unit_amount.checked_mul(quantity).ok_or_else(|| overflow(&base))?;
        item_total = item_total.checked_add(line).ok_or_else(|| overflow(&base))?;
        let mut object = Map::new();
        object.insert("name".to_owned(), json!(item.name.clone().unwrap_or_default()));
        object.insert("quantity".to_owned(), json!(quantity.to_string()));
        object.insert("unit_amount".to_owned(), money(&format!("{base}/unit_amount"), unit_amount)?);
        if let Some(tax) = item.tax_amount.filter(|t| *t != 0) {
            // `capabilities::check` refused a tax that does not divide by the quantity.
            object.insert(
                "tax".to_owned(),
                money(&format!("{base}/tax_amount"), tax.checked_div(quantity).unwrap_or_default())?,
            );
            tax_total = tax_total.checked_add(tax).ok_or_else(|| overflow(&base))?;
        }
        discount = discount.checked_add(item.discount_amount.unwrap_or_default()).ok_or_else(|| overflow(&base))?;
        if let Some(sku) = &item.sku {
            object.insert("sku".to_owned(), json!(sku));
        }
        if let Some(category) = item.product_type.as_deref().and_then(capabilities::category) {
            object.insert("category".to_owned(), json!(category));
        }
        conflicts.extend(merge_item_options(&mut object, item, index, KIND));
        built.push(Value::Object(object));
    }
    if !conflicts.is_empty() {
        return Err(AdapterError::Invalid(conflicts));
    }
    let mut breakdown = Map::new();
    breakdown.insert("item_total".to_owned(), money("/line_items", item_total)?);
    if tax_total != 0 {
        breakdown.insert("tax_total".to_owned(), money("/line_items", tax_total)?);
    }
    let mut total = item_total
        .checked_add(tax_total)
        .and_then(|t| t.checked_sub(discount))
        .ok_or_else(|| overflow("/line_items"))?;
    for part in KEPT {
        let Some(kept) = unit.current(&format!("amount/breakdown/{part}")) else { continue };
        let (code, value) =
            (kept.get("currency_code").and_then(Value::as_str), kept.get("value").and_then(Value::as_str));
        let (Some(code), Some(value)) = (code, value) else { continue };
        if !code.eq_ignore_ascii_case(&currency) {
            let detail = format!("the order's {part} is in {code}: paypal cannot mix currencies in one amount");
            return Err(invalid("/currency", &detail));
        }
        let amount = units::from_value(code, value)
            .map_err(|e| AdapterError::unparseable(format!("the order's {part}: {e}")))?;
        let signed = if part == "shipping_discount" { -amount } else { amount };
        total = total.checked_add(signed).ok_or_else(|| overflow("/line_items"))?;
        breakdown.insert(part.to_owned(), kept.clone());
    }
    if discount != 0 {
        breakdown.insert("discount".to_owned(), money("/line_items", discount)?);
    }
    if total <= 0 {
        return Err(invalid("/line_items", "the items' total after discounts must be more than zero for paypal"));
    }
    let mut amount = Map::new();
    amount.insert("currency_code".to_owned(), json!(currency));
    amount.insert(
        "value".to_owned(),
        json!(units::to_value(&currency, total).map_err(|e| invalid("/line_items", &e.to_string()))?),
    );
    amount.insert("breakdown".to_owned(), Value::Object(breakdown));
    Ok(Priced { items: Value::Array(built), amount: Value::Object(amount) })
}
