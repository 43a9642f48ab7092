//! Unified line items -> Stripe's `line_items[i]`: which fields each item form may carry
//! (checked before dispatch) and the form objects built from them.
//!
//! Stripe's update retransmits the whole list. An `{id}` item keeps an existing item and may
//! change it ("To update an existing line item, specify its `id` along with the new values of
//! the fields to update"): its quantity, its price (a new inline `price_data` built from
//! `name`, `unit_amount` and `image_url`; the unified schema has no `{id, price}` form) and its
//! metadata. `{price}` and ad-hoc items create new items. The unified
//! `sku` / `external_id` ride in the line item's own `metadata` from API 2025-12-15.clover on
//! (any form; read back from the item's metadata); on older versions Stripe has no line-item
//! metadata, so only an ad-hoc item can carry them, in its inline product's metadata (read back
//! through the product expansion). `image_url` is the inline product's first image.
//! `line_items[i].provider_options.stripe` is merged into the item's object.

use checkout_provider_interface::capability::UpdateCheck;
use checkout_provider_interface::{AdapterError, FieldProblem, LineItem, LineItemForm, merge_item_options};
use serde_json::{Map, Value};

use crate::config::StripeConfig;
use crate::{KIND, response};

/// The first version whose update takes `line_items[i][metadata]` (Stripe changelog
/// 2025-12-15.clover: "you can now create and update line item metadata").
pub const ITEM_METADATA_VERSION: &str = "2025-12-15.clover";

/// Whether `sku` / `external_id` go into the line item's own metadata (else the inline
/// product's, ad-hoc items only).
pub fn writes_item_metadata(config: &StripeConfig) -> bool {
    config.api_version_at_least(ITEM_METADATA_VERSION)
}

/// Whether the item is sent with an inline `price_data` (and so needs `currency`): every
/// ad-hoc item, and an `{id}` item that changes its product or amount.
pub fn uses_price_data(item: &LineItem) -> bool {
    match item.form() {
        LineItemForm::AdHoc => true,
        LineItemForm::Existing => changes_inline_price(item),
        LineItemForm::Catalog => false,
    }
}

fn changes_inline_price(item: &LineItem) -> bool {
    item.name.is_some() || item.unit_amount.is_some() || item.image_url.is_some()
}

/// The value-dependent line item rules (run through `Adapter::check_update`).
pub fn check(items: &[LineItem], currency: Option<&str>, config: &StripeConfig, check: &mut UpdateCheck) {
    if items.is_empty() {
        check.invalid.push(FieldProblem::new("/line_items", "stripe needs at least one line item"));
    }
    let item_metadata = writes_item_metadata(config);
    for (index, item) in items.iter().enumerate() {
        let base = format!("/line_items/{index}");
        match item.form() {
            LineItemForm::Existing => check_existing(item, &base, check),
            LineItemForm::Catalog => {
                for (field, present) in [
                    ("name", item.name.is_some()),
                    ("unit_amount", item.unit_amount.is_some()),
                    ("image_url", item.image_url.is_some()),
                ] {
                    if present {
                        check.unsupported.push(FieldProblem::new(
                            format!("{base}/{field}"),
                            "a stripe catalog price defines the product; give an ad-hoc item to set it",
                        ));
                    }
                }
                require_quantity(item, &base, check);
            }
            LineItemForm::AdHoc => {
                if item.name.is_none() {
                    check.invalid.push(FieldProblem::new(format!("{base}/name"), "stripe needs a product name"));
                }
                if item.unit_amount.is_none() {
                    check.invalid.push(FieldProblem::new(format!("{base}/unit_amount"), "stripe needs a unit amount"));
                }
                require_quantity(item, &base, check);
            }
        }
        // Without line-item metadata only an inline product (ad-hoc item) has metadata to hold them.
        if !item_metadata && item.form() != LineItemForm::AdHoc {
            for (field, present) in [("sku", item.sku.is_some()), ("external_id", item.external_id.is_some())] {
                if present {
                    check.unsupported.push(FieldProblem::new(
                        format!("{base}/{field}"),
                        format!(
                            "stripe keeps it in line-item metadata, which needs api_version {ITEM_METADATA_VERSION} or later"
                        ),
                    ));
                }
            }
        }
    }
    if currency.is_none() && items.iter().any(uses_price_data) {
        check.invalid.push(FieldProblem::new(
            "/currency",
            "stripe needs `currency` for an inline price (price_data[currency]) of ad-hoc or changed items",
        ));
    }
}

