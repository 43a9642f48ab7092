//! Thin handlers: parse the HTTP request, run the pipeline in `crate::update`, shape the answer.
//! Pipeline errors become [`ApiError`]s through `?`; the request id reaches problem bodies
//! through the request middleware.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use checkout_provider_interface::capability::features_in;
use checkout_provider_interface::{ProviderResponse, UnifiedSession};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::api::answers::{Liveness, LivenessStatus, ProviderEntry, ProviderList, Readiness, ReadinessStatus};
use crate::api::body::{parse_object, read_body};
use crate::api::extract::AuthedTenant;
use crate::api::idempotent::{self, Outcome};
use crate::api::problem::ApiError;
pub use crate::api::respond::PROVIDER_HEADER;
use crate::api::respond::stored_response;
use crate::config::{Provider, Tenant, routes};
use crate::failure::UpdateError;
use crate::idempotency::{self, StoredResponse};
use crate::ownership;
use crate::state::{AppState, Gateway};
use crate::{preview, update};

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// `PATCH` (and `POST`) `/v1/checkout/sessions/{id}`.
pub async fn update_session(
    auth: AuthedTenant,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let AuthedTenant { tenant, request_id, state } = auth;
    let include_raw = include_provider_data(query.as_deref())?;
    let deadline = Instant::now() + state.config.server.deadline;
    let UpdateRequest { provider, session_id, client_key, body } =
        read_update(&state, &tenant, path, &headers, body).await?;
    // Only keyed requests need the fingerprint (a hash of the canonical body).
    let fingerprint =
        client_key.as_ref().map(|_| idempotency::fingerprint("PATCH", &session_id, &provider.name, &body));
    let typed = update::validate(&state, &body)?;
    // Count what the tenant sends, whether or not this provider can take it (the switch report).
    state.usage.record(&tenant.name, &features_in(&typed)).await;
    let prepared = update::fit(&provider, body, typed, tenant.on_unsupported)?;
    let owner = ownership::owner(&provider, &tenant);
    if let Some(owner) = owner {
        owner.check_update(prepared.update(), provider.kind)?;
    }
    let forwarded_key = forwarded_idempotency_key(&tenant, client_key.as_deref());
    let ctx = update::context(&session_id, &request_id, &forwarded_key);
    let work = || async {
        // The request's place at the provider (`max_connections`), taken only now: a request
        // refused by validation or answered from the idempotency store never waits for one.
        let _slot = match state.dispatcher.request_slot(&provider, deadline).await {
            Ok(slot) => slot,
            Err(error) => return failed_outcome(update::dispatch_error(&state, &provider, error), &request_id),
        };
        match update::execute(&state, &provider, owner, &prepared, &ctx, deadline).await {
            Ok((mut session, raw)) => {
                session.warnings.splice(0..0, prepared.warnings.iter().cloned());
                let response = session_stored(&state, &provider, session, &raw, include_raw);
                Outcome { response, reached_provider: true, transient: false }
            }
            Err(error) => failed_outcome(error, &request_id),
        }
    };
    // Boxed: the provider call's future is large; the handler's own stays small.
    Ok(match client_key {
        Some(key) => {
            let fingerprint = fingerprint.unwrap_or_default();
            Box::pin(idempotent::run(&state, &tenant.name, &key, &fingerprint, work)).await
        }
        None => stored_response(Box::pin(work()).await.response, false),
    })
}

/// What an update and its preview read from the HTTP request, checked in this order.
struct UpdateRequest {
    provider: Arc<Provider>,
    session_id: String,
    client_key: Option<String>,
    body: Value,
}

async fn read_update(
    state: &AppState,
    tenant: &Tenant,
    path: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    body: Body,
) -> Result<UpdateRequest, ApiError> {
    let (provider, session_id) = provider_and_session(state, tenant, headers, path)?;
    let client_key = idempotency_key(headers)?;
    let bytes = read_body(headers, body, state.config.server.max_body_bytes).await?;
    let body = parse_object(&bytes)?;
    Ok(UpdateRequest { provider, session_id, client_key, body })
}

/// An update that failed, as the answer to store (or not) for its idempotency key.
fn failed_outcome(error: UpdateError, request_id: &str) -> Outcome {
    let reached_provider = error.reached_provider();
    let error = ApiError::from(error);
    error.log();
    // Rendered with the request id now: a replay shows the id of the request that produced
    // the answer.
    Outcome { response: error.to_stored(request_id), reached_provider, transient: error.retryable() }
}

