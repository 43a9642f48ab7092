//! The `crypto-invoice` provider: Speed (tryspeed.com) checkout sessions.
//!
//! Updates are `POST /checkout-sessions/{id}` with a JSON body of up to eight fields (redirects,
//! page texts, description, metadata that Speed merges); reads are `GET /checkout-sessions/{id}`.
//! Auth is HTTP Basic with the secret key as user name and an empty password, and the optional
//! `speed-version` header pins the API version. Speed reports amounts as decimal major units,
//! which this adapter converts to minor units exactly from the number's text, never via floats
//! (see `amount`). The crate also ships a simulator of that API with demo sessions.

use std::sync::Arc;

use checkout_provider_interface::capability::UpdateCheck;
use checkout_provider_interface::{
    Access, Adapter, AdapterError, BuildSimulator, CheckedUpdate, ConfigError, Context, CurrentState, ProviderFactory,
    ProviderRequest, ProviderResponse, ProviderSetup, SessionIdFormat, UnifiedSession, UnifiedUpdate,
};

mod amount;
mod capabilities;
mod config;
mod error;
mod request;
mod response;
#[cfg(feature = "simulator")]
mod simulator;
mod units;

/// The provider kind, as written in config (`kind = "crypto-invoice"`).
pub const KIND: &str = "crypto-invoice";

/// Speed's docs show `cs_test_lc9rz2tq8YbV3mHk` and state no format; `cs_` then letters, digits
/// and underscores is read from that example. The adapter does not refuse other ids: Speed
/// answers an unknown id with its own 404.
const SESSION_IDS: SessionIdFormat = SessionIdFormat {
    pattern: "^cs_[A-Za-z0-9_]+$",
    example: "cs_test_lc9rz2tq8YbV3mHk",
    described: "`cs_`, then letters, digits and underscores (read from the docs' example)",
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
    Ok(Arc::new(CryptoInvoice { config: config::Config::from_setup(setup)? }))
}

#[cfg(feature = "simulator")]
fn build_simulator(setup: &ProviderSetup<'_>) -> Result<Arc<dyn checkout_provider_interface::Simulator>, ConfigError> {
    let config = config::Config::from_setup(setup)?;
    Ok(Arc::new(simulator::SpeedSimulator::new(&config.authorization_value())))
}

struct CryptoInvoice {
    config: config::Config,
}

impl Adapter for CryptoInvoice {
    fn check_update(&self, update: &UnifiedUpdate) -> UpdateCheck {
        request::check(update)
    }

    fn build_update(
        &self,
        update: &CheckedUpdate,
        _current: CurrentState<'_>,
        ctx: &Context,
    ) -> Result<ProviderRequest, AdapterError> {
        request::build_update(&self.config, update, ctx)
    }

    fn build_retrieve(&self, ctx: &Context) -> Result<ProviderRequest, AdapterError> {
        request::build_retrieve(&self.config, ctx)
    }

    fn parse_session(&self, response: &ProviderResponse, _ctx: &Context) -> Result<UnifiedSession, AdapterError> {
        if response.status().is_success() { response::parse(response) } else { Err(error::failure(response).into()) }
    }

    /// The same headers as the adapter's own calls (credentials and `speed-version`), so the
    /// passthrough talks to the same API version.
    fn auth_headers(
        &self,
        _access: Access,
        _allowed_paths: &[&str],
        _ctx: &Context,
    ) -> Result<http::HeaderMap, AdapterError> {
        request::common_headers(&self.config)
    }
}

#[cfg(test)]
mod tests {
    use checkout_provider_interface::contract::InlineSecrets;
    use checkout_provider_interface::{Access, Context, ProviderSetup};
    use serde_json::{Map, Value, json};

    use crate::FACTORY;

    fn headers(settings: &Value) -> http::HeaderMap {
        let settings: Map<String, Value> = settings.as_object().cloned().unwrap_or_default();
        let setup = ProviderSetup { name: "speed", settings: &settings, secrets: &InlineSecrets };
        let adapter = (FACTORY.build)(&setup).unwrap_or_else(|e| panic!("{e}"));
        let ctx = Context {
            session_id: String::new(),
            request_id: "req".to_owned(),
            idempotency_key: "k".to_owned(),
            now: time::OffsetDateTime::UNIX_EPOCH,
            nonce: "n".to_owned(),
        };
        adapter.auth_headers(Access::Read, &["/checkout-sessions/*"], &ctx).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn passthrough_headers_carry_the_configured_version() {
        let pinned = headers(&json!({"api_key": {"value": "sk_test_1"}, "api_version": "2022-10-15"}));
        assert_eq!(pinned.get("speed-version").map(|v| v.to_str().ok()), Some(Some("2022-10-15")));
        assert!(pinned.get("authorization").is_some_and(http::HeaderValue::is_sensitive));
        let unpinned = headers(&json!({"api_key": {"value": "sk_test_1"}}));
        assert!(unpinned.get("speed-version").is_none());
        assert_eq!(unpinned.len(), 1);
    }
}
