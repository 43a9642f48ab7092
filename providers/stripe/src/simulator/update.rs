//! Applying a decoded update form to a session the way Stripe does: metadata merges, line
//! items and shipping options replace, collected shipping details replace. All checks run on
//! a copy; the caller commits only on success.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::state::{Expand, Item, Rate, Session, catalog};
use super::{StripeError, StripeErrorKind};

/// What an update form changes, besides the session itself.
pub struct Outcome {
    pub new_rates: Vec<Rate>,
    pub expand: Expand,
}

/// Allocates ids for objects the update creates.
pub trait Ids {
    fn next(&mut self, prefix: &str) -> String;
}

pub fn apply(
    session: &mut Session,
    form: &Map<String, Value>,
    rates: &BTreeMap<String, Rate>,
    ids: &mut dyn Ids,
) -> Result<Outcome, StripeError> {
    for key in form.keys() {
        if !["metadata", "line_items", "shipping_options", "collected_information", "expand"].contains(&key.as_str()) {
            return Err(StripeError::unknown(key));
        }
    }
    let expand = expand_list(form.get("expand"), "expand")?;
    if let Some(value) = form.get("metadata") {
        apply_metadata(&mut session.metadata, value)?;
    }
    if let Some(value) = form.get("line_items") {
        session.items = line_items(session, value, ids)?;
        if session.subtotal().is_none_or(|s| s > 99_999_999_999) {
            return Err(StripeError::invalid("amount_too_large", "The line items total is too large.", "line_items"));
        }
    }
    let mut new_rates = Vec::new();
    if let Some(value) = form.get("shipping_options") {
        let options = shipping_options(session, value, rates, ids, &mut new_rates)?;
        // UNCONFIRMED at Stripe: the simulator pre-selects the first offered rate.
        session.selected_rate = options.first().cloned();
        session.shipping_options = options;
    }
    if let Some(value) = form.get("collected_information") {
        session.shipping_details = Some(shipping_details(value)?);
    }
    Ok(Outcome { new_rates, expand })
}

pub fn expand_list(value: Option<&Value>, param: &str) -> Result<Expand, StripeError> {
    let mut expand = Expand::default();
    let Some(value) = value else { return Ok(expand) };
    let Value::Array(paths) = value else {
        return Err(StripeError::invalid("parameter_invalid_array", "Invalid array", param));
    };
    for (index, path) in paths.iter().enumerate() {
        let path = path.as_str().unwrap_or_default();
        if !expand.add(path) {
            let message = format!("This property cannot be expanded ({path}).");
            return Err(StripeError::invalid("", &message, &format!("{param}[{index}]")));
        }
    }
    Ok(expand)
}

fn apply_metadata(metadata: &mut BTreeMap<String, String>, value: &Value) -> Result<(), StripeError> {
    match value {
        Value::String(text) if text.is_empty() => metadata.clear(),
        Value::Object(map) => {
            for (key, value) in map {
                let param = format!("metadata[{key}]");
                let value = value
                    .as_str()
                    .ok_or_else(|| StripeError::invalid("parameter_invalid_string", "Invalid string", &param))?;
                if key.is_empty() || key.chars().count() > 40 {
                    return Err(StripeError::invalid("", "Metadata keys can have up to 40 characters.", &param));
                }
                if value.chars().count() > 500 {
                    return Err(StripeError::invalid("", "Metadata values can have up to 500 characters.", &param));
                }
                if value.is_empty() {
                    metadata.remove(key);
                } else {
                    metadata.insert(key.clone(), value.to_owned());
                }
            }
            if metadata.len() > 50 {
                return Err(StripeError::invalid("", "You can specify up to 50 keys in metadata.", "metadata"));
            }
        }
        _ => return Err(StripeError::invalid("parameter_invalid_string", "Invalid hash", "metadata")),
    }
    Ok(())
}

