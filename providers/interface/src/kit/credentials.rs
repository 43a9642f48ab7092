//! Credentials: whether a configured one can travel in a header (checked once at start-up, so
//! building a request never fails on it later), and how a simulator compares what it is sent
//! with what it expects.

use crate::Secret;

/// The `Authorization` value for a bearer token.
pub fn bearer(token: &Secret) -> String {
    format!("Bearer {}", token.expose())
}

/// A non-empty token whose `Bearer <token>` is a valid header value.
pub fn usable_as_bearer(token: &Secret) -> bool {
    !token.expose().is_empty() && http::HeaderValue::from_str(&bearer(token)).is_ok()
}

/// The credentials of an `Authorization` value in `scheme` (`Bearer`, `Basic`): the scheme name
/// is case-insensitive (RFC 9110 §11.1), the credentials are not.
pub fn presented<'a>(authorization: &'a str, scheme: &str) -> Option<&'a str> {
    let (name, credentials) = authorization.trim().split_once(' ')?;
    name.eq_ignore_ascii_case(scheme).then(|| credentials.trim())
}

/// The request's `Authorization` header as text.
pub fn authorization<B>(request: &http::Request<B>) -> Option<&str> {
    request.headers().get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok())
}

/// Whether the request presents `expected` in `scheme`, compared in constant time.
pub fn presents<B>(request: &http::Request<B>, scheme: &str, expected: &str) -> bool {
    authorization(request).and_then(|value| presented(value, scheme)).is_some_and(|sent| same(sent, expected))
}

/// Compare without an early exit, so response timing does not reveal how much of a credential
/// was right. (The length is not hidden; credentials' lengths are not secret here.)
pub fn same(presented: &str, expected: &str) -> bool {
    let (a, b) = (presented.as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(authorization: &str) -> http::Request<()> {
        http::Request::builder()
            .header(http::header::AUTHORIZATION, authorization)
            .body(())
            .unwrap_or_else(|e| panic!("request: {e}"))
    }

    #[test]
    fn the_scheme_is_case_insensitive_and_the_credentials_are_not() {
        assert!(presents(&request("Bearer sk_1"), "Bearer", "sk_1"));
        assert!(presents(&request("bearer sk_1"), "Bearer", "sk_1"));
        assert!(!presents(&request("Bearer SK_1"), "Bearer", "sk_1"));
        assert!(!presents(&request("Basic sk_1"), "Bearer", "sk_1"));
        assert!(!presents(&request("Bearer sk_12"), "Bearer", "sk_1"));
        assert!(!presents(&http::Request::new(()), "Bearer", "sk_1"));
    }

    #[test]
    fn a_token_must_make_a_header() {
        assert!(usable_as_bearer(&Secret::new("sk_1".to_owned())));
        assert!(!usable_as_bearer(&Secret::new(String::new())));
        assert!(!usable_as_bearer(&Secret::new("a\nb".to_owned())));
    }
}
