//! Unified update → `POST /checkout-sessions/{id}` JSON, and the retrieve request.
//!
//! Speed's update takes eight optional string/object fields and merges `metadata`. It documents
//! no way to clear a field (the fields are plain strings; whether `""` or `null` clears is
//! unconfirmed), so a unified `null` on any of them is unsupported rather than guessed.

use checkout_provider_interface::capability::{UpdateCheck, escape_pointer};
use checkout_provider_interface::{
    AdapterError, CheckedUpdate, Context, FieldProblem, Patch, ProviderRequest, UnifiedUpdate, adapter, wire,
};
use serde_json::{Map, Value};

use crate::KIND;
use crate::config::Config;

/// The unified text fields Speed can set, as (unified pointer, Speed field, patch).
fn text_fields(update: &UnifiedUpdate) -> Vec<(&'static str, &'static str, &Patch<String>)> {
    let mut fields = Vec::new();
    if let Some(redirects) = &update.redirects {
        fields.push(("/redirects/success_url", "success_url", &redirects.success_url));
        fields.push(("/redirects/cancel_url", "cancel_url", &redirects.cancel_url));
        fields.push(("/redirects/success_message", "success_message", &redirects.success_message));
    }
    if let Some(page) = &update.page {
        fields.push(("/page/title", "title", &page.title));
        fields.push(("/page/description", "title_description", &page.description));
        fields.push(("/page/image_url", "title_image", &page.image_url));
    }
    fields.push(("/description", "description", &update.description));
    fields
}

/// Rules the capability table cannot express: clearing a field (unsupported) and the
/// `success_url` / `success_message` exclusivity (invalid), which also counts fields set
/// through `provider_options.crypto-invoice`.
pub fn check(update: &UnifiedUpdate) -> UpdateCheck {
    let mut check = UpdateCheck::default();
    for (pointer, field, patch) in text_fields(update) {
        if matches!(patch, Patch::Clear) {
            check.unsupported.push(FieldProblem::new(
                pointer,
                format!("{KIND} cannot clear `{field}`: Speed documents no way to unset it"),
            ));
        }
    }
    let url = set_at(update, "/redirects/success_url", "success_url");
    let message = set_at(update, "/redirects/success_message", "success_message");
    if let (Some(url), Some(message)) = (url, message) {
        let detail = "Speed takes `success_url` or `success_message`, not both";
        check.invalid.push(FieldProblem::new(url, detail));
        check.invalid.push(FieldProblem::new(message, detail));
    }
    check
}

/// Where the request sets a Speed redirect field: the unified pointer, or the provider option's.
fn set_at(update: &UnifiedUpdate, pointer: &str, field: &str) -> Option<String> {
    let unified = text_fields(update).into_iter().any(|(p, _, patch)| p == pointer && patch.value().is_some());
    if unified {
        return Some(pointer.to_owned());
    }
    let options = update.provider_options.get(KIND)?;
    options.contains_key(field).then(|| format!("/provider_options/{KIND}/{}", escape_pointer(field)))
}

/// `update` passed `check` (a `CheckedUpdate` is the only way here): never both redirect fields.
pub fn build_update(config: &Config, update: &CheckedUpdate, ctx: &Context) -> Result<ProviderRequest, AdapterError> {
    let mut body = Map::new();
    // Cleared fields were reported by `check` as unsupported; under `on_unsupported = "ignore"`
    // the gateway leaves them out, so they are skipped here.
    for (_, field, patch) in text_fields(update) {
        if let Some(value) = patch.value() {
            body.insert(field.to_owned(), Value::String(value.clone()));
        }
    }
    if let Some(metadata) = update.metadata.value() {
        // Only set keys: Speed merges them; removals are declared unsupported.
        let set: Map<String, Value> =
            metadata.iter().filter_map(|(k, v)| Some((k.clone(), Value::String(v.clone()?)))).collect();
        if !set.is_empty() {
            body.insert("metadata".to_owned(), Value::Object(set));
        }
    }
    adapter::merge_provider_options(&mut body, update, KIND)?;
    let bytes = serde_json::to_vec(&Value::Object(body))
        .map_err(|e| AdapterError::internal("cannot encode the update body", e))?;
    let builder = base(config, http::Method::POST, ctx)?.header(http::header::CONTENT_TYPE, wire::JSON);
    wire::finish(builder, bytes)
}

pub fn build_retrieve(config: &Config, ctx: &Context) -> Result<ProviderRequest, AdapterError> {
    wire::finish(base(config, http::Method::GET, ctx)?, Vec::new())
}

fn base(config: &Config, method: http::Method, ctx: &Context) -> Result<http::request::Builder, AdapterError> {
    let path = format!("/checkout-sessions/{}", wire::encode_segment(&ctx.session_id));
    let mut builder = wire::request(method, &path);
    for (name, value) in &common_headers(config)? {
        builder = builder.header(name, value);
    }
    Ok(builder)
}

/// The headers every call to Speed carries, the passthrough's included: the Basic credentials and,
/// when configured, `speed-version`. Without it Speed applies the account's pinned version, and
/// 2022-04-15 knows only lightning payments, so a passthrough call would see another API than
/// the adapter does.
pub fn common_headers(config: &Config) -> Result<http::HeaderMap, AdapterError> {
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, config.authorization()?);
    if let Some(version) = config.api_version {
        headers.insert(VERSION_HEADER, http::HeaderValue::from_static(version));
    }
    Ok(headers)
}

pub const VERSION_HEADER: &str = "speed-version";
