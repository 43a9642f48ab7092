//! The `Idempotency-Key` each update attempt carries.
//!
//! Stripe saves the status and body of the first request under a key once its endpoint began
//! executing, errors included, and answers every later request with that key from the saved
//! result for 24 hours, "including 500 errors". Forwarding one key on all of the gateway's
//! retries would therefore turn one 500 into a day of 500s for that client key. A Stripe update
//! is a pure overwrite (metadata keys set or unset, `line_items` and `shipping_options` replace
//! the list, collected shipping details replace the object), so each attempt carries its own
//! key instead: the unified request's forwarded key plus the attempt's nonce. The key still
//! protects the one attempt against a duplicate delivery; the gateway's own idempotency store
//! (keyed by the client's key) still guarantees one outcome per client request.

use checkout_provider_interface::{AdapterError, Context};

/// Stripe: "Idempotency keys are up to 255 characters long."
const MAX_KEY_LENGTH: usize = 255;

/// `<forwarded key>:<attempt nonce>`, restricted to the characters DESIGN §2 allows in keys
/// (`[A-Za-z0-9:_\-.]`, so the value is always a valid header) and cut to Stripe's 255
/// characters by shortening the forwarded part, never the nonce that makes it unique.
pub fn attempt_key(ctx: &Context) -> Result<http::HeaderValue, AdapterError> {
    let safe = |text: &str| -> String {
        text.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-' | '.')).collect()
    };
    let nonce = safe(&ctx.nonce);
    if nonce.is_empty() {
        // The gateway mints every nonce: a missing one is its own fault.
        return Err(AdapterError::internal_without_cause(
            "the attempt has no nonce to make its idempotency key unique",
        ));
    }
    let mut forwarded = safe(&ctx.idempotency_key);
    forwarded.truncate(MAX_KEY_LENGTH.saturating_sub(nonce.len() + 1));
    let key = format!("{forwarded}:{nonce}");
    // Only a nonce longer than the limit by itself is cut here.
    let key = key.get(..MAX_KEY_LENGTH).unwrap_or(&key);
    http::HeaderValue::from_str(key)
        .map_err(|e| AdapterError::internal("the idempotency key is not a valid header value", e))
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;

    fn ctx(key: &str, nonce: &str) -> Context {
        Context {
            session_id: "cs_1".to_owned(),
            request_id: "req_1".to_owned(),
            idempotency_key: key.to_owned(),
            now: OffsetDateTime::UNIX_EPOCH,
            nonce: nonce.to_owned(),
        }
    }

    fn key(key: &str, nonce: &str) -> String {
        attempt_key(&ctx(key, nonce)).map(|v| v.to_str().unwrap_or_default().to_owned()).unwrap_or_default()
    }

    #[test]
    fn forwarded_key_plus_nonce_differs_per_attempt() {
        let forwarded = format!("cg:{}", "a".repeat(64));
        let first = key(&forwarded, "5f0c6a1e-0000-4000-8000-000000000001");
        let second = key(&forwarded, "5f0c6a1e-0000-4000-8000-000000000002");
        assert_eq!(first, format!("{forwarded}:5f0c6a1e-0000-4000-8000-000000000001"));
        assert_ne!(first, second);
    }

    #[test]
    fn long_or_odd_keys_stay_within_stripe_limits() {
        let long = key(&"k".repeat(400), "nonce-1");
        assert_eq!(long.len(), MAX_KEY_LENGTH);
        assert!(long.ends_with(":nonce-1"));
        assert_eq!(key("a b/c", "n\u{e9}1"), "abc:n1");
        assert!(attempt_key(&ctx("k", "\u{e9}")).is_err());
    }
}
