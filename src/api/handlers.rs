//! Thin handlers: parse the HTTP request, run the pipeline in `crate::update`, shape the answer.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use checkout_provider_interface::capability::Feature;
use checkout_provider_interface::wire::describe_request;
use checkout_provider_interface::{ProviderResponse, UnifiedSession};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::api::body::read_json;
use crate::api::extract::AuthedTenant;
use crate::api::problem::{ApiError, ApiFailure};
use crate::config::{Provider, Tenant};
use crate::state::AppState;
use crate::update;

pub const PROVIDER_HEADER: &str = "checkout-provider";
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// `PATCH` (and `POST`) `/v1/checkout/sessions/{id}`.
pub async fn update_session(
    State(state): State<Arc<AppState>>,
    auth: AuthedTenant,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiFailure> {
    let request_id = auth.request_id.clone();
    let fail = |e: ApiError| e.with_request_id(&request_id);
    let provider = resolve_provider(&state, &auth.tenant, &headers).map_err(fail)?;
    let session_id = session_id(path, &provider).map_err(fail)?;
    let include_raw = include_provider_data(query.as_deref()).map_err(fail)?;
    let client_key = idempotency_key(&headers).map_err(fail)?;
    let body = read_json(&headers, body, state.config.server.max_body_bytes).await.map_err(fail)?;
    let prepared = update::prepare(&state, &provider, body, auth.tenant.on_unsupported).map_err(fail)?;
    let forwarded_key = forwarded_idempotency_key(&auth.tenant, client_key.as_deref());
    let ctx = update::context(&session_id, &request_id, &forwarded_key);
    let deadline = Instant::now() + state.config.server.deadline;
    let (mut session, raw) = update::execute(&state, &provider, &prepared, &ctx, deadline).await.map_err(fail)?;
    session.warnings.splice(0..0, prepared.warnings);
    Ok(session_response(&provider, session, &raw, include_raw))
}

/// `GET /v1/checkout/sessions/{id}`.
pub async fn retrieve_session(
    State(state): State<Arc<AppState>>,
    auth: AuthedTenant,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiFailure> {
    let request_id = auth.request_id.clone();
    let fail = |e: ApiError| e.with_request_id(&request_id);
    let provider = resolve_provider(&state, &auth.tenant, &headers).map_err(fail)?;
    let session_id = session_id(path, &provider).map_err(fail)?;
    let include_raw = include_provider_data(query.as_deref()).map_err(fail)?;
    let ctx = update::context(&session_id, &request_id, &uuid::Uuid::new_v4().to_string());
    let deadline = Instant::now() + state.config.server.deadline;
    let (session, raw) = update::retrieve(&state, &provider, &ctx, deadline).await.map_err(fail)?;
    Ok(session_response(&provider, session, &raw, include_raw))
}

/// `POST /v1/checkout/sessions/{id}/preview`: the provider request(s) an update would send,
/// credentials redacted. Sends nothing.
pub async fn preview_update(
    State(state): State<Arc<AppState>>,
    auth: AuthedTenant,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiFailure> {
    let request_id = auth.request_id.clone();
    let fail = |e: ApiError| e.with_request_id(&request_id);
    let provider = resolve_provider(&state, &auth.tenant, &headers).map_err(fail)?;
    let session_id = session_id(path, &provider).map_err(fail)?;
    let client_key = idempotency_key(&headers).map_err(fail)?;
    let body = read_json(&headers, body, state.config.server.max_body_bytes).await.map_err(fail)?;
    let prepared = update::prepare(&state, &provider, body, auth.tenant.on_unsupported).map_err(fail)?;
    let forwarded_key = forwarded_idempotency_key(&auth.tenant, client_key.as_deref());
    let ctx = update::context(&session_id, &request_id, &forwarded_key);
    let preview = preview(&state, &provider, &prepared, &ctx).map_err(fail)?;
    let mut response = Json(preview).into_response();
    set_provider_header(&mut response, &provider);
    Ok(response)
}

/// The provider calls an update would make, as JSON (also used by `checkout-gateway translate`).
pub fn preview(
    state: &AppState,
    provider: &Provider,
    prepared: &update::Prepared,
    ctx: &checkout_provider_interface::Context,
) -> Result<Value, ApiError> {
    let adapter = provider.adapter.as_ref();
    let mut calls = Vec::new();
    let mut notes = Vec::new();
    let describe = |request: &checkout_provider_interface::ProviderRequest, purpose: &str| {
        let mut call = describe_request(request, true);
        if let Some(object) = call.as_object_mut() {
            let path = object.get("path").and_then(Value::as_str).unwrap_or("/").to_owned();
            object.insert("url".to_owned(), Value::String(format!("{}{path}", provider.base_url)));
            object.insert("purpose".to_owned(), Value::String(purpose.to_owned()));
        }
        call
    };
    let to_api = |e| update::adapter_error(state, provider, e, None);
    if prepared.nothing_to_send {
        calls.push(describe(&adapter.build_retrieve(ctx).map_err(to_api)?, "read (nothing left to update)"));
    } else {
        if adapter.needs_current_state(&prepared.update) {
            calls.push(describe(&adapter.build_retrieve(ctx).map_err(to_api)?, "read the current state"));
            notes.push("the update is built against the current state read first; shown here against an empty state");
        }
        calls.push(describe(&adapter.build_update(&prepared.update, None, ctx).map_err(to_api)?, "update"));
    }
    Ok(json!({
        "provider": provider.name,
        "provider_kind": provider.kind,
        "requests": calls,
        "notes": notes,
        "warnings": prepared.warnings,
    }))
}

/// `GET /v1/providers`: the tenant's providers and their capability matrix.
pub async fn list_providers(State(state): State<Arc<AppState>>, auth: AuthedTenant) -> Json<Value> {
    let providers: Vec<Value> = auth
        .tenant
        .allowed_providers
        .iter()
        .filter_map(|name| state.provider(name))
        .map(|provider| {
            let capabilities = provider.adapter.capabilities();
            let matrix: Vec<Value> = Feature::ALL
                .iter()
                .map(|feature| {
                    let mut entry = serde_json::to_value(capabilities.support(*feature)).unwrap_or(Value::Null);
                    if let Some(object) = entry.as_object_mut() {
                        object.insert("feature".to_owned(), json!(feature));
                        object.insert("field".to_owned(), json!(feature.field()));
                    }
                    entry
                })
                .collect();
            json!({
                "name": provider.name,
                "kind": provider.kind,
                "default": provider.name == auth.tenant.provider,
                "idempotency": capabilities.idempotency,
                "capabilities": matrix,
            })
        })
        .collect();
    Json(json!({ "object": "list", "data": providers }))
}

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({
        "status": "ready",
        "providers": state.config.providers.keys().collect::<Vec<_>>(),
        "tenants": state.config.tenants.len(),
    }))
}

/// `GET /problems/{code}`.
pub async fn explain_problem(Path(code): Path<String>, request_id: crate::api::extract::RequestId) -> Result<Response, ApiFailure> {
    crate::api::problems::explain(&code).map(|body| Json(body).into_response()).ok_or_else(|| ApiError::NotFound.with_request_id(&request_id.0))
}

fn resolve_provider(state: &AppState, tenant: &Tenant, headers: &HeaderMap) -> Result<Arc<Provider>, ApiError> {
    let name = match headers.get(PROVIDER_HEADER) {
        None => tenant.provider.as_str(),
        Some(value) => {
            let name = value.to_str().map_err(|_| ApiError::ProviderNotAllowed("Checkout-Provider is not valid text".to_owned()))?;
            if !tenant.allowed_providers.iter().any(|allowed| allowed == name) {
                return Err(ApiError::ProviderNotAllowed(format!("provider `{name}` is not allowed for this tenant")));
            }
            name
        }
    };
    let provider = state.provider(name).cloned().ok_or_else(|| ApiError::Internal(format!("tenant names unknown provider {name}")))?;
    tracing::Span::current().record("provider", provider.name.as_str());
    Ok(provider)
}

/// DESIGN §2: `^[A-Za-z0-9_\-:.]{1,200}$`, then the adapter's own format.
fn session_id(path: Result<Path<String>, PathRejection>, provider: &Provider) -> Result<String, ApiError> {
    let Path(id) = path.map_err(|_| ApiError::InvalidSessionId("the session id is not valid percent-encoded UTF-8".to_owned()))?;
    let valid = (1..=200).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':' | b'.'));
    if !valid {
        return Err(ApiError::InvalidSessionId("the session id must match ^[A-Za-z0-9_\\-:.]{1,200}$".to_owned()));
    }
    provider.adapter.check_session_id(&id).map_err(|why| ApiError::InvalidSessionId(format!("{}: {why}", provider.kind)))?;
    Ok(id)
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_HEADER) else { return Ok(None) };
    let key = value.to_str().map_err(|_| ApiError::InvalidIdempotencyKey)?;
    let valid = (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-' | b'.'));
    if valid { Ok(Some(key.to_owned())) } else { Err(ApiError::InvalidIdempotencyKey) }
}

