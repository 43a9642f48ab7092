//! The one error type of the HTTP layer and its problem+json rendering (RFC 9457, DESIGN §4).

use axum::response::{IntoResponse, Response};
use checkout_provider_interface::{FailureClass, FieldProblem, ProviderFailure};
use http::{StatusCode, header};
use schemars::JsonSchema;
use serde::Serialize;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// DESIGN §4: an answer lists at most this many problems and says `truncated` beyond.
pub const MAX_PROBLEMS: usize = 100;
/// The longest excerpt of client input a detail quotes, in characters (then `…`).
pub const EXCERPT_CHARS: usize = 80;
/// Bounds on every text an answer carries, whatever produced it (a backstop: the producers
/// already quote client input only as an excerpt).
const MAX_DETAIL_CHARS: usize = 1_000;
const MAX_FIELD_DETAIL_CHARS: usize = 300;
const MAX_POINTER_BYTES: usize = 256;

/// Which configured provider an error concerns.
#[derive(Debug, Clone)]
pub struct ProviderRef {
    pub name: String,
    pub kind: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    MalformedJson(String),
    #[error("{0}")]
    InvalidSessionId(String),
    #[error("Idempotency-Key must be 1-255 characters of A-Z a-z 0-9 : _ - .")]
    InvalidIdempotencyKey,
    #[error("missing or unknown tenant key")]
    Unauthenticated,
    #[error("{0}")]
    ProviderNotAllowed(String),
    #[error("{0}")]
    PassthroughNotAllowed(String),
    #[error("{0}")]
    InvalidPassthroughPath(String),
    #[error("no such resource")]
    NotFound,
    #[error("method not allowed on this resource")]
    MethodNotAllowed,
    #[error("the body exceeds {0} bytes")]
    PayloadTooLarge(usize),
    #[error("send application/json (or application/merge-patch+json)")]
    UnsupportedMediaType,
    #[error("the request does not match the unified schema")]
    ValidationFailed(Vec<FieldProblem>),
    #[error("{} cannot express {} field(s)", .provider.name, .problems.len())]
    UnsupportedField { provider: ProviderRef, problems: Vec<FieldProblem> },
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyKeyInUse,
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    #[error("the idempotency store is unavailable: {0}")]
    StoreUnavailable(String),
    #[error("the tenant's rate limit is exhausted")]
    RateLimited { retry_after_secs: u64 },
    #[error("the gateway is at its concurrency limit")]
    Overloaded,
    #[error("the request body did not arrive within server.body_read_timeout_ms")]
    RequestTimeout,
    #[error("{} answered {}", .provider.name, .failure.status)]
    Provider { provider: ProviderRef, failure: Box<ProviderFailure>, retry_after_secs: Option<u64> },
    #[error("{} answered something the gateway cannot use: {detail}", .provider.name)]
    ProviderUnparseable { provider: ProviderRef, detail: String },
    #[error("{} is unavailable: {detail}", .provider.name)]
    ProviderUnavailable { provider: ProviderRef, detail: String, retry_after_secs: u64 },
    #[error("{} did not answer within the deadline", .provider.name)]
    ProviderTimeout { provider: ProviderRef },
    #[error("internal error")]
    Internal(String),
}

/// A problem+json body.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Problem {
    /// `/problems/{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: String,
    pub request_id: String,
    /// At most [`MAX_PROBLEMS`].
    pub errors: Vec<ProblemField>,
    /// Present (and true) only when more problems were found than `errors` lists.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    pub provider: Option<ProviderProblem>,
    pub retryable: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ProblemField {
    pub pointer: String,
    pub detail: String,
}

/// The provider's own account of an error, beside our stable code.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProviderProblem {
    pub name: String,
    pub kind: String,
    pub status: Option<u16>,
    pub code: Option<String>,
    pub message: Option<String>,
    pub param: Option<String>,
    pub request_id: Option<String>,
}

