//! The simulator's demo checkout sessions and their JSON, shaped like the docs' `CheckoutSession`
//! example.

use std::collections::BTreeMap;

use checkout_provider_interface::timestamp;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

pub(super) struct DemoRate {
    pub(super) id: &'static str,
    display_name: &'static str,
    pub(super) amount: i64,
    days: (u32, u32),
}

struct DemoItem {
    name: &'static str,
    price: &'static str,
    unit_amount: i64,
    quantity: i64,
    sku: &'static str,
    /// A price created with `unit_amount_decimal`: Paypercut's example shows `unit_amount` null
    /// beside it, and the decimal string carries the amount.
    decimal_only: bool,
}

pub(super) struct DemoSession {
    id: &'static str,
    iso: &'static str,
    scale: u32,
    /// `hosted` sessions redirect to `success_url`; `embedded` ones return to `return_url`.
    ui_mode: &'static str,
    pub(super) status: &'static str,
    payment_status: &'static str,
    tax: i64,
    pub(super) rates: Vec<DemoRate>,
    pub(super) selected: Option<&'static str>,
    items: Vec<DemoItem>,
    created: OffsetDateTime,
    expires_at: OffsetDateTime,
    order: &'static str,
}

fn eur_rates() -> Vec<DemoRate> {
    vec![
        DemoRate { id: "shr_standard", display_name: "Standard shipping", amount: 500, days: (3, 5) },
        DemoRate { id: "shr_express", display_name: "Express shipping", amount: 1500, days: (1, 1) },
        DemoRate { id: "shr_pickup", display_name: "Pick up in store", amount: 0, days: (1, 2) },
    ]
}

fn tshirts() -> Vec<DemoItem> {
    vec![DemoItem {
        name: "T-shirt",
        price: "price_demo_tshirt",
        unit_amount: 2490,
        quantity: 2,
        sku: "TS-001",
        decimal_only: false,
    }]
}

/// The demo sessions, keyed by id, with times relative to `now`.
pub(super) fn sessions(now: OffsetDateTime) -> BTreeMap<String, DemoSession> {
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let list = [
        DemoSession {
            id: "chk_demo_open",
            iso: "eur",
            scale: 2,
            ui_mode: "hosted",
            status: "open",
            payment_status: "unpaid",
            tax: 0,
            rates: eur_rates(),
            selected: Some("shr_standard"),
            items: tshirts(),
            created: now - Duration::hours(1),
            expires_at: now + Duration::hours(23),
            order: "demo-1001",
        },
        DemoSession {
            id: "chk_demo_kwd",
            iso: "kwd",
            scale: 3,
            ui_mode: "hosted",
            status: "open",
            payment_status: "unpaid",
            tax: 750,
            rates: vec![
                DemoRate { id: "shr_standard", display_name: "Standard delivery", amount: 1250, days: (2, 4) },
                DemoRate { id: "shr_express", display_name: "Same-day delivery", amount: 3500, days: (1, 1) },
            ],
            selected: None,
            items: vec![DemoItem {
                name: "Prayer rug",
                price: "price_demo_rug",
                unit_amount: 15_000,
                quantity: 1,
                sku: "RUG-7",
                decimal_only: false,
            }],
            created: now - Duration::hours(1),
            expires_at: now + Duration::hours(23),
            order: "demo-1002",
        },
        DemoSession {
            id: "chk_demo_complete",
            iso: "eur",
            scale: 2,
            ui_mode: "hosted",
            status: "complete",
            payment_status: "paid",
            tax: 0,
            rates: eur_rates(),
            selected: Some("shr_express"),
            items: tshirts(),
            created: now - Duration::days(2),
            expires_at: now - Duration::days(1),
            order: "demo-1003",
        },
        DemoSession {
            id: "chk_demo_expired",
            iso: "eur",
            scale: 2,
            ui_mode: "hosted",
            status: "expired",
            payment_status: "unpaid",
            tax: 0,
            rates: eur_rates(),
            selected: Some("shr_standard"),
            items: tshirts(),
            created: now - Duration::days(2),
            expires_at: now - Duration::days(1),
            order: "demo-1004",
        },
        DemoSession {
            id: "chk_demo_embedded",
            iso: "eur",
            scale: 2,
            ui_mode: "embedded",
            status: "open",
            payment_status: "unpaid",
            tax: 0,
            rates: eur_rates(),
            selected: Some("shr_pickup"),
            items: vec![DemoItem {
                name: "Gift card",
                price: "price_demo_gift",
                unit_amount: 1990,
                quantity: 3,
                sku: "GC-20",
                decimal_only: true,
            }],
            created: now - Duration::minutes(5),
            expires_at: now + Duration::hours(24) - Duration::minutes(5),
            order: "demo-1005",
        },
    ];
    list.into_iter().map(|session| (session.id.to_owned(), session)).collect()
}

