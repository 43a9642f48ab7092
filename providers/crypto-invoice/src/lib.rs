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
    Access, Adapter, AdapterError, Capabilities, ConfigError, Context, ProviderFactory, ProviderRequest,
    ProviderResponse, ProviderSetup, Simulator, UnifiedSession, UnifiedUpdate,
};

mod amount;
mod capabilities;
mod config;
mod error;
mod request;
mod response;
mod simulator;

/// The provider kind, as written in config (`kind = "crypto-invoice"`).
pub const KIND: &str = "crypto-invoice";

pub static FACTORY: ProviderFactory =
    ProviderFactory { kind: KIND, capabilities: &capabilities::CAPABILITIES, build, simulator: build_simulator };

fn build(setup: &ProviderSetup<'_>) -> Result<Arc<dyn Adapter>, ConfigError> {
    Ok(Arc::new(CryptoInvoice { config: config::Config::from_setup(setup)? }))
}

fn build_simulator(setup: &ProviderSetup<'_>) -> Result<Arc<dyn Simulator>, ConfigError> {
    let config = config::Config::from_setup(setup)?;
    Ok(Arc::new(simulator::SpeedSimulator::new(&config.authorization_value())))
}

struct CryptoInvoice {
    config: config::Config,
}

impl Adapter for CryptoInvoice {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> &'static Capabilities {
        &capabilities::CAPABILITIES
    }

    fn check_update(&self, update: &UnifiedUpdate) -> UpdateCheck {
        request::check(update)
    }

    fn build_update(
        &self,
        update: &UnifiedUpdate,
        _current: Option<&ProviderResponse>,
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

    fn auth_headers(&self, _access: Access, _ctx: &Context) -> Result<http::HeaderMap, AdapterError> {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, self.config.authorization()?);
        Ok(headers)
    }
}
