//! Every error code the gateway answers with, in one table: the code, its HTTP status, its title
//! and what it means. `ApiError` takes its code and status from here, `/problems/{code}` explains
//! from here, and the OpenAPI document lists each status's codes from here, so the three cannot
//! disagree. The table is plain data (no HTTP types): the pipelines may name a code too. The
//! bounds every answer keeps on what it quotes live here as well, for the same readers.

use checkout_provider_interface::FailureClass;

/// DESIGN §4: an answer lists at most this many problems and says `truncated` beyond.
pub const MAX_PROBLEMS: usize = 100;
/// The longest excerpt of client input a detail quotes, in characters (then `…`).
pub const EXCERPT_CHARS: usize = 80;

/// `text` cut after `max_chars` characters, marked with `…` when cut.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorEntry {
    /// The stable code (DESIGN §4), also the last segment of the problem `type`.
    pub code: &'static str,
    pub status: u16,
    pub title: &'static str,
    pub description: &'static str,
}

/// Declares [`ErrorCode`], its `ALL` list and its table from one list of rows.
macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:literal, $title:literal, $description:literal;)+) => {
        /// A stable error code (DESIGN §4, plus the codes ARCHITECTURE.md's decisions add).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant,)+
        }

        impl ErrorCode {
            /// Every code, in the order `/problems` and the OpenAPI document list them.
            pub const ALL: [Self; [$($code),+].len()] = [$(Self::$variant),+];

            /// The code's row of the table.
            pub const fn entry(self) -> ErrorEntry {
                match self {
                    $(Self::$variant => ErrorEntry {
                        code: $code,
                        status: $status,
                        title: $title,
                        description: $description,
                    },)+
                }
            }
        }
    };
}

error_codes! {
    MalformedJson = "malformed_json", 400, "Malformed JSON",
        "The body is not a JSON object. Send one JSON object with the fields to change.";
    InvalidSessionId = "invalid_session_id", 400, "Invalid session id",
        "The session id must match ^[A-Za-z0-9_\\-:.]{1,200}$ and the provider's own format (some providers require a UUID).";
    InvalidIdempotencyKey = "invalid_idempotency_key", 400, "Invalid Idempotency-Key",
        "Idempotency-Key must be 1-255 characters of A-Z, a-z, 0-9, ':', '_', '-', '.'.";
    Unauthenticated = "unauthenticated", 401, "Unauthenticated",
        "Send `Authorization: Bearer <tenant key>` with a key configured for a tenant.";
    ProviderNotAllowed = "provider_not_allowed", 403, "Provider not allowed",
        "The Checkout-Provider header names a provider outside the tenant's allowed_providers.";
    InvalidPassthroughPath = "invalid_passthrough_path", 400, "Invalid passthrough path",
        "The passthrough path has `.` or `..` segments (also percent-encoded), an encoded `/` or `\\` inside a segment, an empty segment, control characters, malformed percent-encoding, `;` path parameters or an encoded `%` (`%25`, double encoding).";
    PassthroughNotAllowed = "passthrough_not_allowed", 403, "Passthrough not allowed",
        "The method and path are not in the provider's passthrough.allow list, so the request was not forwarded.";
    NotFound = "not_found", 404, "Not found",
        "No such route or resource on the gateway.";
    SessionNotFound = "session_not_found", 404, "Session not found",
        "The provider has no checkout session with this id.";
    MethodNotAllowed = "method_not_allowed", 405, "Method not allowed",
        "The route exists but not for this HTTP method.";
    SessionNotUpdatable = "session_not_updatable", 409, "Session not updatable",
        "The provider refuses the update because the session is complete, expired or confirming.";
    ProviderConflict = "provider_conflict", 409, "Provider conflict",
        "The provider reported a transient conflict (an object lock held by another request, or a request that came too early). Nothing was changed; retry, with the same Idempotency-Key if you sent one.";
    IdempotencyKeyInUse = "idempotency_key_in_use", 409, "Idempotency-Key in use",
        "A request with the same Idempotency-Key is still being processed, at the gateway or at the provider. Retry later with the same key.";
    RequestTimeout = "request_timeout", 408, "Request timeout",
        "The request body did not arrive within server.body_read_timeout_ms of the headers, so the gateway stopped reading it. Nothing was sent to a provider; retry.";
    PayloadTooLarge = "payload_too_large", 413, "Payload too large",
        "The body exceeds server.max_body_bytes.";
    UnsupportedMediaType = "unsupported_media_type", 415, "Unsupported media type",
        "Send Content-Type: application/json or application/merge-patch+json.";
    ValidationFailed = "validation_failed", 422, "Validation failed",
        "The body breaks the unified schema or the provider's rules; errors[] lists every violation with its JSON pointer.";
    UnsupportedField = "unsupported_field", 422, "Field not supported by provider",
        "The resolved provider cannot express these fields; errors[] lists all of them. Tenants may opt into on_unsupported = \"ignore\".";
    IdempotencyKeyReused = "idempotency_key_reused", 422, "Idempotency-Key reused",
        "The same Idempotency-Key was used with a different request (at the gateway or at the provider).";
    ProviderRejected = "provider_rejected", 422, "Provider rejected the request",
        "The provider refused the request as invalid; provider{} holds its own status, code and message.";
    RateLimited = "rate_limited", 429, "Rate limited",
        "The tenant's gateway rate limit (requests per second, or tenants.<name>.max_concurrency requests in flight) is exhausted, or this client address failed authentication too often (server.auth_failure_limit); wait Retry-After seconds.";
    ProviderRateLimited = "provider_rate_limited", 429, "Provider rate limited",
        "The provider kept answering 429 after retries; Retry-After is passed on.";
    InternalError = "internal_error", 500, "Internal error",
        "A gateway bug. Never expected; report the request_id.";
    ProviderAuthenticationFailed = "provider_authentication_failed", 502, "Provider authentication failed",
        "The provider rejected the gateway's credentials: an operator problem, the tenant's key is fine.";
    ProviderError = "provider_error", 502, "Provider error",
        "The provider answered 5xx after retries, an unparseable or oversized body, or an unexpected status.";
    Overloaded = "overloaded", 503, "Gateway overloaded",
        "The gateway has server.max_concurrency requests in flight (one limit for the whole API; probes and /metrics are outside it) and shed this request; retry after Retry-After.";
    StoreUnavailable = "store_unavailable", 503, "Idempotency store unavailable",
        "The shared store (Redis) did not answer, so the update was not attempted (also for any request when server.rate_limit_on_store_error = \"fail_closed\"); retry with the same key.";
    ProviderUnavailable = "provider_unavailable", 503, "Provider unavailable",
        "The provider could not be reached after retries; retry after Retry-After.";
    ProviderTimeout = "provider_timeout", 504, "Provider timeout",
        "The provider did not answer within the deadline. The update may or may not have been applied; retry with the same Idempotency-Key.";
}