/// An existing item keeps its price or takes a new inline one; Stripe replaces a price as a
/// whole, so an inline one needs both a name and an amount.
fn check_existing(item: &LineItem, base: &str, check: &mut UpdateCheck) {
    if changes_inline_price(item) {
        let detail = "stripe replaces an existing item's price as a whole: give `name` and `unit_amount` together";
        if item.name.is_none() {
            check.invalid.push(FieldProblem::new(format!("{base}/name"), detail));
        }
        if item.unit_amount.is_none() {
            check.invalid.push(FieldProblem::new(format!("{base}/unit_amount"), detail));
        }
    }
}

fn require_quantity(item: &LineItem, base: &str, check: &mut UpdateCheck) {
    if item.quantity.is_none() {
        check
            .invalid
            .push(FieldProblem::new(format!("{base}/quantity"), "stripe needs a quantity for a new line item"));
    }
}

/// The `line_items` array of the update form. `currency` is the unified `currency`, lower case.
/// A per-item provider option naming a key the unified item set is refused (422).
pub fn build(items: &[LineItem], currency: Option<&str>, config: &StripeConfig) -> Result<Value, AdapterError> {
    let item_metadata = writes_item_metadata(config);
    let mut conflicts = Vec::new();
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let mut object = line_item(item, currency, item_metadata);
        conflicts.extend(merge_item_options(&mut object, item, index, KIND));
        out.push(Value::Object(object));
    }
    if conflicts.is_empty() { Ok(Value::Array(out)) } else { Err(AdapterError::Invalid(conflicts)) }
}

fn line_item(item: &LineItem, currency: Option<&str>, item_metadata: bool) -> Map<String, Value> {
    // Values are built directly rather than through `json!`, whose `to_value` round trip was a
    // large share of building 100 items (BENCHMARKS.md).
    let mut out = Map::new();
    if let Some(id) = &item.id {
        out.insert("id".to_owned(), Value::String(id.clone()));
    }
    if let Some(price) = &item.price {
        out.insert("price".to_owned(), Value::String(price.clone()));
    }
    let ids = ids_metadata(item);
    if uses_price_data(item) {
        let mut product = Map::new();
        product.insert("name".to_owned(), text(item.name.as_deref()));
        if let Some(image) = &item.image_url {
            product.insert("images".to_owned(), Value::Array(vec![Value::String(image.clone())]));
        }
        if !item_metadata && !ids.is_empty() {
            product.insert("metadata".to_owned(), Value::Object(ids.clone()));
        }
        let mut price_data = Map::new();
        price_data.insert("currency".to_owned(), text(currency));
        price_data.insert("product_data".to_owned(), Value::Object(product));
        price_data.insert("unit_amount".to_owned(), item.unit_amount.map_or(Value::Null, Value::from));
        out.insert("price_data".to_owned(), Value::Object(price_data));
    }
    if item_metadata && !ids.is_empty() {
        out.insert("metadata".to_owned(), Value::Object(ids));
    }
    if let Some(quantity) = item.quantity {
        out.insert("quantity".to_owned(), Value::from(quantity));
    }
    out
}

/// `{sku, external_id}` as metadata entries (only those set).
fn ids_metadata(item: &LineItem) -> Map<String, Value> {
    let mut ids = Map::new();
    for (key, value) in [(response::SKU_KEY, &item.sku), (response::EXTERNAL_ID_KEY, &item.external_id)] {
        if let Some(value) = value {
            ids.insert(key.to_owned(), Value::String(value.clone()));
        }
    }
    ids
}

