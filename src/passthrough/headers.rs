//! Which headers cross the proxy. Hop-by-hop headers (RFC 9110 §7.6.1) and the ones a
//! `Connection` header names belong to one connection, not to the message; the client's
//! credentials and cookies are for the gateway, the provider's cookies for the gateway's own
//! session with it. The caller adds the provider credentials, the request id and the
//! idempotency key itself.

use http::{HeaderMap, HeaderName};

/// Hop-by-hop headers, plus `Proxy-*` by prefix (see [`is_hop_by_hop`]).
const HOP_BY_HOP: &[&str] = &["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"];

/// Request headers the proxy sets itself or never forwards: the client's credentials and
/// cookies, `Content-Length` (set from the checked body), `Accept-Encoding` (sent as
/// `identity`, so the response can be scrubbed), `X-Request-Id` (ours), `Idempotency-Key`
/// (replaced by a key derived from tenant and key, so tenants cannot collide at the provider)
/// and `Checkout-Provider` (the gateway's own selector; the provider is in the path).
const REQUEST_DROPPED: &[&str] = &[
    "host",
    "authorization",
    "cookie",
    "content-length",
    "accept-encoding",
    "x-request-id",
    "idempotency-key",
    "checkout-provider",
    // `100-continue` was the gateway's to answer (hyper did); the body follows unasked.
    "expect",
];

/// Response headers never passed back.
const RESPONSE_DROPPED: &[&str] = &["set-cookie", "set-cookie2"];

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

fn filtered(headers: &HeaderMap, dropped: &[&str]) -> HeaderMap {
    let named = connection_tokens(headers);
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if !is_hop_by_hop(name, &named) && !dropped.contains(&name.as_str()) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// The client's headers that go on to the provider.
pub fn request_headers(client: &HeaderMap) -> HeaderMap {
    filtered(client, REQUEST_DROPPED)
}

/// The provider's headers that go back to the client.
pub fn response_headers(provider: &HeaderMap) -> HeaderMap {
    filtered(provider, RESPONSE_DROPPED)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn hop_by_hop_credentials_and_connection_named_headers_are_dropped() {
        let mut client = HeaderMap::new();
        for (name, value) in [
            ("connection", "keep-alive, x-hop"),
            ("keep-alive", "timeout=5"),
            ("proxy-authorization", "Basic abc"),
            ("te", "trailers"),
            ("trailer", "x-t"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("x-hop", "1"),
            ("authorization", "Bearer tenant"),
            ("cookie", "a=b"),
            ("host", "gateway"),
            ("content-type", "application/json"),
            ("x-custom", "kept"),
        ] {
            client.append(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        let forwarded = request_headers(&client);
        let names: Vec<&str> = forwarded.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["content-type", "x-custom"]);
        let mut provider = HeaderMap::new();
        provider.append(http::header::SET_COOKIE, HeaderValue::from_static("session=1"));
        provider.append(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        provider.append(http::header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        let back = response_headers(&provider);
        assert_eq!(back.keys().map(HeaderName::as_str).collect::<Vec<_>>(), ["content-type"]);
    }
}