impl ApiError {
    /// The stable code (DESIGN §4).
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedJson(_) => "malformed_json",
            Self::InvalidSessionId(_) => "invalid_session_id",
            Self::InvalidIdempotencyKey => "invalid_idempotency_key",
            Self::Unauthenticated => "unauthenticated",
            Self::ProviderNotAllowed(_) => "provider_not_allowed",
            Self::PassthroughNotAllowed(_) => "passthrough_not_allowed",
            Self::InvalidPassthroughPath(_) => "invalid_passthrough_path",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::ValidationFailed(_) => "validation_failed",
            Self::UnsupportedField { .. } => "unsupported_field",
            Self::IdempotencyKeyInUse => "idempotency_key_in_use",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::StoreUnavailable(_) => "store_unavailable",
            Self::RateLimited { .. } => "rate_limited",
            Self::Overloaded => "overloaded",
            Self::RequestTimeout => "request_timeout",
            Self::Provider { failure, .. } => failure.class.code(),
            Self::ProviderUnparseable { .. } => "provider_error",
            Self::ProviderUnavailable { .. } => "provider_unavailable",
            Self::ProviderTimeout { .. } => "provider_timeout",
            Self::Internal(_) => "internal_error",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::MalformedJson(_) | Self::InvalidSessionId(_) | Self::InvalidIdempotencyKey => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::ProviderNotAllowed(_) | Self::PassthroughNotAllowed(_) => StatusCode::FORBIDDEN,
            Self::InvalidPassthroughPath(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::ValidationFailed(_) | Self::UnsupportedField { .. } | Self::IdempotencyKeyReused => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::IdempotencyKeyInUse => StatusCode::CONFLICT,
            Self::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Overloaded | Self::ProviderUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Provider { failure, .. } => failure_status(failure.class),
            Self::ProviderUnparseable { .. } => StatusCode::BAD_GATEWAY,
            Self::ProviderTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether the same request may succeed later.
    pub fn retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. }
            | Self::IdempotencyKeyInUse
            | Self::StoreUnavailable(_)
            | Self::Overloaded
            | Self::RequestTimeout
            | Self::ProviderUnparseable { .. }
            | Self::ProviderUnavailable { .. }
            | Self::ProviderTimeout { .. } => true,
            Self::Provider { failure, .. } => failure.class.is_transient(),
            Self::MalformedJson(_)
            | Self::InvalidSessionId(_)
            | Self::InvalidIdempotencyKey
            | Self::Unauthenticated
            | Self::ProviderNotAllowed(_)
            | Self::PassthroughNotAllowed(_)
            | Self::InvalidPassthroughPath(_)
            | Self::NotFound
            | Self::MethodNotAllowed
            | Self::PayloadTooLarge(_)
            | Self::UnsupportedMediaType
            | Self::ValidationFailed(_)
            | Self::UnsupportedField { .. }
            | Self::IdempotencyKeyReused
            | Self::Internal(_) => false,
        }
    }

    fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_secs } | Self::ProviderUnavailable { retry_after_secs, .. } => {
                Some(*retry_after_secs)
            }
            Self::Provider { retry_after_secs, failure, .. } if failure.class == FailureClass::RateLimited => {
                Some(retry_after_secs.unwrap_or(1))
            }
            Self::Overloaded | Self::IdempotencyKeyInUse | Self::StoreUnavailable(_) => Some(1),
            _ => None,
        }
    }

    /// The listed problems (at most [`MAX_PROBLEMS`], each bounded) and whether more exist.
    fn fields(&self) -> (Vec<ProblemField>, bool) {
        let problems: &[FieldProblem] = match self {
            Self::ValidationFailed(problems) | Self::UnsupportedField { problems, .. } => problems,
            Self::Provider { failure, .. } => &failure.errors,
            _ => &[],
        };
        let listed = problems
            .iter()
            .take(MAX_PROBLEMS)
            .map(|p| ProblemField {
                pointer: bounded_pointer(&p.pointer).to_owned(),
                detail: excerpt(&p.detail, MAX_FIELD_DETAIL_CHARS),
            })
            .collect();
        (listed, problems.len() > MAX_PROBLEMS)
    }

    fn provider(&self) -> Option<ProviderProblem> {
        let bare = |provider: &ProviderRef| ProviderProblem {
            name: provider.name.clone(),
            kind: provider.kind.to_owned(),
            status: None,
            code: None,
            message: None,
            param: None,
            request_id: None,
        };
        match self {
            Self::Provider { provider, failure, .. } => Some(ProviderProblem {
                status: Some(failure.status),
                code: failure.code.clone(),
                message: failure.message.clone(),
                param: failure.param.clone(),
                request_id: failure.request_id.clone(),
                ..bare(provider)
            }),
            Self::UnsupportedField { provider, .. }
            | Self::ProviderUnparseable { provider, .. }
            | Self::ProviderUnavailable { provider, .. }
            | Self::ProviderTimeout { provider } => Some(bare(provider)),
            _ => None,
        }
    }

    /// The problem body for this error in the request `request_id`.
    pub fn to_problem(&self, request_id: &str) -> Problem {
        let code = self.code();
        let detail = match self {
            // Never show internal details to clients; they are logged with the request id.
            Self::Internal(_) => "an unexpected error occurred; report the request_id".to_owned(),
            Self::Provider { failure, provider, .. } => {
                failure.message.clone().unwrap_or_else(|| format!("{} answered {}", provider.name, failure.status))
            }
            other => other.to_string(),
        };
        let (errors, truncated) = self.fields();
        Problem {
            kind: format!("/problems/{code}"),
            title: crate::api::problems::title(code).to_owned(),
            status: self.status().as_u16(),
            detail: excerpt(&detail, MAX_DETAIL_CHARS),
            code: code.to_owned(),
            request_id: request_id.to_owned(),
            errors,
            truncated,
            provider: self.provider(),
            retryable: self.retryable(),
        }
    }

    pub fn with_request_id(self, request_id: &str) -> ApiFailure {
        ApiFailure { error: self, request_id: request_id.to_owned() }
    }
}

