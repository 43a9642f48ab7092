//! The one error type of the HTTP layer and its problem+json rendering (RFC 9457, DESIGN §4).
//! `ApiError` is a response itself; the request id is filled into its body by the request
//! middleware ([`fill_request_id`]), so no handler has to carry it to every error.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use checkout_provider_interface::{FailureClass, FieldProblem, ProviderFailure};
use http::{StatusCode, header};
use schemars::JsonSchema;
use serde::Serialize;

use crate::api::respond::{PROVIDER_HEADER, stored_response};
use crate::errors::{ErrorCode, MAX_PROBLEMS, excerpt};
pub use crate::failure::ProviderRef;
use crate::failure::{Cause, UpdateError};
use crate::idempotency::StoredResponse;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Bounds on every text an answer carries, whatever produced it (a backstop: the producers
/// already quote client input only as an excerpt).
const MAX_DETAIL_CHARS: usize = 1_000;
const MAX_FIELD_DETAIL_CHARS: usize = 300;
const MAX_POINTER_BYTES: usize = 256;

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
    /// The gateway's own fault; `what` and `cause` are logged, never shown.
    #[error("internal error: {what}")]
    Internal {
        what: String,
        #[source]
        cause: Option<Cause>,
    },
}

/// A problem+json body (RFC 9457, DESIGN §4).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Problem {
    /// `/problems/{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    /// The HTTP status, repeated.
    pub status: u16,
    /// What went wrong with this request (client input only as a short excerpt).
    pub detail: String,
    pub code: ErrorCode,
    /// The request id (`X-Request-Id`), also in the gateway's logs.
    pub request_id: String,
    /// Every offending field (at most 100), with its JSON pointer.
    pub errors: Vec<ProblemField>,
    /// Present (and true) only when more problems were found than `errors` lists.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// The provider involved, with its own status, code and message when it answered.
    pub provider: Option<ProviderProblem>,
    /// Whether the same request may succeed later (with the same Idempotency-Key).
    pub retryable: bool,
}

/// One offending field.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProblemField {
    /// JSON pointer into the request body (`?name` for a query parameter).
    pub pointer: String,
    pub detail: String,
}

/// The provider's own account of an error, beside our stable code.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProviderProblem {
    /// The configured provider name.
    pub name: String,
    /// The provider kind.
    pub kind: String,
    pub status: Option<u16>,
    pub code: Option<String>,
    pub message: Option<String>,
    pub param: Option<String>,
    pub request_id: Option<String>,
}

impl ApiError {
    /// A gateway fault with nothing underneath it.
    pub fn internal(what: impl Into<String>) -> Self {
        Self::Internal { what: what.into(), cause: None }
    }

    /// The stable code (DESIGN §4); its status and title come from the one table in
    /// `crate::errors`.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::MalformedJson(_) => ErrorCode::MalformedJson,
            Self::InvalidSessionId(_) => ErrorCode::InvalidSessionId,
            Self::InvalidIdempotencyKey => ErrorCode::InvalidIdempotencyKey,
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::ProviderNotAllowed(_) => ErrorCode::ProviderNotAllowed,
            Self::PassthroughNotAllowed(_) => ErrorCode::PassthroughNotAllowed,
            Self::InvalidPassthroughPath(_) => ErrorCode::InvalidPassthroughPath,
            Self::NotFound => ErrorCode::NotFound,
            Self::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Self::PayloadTooLarge(_) => ErrorCode::PayloadTooLarge,
            Self::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Self::ValidationFailed(_) => ErrorCode::ValidationFailed,
            Self::UnsupportedField { .. } => ErrorCode::UnsupportedField,
            Self::IdempotencyKeyInUse => ErrorCode::IdempotencyKeyInUse,
            Self::IdempotencyKeyReused => ErrorCode::IdempotencyKeyReused,
            Self::StoreUnavailable(_) => ErrorCode::StoreUnavailable,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Overloaded => ErrorCode::Overloaded,
            Self::RequestTimeout => ErrorCode::RequestTimeout,
            Self::Provider { failure, .. } => ErrorCode::for_failure(failure.class),
            Self::ProviderUnparseable { .. } => ErrorCode::ProviderError,
            Self::ProviderUnavailable { .. } => ErrorCode::ProviderUnavailable,
            Self::ProviderTimeout { .. } => ErrorCode::ProviderTimeout,
            Self::Internal { .. } => ErrorCode::InternalError,
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code().status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
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
            | Self::Internal { .. } => false,
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
            Self::Internal { .. } => "an unexpected error occurred; report the request_id".to_owned(),
            Self::Provider { failure, provider, .. } => {
                failure.message.clone().unwrap_or_else(|| format!("{} answered {}", provider.name, failure.status))
            }
            other => other.to_string(),
        };
        let (errors, truncated) = self.fields();
        Problem {
            kind: format!("/problems/{code}"),
            title: code.entry().title.to_owned(),
            status: code.status(),
            detail: excerpt(&detail, MAX_DETAIL_CHARS),
            code,
            request_id: request_id.to_owned(),
            errors,
            truncated,
            provider: self.provider(),
            retryable: self.retryable(),
        }
    }

    /// The response as stored data (status, the headers DESIGN §2 lists, body) for the request
    /// `request_id`: what the idempotency store keeps, and what `into_response` sends.
    pub fn to_stored(&self, request_id: &str) -> StoredResponse {
        stored_problem(self, &self.to_problem(request_id))
    }

    /// Log the error once, at the level its class deserves: the gateway's own faults with their
    /// cause, other server-side failures as warnings, refusals as information.
    pub fn log(&self) {
        let code = self.code().as_str();
        crate::telemetry::trace::record_error_code(code);
        crate::metrics::error(code);
        match self {
            Self::Internal { what, cause } => match cause {
                Some(cause) => tracing::error!(code, detail = %what, cause = %chain(cause.as_ref()), "request failed"),
                None => tracing::error!(code, detail = %what, "request failed"),
            },
            error if error.status().is_server_error() => tracing::warn!(code, detail = %error, "request failed"),
            _ => tracing::info!(code, "request refused"),
        }
    }
}

