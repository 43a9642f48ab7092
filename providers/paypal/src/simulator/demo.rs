//! The simulator's demo orders, shaped like the description's order object: one per status the
//! gateway maps, and one in a currency without decimals.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A `CREATED` order in USD with a shirt, shipping and an address.
pub const OPEN_ORDER: &str = "5O190127TN364715T";
/// An `APPROVED` order in EUR whose `custom_id` holds gateway metadata.
pub const APPROVED_ORDER: &str = "8RU61172JS455403V";
/// A `COMPLETED` order: every patch is refused.
pub const COMPLETED_ORDER: &str = "3C679366HH908993F";
/// A `VOIDED` order.
pub const VOIDED_ORDER: &str = "7XV07546BW297144N";
/// A `CREATED` order in JPY (no decimals).
pub const YEN_ORDER: &str = "4UV72149KP332801J";

pub(super) fn orders(now: OffsetDateTime) -> BTreeMap<String, Value> {
    let created = (now - time::Duration::hours(1)).format(&Rfc3339).unwrap_or_default();
    let order = |id: &str, status: &str, unit: Value| {
        (
            id.to_owned(),
            json!({
                "id": id,
                "intent": "CAPTURE",
                "status": status,
                "purchase_units": [unit],
                "create_time": created,
                "links": [
                    {"href": format!("https://api-m.sandbox.paypal.com/v2/checkout/orders/{id}"), "rel": "self", "method": "GET"},
                    {"href": format!("https://www.sandbox.paypal.com/checkoutnow?token={id}"), "rel": "approve", "method": "GET"},
                    {"href": format!("https://api-m.sandbox.paypal.com/v2/checkout/orders/{id}"), "rel": "update", "method": "PATCH"}
                ]
            }),
        )
    };
    let shirt_unit = |currency: &str| {
        json!({
            "reference_id": "default",
            "amount": {"currency_code": currency, "value": "25.00", "breakdown": {
                "item_total": {"currency_code": currency, "value": "20.00"},
                "shipping": {"currency_code": currency, "value": "5.00"}
            }},
            "items": [{"name": "T-shirt", "quantity": "2", "unit_amount": {"currency_code": currency, "value": "10.00"},
                       "sku": "sku-shirt", "category": "PHYSICAL_GOODS"}],
            "shipping": {"name": {"full_name": "Jenny Rosen"}, "address": {
                "address_line_1": "1 Main St", "admin_area_2": "Springfield", "admin_area_1": "IL",
                "postal_code": "62701", "country_code": "US"}}
        })
    };
    let mut approved = shirt_unit("EUR");
    approved["custom_id"] = json!(r#"{"order_id":"7"}"#);
    approved["description"] = json!("Demo order 7");
    BTreeMap::from([
        order(OPEN_ORDER, "CREATED", shirt_unit("USD")),
        order(APPROVED_ORDER, "APPROVED", approved),
        order(COMPLETED_ORDER, "COMPLETED", shirt_unit("USD")),
        order(VOIDED_ORDER, "VOIDED", shirt_unit("USD")),
        order(
            YEN_ORDER,
            "CREATED",
            json!({
                "reference_id": "default",
                "amount": {"currency_code": "JPY", "value": "1500", "breakdown": {
                    "item_total": {"currency_code": "JPY", "value": "1500"}
                }},
                "items": [{"name": "Tea", "quantity": "1", "unit_amount": {"currency_code": "JPY", "value": "1500"}}]
            }),
        ),
    ])
}