/// `GET /v1/checkout/sessions/{id}`.
pub async fn retrieve_session(
    auth: AuthedTenant,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let AuthedTenant { tenant, request_id, state } = auth;
    let (provider, session_id) = provider_and_session(&state, &tenant, &headers, path)?;
    let include_raw = include_provider_data(query.as_deref())?;
    let ctx = update::context(&session_id, &request_id, &uuid::Uuid::new_v4().to_string());
    let deadline = Instant::now() + state.config.server.deadline;
    let _slot = state
        .dispatcher
        .request_slot(&provider, deadline)
        .await
        .map_err(|e| update::dispatch_error(&state, &provider, e))?;
    let owner = ownership::owner(&provider, &tenant);
    let (session, raw) = Box::pin(update::retrieve(&state, &provider, owner, &ctx, deadline)).await?;
    Ok(stored_response(session_stored(&state, &provider, session, &raw, include_raw), false))
}

/// `POST /v1/checkout/sessions/{id}/preview`: the provider request(s) an update would send,
/// credentials redacted. Sends nothing.
pub async fn preview_update(
    auth: AuthedTenant,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let AuthedTenant { tenant, request_id, state } = auth;
    // A preview calls no provider: it takes no place there.
    let UpdateRequest { provider, session_id, client_key, body, .. } =
        read_update(&state, &tenant, path, &headers, body).await?;
    let prepared = update::prepare(&state, &provider, body, tenant.on_unsupported)?;
    if let Some(owner) = ownership::owner(&provider, &tenant) {
        owner.check_update(prepared.update(), provider.kind)?;
    }
    let forwarded_key = forwarded_idempotency_key(&tenant, client_key.as_deref());
    let ctx = update::context(&session_id, &request_id, &forwarded_key);
    let preview = preview::preview(&state, &provider, &prepared, &ctx)?;
    let mut response = Json(preview).into_response();
    set_provider_header(&mut response, &provider);
    Ok(response)
}

/// `GET /v1/providers`: the tenant's providers and their capability matrix.
pub async fn list_providers(auth: AuthedTenant) -> Json<ProviderList> {
    let state = &auth.state;
    let providers = auth
        .tenant
        .allowed_providers
        .iter()
        .filter_map(|name| state.provider(name))
        .map(|provider| ProviderEntry::new(&provider.name, provider.factory, provider.name == auth.tenant.provider))
        .collect();
    Json(ProviderList::new(providers))
}

