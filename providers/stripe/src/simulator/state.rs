//! The simulator's data: demo sessions, the shipping rates and catalog prices they may use,
//! and how a session renders as Stripe's `checkout.session` JSON.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    pub price_id: String,
    pub product_id: String,
    pub name: String,
    pub unit_amount: i64,
    pub quantity: u64,
    pub currency: String,
    pub images: Vec<String>,
    pub product_metadata: BTreeMap<String, String>,
    /// The line item's own metadata (API 2025-12-15.clover and later).
    pub metadata: BTreeMap<String, String>,
    /// Stripe's `adjustable_quantity` object, or null.
    pub adjustable_quantity: Value,
}

#[derive(Debug, Clone)]
pub struct Rate {
    pub id: String,
    pub display_name: String,
    pub amount: i64,
    pub currency: String,
    /// Stripe's `delivery_estimate` object, or null.
    pub delivery_estimate: Value,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub status: &'static str,
    pub payment_status: &'static str,
    /// Lower case, as Stripe reports it.
    pub currency: String,
    pub items: Vec<Item>,
    pub metadata: BTreeMap<String, String>,
    pub shipping_options: Vec<String>,
    pub selected_rate: Option<String>,
    /// `{name, address}` as Stripe reports collected shipping details.
    pub shipping_details: Option<Value>,
    /// The paying customer's contact (`customer_details`), kept apart from the shipping details.
    pub customer_email: Option<String>,
    pub customer_phone: Option<String>,
    pub created: i64,
    pub expires_at: i64,
}

/// A catalog price usable as `line_items[i][price]`.
#[derive(Debug, Clone)]
pub struct CatalogPrice {
    pub product_id: &'static str,
    pub name: &'static str,
    pub unit_amount: i64,
}

/// How many line items an expanded `line_items` holds: Stripe includes "the first handful" and
/// its list endpoints default to `limit` 10.
pub const FIRST_PAGE: usize = 10;

/// Which nested objects a response expands.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expand {
    pub line_items: bool,
    pub products: bool,
    pub shipping_rates: bool,
}

impl Expand {
    pub fn add(&mut self, path: &str) -> bool {
        match path {
            "line_items" => self.line_items = true,
            "line_items.data.price.product" => {
                self.line_items = true;
                self.products = true;
            }
            "shipping_options.shipping_rate" | "shipping_cost.shipping_rate" => self.shipping_rates = true,
            _ => return false,
        }
        true
    }
}

pub fn catalog() -> BTreeMap<&'static str, CatalogPrice> {
    BTreeMap::from([
        (
            "price_demo_gopro",
            CatalogPrice { product_id: "prod_demo_gopro", name: "GoPro HERO9 Camcorder", unit_amount: 37_999 },
        ),
        ("price_demo_strap", CatalogPrice { product_id: "prod_demo_strap", name: "Camera strap", unit_amount: 1_999 }),
        (
            "price_demo_sdcard",
            CatalogPrice { product_id: "prod_demo_sdcard", name: "SD card 128 GB", unit_amount: 2_499 },
        ),
    ])
}

pub fn demo_rates() -> BTreeMap<String, Rate> {
    let estimate = |min: u32, max: u32| json!({"minimum": {"unit": "business_day", "value": min}, "maximum": {"unit": "business_day", "value": max}});
    [("shr_standard", "Standard", 500, estimate(5, 7)), ("shr_express", "Express", 1_500, estimate(1, 2))]
        .into_iter()
        .map(|(id, name, amount, delivery_estimate)| {
            let rate = Rate {
                id: id.to_owned(),
                display_name: name.to_owned(),
                amount,
                currency: "usd".to_owned(),
                delivery_estimate,
            };
            (id.to_owned(), rate)
        })
        .collect()
}

fn catalog_item(id: &str, price_id: &str, quantity: u64) -> Option<Item> {
    let price = catalog().remove(price_id)?;
    Some(Item {
        id: id.to_owned(),
        price_id: price_id.to_owned(),
        product_id: price.product_id.to_owned(),
        name: price.name.to_owned(),
        unit_amount: price.unit_amount,
        quantity,
        currency: "usd".to_owned(),
        images: Vec::new(),
        product_metadata: BTreeMap::new(),
        metadata: BTreeMap::new(),
        adjustable_quantity: Value::Null,
    })
}

