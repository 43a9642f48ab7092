//! Extractors whose rejections are our problem+json, never framework strings.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::request::Parts;
use sha2::{Digest, Sha256};

use crate::api::problem::{ApiError, ApiFailure};
use crate::config::Tenant;
use crate::state::{AppState, Gateway};

/// The request id chosen by the request-id middleware.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Self>().cloned().unwrap_or_else(|| Self(uuid::Uuid::new_v4().to_string())))
    }
}

/// Filled by [`AuthedTenant`] so the request middleware can label metrics with the tenant.
#[derive(Debug, Clone, Default)]
pub struct TenantLabel(pub Arc<std::sync::OnceLock<String>>);

/// The tenant identified by `Authorization: Bearer <key>`, after its rate limit, with the
/// config snapshot the whole request runs on.
pub struct AuthedTenant {
    pub tenant: Tenant,
    pub request_id: String,
    pub state: Arc<AppState>,
}

impl FromRequestParts<Arc<Gateway>> for AuthedTenant {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, gateway: &Arc<Gateway>) -> Result<Self, Self::Rejection> {
        let RequestId(request_id) = RequestId::from_request_parts(parts, gateway).await?;
        let state = gateway.current();
        let key = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|k| !k.is_empty());
        let Some(key) = key else {
            return Err(ApiError::Unauthenticated.with_request_id(&request_id));
        };
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let Some(tenant) = state.tenant_by_key_digest(&digest) else {
            return Err(ApiError::Unauthenticated.with_request_id(&request_id));
        };
        tracing::Span::current().record("tenant", tenant.name.as_str());
        if let Some(label) = parts.extensions.get::<TenantLabel>() {
            let _ = label.0.set(tenant.name.clone());
        }
        let tenant = tenant.clone();
        if let Err(retry_after_secs) = state.limiter.check(&tenant.name).await {
            return Err(ApiError::RateLimited { retry_after_secs }.with_request_id(&request_id));
        }
        Ok(Self { tenant, request_id, state })
    }
}

/// Hex SHA-256 of a tenant key, as configured in `api_key_sha256`.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}
