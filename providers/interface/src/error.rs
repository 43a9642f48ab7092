//! Adapter-level errors: what the adapter knows about a failure, classified so the gateway can
//! map it to a stable unified code without knowing the provider.

use serde::{Deserialize, Serialize};

/// One offending field, as a JSON pointer into the unified request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProblem {
    pub pointer: String,
    pub detail: String,
}

impl FieldProblem {
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { pointer: pointer.into(), detail: detail.into() }
    }
}

/// A session id the provider's own format refuses (stricter than the gateway's rule). Its text
/// is whole ("mattilda session ids are UUIDs …"): callers show it as is, without a prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} session ids are {expected}")]
pub struct SessionIdError {
    pub kind: &'static str,
    /// What the provider accepts, e.g. `UUIDs (8-4-4-4-12 hexadecimal digits)`.
    pub expected: String,
}

/// The cause of an [`AdapterError::Internal`].
pub type InternalCause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// The session id fails the provider's own format (stricter than the gateway's rule).
    #[error("invalid session id")]
    InvalidSessionId(#[from] SessionIdError),
    /// Fields the provider cannot express (value-dependent cases the capability table cannot say).
    #[error("{} unsupported field(s)", .0.len())]
    Unsupported(Vec<FieldProblem>),
    /// The unified request is valid in general but not for this provider's rules.
    #[error("{} invalid field(s)", .0.len())]
    Invalid(Vec<FieldProblem>),
    /// The provider answered with an error.
    #[error("provider answered {}: {:?}", .0.status, .0.class)]
    Provider(Box<ProviderFailure>),
    /// The provider's answer could not be understood.
    #[error("unparseable provider response: {0}")]
    Unparseable(String),
    /// The gateway's own fault, neither the client's nor the provider's: a request that cannot
    /// be built or encoded, a configured value that is not a valid header, a key that cannot
    /// sign. `what` says what failed and never holds a secret; the cause stays attached for the
    /// log.
    #[error("{what}")]
    Internal {
        what: &'static str,
        #[source]
        cause: Option<InternalCause>,
    },
}

impl AdapterError {
    pub fn unparseable(what: impl std::fmt::Display) -> Self {
        Self::Unparseable(what.to_string())
    }

    /// An [`AdapterError::Internal`] with its cause.
    pub fn internal(what: &'static str, cause: impl Into<InternalCause>) -> Self {
        Self::Internal { what, cause: Some(cause.into()) }
    }

    /// An [`AdapterError::Internal`] whose cause has nothing more to say than `what`.
    pub fn internal_without_cause(what: &'static str) -> Self {
        Self::Internal { what, cause: None }
    }
}

/// Who the failure belongs to and what the client can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// The provider refused the request as invalid (its 400/422).
    Rejected,
    NotFound,
    /// The session is complete, expired or otherwise closed to updates.
    NotUpdatable,
    /// The provider rejected the gateway's credentials.
    Authentication,
    RateLimited,
    /// The provider saw our idempotency key with a different request. Never retried.
    IdempotencyConflict,
    /// A transient conflict (an object lock held by another request, "too early"); safe to retry.
    Conflict,
    /// The provider is still processing an earlier request under the same forwarded key;
    /// transient and safe to retry (never "key reused").
    KeyInUse,
    /// The provider's 5xx.
    Server,
    /// Any other status the adapter does not expect.
    Unexpected,
}

impl FailureClass {
    /// Whether the same request may succeed later; such outcomes are never stored for replay.
    pub fn is_transient(self) -> bool {
        matches!(self, Self::RateLimited | Self::Conflict | Self::KeyInUse | Self::Server)
    }

    /// The stable unified error code (DESIGN §4) this class maps to.
    pub fn code(self) -> &'static str {
        match self {
            Self::Rejected => "provider_rejected",
            Self::NotFound => "session_not_found",
            Self::NotUpdatable => "session_not_updatable",
            Self::Conflict => "provider_conflict",
            Self::KeyInUse => "idempotency_key_in_use",
            Self::Authentication => "provider_authentication_failed",
            Self::RateLimited => "provider_rate_limited",
            Self::IdempotencyConflict => "idempotency_key_reused",
            Self::Server | Self::Unexpected => "provider_error",
        }
    }
}

/// The provider's own account of an error, kept beside our classification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderFailure {
    pub class: FailureClass,
    pub status: u16,
    pub code: Option<String>,
    pub message: Option<String>,
    /// The provider's own name for the offending parameter.
    pub param: Option<String>,
    /// The provider's request or trace id.
    pub request_id: Option<String>,
    /// `param` (or the provider's error details) mapped to unified pointers where possible.
    #[serde(default)]
    pub errors: Vec<FieldProblem>,
}

impl ProviderFailure {
    pub fn new(class: FailureClass, status: u16) -> Self {
        Self { class, status, code: None, message: None, param: None, request_id: None, errors: Vec::new() }
    }

    /// Default classification of an HTTP error status, for adapters to refine.
    pub fn class_for_status(status: u16) -> FailureClass {
        match status {
            400 | 422 => FailureClass::Rejected,
            401 | 403 => FailureClass::Authentication,
            404 => FailureClass::NotFound,
            409 => FailureClass::NotUpdatable,
            429 => FailureClass::RateLimited,
            500..=599 => FailureClass::Server,
            _ => FailureClass::Unexpected,
        }
    }
}

impl From<ProviderFailure> for AdapterError {
    fn from(failure: ProviderFailure) -> Self {
        Self::Provider(Box::new(failure))
    }
}

/// A provider's configuration is wrong; `key` is relative to the provider's table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { key: key.into(), message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn a_session_id_error_reads_whole_once() {
        let error = SessionIdError { kind: "demo", expected: "UUIDs".to_owned() };
        assert_eq!(error.to_string(), "demo session ids are UUIDs");
        let wrapped = AdapterError::from(error.clone());
        assert_eq!(wrapped.to_string(), "invalid session id");
        assert_eq!(wrapped.source().map(ToString::to_string), Some(error.to_string()));
    }

    #[test]
    fn an_internal_fault_keeps_its_cause() {
        let cause = http::HeaderValue::from_str("a\nb").err().unwrap_or_else(|| panic!("a newline is refused"));
        let error = AdapterError::internal("the configured credential is not a valid header value", cause);
        assert_eq!(error.to_string(), "the configured credential is not a valid header value");
        assert_eq!(error.source().map(ToString::to_string).as_deref(), Some("failed to parse header value"));
        let bare = AdapterError::internal_without_cause("no nonce");
        assert!(bare.source().is_none());
    }

    #[test]
    fn a_request_the_builder_refuses_is_the_gateways_fault() {
        let builder = crate::wire::request(http::Method::GET, "/a b");
        let error = crate::wire::finish(builder, Vec::new()).err().unwrap_or_else(|| panic!("a space is refused"));
        assert!(matches!(&error, AdapterError::Internal { what: "cannot build the provider request", cause: Some(_) }));
    }
}
