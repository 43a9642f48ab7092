//! Paypercut adapter for checkout-gateway. Paypercut's update endpoint
//! (`POST /v1/checkouts/{id}`, JSON) can only select one of the session's existing shipping
//! rates, so the unified `shipping_rate` is the one supported field; everything else is declared
//! unsupported. Updates forward the gateway's `Idempotency-Key`, which Paypercut honours, and
//! sessions come back with `currency {iso, scale}` amounts that are rescaled to ISO minor units.
//! The crate also ships a simulator of the two endpoints for the embedded default config.

mod capabilities;
mod config;
mod error;
mod line_items;
mod request;
mod response;
mod scale;
#[cfg(feature = "simulator")]
mod simulator;
mod wire;

use std::sync::Arc;

use checkout_provider_interface::capability::UpdateCheck;
use checkout_provider_interface::{
    Access, Adapter, AdapterError, BuildSimulator, CheckedUpdate, ConfigError, Context, CurrentState, ProviderFactory,
    ProviderRequest, ProviderResponse, ProviderSetup, SessionIdError, SessionIdFormat, UnifiedSession, UnifiedUpdate,
};

use crate::config::Config;

pub(crate) const KIND: &str = "paypercut";

/// Paypercut publishes no id format (its docs' example is 27 hexadecimal digits), and the
/// adapter checks only the length: any id the gateway accepts, up to `MAX_SESSION_ID`.
const SESSION_IDS: SessionIdFormat = SessionIdFormat {
    pattern: r"^[A-Za-z0-9_\-:.]{1,200}$",
    example: "21210021c2855007efa2d657018",
    described: "any id of 1 to 200 characters (no published format)",
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
    Ok(Arc::new(Paypercut { config: Config::from_setup(setup)? }))
}

struct Paypercut {
    config: Config,
}

impl Adapter for Paypercut {
    fn check_update(&self, update: &UnifiedUpdate) -> UpdateCheck {
        capabilities::check(update)
    }

    fn check_session_id(&self, id: &str) -> Result<(), SessionIdError> {
        request::check_session_id(id)
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
        if response.status().is_success() {
            response::parse(response.body())
        } else {
            Err(error::failure(response, &self.config.api_key))
        }
    }

    fn retry_advice(&self, response: &ProviderResponse) -> Option<bool> {
        error::retry_advice(response)
    }

    fn auth_headers(
        &self,
        _access: Access,
        _allowed_paths: &[&str],
        _ctx: &Context,
    ) -> Result<http::HeaderMap, AdapterError> {
        request::auth_headers(&self.config)
    }
}
