//! The `paypal` provider: PayPal Orders v2 (`GET`/`PATCH /v2/checkout/orders/{id}`).
//!
//! An update is a JSON Patch (RFC 6902) array answered `204 No Content`. PayPal refuses `add`
//! on an attribute that is there and `replace` on one that is not, so the adapter reads the
//! order first and picks each operation by what it holds (`request.rs`); the items come with an
//! `amount` whose breakdown adds up (`items.rs`). After the `204` a follow-up read fetches the
//! order, which is the answer (`response.rs`); if that read fails, the answer says the update
//! happened and nothing more. Money is `{currency_code, value}` with a decimal string, converted
//! exactly by PayPal's decimals (`units.rs`). Authentication is an OAuth 2.0 client-credentials
//! token the gateway's token source obtains and attaches: the adapter declares it and never
//! sends a credential. `simulator/` is an in-memory PayPal (token endpoint included) for the
//! embedded default config. Mapping, quirks and sources: `README.md`.

mod capabilities;
mod config;
mod error;
mod items;
mod order;
mod request;
mod response;
#[cfg(feature = "simulator")]
pub mod simulator;
mod units;

use std::sync::Arc;

use checkout_provider_interface::capability::UpdateCheck;
use checkout_provider_interface::{
    Access, Adapter, AdapterError, BuildSimulator, CheckedUpdate, ClientCredentials, ConfigError, Context,
    CurrentState, ProviderFactory, ProviderRequest, ProviderResponse, ProviderSetup, SessionIdError, SessionIdFormat,
    UnifiedSession, UnifiedUpdate,
};

use crate::config::Config;

pub const KIND: &str = "paypal";

/// PayPal order ids as the description types them (`^[A-Z0-9]+$`, at most 36); the ones PayPal
/// issues are 17 characters long.
const MAX_ORDER_ID: usize = 36;

/// The order ids PayPal issues: 17 upper-case letters and digits (the description's example
/// ids). The adapter accepts any id the description's pattern allows (1-36 of them); PayPal
/// answers an unknown one with its own 404.
const SESSION_IDS: SessionIdFormat = SessionIdFormat {
    pattern: "^[A-Z0-9]{17}$",
    example: "5O190127TN364715T",
    described: "17 upper-case letters and digits",
};

pub static FACTORY: ProviderFactory = ProviderFactory {
    kind: KIND,
    capabilities: &capabilities::CAPABILITIES,
    build,
    simulator: SIMULATOR,
    session_ids: SESSION_IDS,
};

#[cfg(feature = "simulator")]
const SIMULATOR: Option<BuildSimulator> = Some(simulator::build);
#[cfg(not(feature = "simulator"))]
const SIMULATOR: Option<BuildSimulator> = None;

fn build(setup: &ProviderSetup<'_>) -> Result<Arc<dyn Adapter>, ConfigError> {
    Ok(Arc::new(PayPal { config: Config::from_setup(setup)? }))
}

struct PayPal {
    config: Config,
}

impl Adapter for PayPal {
    fn check_update(&self, update: &UnifiedUpdate) -> UpdateCheck {
        capabilities::check(update)
    }

    fn check_session_id(&self, id: &str) -> Result<(), SessionIdError> {
        let valid = !id.is_empty()
            && id.len() <= MAX_ORDER_ID
            && id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if valid {
            Ok(())
        } else {
            Err(SessionIdError { kind: KIND, expected: "order ids: 1-36 upper-case letters and digits".to_owned() })
        }
    }

    /// Every operation depends on the order as it is (add or replace, the purchase unit's
    /// reference id, the breakdown parts the items keep), so every update reads first.
    fn needs_current_state(&self, _update: &UnifiedUpdate) -> bool {
        true
    }

    fn build_update(
        &self,
        update: &CheckedUpdate,
        current: CurrentState<'_>,
        ctx: &Context,
    ) -> Result<ProviderRequest, AdapterError> {
        request::build_update(update, current.response(), ctx)
    }

    fn build_retrieve(&self, ctx: &Context) -> Result<ProviderRequest, AdapterError> {
        request::build_retrieve(ctx)
    }

    fn parse_session(&self, response: &ProviderResponse, ctx: &Context) -> Result<UnifiedSession, AdapterError> {
        if !response.status().is_success() {
            return Err(error::failure(response));
        }
        if written_without_order(response) {
            return Ok(response::written_not_read(&ctx.session_id));
        }
        response::parse(response)
    }