/// Items of `cs_demo_many_items`: more than one page ([`FIRST_PAGE`]), cycling through the
/// catalog.
const MANY_ITEMS: usize = 12;

/// `cs_demo_open` and `cs_demo_open_2` (open, two items, both demo rates offered),
/// `cs_demo_many_items` (open, twelve items, a customer contact but no shipping details),
/// `cs_demo_complete` (complete and paid).
pub fn demo_sessions(now: i64) -> BTreeMap<String, Session> {
    let open = |id: &str, order: &str| Session {
        id: id.to_owned(),
        status: "open",
        payment_status: "unpaid",
        currency: "usd".to_owned(),
        items: [
            catalog_item(&format!("li_{id}_1"), "price_demo_gopro", 1),
            catalog_item(&format!("li_{id}_2"), "price_demo_strap", 2),
        ]
        .into_iter()
        .flatten()
        .collect(),
        metadata: BTreeMap::from([("order_id".to_owned(), order.to_owned())]),
        shipping_options: vec!["shr_standard".to_owned(), "shr_express".to_owned()],
        selected_rate: Some("shr_standard".to_owned()),
        shipping_details: None,
        customer_email: None,
        customer_phone: None,
        created: now - 600,
        expires_at: now + 86_400,
    };
    let complete = Session {
        id: "cs_demo_complete".to_owned(),
        status: "complete",
        payment_status: "paid",
        items: catalog_item("li_cs_demo_complete_1", "price_demo_sdcard", 1).into_iter().collect(),
        metadata: BTreeMap::from([("order_id".to_owned(), "demo-1000".to_owned())]),
        shipping_options: vec!["shr_standard".to_owned()],
        shipping_details: Some(json!({"name": "Jenny Rosen", "address": {
            "city": "Springfield", "country": "US", "line1": "1 Main St", "line2": null,
            "postal_code": "62701", "state": "IL"}})),
        customer_email: Some("jenny@example.com".to_owned()),
        created: now - 7_200,
        expires_at: now + 79_200,
        ..open("cs_demo_complete", "demo-1000")
    };
    let prices = ["price_demo_gopro", "price_demo_strap", "price_demo_sdcard"];
    let many = Session {
        items: (1..=MANY_ITEMS)
            .filter_map(|n| catalog_item(&format!("li_cs_demo_many_items_{n}"), prices[n % prices.len()], 1))
            .collect(),
        customer_email: Some("sam@example.com".to_owned()),
        customer_phone: Some("+14155550123".to_owned()),
        ..open("cs_demo_many_items", "demo-1003")
    };
    [open("cs_demo_open", "demo-1001"), open("cs_demo_open_2", "demo-1002"), many, complete]
        .into_iter()
        .map(|session| (session.id.clone(), session))
        .collect()
}

impl Session {
    pub fn subtotal(&self) -> Option<i64> {
        self.items.iter().try_fold(0_i64, |sum, item| {
            sum.checked_add(item.unit_amount.checked_mul(i64::try_from(item.quantity).ok()?)?)
        })
    }

    pub fn shipping_amount(&self, rates: &BTreeMap<String, Rate>) -> i64 {
        self.selected_rate.as_ref().and_then(|id| rates.get(id)).map_or(0, |rate| rate.amount)
    }

