//! Unified update / retrieve → Mattilda HTTP requests (path, body), and the credentials each
//! attempt carries.
//!
//! Requests are built without credentials. `attempt_headers` mints them for one attempt at the
//! moment it is sent, with that attempt's clock and nonce: a JWT's `iat`/`nbf`/`exp` then hold
//! however long the idempotency wait, the read and earlier attempts took, and every attempt
//! carries its own `jti`.

use checkout_provider_interface::{
    Access, AdapterError, Context, ProviderRequest, ProviderResponse, UnifiedUpdate, wire,
};
use serde_json::{Map, Value};

use crate::config::{Auth, Settings};

pub const SCOPE_READ: &str = "checkout-sessions.read";
pub const SCOPE_WRITE: &str = "checkout-sessions.write";
pub const MERCHANT_HEADER: &str = "x-gr4vy-merchant-account-id";

/// `PUT /checkout/sessions/{id}` with the full merged state (see `body`). Warnings about the
/// update (an expiry Mattilda's range moved) ride along as the request's `BuildWarnings`:
/// the adapter is pure and the response alone cannot tell what the session was.
pub fn build_update(
    settings: &Settings,
    update: &UnifiedUpdate,
    current: Option<&ProviderResponse>,
    ctx: &Context,
) -> Result<ProviderRequest, AdapterError> {
    let current = current.map(|response| current_session(response, ctx)).transpose()?;
    let built = crate::body::update_body(update, current.as_ref(), ctx.now)?;
    let bytes = serde_json::to_vec(&Value::Object(built.body))
        .map_err(|e| AdapterError::internal("cannot encode the update body", e))?;
    let builder = wire::request(http::Method::PUT, &session_path(ctx)).header(http::header::CONTENT_TYPE, wire::JSON);
    let request = wire::finish(with_merchant(builder, settings), bytes)?;
    Ok(wire::with_warnings(request, built.warnings))
}

/// `GET /checkout/sessions/{id}`, also the read before every update.
pub fn build_retrieve(settings: &Settings, ctx: &Context) -> Result<ProviderRequest, AdapterError> {
    let builder = wire::request(http::Method::GET, &session_path(ctx));
    wire::finish(with_merchant(builder, settings), Vec::new())
}

/// One attempt's `Authorization`: the operation's scope (`checkout-sessions.write` for the
/// PUT, `.read` for the GET, as the description's `security` says), signed with the attempt's
/// clock and with its nonce as `jti`.
pub fn attempt_headers(settings: &Settings, access: Access, ctx: &Context) -> Result<http::HeaderMap, AdapterError> {
    let scope = match access {
        Access::Read => SCOPE_READ,
        Access::Write => SCOPE_WRITE,
    };
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, authorization(settings, &[scope], ctx)?);
    Ok(headers)
}

/// Credentials for the passthrough proxy: a token scoped to the resources of the allow rules
/// that admit the call (`passthrough_scopes`), never the SDKs' wildcard `*.read *.write`.
pub fn auth_headers(
    settings: &Settings,
    access: Access,
    allowed_paths: &[&str],
    ctx: &Context,
) -> Result<http::HeaderMap, AdapterError> {
    let scopes = passthrough_scopes(access, allowed_paths);
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, authorization(settings, &scopes, ctx)?);
    if let Some(merchant) = &settings.merchant_account_id {
        headers.insert(MERCHANT_HEADER, merchant.clone());
    }
    Ok(headers)
}

/// Gr4vy names a scope `<resource>.read` / `<resource>.write`, the resource being the API's
/// collection (`transactions`, `buyers`, `payment-methods`, …) and, for the one collection under
/// a namespace, `checkout/sessions` → `checkout-sessions` (the SDKs' `JWTScope` list). A pattern
/// whose collection is a wildcard (`/*/…`, `/**`) admits any resource, so it needs `*`. Reads
/// (`GET`, `HEAD`) get `.read`, anything else `.write`. Sorted, without duplicates.
pub fn passthrough_scopes(access: Access, allowed_paths: &[&str]) -> Vec<String> {
    let suffix = match access {
        Access::Read => "read",
        Access::Write => "write",
    };
    let mut scopes: Vec<String> =
        allowed_paths.iter().map(|pattern| format!("{}.{suffix}", scope_resource(pattern))).collect();
    scopes.sort();
    scopes.dedup();
    scopes
}

fn scope_resource(pattern: &str) -> String {
    let mut segments = pattern.trim_start_matches('/').split('/');
    match (segments.next(), segments.next()) {
        (Some("checkout"), Some("sessions")) => "checkout-sessions".to_owned(),
        (Some(first), _) if !first.is_empty() && !first.contains('*') => first.to_owned(),
        _ => "*".to_owned(),
    }
}

fn session_path(ctx: &Context) -> String {
    format!("/checkout/sessions/{}", wire::encode_segment(&ctx.session_id))
}

/// The merchant account is routing, not a credential: it is part of the built request.
fn with_merchant(builder: http::request::Builder, settings: &Settings) -> http::request::Builder {
    match &settings.merchant_account_id {
        Some(merchant) => builder.header(MERCHANT_HEADER, merchant.clone()),
        None => builder,
    }
}

/// `Bearer <token>`: the configured token, or a fresh ES512 JWT (clock and `jti` from the context).
fn authorization(settings: &Settings, scopes: &[&str], ctx: &Context) -> Result<http::HeaderValue, AdapterError> {
    match &settings.auth {
        Auth::Token(token) => wire::sensitive(&format!("Bearer {}", token.expose())),
        Auth::Key(signer) => {
            // Signing cannot fail for a key that loaded; if it ever did, it is ours, not the client's.
            let jwt = signer
                .token(scopes, ctx.now, &ctx.nonce)
                .map_err(|e| AdapterError::internal("cannot sign the request's token", e))?;
            wire::sensitive(&format!("Bearer {jwt}"))
        }
    }
}

/// The session object from the read. A failed read is the update's failure (e.g. 404), mapped
/// like any provider answer.
fn current_session(response: &ProviderResponse, ctx: &Context) -> Result<Map<String, Value>, AdapterError> {
    if !response.status().is_success() {
        return Err(crate::error::failure(response));
    }
    match wire::json_body(response)? {
        Value::Object(session) => {
            // Never write one session's state over another.
            let id = session.get("id").and_then(Value::as_str);
            if id.is_some_and(|id| !id.eq_ignore_ascii_case(&ctx.session_id)) {
                return Err(AdapterError::unparseable("the read returned a different session"));
            }
            Ok(session)
        }
        _ => Err(AdapterError::unparseable("the session is not a JSON object")),
    }
}
