//! The simulator's schema check of a `CheckoutSessionUpdate`, answering like FastAPI/pydantic:
//! a list of `{type, loc, msg, input}`. It covers the constraints of Gr4vy's OpenAPI document
//! that matter for this API (unknown fields, required item fields, ranges, enums, patterns).

use serde_json::{Map, Value, json};

use crate::capabilities::PRODUCT_TYPES;

const MAX_AMOUNT: i64 = 99_999_999;
const UPDATE_KEYS: [&str; 13] = [
    "cart_items",
    "metadata",
    "buyer",
    "airline",
    "amount",
    "currency",
    "payment_service_id",
    "expires_in",
    "country",
    "is_subsequent_payment",
    "merchant_initiated",
    "payment_source",
    "intent",
];
const ITEM_KEYS: [&str; 19] = [
    "name",
    "quantity",
    "unit_amount",
    "discount_amount",
    "tax_amount",
    "external_identifier",
    "sku",
    "upc",
    "product_url",
    "image_url",
    "categories",
    "product_type",
    "seller_country",
    "tax_exempt",
    "unit_of_measure",
    "commodity_code",
    "description",
    "duty_amount",
    "shipping_amount",
];
const BUYER_KEYS: [&str; 5] =
    ["display_name", "external_identifier", "billing_details", "account_number", "shipping_details"];
const DETAILS_KEYS: [&str; 6] = ["first_name", "last_name", "email_address", "phone_number", "address", "tax_id"];
const ADDRESS_KEYS: [&str; 9] =
    ["city", "country", "postal_code", "state", "state_code", "house_number_or_name", "line1", "line2", "organization"];

/// Every problem of the body at once, FastAPI style.
pub fn update_body(body: &Value) -> Vec<Value> {
    let mut problems = Problems(Vec::new());
    let Some(body) = body.as_object() else {
        problems.add(&["body".into()], "model_attributes_type", "Input should be a valid dictionary", body);
        return problems.0;
    };
    let at = vec![Value::from("body")];
    problems.unknown_keys(&at, body, &UPDATE_KEYS);
    if let Some(items) = present(body, "cart_items") {
        match items.as_array() {
            None => problems.add(&path(&at, "cart_items"), "list_type", "Input should be a valid list", items),
            Some(items) => {
                for (index, item) in items.iter().enumerate() {
                    let mut item_at = path(&at, "cart_items");
                    item_at.push(Value::from(index));
                    problems.cart_item(&item_at, item);
                }
            }
        }
    }
    if let Some(metadata) = present(body, "metadata") {
        match metadata.as_object() {
            Some(map) => {
                for (key, value) in map.iter().filter(|(_, v)| !v.is_string()) {
                    problems.add(
                        &path(&path(&at, "metadata"), key),
                        "string_type",
                        "Input should be a valid string",
                        value,
                    );
                }
            }
            None => problems.add(&path(&at, "metadata"), "dict_type", "Input should be a valid dictionary", metadata),
        }
    }
    if let Some(currency) = present(body, "currency") {
        problems.pattern(&path(&at, "currency"), currency, 3, "^[A-Z]{3}$");
    }
    if let Some(amount) = present(body, "amount") {
        problems.integer(&path(&at, "amount"), amount, 0);
    }
    if let Some(seconds) = body.get("expires_in") {
        match seconds.as_f64() {
            Some(s) if (3600.0..=86400.0).contains(&s) => {}
            Some(_) => problems.add(
                &path(&at, "expires_in"),
                "greater_than_equal",
                "Input should be between 3600 and 86400",
                seconds,
            ),
            None => problems.add(&path(&at, "expires_in"), "float_type", "Input should be a valid number", seconds),
        }
    }
    if let Some(buyer) = present(body, "buyer") {
        problems.buyer(&path(&at, "buyer"), buyer);
    }
    problems.0
}

/// A key that is there and not `null` (every optional field here is nullable).
fn present<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

fn path(at: &[Value], key: &str) -> Vec<Value> {
    let mut out = at.to_vec();
    out.push(Value::from(key));
    out
}

struct Problems(Vec<Value>);

impl Problems {
    fn add(&mut self, loc: &[Value], kind: &str, msg: &str, input: &Value) {
        self.0.push(json!({"type": kind, "loc": loc, "msg": msg, "input": input}));
    }

    fn unknown_keys(&mut self, at: &[Value], map: &Map<String, Value>, allowed: &[&str]) {
        for (key, value) in map.iter().filter(|(k, _)| !allowed.contains(&k.as_str())) {
            self.add(&path(at, key), "extra_forbidden", "Extra inputs are not permitted", value);
        }
    }

    fn integer(&mut self, loc: &[Value], value: &Value, minimum: i64) {
        match value.as_i64() {
            Some(n) if (minimum..=MAX_AMOUNT).contains(&n) => {}
            Some(_) => {
                self.add(loc, "less_than_equal", &format!("Input should be between {minimum} and {MAX_AMOUNT}"), value);
            }
            None => self.add(loc, "int_type", "Input should be a valid integer", value),
        }
    }