/// `text` cut after `max_chars` characters, marked with `…` when cut.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// `pointer`, or its deepest ancestor short enough to show (a client-chosen member name can be
/// any length; the ancestor still locates the problem).
fn bounded_pointer(pointer: &str) -> &str {
    let mut shown = pointer;
    while shown.len() > MAX_POINTER_BYTES {
        shown = shown.rsplit_once('/').map_or("", |(parent, _)| parent);
    }
    shown
}

fn failure_status(class: FailureClass) -> StatusCode {
    match class {
        FailureClass::Rejected | FailureClass::IdempotencyConflict => StatusCode::UNPROCESSABLE_ENTITY,
        FailureClass::NotFound => StatusCode::NOT_FOUND,
        FailureClass::NotUpdatable | FailureClass::Conflict | FailureClass::KeyInUse => StatusCode::CONFLICT,
        FailureClass::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        FailureClass::Authentication | FailureClass::Server | FailureClass::Unexpected => StatusCode::BAD_GATEWAY,
    }
}

/// An [`ApiError`] bound to the request it ended; the only error handlers return.
#[derive(Debug)]
pub struct ApiFailure {
    pub error: ApiError,
    pub request_id: String,
}

impl ApiFailure {
    /// The response as stored data (status, the headers DESIGN §2 lists, body), for the
    /// idempotency store; `into_response` renders the same thing.
    pub fn to_stored(&self) -> crate::idempotency::StoredResponse {
        let problem = self.error.to_problem(&self.request_id);
        let mut headers = vec![(header::CONTENT_TYPE.as_str().to_owned(), PROBLEM_JSON.to_owned())];
        if let Some(seconds) = self.error.retry_after_secs() {
            headers.push((header::RETRY_AFTER.as_str().to_owned(), seconds.to_string()));
        }
        if let Some(provider) = &problem.provider {
            headers.push((crate::api::handlers::PROVIDER_HEADER.to_owned(), provider.name.clone()));
        }
        crate::idempotency::StoredResponse {
            status: self.error.status().as_u16(),
            headers,
            body: serde_json::to_vec(&problem).unwrap_or_default(),
        }
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let code = self.error.code();
        match &self.error {
            ApiError::Internal(detail) => tracing::error!(code, detail = %detail, "request failed"),
            error if error.status().is_server_error() => tracing::warn!(code, detail = %error, "request failed"),
            _ => tracing::info!(code, "request refused"),
        }
        crate::api::idempotent::respond(self.to_stored(), false)
    }
}
