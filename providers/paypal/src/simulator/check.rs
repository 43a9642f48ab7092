//! The checks PayPal makes on a patched order, from the description's schemas and its PATCH
//! error lists: string lengths, item shapes, decimals per currency ("If the currency supports
//! decimals, only two decimal place precision is supported"; none for JPY, HUF and TWD), and a
//! breakdown that adds up: item_total = Σ unit_amount × quantity, tax_total = Σ tax × quantity,
//! value = item_total + tax_total + shipping + handling + insurance − shipping_discount −
//! discount.

use serde_json::Value;

/// (status, issue, field, description) of the first problem found.
pub(super) type Problem = (u16, &'static str, String, String);

/// Currencies PayPal takes without decimals.
const NO_DECIMALS: [&str; 3] = ["JPY", "HUF", "TWD"];

pub(super) fn order(order: &Value) -> Result<(), Problem> {
    if let Some(intent) = order.get("intent") {
        if !matches!(intent.as_str(), Some("CAPTURE" | "AUTHORIZE")) {
            return Err(problem(
                400,
                "INVALID_PARAMETER_VALUE",
                "/intent".to_owned(),
                "The value of a field is invalid.",
            ));
        }
    }
    for unit in order.get("purchase_units").and_then(Value::as_array).into_iter().flatten() {
        let reference = unit.get("reference_id").and_then(Value::as_str).unwrap_or(crate::order::DEFAULT_REFERENCE);
        purchase_unit(unit, &format!("/purchase_units/@reference_id=='{reference}'"))?;
    }
    Ok(())
}

fn problem(status: u16, issue: &'static str, field: String, description: &str) -> Problem {
    (status, issue, field, description.to_owned())
}

fn purchase_unit(unit: &Value, at: &str) -> Result<(), Problem> {
    for (name, max) in [("custom_id", 127), ("description", 127), ("invoice_id", 127), ("soft_descriptor", 22)] {
        if let Some(value) = unit.get(name) {
            let length = value.as_str().map(|s| s.chars().count());
            if !length.is_some_and(|l| (1..=max).contains(&l)) {
                let description = "The value of a field is either too short or too long";
                return Err(problem(400, "INVALID_STRING_LENGTH", format!("{at}/{name}"), description));
            }
        }
    }
    let amount = unit.get("amount").ok_or_else(|| {
        problem(400, "MISSING_REQUIRED_PARAMETER", format!("{at}/amount"), "A required field / parameter is missing.")
    })?;
    let (currency, value) = money(amount, &format!("{at}/amount"))?;
    if value <= 0 {
        let description = "Must be greater than zero. If the currency supports decimals, only two decimal place precision is supported.";
        return Err(problem(422, "CANNOT_BE_ZERO_OR_NEGATIVE", format!("{at}/amount/value"), description));
    }
    let in_currency = |money_value: &Value, field: String| -> Result<i128, Problem> {
        let (code, value) = money(money_value, &field)?;
        if code != currency {
            let description = "Multiple differing values of currency_code are not supported. Entire Order request must have the same currency_code.";
            return Err(problem(422, "MULTI_CURRENCY_ORDER", format!("{field}/currency_code"), description));
        }
        Ok(value)
    };
    let (mut items_sum, mut tax_sum, mut taxed) = (0_i128, 0_i128, false);
    let items = unit.get("items").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    for (index, item) in items.iter().enumerate() {
        let field = format!("{at}/items/{index}");
        let quantity = item_fields(item, &field)?;
        let unit_amount = item.get("unit_amount").ok_or_else(|| {
            problem(
                400,
                "MISSING_REQUIRED_PARAMETER",
                format!("{field}/unit_amount"),
                "A required field / parameter is missing.",
            )
        })?;
        items_sum += in_currency(unit_amount, format!("{field}/unit_amount"))? * quantity;
        if let Some(tax) = item.get("tax") {
            taxed = true;
            tax_sum += in_currency(tax, format!("{field}/tax"))? * quantity;
        }
    }
    let breakdown = amount.get("breakdown");
    let part = |name: &str| breakdown.and_then(|b| b.get(name));
    let breakdown_at = format!("{at}/amount/breakdown");
    if !items.is_empty() {
        let Some(item_total) = part("item_total") else {
            let description = "If item details are specified (items.unit_amount and items.quantity) corresponding amount.breakdown.item_total is required.";
            return Err(problem(422, "ITEM_TOTAL_REQUIRED", format!("{breakdown_at}/item_total"), description));
        };
        if in_currency(item_total, format!("{breakdown_at}/item_total"))? != items_sum {
            let description =
                "Should equal sum of (unit_amount * quantity) across all items for a given purchase_unit.";
            return Err(problem(422, "ITEM_TOTAL_MISMATCH", format!("{breakdown_at}/item_total/value"), description));
        }
    }
    if taxed {
        let Some(tax_total) = part("tax_total") else {
            let description = "If item details are specified (items.tax_total and items.quantity) corresponding amount.breakdown.tax_total is required.";
            return Err(problem(422, "TAX_TOTAL_REQUIRED", format!("{breakdown_at}/tax_total"), description));
        };
        if in_currency(tax_total, format!("{breakdown_at}/tax_total"))? != tax_sum {
            let description = "Should equal sum of (tax * quantity) across all items for a given purchase_unit.";
            return Err(problem(422, "TAX_TOTAL_MISMATCH", format!("{breakdown_at}/tax_total/value"), description));
        }
    }
    if breakdown.is_some() {
        let mut expected = 0_i128;
        for (name, sign) in [
            ("item_total", 1),
            ("tax_total", 1),
            ("shipping", 1),
            ("handling", 1),
            ("insurance", 1),
            ("shipping_discount", -1),
            ("discount", -1),
        ] {
            if let Some(money_value) = part(name) {
                expected += sign * in_currency(money_value, format!("{breakdown_at}/{name}"))?;
            }
        }
        if expected != value {
            let description =
                "Should equal item_total + tax_total + shipping + handling + insurance - shipping_discount - discount.";
            return Err(problem(422, "AMOUNT_MISMATCH", format!("{at}/amount/value"), description));
        }
    }
    if let Some(address) = unit.get("shipping").and_then(|s| s.get("address")) {
        if address.get("country_code").and_then(Value::as_str).is_none_or(|c| c.len() != 2) {
            let field = format!("{at}/shipping/address/country_code");
            return Err(problem(400, "MISSING_REQUIRED_PARAMETER", field, "A required field / parameter is missing."));
        }
    }
    Ok(())
}

/// An item's name, quantity and category; the quantity.
fn item_fields(item: &Value, field: &str) -> Result<i128, Problem> {
    let name_ok = item.get("name").and_then(Value::as_str).is_some_and(|n| (1..=127).contains(&n.chars().count()));
    if !name_ok {
        return Err(problem(
            400,
            "MISSING_REQUIRED_PARAMETER",
            format!("{field}/name"),
            "A required field / parameter is missing.",
        ));
    }
    let quantity = item.get("quantity").and_then(Value::as_str).unwrap_or_default();
    let syntax_ok = (1..=10).contains(&quantity.len())
        && quantity.bytes().all(|b| b.is_ascii_digit())
        && !quantity.starts_with('0');
    let Some(quantity) = syntax_ok.then(|| quantity.parse::<i128>().ok()).flatten() else {
        let description = "The value of a field does not conform to the expected format.";
        return Err(problem(400, "INVALID_PARAMETER_SYNTAX", format!("{field}/quantity"), description));
    };
    if let Some(category) = item.get("category") {
        if !matches!(category.as_str(), Some("DIGITAL_GOODS" | "PHYSICAL_GOODS" | "DONATION")) {
            return Err(problem(
                400,
                "INVALID_PARAMETER_VALUE",
                format!("{field}/category"),
                "The value of a field is invalid.",
            ));
        }
    }
    Ok(quantity)
}

/// A money object: its currency code and its value in hundredths of the major unit.
fn money(money: &Value, field: &str) -> Result<(String, i128), Problem> {
    let code = money.get("currency_code").and_then(Value::as_str).filter(|c| c.len() == 3);
    let value = money.get("value").and_then(Value::as_str);
    let (Some(code), Some(value)) = (code, value) else {
        return Err(problem(
            400,
            "MISSING_REQUIRED_PARAMETER",
            field.to_owned(),
            "A required field / parameter is missing.",
        ));
    };
    let syntax = || {
        problem(
            400,
            "INVALID_PARAMETER_SYNTAX",
            format!("{field}/value"),
            "The value of a field does not conform to the expected format.",
        )
    };
    let (negative, digits) = value.strip_prefix('-').map_or((false, value), |rest| (true, rest));
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if value.len() > 32 || !all_digits(whole) || !all_digits(fraction) || (whole.is_empty() && fraction.is_empty()) {
        return Err(syntax());
    }
    if digits.contains('.') && fraction.is_empty() {
        return Err(syntax());
    }
    let allowed = if NO_DECIMALS.contains(&code) { 0 } else { 2 };
    if fraction.len() > allowed {
        let description = "If the currency supports decimals, only two decimal place precision is supported.";
        return Err(problem(422, "DECIMAL_PRECISION", format!("{field}/value"), description));
    }
    let whole: i128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| syntax())? };
    let hundredths: i128 = format!("{fraction:0<2}").parse().map_err(|_| syntax())?;
    let amount = whole * 100 + hundredths;
    // PayPal's ceiling (`MAX_VALUE_EXCEEDED`); it also keeps every sum here far inside i128.
    if amount > 99_999_999_999_999_999 {
        let description = "Should be less than or equal to 999999999999999.99.";
        return Err(problem(422, "MAX_VALUE_EXCEEDED", format!("{field}/value"), description));
    }
    Ok((code.to_owned(), if negative { -amount } else { amount }))
}