impl DemoSession {
    /// The session as Paypercut shows it; totals are recomputed from the selected rate.
    pub(super) fn render(&self) -> Value {
        let currency = json!({"iso": self.iso, "scale": self.scale});
        let subtotal: i64 = self.items.iter().map(|item| item.unit_amount * item.quantity).sum();
        let selected = self.selected.and_then(|id| self.rates.iter().find(|rate| rate.id == id));
        let shipping = selected.map_or(0, |rate| rate.amount);
        let shipping_cost = selected.map_or(Value::Null, |rate| {
            json!({"shipping_rate": rate.id, "amount_subtotal": rate.amount, "amount_tax": 0,
                   "amount_total": rate.amount, "currency": currency})
        });
        let options: Vec<Value> = self.rates.iter().map(|rate| self.render_rate(rate)).collect();
        let items: Vec<Value> = self
            .items
            .iter()
            .map(|item| {
                // `unit_amount_decimal` is the same amount in minor units as a decimal string.
                let unit_amount = if item.decimal_only { Value::Null } else { json!(item.unit_amount) };
                json!({"quantity": item.quantity, "price": item.price,
                       "price_data": {"id": item.price, "currency": self.iso, "type": "one_time",
                                      "billing_scheme": "per_unit", "unit_amount": unit_amount,
                                      "unit_amount_decimal": format!("{}.000000000000", item.unit_amount),
                                      "product_data": {"name": item.name, "active": true}},
                       "metadata": {"sku": item.sku}})
            })
            .collect();
        let embedded = self.ui_mode == "embedded";
        // An embedded session returns the customer to `return_url`; it has no success, cancel or
        // after-completion redirect (those belong to hosted pages).
        let url = |text: &str| if embedded { Value::Null } else { Value::from(text) };
        let return_url = if embedded {
            Value::from(format!("https://shop.example.com/return?checkout={}", self.id))
        } else {
            Value::Null
        };
        let after_completion = if embedded {
            json!({"type": "hosted", "hosted": {"custom_message": null}})
        } else {
            json!({"type": "redirect", "redirect": {"url": "https://shop.example.com/thank-you"}})
        };
        json!({
            "id": self.id,
            "currency": currency,
            "description": format!("Demo order {}", self.order),
            "mode": "payment",
            "ui_mode": self.ui_mode,
            "amount_total": subtotal + self.tax + shipping,
            "amount_subtotal": subtotal,
            "total_details": {"amount_discount": 0, "amount_shipping": shipping, "amount_tax": self.tax},
            "shipping_options": options,
            "shipping_cost": shipping_cost,
            "url": if embedded { Value::Null } else { Value::from(format!("https://checkout.example.com/pay/{}", self.id)) },
            "cancel_url": url("https://shop.example.com/cart"),
            "success_url": url("https://shop.example.com/thank-you"),
            "return_url": return_url,
            "payment_method_types": ["card"],
            "submit_type": "auto",
            "client_reference_id": self.order,
            "created": timestamp::format(self.created),
            "expires_at": timestamp::format(self.expires_at),
            "line_items": items,
            "metadata": {"order_id": self.order},
            "after_completion": after_completion,
            "locale": null,
            "customer": null,
            "customer_email": null,
            "payment_intent": format!("pi_{}", self.id),
            "payment_status": self.payment_status,
            "status": self.status,
            "next_action": null,
            "livemode": false,
            "billing_address_collection": "auto",
        })
    }

    fn render_rate(&self, rate: &DemoRate) -> Value {
        let bound = |value: u32| json!({"unit": "business_day", "value": value});
        json!({"shipping_rate": {
            "id": rate.id,
            "display_name": rate.display_name,
            "type": "fixed_amount",
            "fixed_amount": {"amount": rate.amount, "currency": self.iso.to_ascii_uppercase()},
            "delivery_estimate": {"minimum": bound(rate.days.0), "maximum": bound(rate.days.1)},
            "tax_behavior": "unspecified",
            "tax_code": null,
            "metadata": {},
            "active": true,
        }})
    }
}
