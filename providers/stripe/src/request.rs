//! Unified update -> `POST /v1/checkout/sessions/{id}` (form body), and the retrieve request.
//!
//! The body is first built as nested JSON (so `provider_options.stripe` can be merged with the
//! shared conflict rule), then encoded in bracket notation by `form::encode`.

use checkout_provider_interface::adapter::merge_provider_options;
use checkout_provider_interface::{
    AdapterError, AddressPatch, Context, DetailsPatch, FieldProblem, LineItem, LineItemForm, Patch, ProviderRequest,
    ProviderResponse, ShippingOption, UnifiedUpdate, wire,
};
use serde_json::{Map, Value, json};

use crate::config::StripeConfig;
use crate::{KIND, form, response, rules};

/// Retrieve always expands line items so the unified session can list them.
const RETRIEVE_QUERY: &str = "?expand%5B%5D=line_items";

pub fn session_path(ctx: &Context) -> String {
    format!("/v1/checkout/sessions/{}", wire::encode_segment(&ctx.session_id))
}

pub fn build_retrieve(config: &StripeConfig, ctx: &Context) -> Result<ProviderRequest, AdapterError> {
    let mut builder = wire::request(http::Method::GET, &format!("{}{RETRIEVE_QUERY}", session_path(ctx)));
    for (name, value) in common_headers(config)? {
        builder = builder.header(name, value);
    }
    wire::finish(builder, Vec::new())
}

pub fn build_update(
    config: &StripeConfig,
    update: &UnifiedUpdate,
    current: Option<&ProviderResponse>,
    ctx: &Context,
) -> Result<ProviderRequest, AdapterError> {
    // The gateway checks these before dispatch; checking again here keeps a direct caller (or a
    // preview) from ever sending e.g. `price_data[currency]=`.
    let invalid = rules::check(update).invalid;
    if !invalid.is_empty() {
        return Err(AdapterError::Invalid(invalid));
    }
    let mut body = Map::new();
    if let Some(metadata) = metadata(&update.metadata) {
        body.insert("metadata".to_owned(), metadata);
    }
    if let Some(items) = &update.line_items {
        let currency = update.currency.as_deref().map(str::to_ascii_lowercase);
        let items = items.iter().map(|item| line_item(item, currency.as_deref())).collect();
        body.insert("line_items".to_owned(), Value::Array(items));
    }
    match &update.shipping_options {
        Patch::Absent => {}
        // An empty list offers no rates either; `shipping_options=` is Stripe's "clear".
        Patch::Clear => {
            body.insert("shipping_options".to_owned(), json!(""));
        }
        Patch::Set(options) if options.is_empty() => {
            body.insert("shipping_options".to_owned(), json!(""));
        }
        Patch::Set(options) => {
            let currency = update.currency.as_deref();
            body.insert("shipping_options".to_owned(), options.iter().map(|o| shipping_option(o, currency)).collect());
        }
    }
    if let Patch::Set(patch) = &update.shipping_details {
        let details = shipping_details(patch, current)?;
        body.insert("collected_information".to_owned(), json!({ "shipping_details": details }));
    }
    merge_provider_options(&mut body, update, KIND)?;
    let encoded = form::encode(&body)
        .map_err(|e| AdapterError::Invalid(vec![FieldProblem::new("", format!("cannot form-encode: {e}"))]))?;

    let mut builder = wire::request(http::Method::POST, &session_path(ctx))
        .header(http::header::CONTENT_TYPE, wire::FORM)
        .header("idempotency-key", idempotency_key(ctx)?);
    for (name, value) in common_headers(config)? {
        builder = builder.header(name, value);
    }
    wire::finish(builder, encoded.into_bytes())
}

/// `Authorization` (redacted in previews) and, when configured, `Stripe-Version`.
pub fn common_headers(config: &StripeConfig) -> Result<Vec<(&'static str, http::HeaderValue)>, AdapterError> {
    let mut headers = vec![("authorization", wire::sensitive(&format!("Bearer {}", config.api_key.expose()))?)];
    if let Some(version) = &config.api_version {
        let value = http::HeaderValue::from_str(version)
            .map_err(|_| AdapterError::unparseable("api_version is not a valid header value"))?;
        headers.push(("stripe-version", value));
    }
    Ok(headers)
}

fn idempotency_key(ctx: &Context) -> Result<http::HeaderValue, AdapterError> {
    http::HeaderValue::from_str(&ctx.idempotency_key).map_err(|_| {
        AdapterError::Invalid(vec![FieldProblem::new("", "the idempotency key is not a valid header value")])
    })
}

/// Stripe merges metadata natively: `metadata[k]=v` sets, `metadata[k]=` removes, `metadata=`
/// clears every key. An empty patch sends nothing.
fn metadata(patch: &Patch<std::collections::BTreeMap<String, Option<String>>>) -> Option<Value> {
    match patch {
        Patch::Absent => None,
        Patch::Clear => Some(json!("")),
        Patch::Set(map) if map.is_empty() => None,
        Patch::Set(map) => {
            let entries = map.iter().map(|(k, v)| (k.clone(), Value::String(v.clone().unwrap_or_default())));
            Some(Value::Object(entries.collect()))
        }
    }
}

