//! The simulator's demo sessions (listed in the README), modelled on the examples of Gr4vy's
//! OpenAPI document and Mattilda's update page.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

/// Open, with a cart and its amount, metadata, a buyer and a card: the OpenAPI document's example id.
pub const DEMO_SESSION_OPEN: &str = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b";
/// Open and empty: nothing set yet.
pub const DEMO_SESSION_EMPTY: &str = "0d8a6b0e-2f3c-4e59-9c1a-7b4d2e8f6a13";
/// Expired on 2022-01-01: the update page's example id and `expires_at`.
pub const DEMO_SESSION_EXPIRED: &str = "8d3fe99b-1422-42e6-bbb3-932d95ae5f79";

/// Open sessions stay open for a day after the simulator starts.
pub fn sessions(now: OffsetDateTime) -> Vec<(&'static str, OffsetDateTime, Map<String, Value>)> {
    let tomorrow = now + time::Duration::days(1);
    vec![
        (DEMO_SESSION_OPEN, tomorrow, object(&open_session())),
        (DEMO_SESSION_EMPTY, tomorrow, Map::new()),
        (DEMO_SESSION_EXPIRED, datetime!(2022-01-01 00:00:00 UTC), object(&expired_session())),
    ]
}

fn object(value: &Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

fn open_session() -> Value {
    json!({
        "cart_items": [{
            "name": "GoPro HD", "quantity": 2, "unit_amount": 1299, "discount_amount": 0, "tax_amount": 0,
            "external_identifier": "goprohd", "sku": "GPHD1078",
            "product_url": "https://example.com/catalog/go-pro-hd",
            "image_url": "https://example.com/images/go-pro-hd.jpg",
            "categories": ["camera", "travel", "gear"], "product_type": "physical"
        }],
        "metadata": {"cohort": "cohort-a", "order_id": "order-12345"},
        "currency": "USD",
        // What the cart adds up to (2 × 1299): Mattilda refuses a PUT whose amount does not.
        "amount": 2598,
        "buyer": {
            "display_name": "John Doe",
            "external_identifier": "buyer-12345",
            "billing_details": {
                "first_name": "John", "last_name": "Doe", "email_address": "john@example.com",
                "phone_number": "+14155552671",
                "address": {"city": "San Jose", "country": "US", "postal_code": "94560", "state": "California",
                    "line1": "Stafford Appartments", "line2": "29th Street"},
                "tax_id": {"value": "12345678931", "kind": "us.ein"}
            },
            "shipping_details": {
                "first_name": "John", "last_name": "Doe", "email_address": "john@example.com",
                "phone_number": "+14155552671",
                "address": {"city": "San Jose", "country": "US", "postal_code": "94560", "state": "California",
                    "line1": "Stafford Appartments", "line2": "29th Street"}
            }
        },
        "payment_method": {
            "type": "payment-method", "id": "ef9496d8-53a5-4aad-8ca2-00eb68334389", "method": "card",
            "scheme": "visa", "label": "1234", "fingerprint": null,
            "details": {"bin": "411111", "card_type": "credit", "card_country": "US", "card_issuer_name": null}
        }
    })
}

fn expired_session() -> Value {
    json!({
        "cart_items": [{
            "name": "GoPro HERO9 Camcorder", "quantity": 1, "unit_amount": 37999, "discount_amount": 0,
            "tax_amount": 0, "external_identifier": "item-789123", "sku": "sku-789123",
            "product_url": "https://example.com/items/gopro",
            "image_url": "https://example.com/images/items/gopro.png",
            "categories": ["cameras"], "product_type": "physical"
        }],
        "metadata": {"key": "value"},
        "currency": "USD"
    })
}