    /// Stripe's `checkout.session` object (the fields the gateway reads, plus a few that make
    /// it recognisable).
    pub fn to_json(&self, rates: &BTreeMap<String, Rate>, expand: Expand) -> Value {
        let subtotal = self.subtotal().unwrap_or(i64::MAX);
        let shipping = self.shipping_amount(rates);
        let rate_json = |id: &String| match rates.get(id) {
            Some(rate) if expand.shipping_rates => rate.to_json(),
            _ => json!(id),
        };
        let options: Vec<Value> = self
            .shipping_options
            .iter()
            .map(|id| json!({"shipping_amount": rates.get(id).map_or(0, |r| r.amount), "shipping_rate": rate_json(id)}))
            .collect();
        let shipping_cost = self.selected_rate.as_ref().map(|id| {
            json!({"amount_subtotal": shipping, "amount_tax": 0, "amount_total": shipping, "shipping_rate": rate_json(id)})
        });
        let open = self.status == "open";
        let mut out = json!({
            "id": self.id,
            "object": "checkout.session",
            "mode": "payment",
            "ui_mode": "hosted_page",
            "status": self.status,
            "payment_status": self.payment_status,
            "currency": self.currency,
            "amount_subtotal": subtotal,
            "amount_total": subtotal.saturating_add(shipping),
            "total_details": {"amount_discount": 0, "amount_shipping": shipping, "amount_tax": 0},
            "shipping_cost": shipping_cost,
            "shipping_options": options,
            "collected_information": {"business_name": null, "individual_name": null,
                                      "shipping_details": self.shipping_details},
            "customer_details": (self.customer_email.is_some() || self.customer_phone.is_some()).then(|| json!({
                "address": null, "email": self.customer_email, "name": null, "phone": self.customer_phone,
                "tax_exempt": "none", "tax_ids": []})),
            "customer_email": null,
            "metadata": self.metadata,
            "url": open.then(|| format!("https://checkout.example/pay/{}", self.id)),
            "success_url": "https://shop.example/checkout/success",
            "cancel_url": "https://shop.example/checkout/cancel",
            "created": self.created,
            "expires_at": self.expires_at,
            "livemode": false,
        });
        if expand.line_items {
            // Only the first page; the rest is at the list's `url`.
            let shown = self.items.len().min(FIRST_PAGE);
            let list = self.line_items_list(0..shown, shown < self.items.len(), expand.products);
            if let Some(object) = out.as_object_mut() {
                object.insert("line_items".to_owned(), list);
            }
        }
        out
    }

    /// Stripe's list object holding the line items at `positions`.
    pub fn line_items_list(&self, positions: std::ops::Range<usize>, has_more: bool, expand_products: bool) -> Value {
        let items = self.items.get(positions).unwrap_or_default();
        let data: Vec<Value> = items.iter().map(|item| item.to_json(expand_products)).collect();
        json!({"object": "list", "data": data, "has_more": has_more,
               "url": format!("/v1/checkout/sessions/{}/line_items", self.id)})
    }
}

impl Item {
    fn to_json(&self, expand_product: bool) -> Value {
        let amount = self.unit_amount.saturating_mul(i64::try_from(self.quantity).unwrap_or(i64::MAX));
        let product = if expand_product {
            json!({"id": self.product_id, "object": "product", "name": self.name, "images": self.images,
                   "metadata": self.product_metadata, "active": true, "livemode": false})
        } else {
            json!(self.product_id)
        };
        json!({
            "id": self.id,
            "object": "item",
            "amount_discount": 0,
            "amount_subtotal": amount,
            "amount_tax": 0,
            "amount_total": amount,
            "currency": self.currency,
            "description": self.name,
            "metadata": self.metadata,
            "adjustable_quantity": self.adjustable_quantity,
            "quantity": self.quantity,
            "price": {"id": self.price_id, "object": "price", "active": true, "currency": self.currency,
                      "livemode": false, "metadata": {}, "product": product, "type": "one_time",
                      "unit_amount": self.unit_amount, "unit_amount_decimal": self.unit_amount.to_string()},
        })
    }
}

impl Rate {
    fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("id".to_owned(), json!(self.id));
        out.insert("object".to_owned(), json!("shipping_rate"));
        out.insert("active".to_owned(), json!(true));
        out.insert("display_name".to_owned(), json!(self.display_name));
        out.insert("type".to_owned(), json!("fixed_amount"));
        out.insert("fixed_amount".to_owned(), json!({"amount": self.amount, "currency": self.currency}));
        out.insert("delivery_estimate".to_owned(), self.delivery_estimate.clone());
        out.insert("livemode".to_owned(), json!(false));
        Value::Object(out)
    }
}