fn line_items(session: &Session, value: &Value, ids: &mut dyn Ids) -> Result<Vec<Item>, StripeError> {
    let Value::Array(entries) = value else {
        return Err(StripeError::invalid("parameter_invalid_array", "Invalid array", "line_items"));
    };
    if entries.is_empty() {
        return Err(StripeError::invalid("", "You must provide at least one line item.", "line_items"));
    }
    let mut items = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let at = |field: &str| format!("line_items[{index}][{field}]");
        let Value::Object(fields) = entry else {
            return Err(StripeError::invalid(
                "parameter_invalid_array",
                "Invalid hash",
                &format!("line_items[{index}]"),
            ));
        };
        if let Some(key) = fields.keys().find(|k| !["id", "price", "price_data", "quantity"].contains(&k.as_str())) {
            return Err(StripeError::unknown(&at(key)));
        }
        let quantity = match fields.get("quantity") {
            Some(q) => Some(positive_integer(q, &at("quantity"))?),
            None => None,
        };
        let mut item = if let Some(id) = fields.get("id") {
            let id = id.as_str().unwrap_or_default();
            let existing = session.items.iter().find(|item| item.id == id);
            existing.cloned().ok_or_else(|| StripeError::missing_resource("line item", id, &at("id")))?
        } else {
            let quantity_missing = || StripeError::param_missing(&at("quantity"));
            let mut item = match (fields.get("price"), fields.get("price_data")) {
                (Some(price), None) => catalog_item(session, price.as_str().unwrap_or_default(), &at("price"))?,
                (None, Some(Value::Object(data))) => ad_hoc_item(session, data, index)?,
                _ => {
                    return Err(StripeError::invalid(
                        "",
                        "You must specify either `price` or `price_data`.",
                        &at("price"),
                    ));
                }
            };
            item.id = ids.next("li");
            item.quantity = quantity.ok_or_else(quantity_missing)?;
            item
        };
        if let Some(quantity) = quantity {
            item.quantity = quantity;
        }
        items.push(item);
    }
    Ok(items)
}

fn catalog_item(session: &Session, price_id: &str, param: &str) -> Result<Item, StripeError> {
    let price = catalog().remove(price_id).ok_or_else(|| StripeError::missing_resource("price", price_id, param))?;
    Ok(Item {
        id: String::new(),
        price_id: price_id.to_owned(),
        product_id: price.product_id.to_owned(),
        name: price.name.to_owned(),
        unit_amount: price.unit_amount,
        quantity: 0,
        currency: session.currency.clone(),
        images: Vec::new(),
        product_metadata: BTreeMap::new(),
    })
}

fn ad_hoc_item(session: &Session, data: &Map<String, Value>, index: usize) -> Result<Item, StripeError> {
    let at = |field: &str| format!("line_items[{index}][price_data]{field}");
    let currency =
        data.get("currency").and_then(Value::as_str).ok_or_else(|| StripeError::param_missing(&at("[currency]")))?;
    if currency != session.currency {
        let message =
            format!("The currency `{currency}` does not match the Checkout Session's currency `{}`.", session.currency);
        return Err(StripeError::invalid("", &message, &at("[currency]")));
    }
    let unit_amount = data.get("unit_amount").ok_or_else(|| StripeError::param_missing(&at("[unit_amount]")))?;
    let unit_amount = i64::try_from(integer(unit_amount, &at("[unit_amount]"))?)
        .map_err(|_| StripeError::invalid("amount_too_large", "Amount too large.", &at("[unit_amount]")))?;
    let Some(Value::Object(product)) = data.get("product_data") else {
        return Err(StripeError::param_missing(&at("[product_data][name]")));
    };
    let name = product.get("name").and_then(Value::as_str).filter(|n| !n.is_empty());
    let name = name.ok_or_else(|| StripeError::param_missing(&at("[product_data][name]")))?;
    let images = match product.get("images") {
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    let product_metadata = match product.get("metadata") {
        Some(Value::Object(map)) => map.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect(),
        _ => BTreeMap::new(),
    };
    Ok(Item {
        id: String::new(),
        price_id: format!("price_inline_{index}"),
        product_id: format!("prod_inline_{index}"),
        name: name.to_owned(),
        unit_amount,
        quantity: 0,
        currency: currency.to_owned(),
        images,
        product_metadata,
    })
}

fn shipping_options(
    session: &Session,
    value: &Value,
    rates: &BTreeMap<String, Rate>,
    ids: &mut dyn Ids,
    new_rates: &mut Vec<Rate>,
) -> Result<Vec<String>, StripeError> {
    let entries = match value {
        Value::String(text) if text.is_empty() => return Ok(Vec::new()),
        Value::Array(entries) => entries,
        _ => return Err(StripeError::invalid("parameter_invalid_array", "Invalid array", "shipping_options")),
    };
    if entries.len() > 5 {
        return Err(StripeError::invalid("", "You can specify up to 5 shipping options.", "shipping_options"));
    }
    let mut out = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let at = |field: &str| format!("shipping_options[{index}]{field}");
        match (entry.get("shipping_rate").and_then(Value::as_str), entry.get("shipping_rate_data")) {
            (Some(id), None) => {
                if !rates.contains_key(id) {
                    return Err(StripeError::missing_resource("shipping rate", id, &at("[shipping_rate]")));
                }
                out.push(id.to_owned());
            }
            (None, Some(Value::Object(data))) => {
                let rate = inline_rate(session, data, &at("[shipping_rate_data]"), ids)?;
                out.push(rate.id.clone());
                new_rates.push(rate);
            }
            _ => return Err(StripeError::invalid("", "Give `shipping_rate` or `shipping_rate_data`.", &at(""))),
        }
    }
    Ok(out)
}

