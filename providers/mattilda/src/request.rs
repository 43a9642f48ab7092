//! Unified update / retrieve → Mattilda HTTP requests (path, credentials, body).

use checkout_provider_interface::{
    Access, AdapterError, Context, ProviderRequest, ProviderResponse, UnifiedUpdate, wire,
};
use serde_json::{Map, Value};

use crate::config::{Auth, Settings};

pub const SCOPE_READ: &str = "checkout-sessions.read";
pub const SCOPE_WRITE: &str = "checkout-sessions.write";
pub const MERCHANT_HEADER: &str = "x-gr4vy-merchant-account-id";

/// `PUT /checkout/sessions/{id}` with the full merged state (see `body`).
pub fn build_update(
    settings: &Settings,
    update: &UnifiedUpdate,
    current: Option<&ProviderResponse>,
    ctx: &Context,
) -> Result<ProviderRequest, AdapterError> {
    let current = current_session(current, ctx)?;
    let body = crate::body::update_body(update, &current)?;
    let bytes = serde_json::to_vec(&Value::Object(body)).map_err(AdapterError::unparseable)?;
    let builder = wire::request(http::Method::PUT, &session_path(ctx)).header(http::header::CONTENT_TYPE, wire::JSON);
    wire::finish(with_credentials(builder, settings, &[SCOPE_WRITE], ctx)?, bytes)
}

/// `GET /checkout/sessions/{id}`, also the read before every update.
pub fn build_retrieve(settings: &Settings, ctx: &Context) -> Result<ProviderRequest, AdapterError> {
    let builder = wire::request(http::Method::GET, &session_path(ctx));
    wire::finish(with_credentials(builder, settings, &[SCOPE_READ], ctx)?, Vec::new())
}

/// Credentials for the passthrough proxy. Its paths are operator-chosen and not limited to
/// checkout sessions, so the token carries the SDKs' default wildcard scopes for the access.
pub fn auth_headers(settings: &Settings, access: Access, ctx: &Context) -> Result<http::HeaderMap, AdapterError> {
    let scopes: &[&str] = match access {
        Access::Read => &["*.read"],
        Access::Write => &["*.read", "*.write"],
    };
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, authorization(settings, scopes, ctx)?);
    if let Some(merchant) = &settings.merchant_account_id {
        headers.insert(MERCHANT_HEADER, merchant.clone());
    }
    Ok(headers)
}

fn session_path(ctx: &Context) -> String {
    format!("/checkout/sessions/{}", wire::encode_segment(&ctx.session_id))
}

fn with_credentials(
    builder: http::request::Builder,
    settings: &Settings,
    scopes: &[&str],
    ctx: &Context,
) -> Result<http::request::Builder, AdapterError> {
    let mut builder = builder.header(http::header::AUTHORIZATION, authorization(settings, scopes, ctx)?);
    if let Some(merchant) = &settings.merchant_account_id {
        builder = builder.header(MERCHANT_HEADER, merchant.clone());
    }
    Ok(builder)
}

/// `Bearer <token>`: the configured token, or a fresh ES512 JWT (clock and `jti` from the context).
fn authorization(settings: &Settings, scopes: &[&str], ctx: &Context) -> Result<http::HeaderValue, AdapterError> {
    match &settings.auth {
        Auth::Token(token) => wire::sensitive(&format!("Bearer {}", token.expose())),
        Auth::Key(signer) => {
            // Signing cannot fail for a key that loaded; if it ever did, it is ours, not the client's.
            let jwt = signer.token(scopes, ctx.now, &ctx.nonce).map_err(AdapterError::unparseable)?;
            wire::sensitive(&format!("Bearer {jwt}"))
        }
    }
}

/// The session object from the read, or an empty state in a preview. A failed read is the
/// update's failure (e.g. 404), mapped like any provider answer.
fn current_session(current: Option<&ProviderResponse>, ctx: &Context) -> Result<Map<String, Value>, AdapterError> {
    let Some(response) = current else {
        return Ok(Map::new());
    };
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
