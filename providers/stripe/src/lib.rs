//! The `stripe` provider: Stripe Checkout Sessions (`POST`/`GET /v1/checkout/sessions/{id}`).
//!
//! Stripe takes form bodies in bracket notation (`form.rs`) and merges metadata natively, so
//! most of the unified update maps one to one (`request.rs`); only a partial
//! `shipping_details` patch needs a read first, because Stripe replaces collected shipping
//! details as a whole. The gateway's idempotency key is always forwarded as
//! `Idempotency-Key`, which makes every update safe to retry. `simulator/` is an in-memory
//! Stripe for the embedded default configuration. Mapping, quirks and sources: `README.md`.

mod capabilities;
mod config;
mod error;
pub mod form;
mod request;
mod response;
mod rules;
pub mod simulator;

use std::sync::Arc;

use checkout_provider_interface::capability::UpdateCheck;
use checkout_provider_interface::{
    Access, Adapter, AdapterError, Capabilities, ConfigError, Context, Patch, ProviderFactory, ProviderRequest,
    ProviderResponse, ProviderSetup, Simulator, UnifiedSession, UnifiedUpdate,
};

use crate::config::StripeConfig;

pub const KIND: &str = "stripe";

pub static FACTORY: ProviderFactory =
    ProviderFactory { kind: KIND, capabilities: &capabilities::CAPABILITIES, build, simulator: build_simulator };

fn build(setup: &ProviderSetup<'_>) -> Result<Arc<dyn Adapter>, ConfigError> {
    Ok(Arc::new(StripeAdapter { config: StripeConfig::from_setup(setup)? }))
}

fn build_simulator(setup: &ProviderSetup<'_>) -> Result<Arc<dyn Simulator>, ConfigError> {
    let config = StripeConfig::from_setup(setup)?;
    Ok(Arc::new(simulator::StripeSimulator::new(config.api_key, time::OffsetDateTime::now_utc())))
}

struct StripeAdapter {
    config: StripeConfig,
}

impl Adapter for StripeAdapter {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> &'static Capabilities {
        &capabilities::CAPABILITIES
    }

    fn check_update(&self, update: &UnifiedUpdate) -> UpdateCheck {
        rules::check(update)
    }

    fn needs_current_state(&self, update: &UnifiedUpdate) -> bool {
        matches!(&update.shipping_details, Patch::Set(details) if !rules::shipping_details_complete(details))
    }

    fn build_update(
        &self,
        update: &UnifiedUpdate,
        current: Option<&ProviderResponse>,
        ctx: &Context,
    ) -> Result<ProviderRequest, AdapterError> {
        request::build_update(&self.config, update, current, ctx)
    }

    fn build_retrieve(&self, ctx: &Context) -> Result<ProviderRequest, AdapterError> {
        request::build_retrieve(&self.config, ctx)
    }

    fn parse_session(&self, response: &ProviderResponse, _ctx: &Context) -> Result<UnifiedSession, AdapterError> {
        response::parse(response)
    }

    fn retry_advice(&self, response: &ProviderResponse) -> Option<bool> {
        error::retry_advice(response)
    }

    fn auth_headers(&self, _access: Access, _ctx: &Context) -> Result<http::HeaderMap, AdapterError> {
        let mut headers = http::HeaderMap::new();
        for (name, value) in request::common_headers(&self.config)? {
            headers.insert(name, value);
        }
        Ok(headers)
    }
}