    /// A write answered without the order (`204`) is followed by reading it.
    fn follow_up(&self, response: &ProviderResponse, ctx: &Context) -> Result<Option<ProviderRequest>, AdapterError> {
        if written_without_order(response) { request::build_retrieve(ctx).map(Some) } else { Ok(None) }
    }

    fn parse_with_follow_up(
        &self,
        _response: &ProviderResponse,
        follow_up: &ProviderResponse,
        ctx: &Context,
    ) -> Result<UnifiedSession, AdapterError> {
        self.parse_session(follow_up, ctx)
    }

    fn token_source(&self) -> Option<&ClientCredentials> {
        Some(&self.config.credentials)
    }

    /// Nothing of the adapter's own: the gateway's token source adds `Authorization`.
    fn auth_headers(
        &self,
        _access: Access,
        _allowed_paths: &[&str],
        _ctx: &Context,
    ) -> Result<http::HeaderMap, AdapterError> {
        Ok(http::HeaderMap::new())
    }
}

/// PayPal's `204 No Content` to a PATCH (the description: "an empty object in the JSON response
/// body" at most).
fn written_without_order(response: &ProviderResponse) -> bool {
    let body = response.body();
    response.status() == http::StatusCode::NO_CONTENT
        || (response.status().is_success() && (body.iter().all(u8::is_ascii_whitespace) || body == b"{}"))
}

#[cfg(test)]
mod tests {
    use checkout_provider_interface::contract::InlineSecrets;
    use serde_json::{Map, Value, json};

    use super::*;

    fn adapter() -> Arc<dyn Adapter> {
        let settings: Map<String, Value> =
            serde_json::from_value(json!({"client_id": {"value": "id"}, "client_secret": {"value": "secret"}}))
                .unwrap_or_default();
        build(&ProviderSetup { name: "paypal", settings: &settings, secrets: &InlineSecrets })
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn ctx() -> Context {
        Context {
            session_id: "5O190127TN364715T".to_owned(),
            request_id: "req".to_owned(),
            idempotency_key: "key".to_owned(),
            now: time::OffsetDateTime::UNIX_EPOCH,
            nonce: "n".to_owned(),
        }
    }

    fn answer(status: u16, body: &str) -> ProviderResponse {
        http::Response::builder().status(status).body(body.as_bytes().to_vec()).unwrap_or_default()
    }

    #[test]
    fn a_204_is_followed_by_a_read_and_alone_says_the_update_happened() {
        let adapter = adapter();
        let read = adapter.follow_up(&answer(204, ""), &ctx()).unwrap_or_else(|e| panic!("{e}"));
        let read = read.unwrap_or_else(|| panic!("a read after the 204"));
        assert_eq!((read.method(), read.uri().path()), (&http::Method::GET, "/v2/checkout/orders/5O190127TN364715T"));
        assert!(read.headers().get(http::header::AUTHORIZATION).is_none(), "the token source adds it");
        // What the gateway shows when that read fails: the write happened, nothing else is known.
        let session = adapter.parse_session(&answer(204, ""), &ctx()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (session.id.as_str(), session.status),
            ("5O190127TN364715T", checkout_provider_interface::SessionStatus::Open)
        );
        assert_eq!(session.amounts.total, None);
        assert_eq!(session.warnings.iter().map(|w| w.code.as_str()).collect::<Vec<_>>(), ["update_not_read_back"]);
        // An order answer needs no read.
        let order = r#"{"id":"5O190127TN364715T","status":"CREATED","purchase_units":[]}"#;
        assert!(adapter.follow_up(&answer(200, order), &ctx()).unwrap_or_else(|e| panic!("{e}")).is_none());
    }

    #[test]
    fn the_adapter_declares_its_token_source_and_sends_no_credential() {
        let adapter = adapter();
        let credentials = adapter.token_source().unwrap_or_else(|| panic!("a token source"));
        assert_eq!(
            credentials.endpoint,
            checkout_provider_interface::TokenEndpoint::OnBaseUrl("/v1/oauth2/token".to_owned())
        );
        let headers = adapter.auth_headers(Access::Read, &[], &ctx()).unwrap_or_else(|e| panic!("{e}"));
        assert!(headers.is_empty());
    }

    #[test]
    fn order_ids_are_upper_case_letters_and_digits() {
        let adapter = adapter();
        assert!(adapter.check_session_id("5O190127TN364715T").is_ok());
        assert!(adapter.check_session_id("5o190127tn364715t").is_err());
        assert!(adapter.check_session_id(&"A".repeat(37)).is_err());
        assert!(adapter.check_session_id("").is_err());
    }
}
