//! What Mattilda can update (DESIGN §10, mattilda column), and the value-dependent rules the
//! table cannot express.

use checkout_provider_interface::capability::UpdateCheck;
use checkout_provider_interface::{
    Capabilities, DetailsPatch, Feature, FieldProblem, IdempotencyMode, LineItemForm, Patch, Support, UnifiedUpdate,
};

pub static CAPABILITIES: Capabilities = Capabilities {
    features: &[
        (Feature::MetadataSet, Support::Emulated("the full `metadata` map, merged with the session's after a read")),
        (Feature::MetadataRemove, Support::Emulated("the key left out of the full `metadata` map sent after a read")),
        (Feature::LineItemsAdHoc, Support::Native("`cart_items[]` (replaces the cart)")),
        (Feature::ItemSku, Support::Native("`cart_items[].sku`")),
        (Feature::ItemExternalId, Support::Native("`cart_items[].external_identifier`")),
        (Feature::ItemImageUrl, Support::Native("`cart_items[].image_url`")),
        (Feature::ItemDiscountAmount, Support::Native("`cart_items[].discount_amount`")),
        (Feature::ItemTaxAmount, Support::Native("`cart_items[].tax_amount`")),
        (Feature::ItemProductUrl, Support::Native("`cart_items[].product_url`")),
        (Feature::ItemCategories, Support::Native("`cart_items[].categories`")),
        (Feature::ItemProductType, Support::Native("`cart_items[].product_type`")),
        (
            Feature::ItemProviderOptions,
            Support::Native("merged into that `cart_items[i]` (e.g. `upc`, `seller_country`, `duty_amount`)"),
        ),
        (Feature::Currency, Support::Native("`currency` (upper case)")),
        (
            Feature::ShippingDetails,
            Support::Emulated("`buyer.shipping_details`, merged with the session's buyer after a read"),
        ),
        (
            Feature::BillingDetails,
            Support::Emulated("`buyer.billing_details`, merged with the session's buyer after a read"),
        ),
        (Feature::ExpiresIn, Support::Native("`expires_in`")),
    ],
    // A PUT carrying the full state is an overwrite: repeating it changes nothing more.
    idempotency: IdempotencyMode::Overwrite,
};

/// Gr4vy's `ProductType` enum.
pub const PRODUCT_TYPES: [&str; 8] =
    ["physical", "discount", "shipping_fee", "sales_tax", "digital", "gift_card", "store_credit", "surcharge"];

/// Rules that depend on values: names Mattilda cannot store, items it cannot take, values over
/// its length limits, per-item options that would overwrite a unified item field.
pub fn check(update: &UnifiedUpdate) -> UpdateCheck {
    let mut check = UpdateCheck::default();
    crate::limits::check(update, &mut check.unsupported);
    if let Some(items) = &update.line_items {
        check.invalid.extend(crate::cart::option_conflicts(items));
    }
    for (index, item) in update.line_items.iter().flatten().enumerate() {
        if item.form() != LineItemForm::AdHoc {
            continue; // reported by the capability table
        }
        if item.quantity.is_none() {
            check.invalid.push(FieldProblem::new(
                format!("/line_items/{index}/quantity"),
                "mattilda cart items need a quantity",
            ));
        }
        if let Some(kind) = &item.product_type {
            if !PRODUCT_TYPES.contains(&kind.as_str()) {
                check.invalid.push(FieldProblem::new(
                    format!("/line_items/{index}/product_type"),
                    format!("mattilda accepts product_type {}", PRODUCT_TYPES.join(", ")),
                ));
            }
        }
    }
    for (pointer, details) in
        [("/shipping_details", &update.shipping_details), ("/billing_details", &update.billing_details)]
    {
        if let Patch::Set(details) = details {
            check_name(pointer, details, &mut check);
        }
    }
    check
}

/// Mattilda stores `first_name` and `last_name`, never a full name. A `name` is accepted only as
/// the display form of the two parts sent with it, so nothing the client sent is dropped.
fn check_name(pointer: &str, details: &DetailsPatch, check: &mut UpdateCheck) {
    let at = format!("{pointer}/name");
    match (&details.name, &details.first_name, &details.last_name) {
        (Patch::Absent, _, _) => {}
        (Patch::Set(name), Patch::Set(first), Patch::Set(last)) => {
            if name.trim() != format!("{} {}", first.trim(), last.trim()) {
                check.invalid.push(FieldProblem::new(
                    at,
                    "mattilda stores first_name and last_name only; name must equal \"<first_name> <last_name>\"",
                ));
            }
        }
        (Patch::Clear, Patch::Clear, Patch::Clear) => {}
        _ => check.unsupported.push(FieldProblem::new(
            at,
            "mattilda cannot store a full name: send first_name and last_name (name is accepted only with both)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use checkout_provider_interface::UnifiedUpdate;
    use serde_json::json;

    use super::check;

    fn update(value: serde_json::Value) -> UnifiedUpdate {
        serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_name_alone_is_unsupported_but_a_consistent_one_passes() {
        let alone = check(&update(json!({"shipping_details": {"name": "Jenny Rosen"}})));
        assert_eq!(alone.unsupported.len(), 1);
        assert_eq!(alone.unsupported[0].pointer, "/shipping_details/name");
        let consistent = check(&update(
            json!({"billing_details": {"name": "Jenny Rosen", "first_name": "Jenny", "last_name": "Rosen"}}),
        ));
        assert_eq!(consistent, Default::default());
        let different = check(&update(
            json!({"billing_details": {"name": "J. Rosen", "first_name": "Jenny", "last_name": "Rosen"}}),
        ));
        assert_eq!(different.invalid.len(), 1);
        let cleared = check(&update(json!({"billing_details": {"name": null, "first_name": null, "last_name": null}})));
        assert_eq!(cleared, Default::default());
    }

    #[test]
    fn items_need_a_quantity_and_a_known_product_type() {
        let result = check(&update(json!({"line_items": [
            {"name": "A", "unit_amount": 100},
            {"name": "B", "unit_amount": 100, "quantity": 1, "product_type": "service"},
            {"id": "li_1"}
        ]})));
        let pointers: Vec<_> = result.invalid.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(pointers, ["/line_items/0/quantity", "/line_items/1/product_type"]);
    }
}
