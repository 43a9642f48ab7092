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
use checkout_provider_interface::money::CurrencyUnits;
use checkout_provider_interface::{AdapterError, FieldProblem, LineItem, LineItemForm, merge_item_options};
use serde_json::{Map, Value};

use crate::config::StripeConfig;
use crate::{KIND, form, response, units};

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
        // Pointers are built only for the problems found: most items have none.
        let at = |field: &str| format!("/line_items/{index}/{field}");
        match item.form() {
            LineItemForm::Existing => check_existing(item, index, check),
            LineItemForm::Catalog => {
                for (field, present) in [
                    ("name", item.name.is_some()),
                    ("unit_amount", item.unit_amount.is_some()),
                    ("image_url", item.image_url.is_some()),
                ] {
                    if present {
                        check.unsupported.push(FieldProblem::new(
                            at(field),
                            "a stripe catalog price defines the product; give an ad-hoc item to set it",
                        ));
                    }
                }
                require_quantity(item, index, check);
            }
            LineItemForm::AdHoc => {
                if item.name.is_none() {
                    check.invalid.push(FieldProblem::new(at("name"), "stripe needs a product name"));
                }
                if item.unit_amount.is_none() {
                    check.invalid.push(FieldProblem::new(at("unit_amount"), "stripe needs a unit amount"));
                }
                require_quantity(item, index, check);
            }
        }
        // Without line-item metadata only an inline product (ad-hoc item) has metadata to hold them.
        if !item_metadata && item.form() != LineItemForm::AdHoc {
            for (field, present) in [("sku", item.sku.is_some()), ("external_id", item.external_id.is_some())] {
                if present {
                    check.unsupported.push(FieldProblem::new(
                        at(field),
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
fn check_existing(item: &LineItem, index: usize, check: &mut UpdateCheck) {
    if changes_inline_price(item) {
        let detail = "stripe replaces an existing item's price as a whole: give `name` and `unit_amount` together";
        if item.name.is_none() {
            check.invalid.push(FieldProblem::new(format!("/line_items/{index}/name"), detail));
        }
        if item.unit_amount.is_none() {
            check.invalid.push(FieldProblem::new(format!("/line_items/{index}/unit_amount"), detail));
        }
    }
}

fn require_quantity(item: &LineItem, index: usize, check: &mut UpdateCheck) {
    if item.quantity.is_none() {
        let pointer = format!("/line_items/{index}/quantity");
        check.invalid.push(FieldProblem::new(pointer, "stripe needs a quantity for a new line item"));
    }
}

/// The `line_items[…]` pairs of the update form, written straight from the typed items: the
/// same bytes as encoding the tree [`build_item`] makes (the tests hold them equal), without
/// building and dropping one. `currency` is the unified `currency`, lower case; unit amounts go
/// in Stripe's units (`units.rs`: `rules::check` already refused amounts it cannot take
/// exactly). An item with `provider_options.stripe` goes through the tree, where its options
/// merge; an option naming a key the unified item set is refused (422), all conflicts at once.
pub fn encode(items: &[LineItem], currency: Option<&str>, config: &StripeConfig) -> Result<String, AdapterError> {
    let item_metadata = writes_item_metadata(config);
    // About 170 bytes of pairs for an ad-hoc item with a name, sku and external id.
    let mut pairs = form::Pairs::new("line_items", 192 * items.len());
    if items.is_empty() {
        pairs.text(None);
    }
    let units = currency.map(units::of);
    let mut conflicts = Vec::new();
    for (index, item) in items.iter().enumerate() {
        if item.provider_options.contains_key(KIND) {
            let mut object = build_item(item, index, currency, units, item_metadata)?;
            conflicts.extend(merge_item_options(&mut object, item, index, KIND));
            // Only the client's own options nest deep enough to fail (as in `request.rs`).
            let encoded = pairs.element(index, |pairs| pairs.json(&Value::Object(object)));
            encoded
                .map_err(|e| AdapterError::Invalid(vec![FieldProblem::new("", format!("cannot form-encode: {e}"))]))?;
        } else {
            let amount = stripe_amount(item, index, units)?;
            pairs.element(index, |pairs| write_item(pairs, item, currency, amount, item_metadata));
        }
    }
    if conflicts.is_empty() { Ok(pairs.finish()) } else { Err(AdapterError::Invalid(conflicts)) }
}

/// The item's `price_data[unit_amount]`: in Stripe's units when the currency is known; `None`
/// for an item without `price_data`.
fn stripe_amount(item: &LineItem, index: usize, units: Option<CurrencyUnits<'_>>) -> Result<Option<i64>, AdapterError> {
    if !uses_price_data(item) {
        return Ok(None);
    }
    match (item.unit_amount, units) {
        (Some(amount), Some(units)) => units.to_provider(amount).map(Some).map_err(|e| {
            AdapterError::Invalid(vec![FieldProblem::new(format!("/line_items/{index}/unit_amount"), e.to_string())])
        }),
        (amount, _) => Ok(amount),
    }
}

/// One item's pairs, keys in the sorted order `form::encode` gives the tree of [`build_item`]:
/// `id`, `metadata`, `price`, `price_data` (`currency`, `product_data` (`images`, `metadata`,
/// `name`), `unit_amount`), `quantity`; metadata keys `external_id` before `sku`.
fn write_item(
    pairs: &mut form::Pairs,
    item: &LineItem,
    currency: Option<&str>,
    amount: Option<i64>,
    item_metadata: bool,
) {
    let has_ids = item.sku.is_some() || item.external_id.is_some();
    if let Some(id) = &item.id {
        pairs.nested("id", |pairs| pairs.text(Some(id)));
    }
    if item_metadata && has_ids {
        pairs.nested("metadata", |pairs| write_ids(pairs, item));
    }
    if let Some(price) = &item.price {
        pairs.nested("price", |pairs| pairs.text(Some(price)));
    }
    if uses_price_data(item) {
        pairs.nested("price_data", |pairs| {
            pairs.nested("currency", |pairs| pairs.text(currency));
            pairs.nested("product_data", |pairs| {
                if let Some(image) = &item.image_url {
                    pairs.nested("images", |pairs| pairs.element(0, |pairs| pairs.text(Some(image))));
                }
                if !item_metadata && has_ids {
                    pairs.nested("metadata", |pairs| write_ids(pairs, item));
                }
                pairs.nested("name", |pairs| pairs.text(item.name.as_deref()));
            });
            pairs.nested("unit_amount", |pairs| pairs.integer(amount));
        });
    }
    if let Some(quantity) = item.quantity {
        pairs.nested("quantity", |pairs| pairs.integer(Some(i64::from(quantity))));
    }
}

fn write_ids(pairs: &mut form::Pairs, item: &LineItem) {
    // Sorted: `external_id` < `sku`.
    if let Some(external_id) = &item.external_id {
        pairs.nested(response::EXTERNAL_ID_KEY, |pairs| pairs.text(Some(external_id)));
    }
    if let Some(sku) = &item.sku {
        pairs.nested(response::SKU_KEY, |pairs| pairs.text(Some(sku)));
    }
}

/// One item as a form object, for an item whose provider options must merge into it.
fn build_item(
    item: &LineItem,
    index: usize,
    currency: Option<&str>,
    units: Option<CurrencyUnits<'_>>,
    item_metadata: bool,
) -> Result<Map<String, Value>, AdapterError> {
    let amount = stripe_amount(item, index, units)?;
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
        price_data.insert("unit_amount".to_owned(), amount.map_or(Value::Null, Value::from));
        out.insert("price_data".to_owned(), Value::Object(price_data));
    }
    if item_metadata && !ids.is_empty() {
        out.insert("metadata".to_owned(), Value::Object(ids));
    }
    if let Some(quantity) = item.quantity {
        out.insert("quantity".to_owned(), Value::from(quantity));
    }
    Ok(out)
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
    use proptest::prelude::*;
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

    /// The items as the tree `build_item` makes, encoded by `form::encode`: what `encode` must
    /// equal byte for byte.
    fn through_tree(items: &[LineItem], currency: Option<&str>, config: &StripeConfig) -> Result<String, String> {
        let item_metadata = writes_item_metadata(config);
        let mut built = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let units = currency.map(units::of);
            let mut object = build_item(item, index, currency, units, item_metadata).map_err(|e| e.to_string())?;
            let conflicts = merge_item_options(&mut object, item, index, KIND);
            if !conflicts.is_empty() {
                return Err(AdapterError::Invalid(conflicts).to_string());
            }
            built.push(Value::Object(object));
        }
        let body = json!({"line_items": built}).as_object().cloned().unwrap_or_default();
        form::encode(&body).map_err(|e| e.to_string())
    }

    fn items(body: Value) -> Vec<LineItem> {
        let update: UnifiedUpdate = serde_json::from_value(body).unwrap_or_else(|e| panic!("{e}"));
        update.line_items.unwrap_or_default()
    }

    fn pairs_of(items: &[LineItem], currency: Option<&str>, version: &str) -> String {
        encode(items, currency, &config(version)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn builds_item_metadata_or_product_metadata_by_version() {
        let items = items(json!({"line_items": [
            {"id": "li_1", "name": "N", "unit_amount": 5, "sku": "s"},
            {"name": "x", "unit_amount": 1, "quantity": 1, "external_id": "e"}]}));
        assert_eq!(
            pairs_of(&items, Some("usd"), CLOVER),
            "line_items[0][id]=li_1&line_items[0][metadata][sku]=s&line_items[0][price_data][currency]=usd\
             &line_items[0][price_data][product_data][name]=N&line_items[0][price_data][unit_amount]=5\
             &line_items[1][metadata][external_id]=e&line_items[1][price_data][currency]=usd\
             &line_items[1][price_data][product_data][name]=x&line_items[1][price_data][unit_amount]=1\
             &line_items[1][quantity]=1"
        );
        let basil = pairs_of(&items[1..], Some("usd"), BASIL);
        assert!(basil.contains("line_items[0][price_data][product_data][metadata][external_id]=e"), "{basil}");
        assert!(!basil.contains("line_items[0][metadata]"), "{basil}");
    }

    #[test]
    fn amounts_go_in_stripe_units() {
        let items = items(json!({"line_items": [{"name": "x", "unit_amount": 5, "quantity": 1}]}));
        assert!(pairs_of(&items, Some("isk"), CLOVER).contains("[unit_amount]=500&"));
        // Without a currency (refused before dispatch) the amount is left as is.
        assert!(pairs_of(&items, None, CLOVER).contains("[currency]=&"));
    }

    #[test]
    fn item_options_merge_and_conflict() {
        let items = items(json!({"line_items": [
            {"id": "li_1", "provider_options": {"stripe": {"adjustable_quantity": {"enabled": true}}, "other": {"id": 1}}},
            {"id": "li_2", "sku": "s", "provider_options": {"stripe": {"metadata": {"x": "y"}, "quantity": 3}}}]}));
        assert_eq!(
            pairs_of(&items[..1], None, CLOVER),
            "line_items[0][adjustable_quantity][enabled]=true&line_items[0][id]=li_1"
        );
        let Err(AdapterError::Invalid(problems)) = encode(&items, None, &config(CLOVER)) else {
            panic!("a conflict is refused")
        };
        let pointers: Vec<_> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(pointers, ["/line_items/1/provider_options/stripe/metadata"]);
    }

    /// Texts drawn from what makes form encoding interesting.
    fn text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(
            proptest::string::string_regex("[a-z0-9 _.~*'()!$,;:/?@&=+%#\\[\\]\"<>\\x00-\\x1f\\x7fäß€😀-]{0,8}")
                .unwrap_or_else(|e| panic!("{e}")),
        )
    }

    fn line_item() -> impl Strategy<Value = LineItem> {
        let ids = (text(), text(), text(), text(), text(), text());
        let numbers = (proptest::option::of(any::<u32>()), proptest::option::of(-1_000_000_i64..1_000_000));
        (ids, numbers).prop_map(|((id, price, name, sku, external_id, image_url), (quantity, unit_amount))| LineItem {
            id,
            price,
            name,
            sku,
            external_id,
            image_url,
            quantity,
            unit_amount,
            ..LineItem::default()
        })
    }

    proptest! {
        /// Every item form, with and without line-item metadata, every currency case: the pairs
        /// written straight from the items are the encoded tree, byte for byte.
        #[test]
        fn writes_the_same_pairs_as_the_encoded_tree(
            items in prop::collection::vec(line_item(), 0..4),
            currency in proptest::option::of(prop_oneof![Just("usd"), Just("isk"), Just("kwd"), Just("jpy")]),
            clover in any::<bool>(),
        ) {
            let config = config(if clover { CLOVER } else { BASIL });
            let direct = encode(&items, currency, &config).map_err(|e| e.to_string());
            prop_assert_eq!(direct, through_tree(&items, currency, &config));
        }
    }
}
