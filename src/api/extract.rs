//! Extractors whose rejections are our problem+json, never framework strings.

use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use http::request::Parts;
use sha2::{Digest, Sha256};

use crate::admission::TenantSlot;
use crate::api::problem::ApiError;
use crate::config::Tenant;
use crate::rate_limit::Refusal;
use crate::state::{AppState, Gateway};

/// The request id chosen by the request-id middleware.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Self>().cloned().unwrap_or_else(|| Self(uuid::Uuid::new_v4().to_string())))
    }
}

/// Filled by [`AuthedTenant`] so the request middleware can label metrics with the tenant.
#[derive(Debug, Clone, Default)]
pub struct TenantLabel(pub Arc<std::sync::OnceLock<String>>);

/// The tenant identified by `Authorization: Bearer <key>`, after its rate limit and concurrency
/// cap, with the config snapshot the whole request runs on. A client address with too many
/// recent failures is refused before its key is compared, so guessing keys is slow.
pub struct AuthedTenant {
    pub tenant: Tenant,
    pub request_id: String,
    pub state: Arc<AppState>,
}

impl FromRequestParts<Arc<Gateway>> for AuthedTenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, gateway: &Arc<Gateway>) -> Result<Self, Self::Rejection> {
        let Ok(RequestId(request_id)) = RequestId::from_request_parts(parts, gateway).await;
        let state = gateway.current();
        let server = &state.config.server;
        // Absent when the limit is off, or the router is driven without the accept loop
        // (in-process tests).
        let client = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .filter(|_| server.auth_failure_limit > 0)
            .map(|info| info.0.ip());
        if let Some(client) = client {
            let blocked =
                gateway.admission.auth_blocked(client, server.auth_failure_limit, server.auth_failure_window).await;
            if let Err(retry_after_secs) = blocked {
                crate::metrics::shed("auth_failures");
                return Err(ApiError::RateLimited { retry_after_secs });
            }
        }
        let key = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|k| !k.is_empty());
        let tenant = key.and_then(|key| {
            let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
            state.tenant_by_key_digest(&digest)
        });
        let Some(tenant) = tenant else {
            if let Some(client) = client {
                gateway.admission.auth_failed(client, server.auth_failure_window).await;
            }
            return Err(ApiError::Unauthenticated);
        };
        tracing::Span::current().record("tenant", tenant.name.as_str());
        if let Some(label) = parts.extensions.get::<TenantLabel>() {
            let _ = label.0.set(tenant.name.clone());
        }
        let tenant = tenant.clone();
        match state.limiter.check(&tenant.name).await {
            Ok(()) => {}
            Err(Refusal::Exhausted { retry_after_secs }) => {
                return Err(ApiError::RateLimited { retry_after_secs });
            }
            Err(Refusal::StoreUnavailable(why)) => {
                return Err(ApiError::StoreUnavailable(why));
            }
        }
        if let Some(max) = tenant.max_concurrency {
            let Some(permit) = gateway.admission.enter_tenant(&tenant.name, max) else {
                crate::metrics::shed("tenant_concurrency");
                return Err(ApiError::RateLimited { retry_after_secs: 1 });
            };
            // The request middleware holds the slot until the response is produced.
            if let Some(slot) = parts.extensions.get::<TenantSlot>() {
                let _ = slot.0.set(permit);
            }
        }
        Ok(Self { tenant, request_id, state })
    }
}

/// Hex SHA-256 of a tenant key, as configured in `api_key_sha256`.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}
