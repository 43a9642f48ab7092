//! The `jti`s the simulator has accepted, until their tokens expire.
//!
//! Gr4vy documents no replay check. RFC 7519 §4.1.7 gives `jti` exactly this purpose, Gr4vy's
//! SDKs mint a fresh one for every token, and a 30 s bearer token reused by another request is
//! what a replay check exists to stop, so the simulator takes the stricter reading: a token is
//! good for one request. A gateway that re-sent one token on a retry fails against it.

use std::collections::HashMap;

use checkout_provider_interface::kit::simulator::Shared;

/// Clock skew tolerated after `exp` before a `jti` is forgotten (the verifier's leeway).
const LEEWAY: i64 = 5;

#[derive(Default)]
pub struct SeenTokens {
    /// `jti` → the token's `exp` (Unix seconds).
    seen: Shared<HashMap<String, i64>>,
}

impl SeenTokens {
    /// Whether this is the first request with `jti`; remembers it until it could no longer verify.
    pub fn first_use(&self, jti: &str, exp: i64, now: i64) -> bool {
        let mut seen = self.seen.lock();
        // Expired tokens are refused by their `exp` anyway: forgetting them bounds the map.
        seen.retain(|_, expiry| expiry.saturating_add(LEEWAY) >= now);
        match seen.entry(jti.to_owned()) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(exp);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SeenTokens;

    #[test]
    fn a_jti_is_good_once_until_its_token_expires() {
        let seen = SeenTokens::default();
        assert!(seen.first_use("a", 130, 100));
        assert!(!seen.first_use("a", 130, 101));
        assert!(seen.first_use("b", 130, 101));
        // Long after `exp` the entry is gone (the token itself no longer verifies).
        assert!(seen.first_use("a", 200, 140));
    }
}