/// `error`'s message followed by each of its sources'.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn stored_problem(error: &ApiError, problem: &Problem) -> StoredResponse {
    let mut headers = vec![(header::CONTENT_TYPE.as_str().to_owned(), PROBLEM_JSON.to_owned())];
    if let Some(seconds) = error.retry_after_secs() {
        headers.push((header::RETRY_AFTER.as_str().to_owned(), seconds.to_string()));
    }
    if let Some(provider) = &problem.provider {
        headers.push((PROVIDER_HEADER.to_owned(), provider.name.clone()));
    }
    StoredResponse { status: problem.status, headers, body: serde_json::to_vec(problem).unwrap_or_default() }
}

impl From<UpdateError> for ApiError {
    fn from(error: UpdateError) -> Self {
        match error {
            UpdateError::InvalidSessionId(why) => Self::InvalidSessionId(why),
            UpdateError::ValidationFailed(problems) => Self::ValidationFailed(problems),
            UpdateError::UnsupportedField { provider, problems } => Self::UnsupportedField { provider, problems },
            UpdateError::Provider { provider, failure, retry_after_secs } => {
                Self::Provider { provider, failure, retry_after_secs }
            }
            UpdateError::ProviderUnparseable { provider, detail } => Self::ProviderUnparseable { provider, detail },
            UpdateError::ProviderUnavailable { provider, detail, retry_after_secs } => {
                Self::ProviderUnavailable { provider, detail, retry_after_secs }
            }
            UpdateError::ProviderTimeout { provider } => Self::ProviderTimeout { provider },
            UpdateError::Internal { what, cause } => Self::Internal { what, cause },
        }
    }
}

/// A problem body still waiting for its request id: `ApiError::into_response` leaves it on the
/// response, [`fill_request_id`] writes the body again with the id.
#[derive(Clone)]
struct UnfilledProblem(Problem);

impl IntoResponse for ApiError {
    /// Rendered without a request id (the error does not know it); the request middleware fills
    /// it in. A response that never passes that middleware still is complete problem+json.
    fn into_response(self) -> Response {
        self.log();
        let problem = self.to_problem("");
        let mut response = stored_response(stored_problem(&self, &problem), false);
        response.extensions_mut().insert(UnfilledProblem(problem));
        response
    }
}

/// Write `request_id` into the problem body of `response`, if it is one that still lacks it.
pub fn fill_request_id(response: &mut Response, request_id: &str) {
    if let Some(UnfilledProblem(mut problem)) = response.extensions_mut().remove::<UnfilledProblem>() {
        problem.request_id = request_id.to_owned();
        *response.body_mut() = Body::from(serde_json::to_vec(&problem).unwrap_or_default());
        response.headers_mut().remove(header::CONTENT_LENGTH);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateways_own_fault_is_a_500_that_shows_no_cause() {
        let cause: Cause = "signing key rejected: key material sk_live_secret".into();
        let error = ApiError::from(UpdateError::Internal {
            what: "the JWT could not be signed".to_owned(),
            cause: Some(cause),
        });
        let problem = error.to_problem("rid-1");
        assert_eq!((problem.status, problem.code.as_str()), (500, "internal_error"));
        assert_eq!(problem.request_id, "rid-1");
        assert!(!problem.retryable);
        let shown = serde_json::to_string(&problem).unwrap();
        assert!(!shown.contains("signing") && !shown.contains("JWT"), "{shown}");
        assert!(std::error::Error::source(&error).is_some(), "the cause stays attached for the log");
    }

    #[test]
    fn a_provider_failure_takes_status_and_title_from_the_error_table() {
        let failure = ProviderFailure::new(FailureClass::Conflict, 409);
        let provider = ProviderRef { name: "main".to_owned(), kind: "test" };
        let error = ApiError::Provider { provider, failure: Box::new(failure), retry_after_secs: None };
        let problem = error.to_problem("rid-2");
        let entry = ErrorCode::ProviderConflict.entry();
        assert_eq!((problem.status, problem.code.as_str(), problem.title.as_str()), (409, entry.code, entry.title));
        assert_eq!(error.status(), StatusCode::CONFLICT);
    }
}
