//! What the PayPal adapter can express: the purchase-unit attributes of the PATCH description's
//! table that the unified update has a field for. Features not listed are unsupported;
//! value-dependent limits are in [`check`].

use checkout_provider_interface::capability::{UpdateCheck, escape_pointer};
use checkout_provider_interface::{
    Capabilities, Feature, FieldProblem, IdempotencyMode, LineItemForm, Patch, Support, UnifiedUpdate,
};

use crate::KIND;

pub static CAPABILITIES: Capabilities = Capabilities {
    features: &[
        (
            Feature::MetadataSet,
            Support::Emulated(
                "purchase unit custom_id holds the metadata as compact JSON ({\"k\":\"v\"}, sorted keys, at most 127 characters), merged onto the order's after a read",
            ),
        ),
        (
            Feature::MetadataRemove,
            Support::Emulated("the key is dropped from the custom_id JSON; an empty map removes custom_id"),
        ),
        (
            Feature::LineItemsAdHoc,
            Support::Native(
                "purchase unit items[] (name, quantity, unit_amount), with amount replaced by a breakdown that adds up (the order's shipping, handling, insurance and shipping_discount kept)",
            ),
        ),
        (Feature::ItemSku, Support::Native("items[].sku")),
        (
            Feature::ItemTaxAmount,
            Support::Native(
                "items[].tax per unit (the line's tax divided by quantity, exactly), summed into breakdown.tax_total",
            ),
        ),
        (
            Feature::ItemDiscountAmount,
            Support::Emulated("summed into the purchase unit's breakdown.discount (PayPal items carry no discount)"),
        ),
        (
            Feature::ItemProductType,
            Support::Native(
                "items[].category: physical -> PHYSICAL_GOODS, digital -> DIGITAL_GOODS (other types unsupported)",
            ),
        ),
        (Feature::ItemProviderOptions, Support::Native("merged into items[i] (e.g. description)")),
        (
            Feature::Currency,
            Support::Native("currency_code of the items and the replaced amount; only with line_items"),
        ),
        (
            Feature::ShippingDetails,
            Support::Native(
                "shipping.name.full_name and shipping.address (merged onto the order's after a read); name and address only, never removed",
            ),
        ),
        (Feature::Description, Support::Native("purchase unit description")),
    ],
    // A JSON Patch that sets values: repeating it has no further effect (see README: a repeat
    // PayPal already applied may be refused by its add/replace rule, never applied twice).
    idempotency: IdempotencyMode::Overwrite,
};

/// The most characters PayPal takes in `custom_id`, `description`, `invoice_id`, an item's
/// `name` and `sku` (the description's `maxLength`).
pub const MAX_TEXT: usize = 127;

/// `provider_options.paypal` keys, named as the PATCH description's table names them (a dot
/// for nesting): the purchase-unit attributes the unified body has no field for, `intent` at
/// the order's level, and `reference_id` (which purchase unit to address, not written).
pub const UNIT_OPTIONS: [&str; 11] = [
    "custom_id",
    "description",
    "invoice_id",
    "soft_descriptor",
    "payee.email",
    "shipping.type",
    "payment_instruction",
    "payment_instruction.disbursement_mode",
    "payment_instruction.platform_fees",
    "supplementary_data.airline",
    "supplementary_data.card",
];
pub const ORDER_OPTIONS: [&str; 1] = ["intent"];
/// Options the table allows to be removed (`null`).
pub const REMOVABLE_OPTIONS: [&str; 7] = [
    "custom_id",
    "description",
    "invoice_id",
    "soft_descriptor",
    "payment_instruction.platform_fees",
    "supplementary_data.airline",
    "supplementary_data.card",
];

