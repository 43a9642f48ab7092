//! The Mattilda adapter (Mattilda is a white label of Gr4vy): `PUT /checkout/sessions/{id}` with
//! a JSON `CheckoutSessionUpdate`, `GET` on the same path, UUID session ids, and a bearer token
//! that is either configured or an ES512 JWT the gateway signs per attempt with the merchant's
//! P-521 key. The session object has no status and no merge semantics, so the adapter reads the session
//! before every update and sends the full state with the client's changes applied (metadata and
//! buyer merges are emulated this way). See `README.md` for the mapping and its sources.

mod body;
mod buyer;
mod capabilities;
mod cart;
mod config;
mod error;
mod expiry;
pub mod jwt;
mod limits;
mod request;
mod response;
#[cfg(feature = "simulator")]
mod simulator;
mod totals;
mod units;

use std::sync::Arc;

use checkout_provider_interface::capability::UpdateCheck;
use checkout_provider_interface::{
    Access, Adapter, AdapterError, BuildSimulator, CheckedUpdate, ConfigError, Context, CurrentState, ProviderFactory,
    ProviderRequest, ProviderResponse, ProviderSetup, SessionIdError, SessionIdFormat, UnifiedSession, UnifiedUpdate,
};

#[cfg(feature = "simulator")]
pub use simulator::{DEMO_SESSION_EMPTY, DEMO_SESSION_EXPIRED, DEMO_SESSION_OPEN};
pub use units::UNITS;

pub const KIND: &str = "mattilda";

/// Mattilda (Gr4vy) session ids are UUIDs; `check_session_id` refuses anything else.
const SESSION_IDS: SessionIdFormat = SessionIdFormat {
    pattern: "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$",
    example: "4137b1cf-39ac-42a8-bad6-1c680d5dab6b",
    described: "UUIDs (8-4-4-4-12 hexadecimal digits)",
};

pub static FACTORY: ProviderFactory = ProviderFactory {
    kind: KIND,
    capabilities: &capabilities::CAPABILITIES,
    build,
    simulator: SIMULATOR,
    session_ids: SESSION_IDS,
};

#[cfg(feature = "simulator")]
const SIMULATOR: Option<BuildSimulator> = Some(build_simulator);
#[cfg(not(feature = "simulator"))]
const SIMULATOR: Option<BuildSimulator> = None;

fn build(setup: &ProviderSetup<'_>) -> Result<Arc<dyn Adapter>, ConfigError> {
    Ok(Arc::new(Mattilda { settings: config::Settings::from_setup(setup)? }))
}

#[cfg(feature = "simulator")]
fn build_simulator(setup: &ProviderSetup<'_>) -> Result<Arc<dyn checkout_provider_interface::Simulator>, ConfigError> {
    Ok(Arc::new(simulator::MattildaSimulator::new(config::Settings::from_setup(setup)?)))
}

struct Mattilda {
    settings: config::Settings,
}

impl Adapter for Mattilda {
    fn check_update(&self, update: &UnifiedUpdate) -> UpdateCheck {
        capabilities::check(update)
    }

    fn check_session_id(&self, id: &str) -> Result<(), SessionIdError> {
        if is_uuid(id) {
            Ok(())
        } else {
            Err(SessionIdError { kind: KIND, expected: "UUIDs (8-4-4-4-12 hexadecimal digits)".to_owned() })
        }
    }

    /// Always: the PUT carries the full state (see `body`), so every update reads first.
    fn needs_current_state(&self, _update: &UnifiedUpdate) -> bool {
        true
    }

    fn build_update(
        &self,
        update: &CheckedUpdate,
        current: CurrentState<'_>,
        ctx: &Context,
    ) -> Result<ProviderRequest, AdapterError> {
        request::build_update(&self.settings, update, current.response(), ctx)
    }

    fn build_retrieve(&self, ctx: &Context) -> Result<ProviderRequest, AdapterError> {
        request::build_retrieve(&self.settings, ctx)
    }

