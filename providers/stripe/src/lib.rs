//! The `stripe` provider: Stripe Checkout Sessions (`POST`/`GET /v1/checkout/sessions/{id}`).
//!
//! Stripe takes form bodies in bracket notation (`form.rs`) and merges metadata natively, so
//! most of the unified update maps one to one (`request.rs`); only a partial
//! `shipping_details` patch needs a read first, because Stripe replaces collected shipping
//! details as a whole. An update is a pure overwrite, so each attempt carries its own
//! `Idempotency-Key` (`idempotency.rs`: Stripe would replay a saved 500 to a retry under the
//! same key). Amounts cross in Stripe's own units (`units.rs`). Every answer expands the
//! session's line items; when Stripe lists only their first page, a follow-up read of the line
//! items list completes it (`line_items.rs` builds the items). `simulator/` is an in-memory
//! Stripe for the embedded default configuration. Mapping, quirks and sources: `README.md`.

mod capabilities;
mod config;
mod error;
pub mod form;
mod idempotency;
mod line_items;
mod request;
mod response;
mod rules;
#[cfg(feature = "simulator")]
pub mod simulator;
mod units;

use std::sync::Arc;

use checkout_provider_interface::capability::UpdateCheck;
use checkout_provider_interface::{
    Access, Adapter, AdapterError, BuildSimulator, CheckedUpdate, ConfigError, Context, CurrentState, Patch,
    ProviderFactory, ProviderRequest, ProviderResponse, ProviderSetup, SessionIdFormat, UnifiedSession, UnifiedUpdate,
};

use crate::config::StripeConfig;

pub const KIND: &str = "stripe";

/// Stripe prefixes a Checkout Session id with `cs_` and the mode (`test_` or `live_`); the rest
/// is letters and digits (Stripe's own example). The adapter does not refuse other ids: Stripe
/// answers an unknown id with its own 404.
const SESSION_IDS: SessionIdFormat = SessionIdFormat {
    pattern: "^cs_(test|live)_[A-Za-z0-9]+$",
    example: "cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY",
    described: "`cs_test_` or `cs_live_`, then letters and digits",
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
    Ok(Arc::new(StripeAdapter { config: StripeConfig::from_setup(setup)? }))
}

#[cfg(feature = "simulator")]
fn build_simulator(setup: &ProviderSetup<'_>) -> Result<Arc<dyn checkout_provider_interface::Simulator>, ConfigError> {
    let config = StripeConfig::from_setup(setup)?;
    Ok(Arc::new(simulator::StripeSimulator::new(config.api_key, time::OffsetDateTime::now_utc())))
}

struct StripeAdapter {
    config: StripeConfig,
}

impl Adapter for StripeAdapter {
    fn check_update(&self, update: &UnifiedUpdate) -> UpdateCheck {
        rules::check(update, &self.config)
    }

    fn needs_current_state(&self, update: &UnifiedUpdate) -> bool {
        matches!(&update.shipping_details, Patch::Set(details) if !rules::shipping_details_complete(details))
    }

    fn build_update(
        &self,
        update: &CheckedUpdate,
        current: CurrentState<'_>,
        ctx: &Context,
    ) -> Result<ProviderRequest, AdapterError> {
        request::build_update(&self.config, update, current.response(), ctx)
    }

    fn build_retrieve(&self, ctx: &Context) -> Result<ProviderRequest, AdapterError> {
        request::build_retrieve(&self.config, ctx)
    }

    fn parse_session(&self, response: &ProviderResponse, ctx: &Context) -> Result<UnifiedSession, AdapterError> {
        response::parse(response, ctx.now)
    }

    /// An answer whose expanded `line_items` holds only the first page (`has_more`) is completed
    /// by reading the session's line items (`GET …/line_items?limit=100`).
    fn follow_up(&self, response: &ProviderResponse, ctx: &Context) -> Result<Option<ProviderRequest>, AdapterError> {
        if !response::line_items_cut_short(response) {
            return Ok(None);
        }
        request::build_line_items_read(&self.config, ctx).map(Some)
    }

    fn parse_with_follow_up(
        &self,
        response: &ProviderResponse,
        follow_up: &ProviderResponse,
        ctx: &Context,
    ) -> Result<UnifiedSession, AdapterError> {
        response::parse_with_line_items(response, follow_up, ctx.now)
    }

    fn retry_advice(&self, response: &ProviderResponse) -> Option<bool> {
        error::retry_advice(response)
    }

    /// A fresh `Idempotency-Key` for every update attempt (`idempotency.rs`); reads carry none.
    fn attempt_headers(&self, access: Access, ctx: &Context, _attempt: u32) -> Result<http::HeaderMap, AdapterError> {
        let mut headers = http::HeaderMap::new();
        if access == Access::Write {
            headers.insert("idempotency-key", idempotency::attempt_key(ctx)?);
        }
        Ok(headers)
    }

    fn auth_headers(
        &self,
        _access: Access,
        _allowed_paths: &[&str],
        _ctx: &Context,
    ) -> Result<http::HeaderMap, AdapterError> {
        let mut headers = http::HeaderMap::new();
        for (name, value) in request::common_headers(&self.config)? {
            headers.insert(name, value);
        }
        Ok(headers)
    }
}
