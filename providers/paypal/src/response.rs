//! A PayPal order -> the unified session. The session is the order with its (first) purchase
//! unit: amounts from `amount.breakdown`, items, `custom_id` as metadata, description and
//! shipping. Every money value is converted exactly; one that cannot be is null with an
//! `amount_not_convertible` warning.

use std::collections::BTreeMap;

use checkout_provider_interface::session::Address;
use checkout_provider_interface::{
    AdapterError, Amounts, Details, PaymentStatus, ProviderResponse, SessionLineItem, SessionStatus, Shipping,
    ShippingRate, UnifiedSession, Warning, wire,
};
use serde_json::{Map, Value};

use crate::order::{purchase_units, reference_of};
use crate::{KIND, units};

/// Map a successful order answer.
pub fn parse(response: &ProviderResponse) -> Result<UnifiedSession, AdapterError> {
    let order = wire::json_body(response)?;
    let id = order.get("id").and_then(Value::as_str).ok_or_else(|| AdapterError::unparseable("the order has no id"))?;
    let status = order.get("status").and_then(Value::as_str).unwrap_or_default();
    let (status, payment_status) = match status {
        "CREATED" | "SAVED" | "APPROVED" | "PAYER_ACTION_REQUIRED" => (SessionStatus::Open, PaymentStatus::Unpaid),
        "COMPLETED" => (SessionStatus::Complete, PaymentStatus::Paid),
        "VOIDED" => (SessionStatus::Expired, PaymentStatus::Unpaid),
        other => return Err(AdapterError::unparseable(format!("unknown order status `{other}`"))),
    };
    let mut session = UnifiedSession::new(id, KIND, status);
    session.payment_status = Some(payment_status);
    session.created_at = order.get("create_time").and_then(Value::as_str).map(str::to_owned);
    session.url = link(&order, "approve").or_else(|| link(&order, "payer-action"));
    let units = purchase_units(&order);
    if let [first, rest @ ..] = units.as_slice() {
        if !rest.is_empty() {
            session.warnings.push(Warning {
                code: "purchase_units_not_shown".to_owned(),
                pointer: None,
                detail: format!(
                    "the order has {} purchase units; only the first (reference id `{}`) is shown",
                    units.len(),
                    reference_of(first)
                ),
            });
        }
        unit_into(first, &mut session);
    }
    Ok(session)
}

/// The answer to a write PayPal acknowledged with `204 No Content` when the order could not be
/// read back: the update happened, and nothing else is known. PayPal patches only orders that
/// are not completed or voided, so the order is open; every other field is null.
pub fn written_not_read(id: &str) -> UnifiedSession {
    let mut session = UnifiedSession::new(id, KIND, SessionStatus::Open);
    session.warnings.push(Warning {
        code: "update_not_read_back".to_owned(),
        pointer: None,
        detail: "paypal applied the update (204 No Content, no order in the answer); the order was not read back, so its fields are null".to_owned(),
    });
    session
}

fn link(order: &Value, rel: &str) -> Option<String> {
    let links = order.get("links")?.as_array()?;
    links.iter().find(|l| l.get("rel").and_then(Value::as_str) == Some(rel))?.get("href")?.as_str().map(str::to_owned)
}

fn unit_into(unit: &Map<String, Value>, session: &mut UnifiedSession) {
    let amount = unit.get("amount");
    let currency = amount.and_then(|a| a.get("currency_code")).and_then(Value::as_str).map(str::to_ascii_uppercase);
    let mut reader = Reader { warnings: &mut session.warnings, currency: currency.as_deref() };
    let part = |name: &str| amount.and_then(|a| a.get("breakdown")).and_then(|b| b.get(name));
    let discount = match (part("discount"), part("shipping_discount")) {
        (None, None) => None,
        (d, s) => {
            let d = reader.money(d, "/amounts/discount");
            let s = reader.money(s, "/amounts/discount");
            d.unwrap_or_default().checked_add(s.unwrap_or_default())
        }
    };
    session.amounts = Amounts {
        subtotal: reader.money(part("item_total"), "/amounts/subtotal"),
        discount,
        tax: reader.money(part("tax_total"), "/amounts/tax"),
        shipping: reader.money(part("shipping"), "/amounts/shipping"),
        total: reader.money(amount, "/amounts/total"),
    };
    if let Some(items) = unit.get("items").and_then(Value::as_array) {
        let lines = items.iter().enumerate().map(|(index, item)| reader.item(index, item)).collect();
        session.line_items = Some(lines);
    }
    session.currency = currency.clone();
    session.metadata = unit.get("custom_id").and_then(metadata_from_custom_id);
    session.description = unit.get("description").and_then(Value::as_str).map(str::to_owned);
    if let Some(shipping) = unit.get("shipping").and_then(Value::as_object) {
        session.shipping = Some(shipping_of(shipping, &mut reader));
    }
}

/// The metadata a `custom_id` holds: a JSON object of strings (what the adapter writes).
/// Anything else was set outside the gateway and is not metadata.
pub fn metadata_from_custom_id(custom_id: &Value) -> Option<BTreeMap<String, String>> {
    let text = custom_id.as_str()?;
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else { return None };
    map.into_iter().map(|(key, value)| Some((key, value.as_str()?.to_owned()))).collect()
}

