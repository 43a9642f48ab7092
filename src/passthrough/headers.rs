//! Which headers cross the proxy.
//!
//! Requests: an allow-list. Only `Content-Type`, `Accept` and the names the provider's adapter
//! declares (`Adapter::passthrough_request_headers`) are taken from the client; the caller adds
//! the provider credentials and account routing (from config), the request id and the rewritten
//! idempotency key itself. Everything else a client sends stays at the gateway: provider
//! account selectors (a platform key would act on whichever account the client named), `Range`
//! (an echoed credential read in pieces shorter than the scrubber can recognise),
//! method-override and forwarding headers (a provider or its front end may act on them), the
//! client's credentials and cookies. [`NEVER_FORWARDED`] holds even against an adapter's
//! declaration.
//!
//! Responses: the provider's end-to-end headers, less its cookies (the gateway's own session
//! with it) and `Idempotent-Replayed` (the gateway's replay marker: a provider's copy would read
//! as a gateway replay). Hop-by-hop headers (RFC 9110 §7.6.1) and the ones a `Connection` header
//! names belong to one connection, not to the message, in both directions.

use http::{HeaderMap, HeaderName};

/// Client headers any provider may receive.
pub const ALWAYS_FORWARDED: &[&str] = &["content-type", "accept"];

/// Client headers never forwarded, whatever an adapter declares: set by the proxy itself
/// (`Host`, `Content-Length` from the checked body, `Accept-Encoding: identity` so the answer
/// can be scrubbed, `X-Request-Id`, the derived `Idempotency-Key`), the gateway's own
/// (`Authorization`, `Cookie`, `Checkout-Provider`, `Expect`, answered by hyper), partial reads,
/// method overrides and proxy forwarding headers. Names starting with one of
/// [`NEVER_FORWARDED_PREFIXES`] and hop-by-hop headers are never forwarded either.
pub const NEVER_FORWARDED: &[&str] = &[
    "host",
    "authorization",
    "cookie",
    "content-length",
    "accept-encoding",
    "x-request-id",
    "idempotency-key",
    "checkout-provider",
    "expect",
    "range",
    "if-range",
    "x-http-method-override",
    "x-method-override",
    "x-http-method",
    "forwarded",
    "via",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// `Proxy-Authorization` and friends; `X-Forwarded-For`, `-Host`, `-Proto` and friends.
pub const NEVER_FORWARDED_PREFIXES: &[&str] = &["proxy-", "x-forwarded-"];

/// Hop-by-hop headers (RFC 9110 §7.6.1), plus `Proxy-*` by prefix.
const HOP_BY_HOP: &[&str] = &["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"];

/// Response headers never passed back.
const RESPONSE_DROPPED: &[&str] = &["set-cookie", "set-cookie2", "idempotent-replayed"];

/// Is `name` (lower case, as `HeaderName` keeps it) on the request deny list?
pub fn never_forwarded(name: &str) -> bool {
    NEVER_FORWARDED.contains(&name) || NEVER_FORWARDED_PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

fn is_hop_by_hop(name: &HeaderName, named_by_connection: &[HeaderName]) -> bool {
    HOP_BY_HOP.contains(&name.as_str()) || name.as_str().starts_with("proxy-") || named_by_connection.contains(name)
}

/// The header names listed in `Connection` (e.g. `Connection: close, X-Secret-Hop`).
fn connection_tokens(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
        .collect()
}

/// The client's headers that go on to the provider: those in [`ALWAYS_FORWARDED`] or in
/// `provider_allowed` (the adapter's declaration, compared case-insensitively), unless denied.
pub fn request_headers(client: &HeaderMap, provider_allowed: &[&str]) -> HeaderMap {
    let named = connection_tokens(client);
    let mut out = HeaderMap::new();
    for (name, value) in client {
        let text = name.as_str();
        let allowed = ALWAYS_FORWARDED.contains(&text)
            || provider_allowed.iter().any(|declared| declared.eq_ignore_ascii_case(text));
        if allowed && !never_forwarded(text) && !is_hop_by_hop(name, &named) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// The provider's headers that go back to the client.
pub fn response_headers(provider: &HeaderMap) -> HeaderMap {
    let named = connection_tokens(provider);
    let mut out = HeaderMap::with_capacity(provider.len());
    for (name, value) in provider {
        if !is_hop_by_hop(name, &named) && !RESPONSE_DROPPED.contains(&name.as_str()) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        headers
    }

    fn names(headers: &HeaderMap) -> Vec<&str> {
        headers.keys().map(HeaderName::as_str).collect()
    }

    #[test]
    fn only_allow_listed_request_headers_are_forwarded() {
        let client = map(&[
            ("connection", "keep-alive, accept"),
            ("keep-alive", "timeout=5"),
            ("proxy-authorization", "Basic abc"),
            ("transfer-encoding", "chunked"),
            ("authorization", "Bearer tenant"),
            ("cookie", "a=b"),
            ("host", "gateway"),
            ("content-type", "application/json"),
            ("accept", "application/json"),
            ("x-custom", "not on the list"),
            ("x-provider-account", "acct_victim"),
            ("range", "bytes=0-3"),
            ("x-http-method-override", "DELETE"),
            ("x-forwarded-for", "10.0.0.1"),
            ("forwarded", "for=10.0.0.1"),
            ("via", "1.1 proxy"),
            ("x-declared", "kept"),
        ]);
        // `accept` is named by `Connection`: hop-by-hop for this message, so dropped too.
        assert_eq!(names(&request_headers(&client, &[])), ["content-type"]);
        let declared = request_headers(&client, &["X-Declared", "range", "x-forwarded-for", "via"]);
        assert_eq!(names(&declared), ["content-type", "x-declared"], "the deny list wins over a declaration");
    }

    #[test]
    fn response_headers_lose_hop_by_hop_cookies_and_a_foreign_replay_marker() {
        let provider = map(&[
            ("set-cookie", "session=1"),
            ("content-type", "application/json"),
            ("transfer-encoding", "chunked"),
            ("idempotent-replayed", "true"),
            ("request-id", "req_1"),
        ]);
        assert_eq!(names(&response_headers(&provider)), ["content-type", "request-id"]);
    }
}