/// A string value, or `null` (sent as an empty value) when absent.
fn text(value: Option<&str>) -> Value {
    value.map_or(Value::Null, |text| Value::String(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use checkout_provider_interface::contract::InlineSecrets;
    use checkout_provider_interface::{ProviderSetup, UnifiedUpdate};
    use serde_json::json;

    use super::*;

    fn config(version: &str) -> StripeConfig {
        let settings = json!({"api_key": {"value": "sk_test_1"}, "api_version": version});
        let map = settings.as_object().cloned().unwrap_or_default();
        StripeConfig::from_setup(&ProviderSetup { name: "stripe-test", settings: &map, secrets: &InlineSecrets })
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn pointers(body: Value, version: &str) -> (Vec<String>, Vec<String>) {
        let update: UnifiedUpdate = serde_json::from_value(body).unwrap_or_default();
        let mut result = UpdateCheck::default();
        check(
            update.line_items.as_deref().unwrap_or_default(),
            update.currency.as_deref(),
            &config(version),
            &mut result,
        );
        let list = |problems: &[FieldProblem]| problems.iter().map(|p| p.pointer.clone()).collect();
        (list(&result.unsupported), list(&result.invalid))
    }

    const CLOVER: &str = "2025-12-15.clover";
    const BASIL: &str = "2025-03-31.basil";

    #[test]
    fn ad_hoc_items_need_currency_name_amount_and_quantity() {
        let (unsupported, invalid) =
            pointers(json!({"line_items": [{"name": "x", "unit_amount": 1, "quantity": 1}]}), CLOVER);
        assert!(unsupported.is_empty());
        assert_eq!(invalid, ["/currency"]);
        let (_, invalid) = pointers(json!({"currency": "usd", "line_items": [{"name": "x"}]}), CLOVER);
        assert_eq!(invalid, ["/line_items/0/unit_amount", "/line_items/0/quantity"]);
        assert_eq!(pointers(json!({"line_items": []}), CLOVER).1, ["/line_items"]);
    }

    #[test]
    fn existing_items_take_a_whole_new_inline_price() {
        let body = json!({"currency": "usd", "line_items": [
            {"id": "li_1", "quantity": 2, "name": "Renamed", "unit_amount": 5, "image_url": "https://e.x/a.png"},
            {"id": "li_2", "image_url": "https://e.x/b.png"},
            {"id": "li_3", "name": "only a name"}]});
        let (unsupported, invalid) = pointers(body, CLOVER);
        assert!(unsupported.is_empty(), "{unsupported:?}");
        assert_eq!(invalid, ["/line_items/1/name", "/line_items/1/unit_amount", "/line_items/2/unit_amount"]);
        let (_, invalid) = pointers(json!({"line_items": [{"id": "li_1", "name": "n", "unit_amount": 5}]}), CLOVER);
        assert_eq!(invalid, ["/currency"]);
    }

    #[test]
    fn ids_need_item_metadata_except_on_ad_hoc_items() {
        let body = json!({"currency": "usd", "line_items": [
            {"id": "li_1", "sku": "s"}, {"price": "p", "quantity": 1, "external_id": "e"},
            {"name": "x", "unit_amount": 1, "quantity": 1, "sku": "s2"}]});
        assert_eq!(pointers(body.clone(), CLOVER), (vec![], vec![]));
        assert_eq!(pointers(body, BASIL).0, ["/line_items/0/sku", "/line_items/1/external_id"]);
        let (unsupported, _) = pointers(json!({"line_items": [{"price": "p", "quantity": 1, "name": "n"}]}), CLOVER);
        assert_eq!(unsupported, ["/line_items/0/name"]);
    }

    #[test]
    fn builds_item_metadata_or_product_metadata_by_version() {
        let update: UnifiedUpdate = serde_json::from_value(json!({"line_items": [
            {"id": "li_1", "name": "N", "unit_amount": 5, "sku": "s"},
            {"name": "x", "unit_amount": 1, "quantity": 1, "external_id": "e"}]}))
        .unwrap_or_default();
        let items = update.line_items.unwrap_or_default();
        let clover = build(&items, Some("usd"), &config(CLOVER)).unwrap_or_default();
        assert_eq!(clover[0]["id"], "li_1");
        assert_eq!(clover[0]["metadata"], json!({"sku": "s"}));
        assert_eq!(clover[0]["price_data"]["product_data"], json!({"name": "N"}));
        assert_eq!(clover[1]["metadata"], json!({"external_id": "e"}));
        let basil = build(&items, Some("usd"), &config(BASIL)).unwrap_or_default();
        assert_eq!(basil[1]["price_data"]["product_data"]["metadata"], json!({"external_id": "e"}));
        assert!(basil[1].get("metadata").is_none());
    }

    #[test]
    fn item_options_merge_and_conflict() {
        let update: UnifiedUpdate = serde_json::from_value(json!({"line_items": [
            {"id": "li_1", "provider_options": {"stripe": {"adjustable_quantity": {"enabled": true}}, "other": {"id": 1}}},
            {"id": "li_2", "sku": "s", "provider_options": {"stripe": {"metadata": {"x": "y"}, "quantity": 3}}}]}))
        .unwrap_or_default();
        let items = update.line_items.unwrap_or_default();
        let built = build(&items[..1], None, &config(CLOVER)).unwrap_or_default();
        assert_eq!(built, json!([{"id": "li_1", "adjustable_quantity": {"enabled": true}}]));
        let Err(AdapterError::Invalid(problems)) = build(&items, None, &config(CLOVER)) else {
            panic!("a conflict is refused")
        };
        let pointers: Vec<_> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(pointers, ["/line_items/1/provider_options/stripe/metadata"]);
    }
}