fn line_item(item: &LineItem, currency: Option<&str>) -> Value {
    // Values are built directly rather than through `json!`, whose `to_value` round trip was a
    // large share of building 100 items (BENCHMARKS.md).
    let mut out = Map::new();
    match item.form() {
        LineItemForm::Existing => {
            out.insert("id".to_owned(), text(item.id.as_deref()));
        }
        LineItemForm::Catalog => {
            out.insert("price".to_owned(), text(item.price.as_deref()));
        }
        LineItemForm::AdHoc => {
            let mut product = Map::new();
            product.insert("name".to_owned(), text(item.name.as_deref()));
            if let Some(image) = &item.image_url {
                product.insert("images".to_owned(), Value::Array(vec![Value::String(image.clone())]));
            }
            // Stripe has no item sku / external id: they ride in the inline product's metadata.
            let mut product_metadata = Map::new();
            for (key, value) in [(response::SKU_KEY, &item.sku), (response::EXTERNAL_ID_KEY, &item.external_id)] {
                if let Some(value) = value {
                    product_metadata.insert(key.to_owned(), Value::String(value.clone()));
                }
            }
            if !product_metadata.is_empty() {
                product.insert("metadata".to_owned(), Value::Object(product_metadata));
            }
            let mut price_data = Map::new();
            price_data.insert("currency".to_owned(), text(currency));
            price_data.insert("product_data".to_owned(), Value::Object(product));
            price_data.insert("unit_amount".to_owned(), item.unit_amount.map_or(Value::Null, Value::from));
            out.insert("price_data".to_owned(), Value::Object(price_data));
        }
    }
    if let Some(quantity) = item.quantity {
        out.insert("quantity".to_owned(), Value::from(quantity));
    }
    Value::Object(out)
}

/// A string value, or `null` (sent as an empty value) when absent.
fn text(value: Option<&str>) -> Value {
    value.map_or(Value::Null, |text| Value::String(text.to_owned()))
}

fn shipping_option(option: &ShippingOption, session_currency: Option<&str>) -> Value {
    if let Some(rate) = &option.shipping_rate {
        return json!({ "shipping_rate": rate });
    }
    let currency = option.currency.as_deref().or(session_currency).map(str::to_ascii_lowercase);
    let mut data = Map::new();
    data.insert("display_name".to_owned(), json!(option.display_name));
    data.insert("type".to_owned(), json!("fixed_amount"));
    data.insert("fixed_amount".to_owned(), json!({ "amount": option.amount, "currency": currency }));
    if let Some(estimate) = &option.delivery_estimate {
        let mut bounds = Map::new();
        for (name, bound) in [("minimum", &estimate.minimum), ("maximum", &estimate.maximum)] {
            if let Some(bound) = bound {
                bounds.insert(name.to_owned(), json!({ "unit": bound.unit, "value": bound.value }));
            }
        }
        if !bounds.is_empty() {
            data.insert("delivery_estimate".to_owned(), Value::Object(bounds));
        }
    }
    json!({ "shipping_rate_data": data })
}

/// Stripe replaces the collected shipping details as a whole and requires `name`,
/// `address[line1]` and `address[country]`. The patch is merged onto the current details
/// (read first when the patch is partial; empty in a preview), then checked.
fn shipping_details(patch: &DetailsPatch, current: Option<&ProviderResponse>) -> Result<Value, AdapterError> {
    let mut details = match current {
        Some(response) => response::current_shipping_details(response)?,
        None => Map::new(),
    };
    apply(&mut details, "name", &patch.name);
    match &patch.address {
        Patch::Absent => {}
        Patch::Clear => {
            details.remove("address");
        }
        Patch::Set(address) => {
            let mut merged = match details.remove("address") {
                Some(Value::Object(map)) => map,
                _ => Map::new(),
            };
            let AddressPatch { line1, line2, city, state, postal_code, country } = address;
            let country = match country {
                Patch::Set(code) => Patch::Set(code.to_ascii_uppercase()),
                Patch::Clear => Patch::Clear,
                Patch::Absent => Patch::Absent,
            };
            let fields = [
                ("line1", line1),
                ("line2", line2),
                ("city", city),
                ("state", state),
                ("postal_code", postal_code),
                ("country", &country),
            ];
            for (key, field) in fields {
                apply(&mut merged, key, field);
            }
            details.insert("address".to_owned(), Value::Object(merged));
        }
    }
    let present = |value: Option<&Value>| value.and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    let address = details.get("address").and_then(Value::as_object);
    let required = [
        ("/shipping_details/name", details.get("name")),
        ("/shipping_details/address/line1", address.and_then(|a| a.get("line1"))),
        ("/shipping_details/address/country", address.and_then(|a| a.get("country"))),
    ];
    let detail = "stripe requires it in collected shipping details and the session has none to keep";
    let missing: Vec<_> =
        required.into_iter().filter(|(_, value)| !present(*value)).map(|(p, _)| FieldProblem::new(p, detail)).collect();
    if !missing.is_empty() {
        return Err(AdapterError::Invalid(missing));
    }
    Ok(Value::Object(details))
}

/// Merge-patch one string field.
fn apply(target: &mut Map<String, Value>, key: &str, patch: &Patch<String>) {
    match patch {
        Patch::Absent => {}
        Patch::Clear => {
            target.remove(key);
        }
        Patch::Set(value) => {
            target.insert(key.to_owned(), json!(value));
        }
    }
}