    fn string(&mut self, loc: &[Value], value: &Value, max: usize) {
        match value.as_str() {
            Some(s) if !s.is_empty() && s.chars().count() <= max => {}
            Some(_) => self.add(loc, "string_too_long", &format!("String should have 1 to {max} characters"), value),
            None => self.add(loc, "string_type", "Input should be a valid string", value),
        }
    }

    /// `^[A-Z]{n}$`.
    fn pattern(&mut self, loc: &[Value], value: &Value, len: usize, pattern: &str) {
        let ok = value.as_str().is_some_and(|s| s.len() == len && s.bytes().all(|b| b.is_ascii_uppercase()));
        if !ok {
            self.add(loc, "string_pattern_mismatch", &format!("String should match pattern '{pattern}'"), value);
        }
    }

    fn cart_item(&mut self, at: &[Value], item: &Value) {
        let Some(map) = item.as_object() else {
            self.add(at, "model_type", "Input should be a valid dictionary", item);
            return;
        };
        self.unknown_keys(at, map, &ITEM_KEYS);
        for key in ["name", "quantity", "unit_amount"] {
            if !map.contains_key(key) {
                self.add(&path(at, key), "missing", "Field required", item);
            }
        }
        if let Some(name) = map.get("name") {
            self.string(&path(at, "name"), name, 255);
        }
        if let Some(quantity) = map.get("quantity") {
            self.integer(&path(at, "quantity"), quantity, 1);
        }
        if let Some(unit_amount) = map.get("unit_amount") {
            self.integer(&path(at, "unit_amount"), unit_amount, 0);
        }
        for key in ["discount_amount", "tax_amount", "duty_amount", "shipping_amount"] {
            if let Some(value) = present(map, key) {
                self.integer(&path(at, key), value, 0);
            }
        }
        for (key, max) in
            [("external_identifier", 200), ("sku", 200), ("product_url", usize::MAX), ("image_url", usize::MAX)]
        {
            if let Some(value) = present(map, key) {
                self.string(&path(at, key), value, max);
            }
        }
        if let Some(categories) = present(map, "categories") {
            match categories.as_array() {
                Some(list) => {
                    for (index, category) in list.iter().enumerate() {
                        let mut loc = path(at, "categories");
                        loc.push(Value::from(index));
                        self.string(&loc, category, 50);
                    }
                }
                None => self.add(&path(at, "categories"), "list_type", "Input should be a valid list", categories),
            }
        }
        if let Some(kind) = present(map, "product_type") {
            if !kind.as_str().is_some_and(|k| PRODUCT_TYPES.contains(&k)) {
                let msg = format!("Input should be {}", PRODUCT_TYPES.map(|t| format!("'{t}'")).join(", "));
                self.add(&path(at, "product_type"), "enum", &msg, kind);
            }
        }
    }

    fn buyer(&mut self, at: &[Value], buyer: &Value) {
        let Some(map) = buyer.as_object() else {
            self.add(at, "model_type", "Input should be a valid dictionary", buyer);
            return;
        };
        self.unknown_keys(at, map, &BUYER_KEYS);
        for side in ["billing_details", "shipping_details"] {
            let Some(details) = present(map, side) else { continue };
            let side_at = path(at, side);
            let Some(details) = details.as_object() else {
                self.add(&side_at, "model_type", "Input should be a valid dictionary", details);
                continue;
            };
            // Only billing details have a tax id.
            let allowed = if side == "billing_details" { &DETAILS_KEYS[..] } else { &DETAILS_KEYS[..5] };
            self.unknown_keys(&side_at, details, allowed);
            if let Some(phone) = present(details, "phone_number") {
                let ok = phone.as_str().is_some_and(|p| {
                    let digits = p.strip_prefix('+').unwrap_or_default();
                    (2..=15).contains(&digits.len())
                        && digits.bytes().all(|b| b.is_ascii_digit())
                        && !digits.starts_with('0')
                });
                if !ok {
                    self.add(
                        &path(&side_at, "phone_number"),
                        "string_pattern_mismatch",
                        "String should match pattern '^\\+[1-9]\\d{1,14}$'",
                        phone,
                    );
                }
            }
            if let Some(address) = present(details, "address") {
                let address_at = path(&side_at, "address");
                match address.as_object() {
                    Some(fields) => {
                        self.unknown_keys(&address_at, fields, &ADDRESS_KEYS);
                        if let Some(country) = present(fields, "country") {
                            self.pattern(&path(&address_at, "country"), country, 2, "^[A-Z]{2}$");
                        }
                    }
                    None => self.add(&address_at, "model_type", "Input should be a valid dictionary", address),
                }
            }
        }
    }
}