/// DESIGN §5: derived from (tenant, client key) so two tenants' keys never collide at the
/// provider; a fresh UUID per unified request when the client sent none.
pub fn forwarded_idempotency_key(tenant: &Tenant, client_key: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    match client_key {
        Some(key) => {
            let digest = Sha256::new().chain_update(tenant.name.as_bytes()).chain_update([0]).chain_update(key.as_bytes()).finalize();
            format!("cg:{}", hex::encode(digest))
        }
        None => uuid::Uuid::new_v4().to_string(),
    }
}

fn include_provider_data(query: Option<&str>) -> Result<bool, ApiError> {
    let mut include = false;
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match (name.as_ref(), value.as_ref()) {
            ("include", "provider_data") => include = true,
            ("include", other) => {
                return Err(ApiError::ValidationFailed(vec![checkout_provider_interface::FieldProblem::new(
                    "?include",
                    format!("unknown include `{other}`; the only one is `provider_data`"),
                )]));
            }
            _ => {}
        }
    }
    Ok(include)
}

fn session_response(
    provider: &Provider,
    mut session: UnifiedSession,
    raw: &ProviderResponse,
    include_raw: bool,
) -> Response {
    if include_raw {
        session.provider_data = serde_json::from_slice(raw.body()).ok();
    }
    let mut response = (StatusCode::OK, Json(session)).into_response();
    set_provider_header(&mut response, provider);
    response
}

fn set_provider_header(response: &mut Response, provider: &Provider) {
    if let Ok(value) = HeaderValue::from_str(&provider.name) {
        response.headers_mut().insert(PROVIDER_HEADER, value);
    }
}
