//! What every request shares: the loaded config, the compiled schema, the HTTP client and the
//! per-tenant rate limiters. Swapped as a whole on reload, so a request keeps the state it
//! started with.

use std::sync::Arc;

use crate::config::{Config, Provider, Tenant};
use crate::dispatch::Dispatcher;
use crate::schema::UpdateSchema;

pub struct AppState {
    pub config: Config,
    pub schema: UpdateSchema,
    pub dispatcher: Dispatcher,
    pub limiter: crate::api::rate_limit::TenantLimiter,
}

impl AppState {
    pub fn new(config: Config) -> Result<Arc<Self>, String> {
        let schema = UpdateSchema::compile()?;
        let dispatcher = Dispatcher::new(config.server.max_response_bytes)?;
        let limiter = crate::api::rate_limit::TenantLimiter::new(&config.tenants);
        Ok(Arc::new(Self { config, schema, dispatcher, limiter }))
    }

    /// The tenant whose key hashes to `digest`. Every tenant is compared in constant time, and
    /// all of them are always compared, so timing tells nothing about which bytes matched.
    pub fn tenant_by_key_digest(&self, digest: &[u8; 32]) -> Option<&Tenant> {
        use subtle::ConstantTimeEq;
        let mut found = None;
        for tenant in &self.config.tenants {
            if bool::from(tenant.key_sha256.ct_eq(digest)) {
                found = Some(tenant);
            }
        }
        found
    }

    /// Replace every configured secret in `text` (a provider's message may echo a credential).
    pub fn scrub(&self, text: &str) -> String {
        let mut clean = text.to_owned();
        for secret in &self.config.secrets {
            if secret.expose().len() >= 6 && clean.contains(secret.expose()) {
                clean = clean.replace(secret.expose(), checkout_provider_interface::wire::REDACTED);
            }
        }
        clean
    }

    pub fn provider(&self, name: &str) -> Option<&Arc<Provider>> {
        self.config.providers.get(name)
    }
}
