//! The totals rule for a Gr4vy cart, in Mattilda's units. One rule serves the response (the
//! unified `amounts` and each line's `amount_total`) and the update (the `amount` recomputed
//! next to a new cart), so the two can never disagree.
//!
//! Gr4vy's `ProductType` is Klarna's order-line type list: amounts are never negative on the
//! wire (`minimum: 0`), so the type says which way a line counts. `discount`, `gift_card` and
//! `store_credit` lines reduce the total and are reported as discount (the unified model has no
//! tender field; like a discount they lower what the buyer pays); `shipping_fee` lines are
//! shipping; `sales_tax` lines are tax; `physical`, `digital`, `surcharge` and untyped lines are
//! goods. Per item, `discount_amount` is discount, `tax_amount` and `duty_amount` (import or
//! export duties, a tax) are tax, `shipping_amount` (freight) is shipping, whatever the type.

use serde_json::{Map, Value};

/// Sums in Mattilda's units; `None` where a figure is missing or a sum overflows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CartTotals {
    pub subtotal: Option<i64>,
    pub discount: Option<i64>,
    pub tax: Option<i64>,
    pub shipping: Option<i64>,
}

impl CartTotals {
    /// subtotal − discount + tax + shipping, which is also Σ [`line_total`].
    pub fn total(&self) -> Option<i64> {
        self.subtotal?.checked_sub(self.discount?)?.checked_add(self.tax?)?.checked_add(self.shipping?)
    }
}

/// Where a line's own `unit_amount × quantity` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Goods,
    Reduction,
    Shipping,
    Tax,
}

fn kind(item: &Map<String, Value>) -> Kind {
    match item.get("product_type").and_then(Value::as_str) {
        Some("discount" | "gift_card" | "store_credit") => Kind::Reduction,
        Some("shipping_fee") => Kind::Shipping,
        Some("sales_tax") => Kind::Tax,
        _ => Kind::Goods,
    }
}

fn figure(item: &Map<String, Value>, key: &str) -> Option<i64> {
    item.get(key).and_then(Value::as_i64)
}

/// An optional per-item figure: absent or `null` is 0 (the description's default).
fn optional(item: &Map<String, Value>, key: &str) -> Option<i64> {
    match item.get(key) {
        None | Some(Value::Null) => Some(0),
        Some(value) => value.as_i64(),
    }
}

fn gross(item: &Map<String, Value>) -> Option<i64> {
    figure(item, "unit_amount")?.checked_mul(figure(item, "quantity")?)
}

/// The cart's totals.
pub fn of_cart<'a>(cart: impl IntoIterator<Item = &'a Map<String, Value>>) -> CartTotals {
    let mut totals = CartTotals { subtotal: Some(0), discount: Some(0), tax: Some(0), shipping: Some(0) };
    let add = |sum: &mut Option<i64>, value: Option<i64>| *sum = sum.zip(value).and_then(|(s, v)| s.checked_add(v));
    for item in cart {
        let own = match kind(item) {
            Kind::Goods => &mut totals.subtotal,
            Kind::Reduction => &mut totals.discount,
            Kind::Shipping => &mut totals.shipping,
            Kind::Tax => &mut totals.tax,
        };
        add(own, gross(item));
        add(&mut totals.discount, optional(item, "discount_amount"));
        add(&mut totals.tax, optional(item, "tax_amount"));
        add(&mut totals.tax, optional(item, "duty_amount"));
        add(&mut totals.shipping, optional(item, "shipping_amount"));
    }
    totals
}

/// One line's contribution to the total: its own amount (negative for a reduction) less its
/// discount, plus its tax, duty and shipping.
pub fn line_total(item: &Map<String, Value>) -> Option<i64> {
    let own = gross(item)?;
    let own = if kind(item) == Kind::Reduction { own.checked_neg()? } else { own };
    own.checked_sub(optional(item, "discount_amount")?)?
        .checked_add(optional(item, "tax_amount")?)?
        .checked_add(optional(item, "duty_amount")?)?
        .checked_add(optional(item, "shipping_amount")?)
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::{CartTotals, line_total, of_cart};

    fn cart(value: &Value) -> Vec<Map<String, Value>> {
        value.as_array().into_iter().flatten().filter_map(Value::as_object).cloned().collect()
    }

    #[test]
    fn product_types_and_item_figures_land_where_they_belong() {
        let items = cart(&json!([
            {"name": "Camera", "quantity": 2, "unit_amount": 10000, "discount_amount": 500, "tax_amount": 800,
             "duty_amount": 300, "shipping_amount": 200},
            {"name": "E-book", "quantity": 1, "unit_amount": 1000, "product_type": "digital"},
            {"name": "Card fee", "quantity": 1, "unit_amount": 150, "product_type": "surcharge"},
            {"name": "SUMMER", "quantity": 1, "unit_amount": 2000, "product_type": "discount"},
            {"name": "Gift card", "quantity": 1, "unit_amount": 1500, "product_type": "gift_card"},
            {"name": "Credit", "quantity": 1, "unit_amount": 100, "product_type": "store_credit"},
            {"name": "Express", "quantity": 1, "unit_amount": 900, "product_type": "shipping_fee"},
            {"name": "Sales tax", "quantity": 1, "unit_amount": 700, "product_type": "sales_tax", "tax_amount": null}
        ]));
        let totals = of_cart(&items);
        assert_eq!(
            totals,
            CartTotals {
                subtotal: Some(20000 + 1000 + 150),
                discount: Some(500 + 2000 + 1500 + 100),
                tax: Some(800 + 300 + 700),
                shipping: Some(200 + 900),
            }
        );
        assert_eq!(totals.total(), Some(21150 - 4100 + 1800 + 1100));
        // The lines add up to the total, a reduction counting negative.
        let lines: Option<i64> = items.iter().map(line_total).sum();
        assert_eq!(lines, totals.total());
        assert_eq!(line_total(&items[3]), Some(-2000));
    }

    #[test]
    fn a_missing_figure_or_an_overflow_makes_the_sum_unknown() {
        let missing = of_cart(&cart(&json!([{"name": "A", "quantity": 1}, {"name": "B", "quantity": 1,
            "unit_amount": 5, "product_type": "discount"}])));
        assert_eq!((missing.subtotal, missing.discount), (None, Some(5)));
        assert_eq!(missing.total(), None);
        let huge = of_cart(&cart(&json!([{"name": "A", "quantity": i64::MAX, "unit_amount": 2}])));
        assert_eq!(huge.subtotal, None);
        let empty = of_cart(&[]);
        assert_eq!(empty.total(), Some(0));
    }
}
