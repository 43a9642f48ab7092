//! Mattilda's length limits (`maxLength` in Gr4vy's description) on unified fields whose own
//! limit is larger. A longer value is valid unified input another provider may take, so it is
//! `unsupported_field` here, refused before any call, never a provider 422 after a read.
//! Lengths count characters (code points), as pydantic does.

use checkout_provider_interface::{AddressPatch, DetailsPatch, FieldProblem, LineItem, Patch, UnifiedUpdate};

/// `CartItem`: `name` 255, `sku` and `external_identifier` 200, each category 50.
const ITEM_NAME: usize = 255;
const ITEM_ID: usize = 200;
const CATEGORY: usize = 50;
/// `BillingDetails` / `ShippingDetailsCreate`: names 255, `email_address` 320.
const PERSON_NAME: usize = 255;
const EMAIL: usize = 320;
/// `Address`: `city` 100, `postal_code` 50, `line1`, `line2` and `state` 255.
const CITY: usize = 100;
const POSTAL_CODE: usize = 50;
const ADDRESS_LINE: usize = 255;

/// Every value over its Mattilda limit, each at its unified pointer.
pub fn check(update: &UnifiedUpdate, problems: &mut Vec<FieldProblem>) {
    for (index, item) in update.line_items.iter().flatten().enumerate() {
        item_limits(&format!("/line_items/{index}"), item, problems);
    }
    for (pointer, details) in
        [("/shipping_details", &update.shipping_details), ("/billing_details", &update.billing_details)]
    {
        if let Patch::Set(details) = details {
            details_limits(pointer, details, problems);
        }
    }
}

fn item_limits(at: &str, item: &LineItem, problems: &mut Vec<FieldProblem>) {
    limit(problems, &format!("{at}/name"), item.name.as_deref(), ITEM_NAME);
    limit(problems, &format!("{at}/sku"), item.sku.as_deref(), ITEM_ID);
    limit(problems, &format!("{at}/external_id"), item.external_id.as_deref(), ITEM_ID);
    for (index, category) in item.categories.iter().flatten().enumerate() {
        limit(problems, &format!("{at}/categories/{index}"), Some(category), CATEGORY);
    }
}

fn details_limits(at: &str, details: &DetailsPatch, problems: &mut Vec<FieldProblem>) {
    limit(problems, &format!("{at}/first_name"), details.first_name.value().map(String::as_str), PERSON_NAME);
    limit(problems, &format!("{at}/last_name"), details.last_name.value().map(String::as_str), PERSON_NAME);
    limit(problems, &format!("{at}/email"), details.email.value().map(String::as_str), EMAIL);
    if let Patch::Set(address) = &details.address {
        address_limits(&format!("{at}/address"), address, problems);
    }
}

fn address_limits(at: &str, address: &AddressPatch, problems: &mut Vec<FieldProblem>) {
    let fields: [(&str, &Patch<String>, usize); 5] = [
        ("line1", &address.line1, ADDRESS_LINE),
        ("line2", &address.line2, ADDRESS_LINE),
        ("city", &address.city, CITY),
        ("state", &address.state, ADDRESS_LINE),
        ("postal_code", &address.postal_code, POSTAL_CODE),
    ];
    for (field, value, max) in fields {
        limit(problems, &format!("{at}/{field}"), value.value().map(String::as_str), max);
    }
}

fn limit(problems: &mut Vec<FieldProblem>, pointer: &str, value: Option<&str>, max: usize) {
    let Some(length) = value.map(|v| v.chars().count()).filter(|&length| length > max) else { return };
    problems.push(FieldProblem::new(pointer, format!("mattilda takes at most {max} characters here (got {length})")));
}

#[cfg(test)]
mod tests {
    use checkout_provider_interface::UnifiedUpdate;
    use serde_json::json;

    use super::check;

    #[test]
    fn values_over_mattildas_limits_are_named_at_their_unified_pointers() {
        let long = |n: usize| "é".repeat(n);
        let update: UnifiedUpdate = serde_json::from_value(json!({
            "line_items": [{"name": "A", "quantity": 1, "unit_amount": 1, "sku": long(200), "external_id": long(201),
                "categories": ["ok", long(51)]}],
            "billing_details": {"first_name": long(256), "last_name": long(255), "address": {"city": long(101),
                "postal_code": "12345", "line1": long(255)}},
            "shipping_details": null
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let mut problems = Vec::new();
        check(&update, &mut problems);
        let pointers: Vec<_> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/line_items/0/external_id",
                "/line_items/0/categories/1",
                "/billing_details/first_name",
                "/billing_details/address/city"
            ]
        );
        assert!(problems[0].detail.contains("at most 200") && problems[0].detail.contains("201"));
    }
}