/// Value-dependent rules: forms and parts of a field PayPal cannot take.
pub fn check(update: &UnifiedUpdate) -> UpdateCheck {
    let mut check = UpdateCheck::default();
    let mut unsupported = |pointer: String, detail: &str| check.unsupported.push(FieldProblem::new(pointer, detail));
    if update.currency.is_some() && update.line_items.is_none() {
        unsupported("/currency".to_owned(), "paypal takes currency only with the line_items it prices");
    }
    for (index, item) in update.line_items.iter().flatten().enumerate() {
        let base = format!("/line_items/{index}");
        match item.form() {
            LineItemForm::Existing => {
                unsupported(base.clone(), "paypal items have no ids: send the whole list as ad-hoc items");
            }
            LineItemForm::Catalog => unsupported(base.clone(), "paypal has no catalog prices: send ad-hoc items"),
            LineItemForm::AdHoc => {}
        }
        if item.product_type.as_deref().is_some_and(|t| category(t).is_none()) {
            unsupported(format!("{base}/product_type"), "paypal item categories are physical and digital goods only");
        }
    }
    if let Patch::Set(details) = &update.shipping_details {
        let parts = [
            (details.first_name.is_absent(), "first_name"),
            (details.last_name.is_absent(), "last_name"),
            (details.email.is_absent(), "email"),
            (details.phone.is_absent(), "phone"),
        ];
        for (absent, field) in parts {
            if !absent {
                unsupported(
                    format!("/shipping_details/{field}"),
                    "paypal shipping holds a full name and an address only",
                );
            }
        }
        if matches!(details.name, Patch::Clear) {
            unsupported("/shipping_details/name".to_owned(), "paypal can replace the shipping name, never remove it");
        }
        if matches!(details.address, Patch::Clear) {
            unsupported(
                "/shipping_details/address".to_owned(),
                "paypal can replace the shipping address, never remove it",
            );
        }
    }
    if matches!(update.shipping_details, Patch::Clear) {
        unsupported("/shipping_details".to_owned(), "paypal can replace shipping name and address, never remove them");
    }
    check_options(update, &mut check);
    check_lengths(update, &mut check);
    check
}

/// PayPal's item category for a unified product type.
pub fn category(product_type: &str) -> Option<&'static str> {
    match product_type {
        "physical" => Some("PHYSICAL_GOODS"),
        "digital" => Some("DIGITAL_GOODS"),
        _ => None,
    }
}

fn check_options(update: &UnifiedUpdate, check: &mut UpdateCheck) {
    let Some(options) = update.provider_options.get(KIND) else { return };
    for (key, value) in options {
        let pointer = format!("/provider_options/{KIND}/{}", escape_pointer(key));
        let known =
            key == "reference_id" || UNIT_OPTIONS.contains(&key.as_str()) || ORDER_OPTIONS.contains(&key.as_str());
        if !known {
            check.unsupported.push(FieldProblem::new(pointer, "not a patchable paypal order attribute"));
            continue;
        }
        let set_by_body = (key == "custom_id" && !update.metadata.is_absent())
            || (key == "description" && !update.description.is_absent());
        if set_by_body {
            check.invalid.push(FieldProblem::new(pointer, format!("`{key}` is already set by the unified request")));
        } else if key == "reference_id" && !value.as_str().is_some_and(addressable) {
            check.invalid.push(FieldProblem::new(pointer, "a reference id is 1-256 characters without `'`"));
        } else if value.is_null() && !REMOVABLE_OPTIONS.contains(&key.as_str()) {
            check.invalid.push(FieldProblem::new(pointer, "paypal cannot remove this attribute"));
        }
    }
}

/// Whether a reference id can stand in a `@reference_id=='…'` path filter.
pub fn addressable(reference_id: &str) -> bool {
    (1..=256).contains(&reference_id.chars().count()) && !reference_id.contains('\'')
}

fn check_lengths(update: &UnifiedUpdate, check: &mut UpdateCheck) {
    let mut too_long = |pointer: String, text: &str| {
        if text.chars().count() > MAX_TEXT {
            check.invalid.push(FieldProblem::new(pointer, format!("paypal takes at most {MAX_TEXT} characters")));
        }
    };
    if let Patch::Set(description) = &update.description {
        too_long("/description".to_owned(), description);
    }
    for (index, item) in update.line_items.iter().flatten().enumerate() {
        if let Some(name) = &item.name {
            too_long(format!("/line_items/{index}/name"), name);
        }
        if let Some(sku) = &item.sku {
            too_long(format!("/line_items/{index}/sku"), sku);
        }
    }
    if update.line_items.as_ref().is_some_and(Vec::is_empty) {
        check.invalid.push(FieldProblem::new("/line_items", "a paypal purchase unit with items needs at least one"));
    }
    for (index, item) in update.line_items.iter().flatten().enumerate() {
        let (Some(tax), quantity) = (item.tax_amount, i64::from(item.quantity.unwrap_or(1))) else { continue };
        if quantity == 0 || tax % quantity != 0 {
            check.invalid.push(FieldProblem::new(
                format!("/line_items/{index}/tax_amount"),
                "paypal takes tax per unit: the line's tax must divide evenly by its quantity",
            ));
        }
    }
}
