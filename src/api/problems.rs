//! `GET /problems/{code}`: a short human explanation of every error code the gateway returns.

/// (code, HTTP status, title, explanation)
pub const CATALOG: &[(&str, u16, &str, &str)] = &[
    (
        "malformed_json",
        400,
        "Malformed JSON",
        "The body is not a JSON object. Send one JSON object with the fields to change.",
    ),
    (
        "invalid_session_id",
        400,
        "Invalid session id",
        "The session id must match ^[A-Za-z0-9_\\-:.]{1,200}$ and the provider's own format (some providers require a UUID).",
    ),
    (
        "invalid_idempotency_key",
        400,
        "Invalid Idempotency-Key",
        "Idempotency-Key must be 1-255 characters of A-Z, a-z, 0-9, ':', '_', '-', '.'.",
    ),
    (
        "unauthenticated",
        401,
        "Unauthenticated",
        "Send `Authorization: Bearer <tenant key>` with a key configured for a tenant.",
    ),
    (
        "provider_not_allowed",
        403,
        "Provider not allowed",
        "The Checkout-Provider header names a provider outside the tenant's allowed_providers.",
    ),
    (
        "invalid_passthrough_path",
        400,
        "Invalid passthrough path",
        "The passthrough path has `.` or `..` segments (also percent-encoded), an encoded `/` or `\\` inside a segment, an empty segment, control characters, malformed percent-encoding, `;` path parameters or an encoded `%` (`%25`, double encoding).",
    ),
    (
        "passthrough_not_allowed",
        403,
        "Passthrough not allowed",
        "The method and path are not in the provider's passthrough.allow list, so the request was not forwarded.",
    ),
    ("not_found", 404, "Not found", "No such route or resource on the gateway."),
    ("session_not_found", 404, "Session not found", "The provider has no checkout session with this id."),
    ("method_not_allowed", 405, "Method not allowed", "The route exists but not for this HTTP method."),
    (
        "session_not_updatable",
        409,
        "Session not updatable",
        "The provider refuses the update because the session is complete, expired or confirming.",
    ),
    (
        "provider_conflict",
        409,
        "Provider conflict",
        "The provider reported a transient conflict (an object lock held by another request, or a request that came too early). Nothing was changed; retry, with the same Idempotency-Key if you sent one.",
    ),
    (
        "idempotency_key_in_use",
        409,
        "Idempotency-Key in use",
        "A request with the same Idempotency-Key is still being processed, at the gateway or at the provider. Retry later with the same key.",
    ),
    (
        "request_timeout",
        408,
        "Request timeout",
        "The request body did not arrive within server.body_read_timeout_ms of the headers, so the gateway stopped reading it. Nothing was sent to a provider; retry.",
    ),
    ("payload_too_large", 413, "Payload too large", "The body exceeds server.max_body_bytes."),
    (
        "unsupported_media_type",
        415,
        "Unsupported media type",
        "Send Content-Type: application/json or application/merge-patch+json.",
    ),
    (
        "validation_failed",
        422,
        "Validation failed",
        "The body breaks the unified schema or the provider's rules; errors[] lists every violation with its JSON pointer.",
    ),
    (
        "unsupported_field",
        422,
        "Field not supported by provider",
        "The resolved provider cannot express these fields; errors[] lists all of them. Tenants may opt into on_unsupported = \"ignore\".",
    ),
    (
        "idempotency_key_reused",
        422,
        "Idempotency-Key reused",
        "The same Idempotency-Key was used with a different request (at the gateway or at the provider).",
    ),
    (
        "provider_rejected",
        422,
        "Provider rejected the request",
        "The provider refused the request as invalid; provider{} holds its own status, code and message.",
    ),
    (
        "rate_limited",
        429,
        "Rate limited",
        "The tenant's gateway rate limit (requests per second, or tenants.<name>.max_concurrency requests in flight) is exhausted, or this client address failed authentication too often (server.auth_failure_limit); wait Retry-After seconds.",
    ),
    (
        "provider_rate_limited",
        429,
        "Provider rate limited",
        "The provider kept answering 429 after retries; Retry-After is passed on.",
    ),
    ("internal_error", 500, "Internal error", "A gateway bug. Never expected; report the request_id."),
    (
        "provider_authentication_failed",
        502,
        "Provider authentication failed",
        "The provider rejected the gateway's credentials: an operator problem, the tenant's key is fine.",
    ),
    (
        "provider_error",
        502,
        "Provider error",
        "The provider answered 5xx after retries, an unparseable or oversized body, or an unexpected status.",
    ),
    (
        "overloaded",
        503,
        "Gateway overloaded",
        "The gateway has server.max_concurrency requests in flight (one limit for the whole API; probes and /metrics are outside it) and shed this request; retry after Retry-After.",
    ),
    (
        "store_unavailable",
        503,
        "Idempotency store unavailable",
        "The shared store (Redis) did not answer, so the update was not attempted (also for any request when server.rate_limit_on_store_error = \"fail_closed\"); retry with the same key.",
    ),
    (
        "provider_unavailable",
        503,
        "Provider unavailable",
        "The provider could not be reached after retries; retry after Retry-After.",
    ),
    (
        "provider_timeout",
        504,
        "Provider timeout",
        "The provider did not answer within the deadline. The update may or may not have been applied; retry with the same Idempotency-Key.",
    ),
];

pub fn title(code: &str) -> &'static str {
    CATALOG.iter().find(|(c, ..)| *c == code).map_or("Error", |(_, _, title, _)| title)
}

pub fn explain(code: &str) -> Option<serde_json::Value> {
    CATALOG.iter().find(|(c, ..)| *c == code).map(|(code, status, title, explanation)| {
        serde_json::json!({ "code": code, "status": status, "title": title, "explanation": explanation })
    })
}
