//! Applying a decoded update form to a session the way Stripe does: metadata merges, line
//! items (`items.rs`) and shipping options replace, collected shipping details replace. All
//! checks run on a copy; the caller commits only on success.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::state::{Expand, Rate, Session};
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

/// The first API version whose update takes `line_items[i][metadata]` (changelog
/// 2025-12-15.clover); older versions answer `parameter_unknown`.
const ITEM_METADATA_VERSION: &str = "2025-12-15.clover";

/// `api_version` is the request's `Stripe-Version` (already checked), else the account default.
pub fn apply(
    session: &mut Session,
    form: &Map<String, Value>,
    rates: &BTreeMap<String, Rate>,
    ids: &mut dyn Ids,
    api_version: &str,
) -> Result<Outcome, StripeError> {
    for key in form.keys() {
        if !["metadata", "line_items", "shipping_options", "collected_information", "expand"].contains(&key.as_str()) {
            return Err(StripeError::unknown(key));
        }
    }
    let expand = expand_list(form.get("expand"), "expand")?;
    if let Some(value) = form.get("metadata") {
        apply_metadata(&mut session.metadata, value, "metadata")?;
    }
    if let Some(value) = form.get("line_items") {
        let item_metadata = crate::config::version_at_least(api_version, ITEM_METADATA_VERSION);
        session.items = super::items::line_items(session, value, ids, item_metadata)?;
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

/// Stripe's metadata update at `base` (`metadata`, `line_items[0][metadata]`): keys merge, an
/// empty value unsets one, an empty `metadata` clears all.
pub fn apply_metadata(metadata: &mut BTreeMap<String, String>, value: &Value, base: &str) -> Result<(), StripeError> {
    match value {
        Value::String(text) if text.is_empty() => metadata.clear(),
        Value::Object(map) => {
            for (key, value) in map {
                let param = format!("{base}[{key}]");
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
                return Err(StripeError::invalid("", "You can specify up to 50 keys in metadata.", base));
            }
        }
        _ => return Err(StripeError::invalid("parameter_invalid_string", "Invalid hash", base)),
    }
    Ok(())
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

pub fn integer(value: &Value, param: &str) -> Result<u64, StripeError> {
    let text = value.as_str().unwrap_or_default();
    text.parse::<u64>()
        .map_err(|_| StripeError::invalid("parameter_invalid_integer", &format!("Invalid integer: {text}"), param))
}

pub fn positive_integer(value: &Value, param: &str) -> Result<u64, StripeError> {
    match integer(value, param)? {
        0 => Err(StripeError::invalid("parameter_invalid_integer", "This value must be greater than 0.", param)),
        n => Ok(n),
    }
}

impl StripeError {
    pub fn unknown(param: &str) -> Self {
        Self::new(
            StripeErrorKind::InvalidRequest,
            400,
            "parameter_unknown",
            &format!("Received unknown parameter: {param}"),
        )
        .with_param(param)
    }

    pub fn param_missing(param: &str) -> Self {
        Self::new(
            StripeErrorKind::InvalidRequest,
            400,
            "parameter_missing",
            &format!("Missing required param: {param}."),
        )
        .with_param(param)
    }

    pub fn missing_resource(what: &str, id: &str, param: &str) -> Self {
        Self::new(StripeErrorKind::InvalidRequest, 400, "resource_missing", &format!("No such {what}: '{id}'"))
            .with_param(param)
    }

    pub fn invalid(code: &str, message: &str, param: &str) -> Self {
        Self::new(StripeErrorKind::InvalidRequest, 400, code, message).with_param(param)
    }
}