fn shipping_of(shipping: &Map<String, Value>, reader: &mut Reader<'_>) -> Shipping {
    let text =
        |object: Option<&Value>, key: &str| object.and_then(|o| o.get(key)).and_then(Value::as_str).map(str::to_owned);
    let name = text(shipping.get("name"), "full_name");
    let address = shipping.get("address").map(|a| Address {
        line1: text(Some(a), "address_line_1"),
        line2: text(Some(a), "address_line_2"),
        city: text(Some(a), "admin_area_2"),
        state: text(Some(a), "admin_area_1"),
        postal_code: text(Some(a), "postal_code"),
        country: text(Some(a), "country_code"),
    });
    let details = (name.is_some() || address.is_some()).then(|| Details { name, address, ..Details::default() });
    let mut selected_rate = None;
    let mut options = Vec::new();
    for (index, option) in shipping.get("options").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let id = text(Some(option), "id");
        if option.get("selected").and_then(Value::as_bool) == Some(true) {
            selected_rate.clone_from(&id);
        }
        let amount = option.get("amount");
        let currency = amount.and_then(|a| a.get("currency_code")).and_then(Value::as_str).map(str::to_ascii_uppercase);
        options.push(ShippingRate {
            id,
            display_name: text(Some(option), "label"),
            amount: reader.money(amount, &format!("/shipping/options/{index}/amount")),
            currency,
            delivery_estimate: None,
        });
    }
    Shipping { selected_rate, options, details }
}

/// Reads PayPal money into unified minor units, with a warning for each value that has none.
struct Reader<'a> {
    warnings: &'a mut Vec<Warning>,
    currency: Option<&'a str>,
}

impl Reader<'_> {
    fn money(&mut self, money: Option<&Value>, pointer: &str) -> Option<i64> {
        let money = money?;
        let value = money.get("value").and_then(Value::as_str)?;
        let currency = money.get("currency_code").and_then(Value::as_str).or(self.currency)?;
        match units::from_value(currency, value) {
            Ok(amount) => Some(amount),
            Err(error) => {
                self.warnings.push(Warning {
                    code: "amount_not_convertible".to_owned(),
                    pointer: Some(pointer.to_owned()),
                    detail: format!("paypal's amount has no exact value in minor units ({error}); shown as null"),
                });
                None
            }
        }
    }

    fn item(&mut self, index: usize, item: &Value) -> SessionLineItem {
        let text = |key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
        let quantity = item.get("quantity").and_then(Value::as_str).and_then(|q| q.parse::<u64>().ok());
        let unit_amount = self.money(item.get("unit_amount"), &format!("/line_items/{index}/unit_amount"));
        let tax = match item.get("tax") {
            None => Some(0),
            tax => self.money(tax, &format!("/line_items/{index}/amount_total")),
        };
        // The line's total as PayPal counts it: (unit_amount + tax) × quantity.
        let amount_total = (|| {
            let quantity = i64::try_from(quantity?).ok()?;
            unit_amount?.checked_add(tax?)?.checked_mul(quantity)
        })();
        SessionLineItem {
            id: None,
            name: text("name"),
            quantity,
            unit_amount,
            amount_total,
            sku: text("sku"),
            external_id: None,
            image_url: text("image_url"),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn answer(order: &Value) -> ProviderResponse {
        http::Response::builder().status(200).body(order.to_string().into_bytes()).unwrap_or_default()
    }

    #[test]
    fn an_amount_without_an_exact_unified_value_is_null_with_a_warning() {
        let order = json!({"id": "5O190127TN364715T", "status": "APPROVED", "purchase_units": [{
            "amount": {"currency_code": "USD", "value": "10.005",
                       "breakdown": {"item_total": {"currency_code": "USD", "value": "10.00"}}}}]});
        let session = parse(&answer(&order)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((session.amounts.total, session.amounts.subtotal), (None, Some(1000)));
        let warning = session.warnings.first().unwrap_or_else(|| panic!("a warning"));
        assert_eq!(
            (warning.code.as_str(), warning.pointer.as_deref()),
            ("amount_not_convertible", Some("/amounts/total"))
        );
    }

    #[test]
    fn an_unknown_status_is_not_guessed() {
        let order = json!({"id": "5O190127TN364715T", "status": "PENDING_SOMETHING", "purchase_units": []});
        assert!(matches!(parse(&answer(&order)), Err(AdapterError::Unparseable(_))));
    }

    #[test]
    fn only_a_json_object_of_strings_is_metadata() {
        assert_eq!(
            metadata_from_custom_id(&json!(r#"{"a":"1"}"#)),
            Some(BTreeMap::from([("a".to_owned(), "1".to_owned())]))
        );
        assert_eq!(metadata_from_custom_id(&json!(r#"{"a":1}"#)), None);
        assert_eq!(metadata_from_custom_id(&json!("ORDER-77")), None);
    }
}
