//! Gr4vy's cross-field checks of a `CheckoutSessionUpdate` that a schema cannot express, played
//! on Mattilda's side: a stated `amount` must be what the cart adds up to.
//!
//! Written here, apart from the adapter's `totals`, on purpose: a simulator that shared the
//! adapter's arithmetic would agree with any mistake in it. The rule is the one the README
//! states: each line is worth `unit_amount × quantity` (counted against the total for
//! `discount`, `gift_card` and `store_credit` lines) − `discount_amount` + `tax_amount` +
//! `duty_amount` + `shipping_amount`.

use serde_json::{Map, Value, json};

/// Gr4vy's message for the mismatch (seen in its 400 answers).
pub const MISMATCH: &str = "The cart items do not add up to the amount";

/// The 400 `details` when the body's `amount` disagrees with its non-empty `cart_items`.
pub fn amount_problems(body: &Map<String, Value>) -> Vec<Value> {
    let Some(amount) = body.get("amount").and_then(Value::as_i64) else { return Vec::new() };
    let Some(items) = body.get("cart_items").and_then(Value::as_array).filter(|items| !items.is_empty()) else {
        return Vec::new();
    };
    let mut sum: i128 = 0;
    for item in items {
        let number = |key: &str| i128::from(item.get(key).and_then(Value::as_i64).unwrap_or(0));
        let own = number("unit_amount") * number("quantity");
        let reduces =
            matches!(item.get("product_type").and_then(Value::as_str), Some("discount" | "gift_card" | "store_credit"));
        sum += if reduces { -own } else { own };
        sum += number("tax_amount") + number("duty_amount") + number("shipping_amount") - number("discount_amount");
    }
    if sum == i128::from(amount) {
        return Vec::new();
    }
    vec![json!({"location": "body", "pointer": "/amount", "message": MISMATCH, "type": "value_error"})]
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::amount_problems;

    fn problems(body: &Value) -> usize {
        amount_problems(&body.as_object().cloned().unwrap_or_else(Map::new)).len()
    }

    #[test]
    fn an_amount_must_match_its_cart() {
        let cart = json!([{"name": "A", "quantity": 2, "unit_amount": 500, "tax_amount": 80, "shipping_amount": 20},
                          {"name": "Promo", "quantity": 1, "unit_amount": 100, "product_type": "discount"}]);
        assert_eq!(problems(&json!({"cart_items": cart, "amount": 1000})), 0);
        assert_eq!(problems(&json!({"cart_items": cart, "amount": 1100})), 1);
        // Nothing to compare: no amount, or no cart.
        assert_eq!(problems(&json!({"cart_items": cart})), 0);
        assert_eq!(problems(&json!({"cart_items": [], "amount": 5})), 0);
        assert_eq!(problems(&json!({"amount": 5})), 0);
    }
}