    fn parse_session(&self, response: &ProviderResponse, ctx: &Context) -> Result<UnifiedSession, AdapterError> {
        response::parse_session(response, ctx)
    }

    fn attempt_headers(&self, access: Access, ctx: &Context, _attempt: u32) -> Result<http::HeaderMap, AdapterError> {
        request::attempt_headers(&self.settings, access, ctx)
    }

    fn retry_advice(&self, response: &ProviderResponse) -> Option<bool> {
        error::retry_advice(response.status().as_u16())
    }

    fn auth_headers(
        &self,
        access: Access,
        allowed_paths: &[&str],
        ctx: &Context,
    ) -> Result<http::HeaderMap, AdapterError> {
        request::auth_headers(&self.settings, access, allowed_paths, ctx)
    }
}

/// `8-4-4-4-12` hexadecimal digits, any case (the OpenAPI `format: uuid`).
fn is_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, len)| group.len() == len)
        && groups.iter().all(|group| group.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use checkout_provider_interface::contract::InlineSecrets;
    use checkout_provider_interface::{Access, Context, ProviderSetup};
    use serde_json::{Map, Value, json};
    use time::macros::datetime;

    use super::is_uuid;
    use crate::jwt::{DEMO_PRIVATE_KEY, KeySigner, verify};

    /// A session id in Mattilda's format (the simulator's open demo session's).
    const SESSION: &str = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b";

    fn context() -> Context {
        Context {
            session_id: SESSION.to_owned(),
            request_id: "req".to_owned(),
            idempotency_key: "idem".to_owned(),
            now: datetime!(2026-11-23 12:00:00 UTC),
            nonce: "nonce-1".to_owned(),
        }
    }

    fn adapter(settings: &Value) -> std::sync::Arc<dyn checkout_provider_interface::Adapter> {
        let map: Map<String, Value> = settings.as_object().cloned().unwrap_or_default();
        let setup = ProviderSetup { name: "mattilda", settings: &map, secrets: &InlineSecrets };
        (super::FACTORY.build)(&setup).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn passthrough_credentials_carry_the_allowed_rules_scopes_and_the_merchant() {
        let keyed = adapter(&json!({"private_key": {"value": DEMO_PRIVATE_KEY}, "merchant_account_id": "default"}));
        let signer = KeySigner::from_pem(DEMO_PRIVATE_KEY).unwrap_or_else(|e| panic!("{e}"));
        for (access, paths, scopes) in [
            (Access::Write, &["/checkout/sessions/*"][..], &["checkout-sessions.write"][..]),
            (Access::Read, &["/checkout/sessions/*", "/checkout/sessions/**"], &["checkout-sessions.read"]),
            (Access::Read, &["/transactions/*", "/buyers/*/shipping-details"], &["buyers.read", "transactions.read"]),
            (Access::Write, &["/*/x", "/**"], &["*.write"]),
        ] {
            let headers = keyed.auth_headers(access, paths, &context()).unwrap_or_else(|e| panic!("{e}"));
            let auth = headers.get(http::header::AUTHORIZATION).unwrap_or_else(|| panic!("no authorization"));
            assert!(auth.is_sensitive());
            let jwt = auth.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).unwrap_or_default();
            let claims =
                verify(jwt, signer.verifying_key(), signer.kid(), context().now, 0).unwrap_or_else(|e| panic!("{e:?}"));
            assert_eq!(claims.scopes, scopes, "{paths:?}");
            assert_eq!(headers.get("x-gr4vy-merchant-account-id").and_then(|v| v.to_str().ok()), Some("default"));
        }

        let token = adapter(&json!({"token": {"value": "tok_1"}}));
        let headers =
            token.auth_headers(Access::Read, &["/checkout/sessions/*"], &context()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()), Some("Bearer tok_1"));
        assert!(headers.get("x-gr4vy-merchant-account-id").is_none());
    }

    #[test]
    fn a_preview_has_no_current_state_and_redacts_the_credential() {
        let keyed = adapter(&json!({"private_key": {"value": DEMO_PRIVATE_KEY}}));
        let update =
            serde_json::from_value(json!({"metadata": {"a": "b", "c": null}})).unwrap_or_else(|e| panic!("{e}"));
        let update = checkout_provider_interface::capability::check_update(&super::FACTORY, keyed.as_ref(), update)
            .unwrap_or_else(|refused| panic!("{refused:?}"));
        let built = keyed
            .build_update(&update, checkout_provider_interface::CurrentState::Preview, &context())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(built.headers().get(http::header::AUTHORIZATION).is_none(), "minted per attempt, not built");
        let request = checkout_provider_interface::for_attempt(keyed.as_ref(), built, Access::Write, &context(), 1)
            .unwrap_or_else(|e| panic!("{e}"));
        let shown = checkout_provider_interface::wire::describe_request(&request, true);
        assert_eq!(shown["headers"]["authorization"], "[redacted]");
        assert_eq!(shown["body"], json!({"metadata": {"a": "b"}}));
    }

    #[test]
    fn each_attempt_is_signed_with_its_own_clock_nonce_and_scope() {
        let keyed = adapter(&json!({"private_key": {"value": DEMO_PRIVATE_KEY}}));
        let signer = KeySigner::from_pem(DEMO_PRIVATE_KEY).unwrap_or_else(|e| panic!("{e}"));
        let first = context();
        let later = Context { now: first.now + time::Duration::seconds(40), nonce: "nonce-2".to_owned(), ..context() };
        let mut seen = Vec::new();
        for (ctx, access, attempt, scope) in [
            (&first, Access::Write, 1, "checkout-sessions.write"),
            (&later, Access::Write, 2, "checkout-sessions.write"),
            (&first, Access::Read, 1, "checkout-sessions.read"),
        ] {
            let headers = keyed.attempt_headers(access, ctx, attempt).unwrap_or_else(|e| panic!("{e}"));
            let auth = headers.get(http::header::AUTHORIZATION).unwrap_or_else(|| panic!("no authorization"));
            assert!(auth.is_sensitive());
            let jwt = auth.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).unwrap_or_default();
            let claims =
                verify(jwt, signer.verifying_key(), signer.kid(), ctx.now, 0).unwrap_or_else(|e| panic!("{e:?}"));
            assert_eq!(
                (claims.iat, claims.jti.as_str(), claims.scopes.as_slice()),
                (ctx.now.unix_timestamp(), ctx.nonce.as_str(), [scope.to_owned()].as_slice())
            );
            seen.push(claims.jti);
        }
        assert_ne!(seen[0], seen[1], "a retry carries a fresh jti");
        // The built requests carry no credential of their own, only the routing header.
        let retrieve = keyed.build_retrieve(&first).unwrap_or_else(|e| panic!("{e}"));
        assert!(retrieve.headers().get(http::header::AUTHORIZATION).is_none());
    }

    #[test]
    fn a_refused_session_id_names_the_kind_once() {
        let keyed = adapter(&json!({"private_key": {"value": DEMO_PRIVATE_KEY}}));
        let why = keyed.check_session_id("cs_test_123").err().unwrap_or_else(|| panic!("not a UUID"));
        assert_eq!(why.to_string(), "mattilda session ids are UUIDs (8-4-4-4-12 hexadecimal digits)");
        assert!(keyed.check_session_id(SESSION).is_ok());
    }

    #[test]
    fn session_ids_must_be_uuids() {
        assert!(is_uuid("4137b1cf-39ac-42a8-bad6-1c680d5dab6b"));
        assert!(is_uuid("4137B1CF-39AC-42A8-BAD6-1C680D5DAB6B"));
        for bad in [
            "",
            "cs_test_123",
            "4137b1cf39ac42a8bad61c680d5dab6b",
            "4137b1cf-39ac-42a8-bad6-1c680d5dab6",
            "g137b1cf-39ac-42a8-bad6-1c680d5dab6b",
            "4137b1cf-39ac-42a8-bad6-1c680d5dab6b-",
        ] {
            assert!(!is_uuid(bad), "{bad}");
        }
    }
}