impl ErrorCode {
    pub const fn as_str(self) -> &'static str {
        self.entry().code
    }

    pub const fn status(self) -> u16 {
        self.entry().status
    }

    /// The code named `code`, if the gateway has one by that name.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|known| known.as_str() == code)
    }

    /// The code for a provider's classified failure.
    pub const fn for_failure(class: FailureClass) -> Self {
        match class {
            FailureClass::Rejected => Self::ProviderRejected,
            FailureClass::NotFound => Self::SessionNotFound,
            FailureClass::NotUpdatable => Self::SessionNotUpdatable,
            FailureClass::Conflict => Self::ProviderConflict,
            FailureClass::KeyInUse => Self::IdempotencyKeyInUse,
            FailureClass::Authentication => Self::ProviderAuthenticationFailed,
            FailureClass::RateLimited => Self::ProviderRateLimited,
            FailureClass::IdempotencyConflict => Self::IdempotencyKeyReused,
            FailureClass::Server | FailureClass::Unexpected => Self::ProviderError,
        }
    }
}

/// On the wire a code is its name (a problem body's `code`).
impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The schema lists every code of the table, so a generated client gets them as an enum.
impl schemars::JsonSchema for ErrorCode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ErrorCode".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let codes: Vec<&str> = Self::ALL.into_iter().map(Self::as_str).collect();
        schemars::json_schema!({
            "description": "A stable error code; `GET /problems/{code}` explains it.",
            "type": "string",
            "enum": codes,
        })
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_parse_back() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::parse("no_such_code"), None);
    }

    #[test]
    fn a_provider_failure_gets_the_code_its_class_names() {
        let classes = [
            FailureClass::Rejected,
            FailureClass::NotFound,
            FailureClass::NotUpdatable,
            FailureClass::Conflict,
            FailureClass::KeyInUse,
            FailureClass::Authentication,
            FailureClass::RateLimited,
            FailureClass::IdempotencyConflict,
            FailureClass::Server,
            FailureClass::Unexpected,
        ];
        for class in classes {
            assert_eq!(ErrorCode::for_failure(class).as_str(), class.code(), "{class:?}");
        }
    }
}