/// `GET /metrics`: Prometheus text; circuit gauges are refreshed at scrape time.
pub async fn metrics(State(gateway): State<Arc<Gateway>>) -> Response {
    let state = gateway.current();
    for name in state.config.providers.keys() {
        crate::metrics::circuit(name, state.dispatcher.breakers.state(name).level());
    }
    let text = crate::metrics::handle().map(metrics_exporter_prometheus::PrometheusHandle::render).unwrap_or_default();
    ([(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

pub async fn healthz() -> Json<Liveness> {
    Json(Liveness { status: LivenessStatus::Ok })
}

/// The public readiness probe: ready or not, nothing else (no tenant count, circuits or store
/// error text: anyone who can reach the API port can read it).
pub async fn readyz(State(gateway): State<Arc<Gateway>>) -> Response {
    let ready = gateway.current().store.ping().await.is_ok();
    let (status, word) = if ready {
        (StatusCode::OK, ReadinessStatus::Ready)
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, ReadinessStatus::NotReady)
    };
    (status, Json(Readiness { status: word })).into_response()
}

/// The admin listener's readiness: ready when the config is loaded and the shared store
/// answers, with the store's error, circuit states and tenant count as detail.
pub async fn readiness_detail(State(gateway): State<Arc<Gateway>>) -> Response {
    let state = gateway.current();
    let store = state.store.ping().await;
    let circuits: serde_json::Map<String, Value> = state
        .config
        .providers
        .keys()
        .map(|name| (name.clone(), json!(state.dispatcher.breakers.state(name))))
        .collect();
    let body = json!({
        "status": if store.is_ok() { "ready" } else { "not_ready" },
        "store": store.as_ref().map_or_else(ToString::to_string, |()| "ok".to_owned()),
        "circuits": circuits,
        "tenants": state.config.tenants.len(),
    });
    let status = if store.is_ok() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}

/// The provider and the session id (DESIGN §2, §12): `Checkout-Provider` (within
/// `allowed_providers`), else the tenant's first route matching the id, else its default. The id
/// passes the gateway's rule before it is routed, and the chosen adapter's own format after.
fn provider_and_session(
    state: &AppState,
    tenant: &Tenant,
    headers: &HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<(Arc<Provider>, String), ApiError> {
    let chosen = provider_header(tenant, headers)?;
    let id = session_id(path)?;
    let name = match chosen {
        Some(name) => name,
        None => match routes::select(&tenant.routes, &id) {
            Some(route) => {
                tracing::debug!(route = %route.label(), "provider chosen by the tenant's routes");
                route.provider.as_str()
            }
            None => tenant.provider.as_str(),
        },
    };
    let provider = state
        .provider(name)
        .cloned()
        .ok_or_else(|| ApiError::internal(format!("tenant names unknown provider {name}")))?;
    tracing::Span::current().record("provider", provider.name.as_str());
    provider
        .adapter
        .check_session_id(&id)
        // The provider's text names its kind already ("<kind> session ids are …"): no prefix.
        .map_err(|why| ApiError::InvalidSessionId(why.to_string()))?;
    Ok((provider, id))
}

/// `Checkout-Provider`, when sent: a provider the tenant may use.
fn provider_header<'a>(tenant: &Tenant, headers: &'a HeaderMap) -> Result<Option<&'a str>, ApiError> {
    let Some(value) = headers.get(PROVIDER_HEADER) else { return Ok(None) };
    let name =
        value.to_str().map_err(|_| ApiError::ProviderNotAllowed("Checkout-Provider is not valid text".to_owned()))?;
    if !tenant.allowed_providers.iter().any(|allowed| allowed == name) {
        return Err(ApiError::ProviderNotAllowed(format!("provider `{name}` is not allowed for this tenant")));
    }
    Ok(Some(name))
}

/// DESIGN §2: `^[A-Za-z0-9_\-:.]{1,200}$` (the adapter's own format is checked once the provider
/// is known).
fn session_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(id) =
        path.map_err(|_| ApiError::InvalidSessionId("the session id is not valid percent-encoded UTF-8".to_owned()))?;
    // `.` and `..` match the character rule but are path segments a URL resolver would walk.
    let valid = (1..=200).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':' | b'.'))
        && id.bytes().any(|b| b != b'.');
    if !valid {
        return Err(ApiError::InvalidSessionId("the session id must match ^[A-Za-z0-9_\\-:.]{1,200}$".to_owned()));
    }
    Ok(id)
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_HEADER) else { return Ok(None) };
    let key = value.to_str().map_err(|_| ApiError::InvalidIdempotencyKey)?;
    let valid = (1..=255).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-' | b'.'));
    if valid { Ok(Some(key.to_owned())) } else { Err(ApiError::InvalidIdempotencyKey) }
}

/// DESIGN §5: derived from (tenant, client key) so two tenants' keys never collide at the
/// provider; a fresh UUID per unified request when the client sent none.
pub fn forwarded_idempotency_key(tenant: &Tenant, client_key: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    match client_key {
        Some(key) => {
            let digest = Sha256::new()
                .chain_update(tenant.name.as_bytes())
                .chain_update([0])
                .chain_update(key.as_bytes())
                .finalize();
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

/// A session answer as stored data (the idempotency store keeps exactly what was sent). Every
/// string in it came from the provider (mapped, or in `provider_data` as sent) and is scrubbed
/// of every credential the provider may echo.
fn session_stored(
    state: &AppState,
    provider: &Provider,
    mut session: UnifiedSession,
    raw: &ProviderResponse,
    include_raw: bool,
) -> StoredResponse {
    if include_raw {
        session.provider_data = serde_json::from_slice(raw.body()).ok();
    }
    let scrubber = state.scrubber(&[raw]);
    // Serialized once; only an answer that echoes a credential goes through the value tree to
    // be scrubbed string by string.
    let body = match serde_json::to_string(&session) {
        Ok(text) if scrubber.leaves_json_unchanged(&text) => text.into_bytes(),
        _ => serde_json::to_value(&session)
            .and_then(|mut answer| {
                scrubber.scrub_json(&mut answer);
                serde_json::to_vec(&answer)
            })
            .unwrap_or_default(),
    };
    StoredResponse {
        status: 200,
        headers: vec![
            (http::header::CONTENT_TYPE.as_str().to_owned(), "application/json".to_owned()),
            (PROVIDER_HEADER.to_owned(), provider.name.clone()),
        ],
        body,
    }
}

fn set_provider_header(response: &mut Response, provider: &Provider) {
    if let Ok(value) = HeaderValue::from_str(&provider.name) {
        response.headers_mut().insert(PROVIDER_HEADER, value);
    }
}
