//! Unified update -> `POST /v1/checkout/sessions/{id}` (form body), and the retrieve request.
//!
//! The body is first built as nested JSON (so `provider_options.stripe` can be merged with the
//! shared conflict rule), then encoded in bracket notation by `form::encode_with`; the line
//! items, most of a large body, are written straight into the form by `line_items::encode`.

use checkout_provider_interface::adapter::merge_provider_options;
use checkout_provider_interface::{
    AdapterError, AddressPatch, CheckedUpdate, Context, DetailsPatch, FieldProblem, Patch, ProviderRequest,
    ProviderResponse, ShippingOption, wire,
};
use serde_json::{Map, Value, json};

use crate::config::StripeConfig;
use crate::{KIND, form, line_items, response, units};

/// What every session answer expands: its line items (Stripe includes them only when asked, and
/// then only the first page) and their prices' products, which hold the item image and, on
/// versions before line-item metadata, the sku / external id. Retrieve and update answers ask
/// for the same, so they list the same items for the same session.
pub const SESSION_EXPANSIONS: [&str; 2] = ["line_items", "line_items.data.price.product"];

/// `SESSION_EXPANSIONS` as the retrieve's query (`expand[]=…`, brackets percent-encoded as
/// checked against the mock).
const RETRIEVE_QUERY: &str = "?expand%5B%5D=line_items&expand%5B%5D=line_items.data.price.product";

/// The follow-up read when the first page of items was not all: the list endpoint from the
/// start, at Stripe's largest page (`limit` 1–100), with the same product expansion.
const LINE_ITEMS_QUERY: &str = "/line_items?expand%5B%5D=data.price.product&limit=100";

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

/// `GET /v1/checkout/sessions/{id}/line_items?limit=100`: the session's items when its answer
/// listed only the first page (`line_items.has_more`).
pub fn build_line_items_read(config: &StripeConfig, ctx: &Context) -> Result<ProviderRequest, AdapterError> {
    let mut builder = wire::request(http::Method::GET, &format!("{}{LINE_ITEMS_QUERY}", session_path(ctx)));
    for (name, value) in common_headers(config)? {
        builder = builder.header(name, value);
    }
    wire::finish(builder, Vec::new())
}

/// `update` has passed `rules::check` (a `CheckedUpdate` is the only way here), so e.g.
/// `price_data[currency]=` is never sent.
pub fn build_update(
    config: &StripeConfig,
    update: &CheckedUpdate,
    current: Option<&ProviderResponse>,
    ctx: &Context,
) -> Result<ProviderRequest, AdapterError> {
    let mut body = Map::new();
    if let Some(metadata) = metadata(&update.metadata) {
        body.insert("metadata".to_owned(), metadata);
    }
    // The items are written straight into the form (`line_items::encode`); `null` holds their
    // place in the body, so a provider option naming `line_items` still conflicts.
    let items = match &update.line_items {
        Some(items) => {
            let currency = update.currency.as_deref().map(str::to_ascii_lowercase);
            body.insert("line_items".to_owned(), Value::Null);
            Some(line_items::encode(items, currency.as_deref(), config)?)
        }
        None => None,
    };
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
            let options =
                options.iter().enumerate().map(|(i, o)| shipping_option(i, o, currency)).collect::<Result<_, _>>()?;
            body.insert("shipping_options".to_owned(), Value::Array(options));
        }
    }
    if let Patch::Set(patch) = &update.shipping_details {
        let details = shipping_details(patch, current)?;
        body.insert("collected_information".to_owned(), json!({ "shipping_details": details }));
    }
    merge_provider_options(&mut body, update, KIND)?;
    expand_session(&mut body)?;
    // Only `provider_options` nest deep enough to fail: the client's own options.
    let encoded = form::encode_with(&body, items.as_deref().map(|pairs| ("line_items", pairs)))
        .map_err(|e| AdapterError::Invalid(vec![FieldProblem::new("", format!("cannot form-encode: {e}"))]))?;

    // `Idempotency-Key` is minted per attempt (`idempotency::attempt_key`), not built here.
    let mut builder =
        wire::request(http::Method::POST, &session_path(ctx)).header(http::header::CONTENT_TYPE, wire::FORM);
    for (name, value) in common_headers(config)? {
        builder = builder.header(name, value);
    }
    wire::finish(builder, encoded.into_bytes())
}

/// `Authorization` (redacted in previews) and `Stripe-Version` (configured, or the pinned default).
pub fn common_headers(config: &StripeConfig) -> Result<Vec<(&'static str, http::HeaderValue)>, AdapterError> {
    let authorization = wire::sensitive(&format!("Bearer {}", config.api_key.expose()))?;
    let version = http::HeaderValue::from_str(&config.api_version)
        .map_err(|e| AdapterError::internal("the configured api_version is not a valid header value", e))?;
    Ok(vec![("authorization", authorization), ("stripe-version", version)])
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

/// The update answer lists the session's items as a retrieve does: `SESSION_EXPANSIONS` are
/// added to the client's own `provider_options.stripe.expand` (asking twice for one expansion
/// is one expansion, so this never conflicts).
fn expand_session(body: &mut Map<String, Value>) -> Result<(), AdapterError> {
    let paths = body.entry("expand").or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(paths) = paths else {
        return Err(AdapterError::Invalid(vec![FieldProblem::new(
            "/provider_options/stripe/expand",
            "stripe takes `expand` as a list of paths",
        )]));
    };
    for path in SESSION_EXPANSIONS {
        if !paths.iter().any(|known| known.as_str() == Some(path)) {
            paths.push(Value::String(path.to_owned()));
        }
    }
    Ok(())
}

fn shipping_option(
    index: usize,
    option: &ShippingOption,
    session_currency: Option<&str>,
) -> Result<Value, AdapterError> {
    if let Some(rate) = &option.shipping_rate {
        return Ok(json!({ "shipping_rate": rate }));
    }
    let currency = option.currency.as_deref().or(session_currency).map(str::to_ascii_lowercase);
    let amount = match (option.amount, currency.as_deref()) {
        (Some(amount), Some(currency)) => Some(units::to_stripe(currency, amount).map_err(|e| {
            AdapterError::Invalid(vec![FieldProblem::new(format!("/shipping_options/{index}/amount"), e.to_string())])
        })?),
        (amount, _) => amount,
    };
    let mut data = Map::new();
    data.insert("display_name".to_owned(), json!(option.display_name));
    data.insert("type".to_owned(), json!("fixed_amount"));
    data.insert("fixed_amount".to_owned(), json!({ "amount": amount, "currency": currency }));
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
    Ok(json!({ "shipping_rate_data": data }))
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
