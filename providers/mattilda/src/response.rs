//! Mattilda `CheckoutSession` → [`UnifiedSession`].
//!
//! The object has no status: a session is `expired` once `expires_at` has passed (against the
//! context's clock), else `open`. Its only total is the optional `amount`: the rest of the
//! amounts are derived from the cart (see `totals`).

use std::collections::BTreeMap;

use checkout_provider_interface::session::Address;
use checkout_provider_interface::{
    AdapterError, Amounts, Context, Details, PaymentMethodSummary, ProviderResponse, SessionLineItem, SessionStatus,
    Shipping, UnifiedSession, timestamp, wire,
};
use serde_json::{Map, Value};

use crate::{totals, units};

pub fn parse_session(response: &ProviderResponse, ctx: &Context) -> Result<UnifiedSession, AdapterError> {
    if !response.status().is_success() {
        return Err(crate::error::failure(response));
    }
    let body = wire::json_body(response)?;
    let session = body.as_object().ok_or_else(|| AdapterError::unparseable("the session is not a JSON object"))?;
    let id = text(session, "id").ok_or_else(|| AdapterError::unparseable("the session has no `id`"))?;
    let expires_at = text(session, "expires_at")
        .and_then(|t| timestamp::parse(&t))
        .ok_or_else(|| AdapterError::unparseable("the session has no valid `expires_at`"))?;
    let status = if expires_at <= ctx.now { SessionStatus::Expired } else { SessionStatus::Open };

    let mut unified = UnifiedSession::new(id, "mattilda", status);
    unified.expires_at = timestamp::format(expires_at);
    unified.currency = text(session, "currency").map(|c| c.to_ascii_uppercase());
    let cart: Vec<&Map<String, Value>> = session
        .get("cart_items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .collect();
    let currency = text(session, "currency");
    unified.amounts = amounts(&cart, session.get("amount").and_then(Value::as_i64), currency.as_deref());
    if session.get("cart_items").is_some_and(Value::is_array) {
        unified.line_items = Some(cart.iter().map(|item| line_item(item, currency.as_deref())).collect());
    }
    unified.metadata = session.get("metadata").and_then(Value::as_object).map(|map| {
        map.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))).collect::<BTreeMap<_, _>>()
    });
    let buyer = session.get("buyer").and_then(Value::as_object);
    if let Some(details) = buyer.and_then(|b| b.get("shipping_details")).and_then(Value::as_object) {
        unified.shipping =
            Some(Shipping { selected_rate: None, options: Vec::new(), details: Some(details_of(details)) });
    }
    unified.payment_method =
        session.get("payment_method").and_then(Value::as_object).map(|method| PaymentMethodSummary {
            method: text(method, "method"),
            scheme: text(method, "scheme"),
            label: text(method, "label"),
            id: text(method, "id"),
        });
    Ok(unified)
}

fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn amount(map: &Map<String, Value>, key: &str) -> Option<i64> {
    map.get(key).and_then(Value::as_i64)
}

/// The cart's totals by the `totals` rule (product types, per-item discount, tax, duty and
/// shipping), in unified units. The session's own `amount`, where present, is the total: it is
/// what Mattilda charges, and Mattilda refuses a cart that does not add up to it.
fn amounts(cart: &[&Map<String, Value>], amount_field: Option<i64>, currency: Option<&str>) -> Amounts {
    let unified = |amount: Option<i64>| amount.and_then(|a| units::from_provider(currency, a));
    let total = unified(amount_field);
    if cart.is_empty() {
        return Amounts { total, ..Amounts::default() };
    }
    let sums = totals::of_cart(cart.iter().copied());
    Amounts {
        subtotal: unified(sums.subtotal),
        discount: unified(sums.discount),
        tax: unified(sums.tax),
        shipping: unified(sums.shipping),
        total: if amount_field.is_some() { total } else { unified(sums.total()) },
    }
}

fn line_item(item: &Map<String, Value>, currency: Option<&str>) -> SessionLineItem {
    let unified = |amount: Option<i64>| amount.and_then(|a| units::from_provider(currency, a));
    SessionLineItem {
        // Gr4vy cart items have no id of their own.
        id: None,
        name: text(item, "name"),
        quantity: amount(item, "quantity").and_then(|q| u64::try_from(q).ok()),
        unit_amount: unified(amount(item, "unit_amount")),
        // Signed: a discount, gift card or store credit line counts against the total.
        amount_total: unified(totals::line_total(item)),
        sku: text(item, "sku"),
        external_id: text(item, "external_identifier"),
        image_url: text(item, "image_url"),
    }
}

fn details_of(details: &Map<String, Value>) -> Details {
    let first_name = text(details, "first_name");
    let last_name = text(details, "last_name");
    // The unified `name` is the display form of the two parts Mattilda stores.
    let name = match (&first_name, &last_name) {
        (Some(first), Some(last)) => Some(format!("{first} {last}")),
        (Some(one), None) | (None, Some(one)) => Some(one.clone()),
        (None, None) => None,
    };
    Details {
        name,
        first_name,
        last_name,
        email: text(details, "email_address"),
        phone: text(details, "phone_number"),
        address: details.get("address").and_then(Value::as_object).map(|address| Address {
            line1: text(address, "line1"),
            line2: text(address, "line2"),
            city: text(address, "city"),
            state: text(address, "state"),
            postal_code: text(address, "postal_code"),
            country: text(address, "country"),
        }),
    }
}