fn inline_rate(
    session: &Session,
    data: &Map<String, Value>,
    base: &str,
    ids: &mut dyn Ids,
) -> Result<Rate, StripeError> {
    let at = |field: &str| format!("{base}{field}");
    let display_name = data.get("display_name").and_then(Value::as_str);
    let display_name = display_name.ok_or_else(|| StripeError::param_missing(&at("[display_name]")))?;
    let fixed = data.get("fixed_amount").and_then(Value::as_object);
    let amount =
        fixed.and_then(|f| f.get("amount")).ok_or_else(|| StripeError::param_missing(&at("[fixed_amount][amount]")))?;
    let amount = i64::try_from(integer(amount, &at("[fixed_amount][amount]"))?)
        .map_err(|_| StripeError::invalid("amount_too_large", "Amount too large.", &at("[fixed_amount][amount]")))?;
    let currency = fixed.and_then(|f| f.get("currency")).and_then(Value::as_str);
    let currency = currency.ok_or_else(|| StripeError::param_missing(&at("[fixed_amount][currency]")))?;
    if currency != session.currency {
        let message =
            format!("The shipping rate currency `{currency}` does not match the session's `{}`.", session.currency);
        return Err(StripeError::invalid("", &message, &at("[fixed_amount][currency]")));
    }
    let mut estimate = Map::new();
    if let Some(Value::Object(bounds)) = data.get("delivery_estimate") {
        for (name, bound) in bounds {
            let unit = bound.get("unit").and_then(Value::as_str).unwrap_or_default();
            let param = at(&format!("[delivery_estimate][{name}]"));
            if !["hour", "day", "business_day", "week", "month"].contains(&unit) {
                return Err(StripeError::invalid("", &format!("Invalid unit: {unit}"), &format!("{param}[unit]")));
            }
            let value = positive_integer(bound.get("value").unwrap_or(&Value::Null), &format!("{param}[value]"))?;
            estimate.insert(name.clone(), json!({"unit": unit, "value": value}));
        }
    }
    Ok(Rate {
        id: ids.next("shr"),
        display_name: display_name.to_owned(),
        amount,
        currency: currency.to_owned(),
        delivery_estimate: if estimate.is_empty() { Value::Null } else { Value::Object(estimate) },
    })
}

fn shipping_details(value: &Value) -> Result<Value, StripeError> {
    const BASE: &str = "collected_information[shipping_details]";
    let details = value.get("shipping_details").ok_or_else(|| StripeError::unknown("collected_information"))?;
    let field = |path: &[&str]| path.iter().try_fold(details, |v, key| v.get(key)).and_then(Value::as_str);
    let name = field(&["name"]).ok_or_else(|| StripeError::param_missing(&format!("{BASE}[name]")))?;
    for required in ["line1", "country"] {
        if field(&["address", required]).is_none_or(str::is_empty) {
            return Err(StripeError::param_missing(&format!("{BASE}[address][{required}]")));
        }
    }
    let country = field(&["address", "country"]).unwrap_or_default();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(StripeError::invalid(
            "",
            "Country must be an ISO 3166-1 alpha-2 code.",
            &format!("{BASE}[address][country]"),
        ));
    }
    let mut address = Map::new();
    for key in ["city", "country", "line1", "line2", "postal_code", "state"] {
        address.insert(key.to_owned(), field(&["address", key]).map_or(Value::Null, |v| json!(v)));
    }
    Ok(json!({"name": name, "address": address}))
}

fn integer(value: &Value, param: &str) -> Result<u64, StripeError> {
    let text = value.as_str().unwrap_or_default();
    text.parse::<u64>()
        .map_err(|_| StripeError::invalid("parameter_invalid_integer", &format!("Invalid integer: {text}"), param))
}

fn positive_integer(value: &Value, param: &str) -> Result<u64, StripeError> {
    match integer(value, param)? {
        0 => Err(StripeError::invalid("parameter_invalid_integer", "This value must be greater than 0.", param)),
        n => Ok(n),
    }
}

impl StripeError {
    fn unknown(param: &str) -> Self {
        Self::new(
            StripeErrorKind::InvalidRequest,
            400,
            "parameter_unknown",
            &format!("Received unknown parameter: {param}"),
        )
        .with_param(param)
    }

    fn param_missing(param: &str) -> Self {
        Self::new(
            StripeErrorKind::InvalidRequest,
            400,
            "parameter_missing",
            &format!("Missing required param: {param}."),
        )
        .with_param(param)
    }

    fn missing_resource(what: &str, id: &str, param: &str) -> Self {
        Self::new(StripeErrorKind::InvalidRequest, 400, "resource_missing", &format!("No such {what}: '{id}'"))
            .with_param(param)
    }

    pub fn invalid(code: &str, message: &str, param: &str) -> Self {
        Self::new(StripeErrorKind::InvalidRequest, 400, code, message).with_param(param)
    }
}
