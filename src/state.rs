//! What requests share. [`AppState`] is built from one config and swapped as a whole on reload
//! (a request keeps the snapshot it started with); the HTTP client, circuit breakers and
//! idempotency store live across reloads.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::admission::Admission;
use crate::config::{Config, Provider, Tenant};
use crate::dispatch::{ClientBuildError, Dispatcher};
use crate::idempotency::{IdempotencyStore, MemoryBudget, MemoryStore, RedisStore, StoreError};
use crate::rate_limit::TenantLimiter;
use crate::schema::{SchemaError, UpdateSchema};
use crate::usage::UsageTracker;

/// Why the first state cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error(transparent)]
    HttpClient(#[from] ClientBuildError),
    /// The configured Redis store cannot be reached; `key` names where its nodes came from
    /// (`idempotency.redis_url` or `idempotency.redis_cluster_urls`).
    #[error("{key}")]
    Store {
        key: &'static str,
        #[source]
        source: StoreError,
    },
}

/// Why a reloaded config cannot replace the running one: what it changed is only read at start.
#[derive(Debug, thiserror::Error)]
pub enum RestartNeeded {
    #[error("the [idempotency] section changed; that needs a restart")]
    Idempotency,
    #[error("listen addresses changed; that needs a restart")]
    ListenAddresses,
    #[error("the [telemetry] section changed; that needs a restart")]
    Telemetry,
}

pub struct AppState {
    pub config: Config,
    pub schema: Arc<UpdateSchema>,
    pub dispatcher: Dispatcher,
    pub limiter: TenantLimiter,
    pub store: Arc<dyn IdempotencyStore>,
    pub usage: Arc<UsageTracker>,
}

impl AppState {
    /// Build the first state: compile the schema, connect the store.
    pub async fn new(config: Config) -> Result<Arc<Self>, StateError> {
        let schema = Arc::new(UpdateSchema::compile()?);
        let dispatcher = Dispatcher::new(config.server.max_response_bytes)?;
        // `config.redis` is set exactly when `idempotency.store = "redis"`.
        let store: Arc<dyn IdempotencyStore> = match &config.redis {
            None => Arc::new(MemoryStore::new(MemoryBudget {
                bytes_per_tenant: config.idempotency.max_bytes_per_tenant,
                entries_per_tenant: config.idempotency.max_entries,
            })),
            Some(settings) => Arc::new(
                RedisStore::connect(settings)
                    .await
                    .map_err(|source| StateError::Store { key: settings.nodes_key(), source })?,
            ),
        };
        let limiter =
            TenantLimiter::new(&config.tenants, store.shared_connection(), config.server.rate_limit_on_store_error);
        let usage = Arc::new(UsageTracker::new(store.shared_connection()));
        Ok(Arc::new(Self { config, schema, dispatcher, limiter, store, usage }))
    }

    /// The state for a reloaded config, keeping what outlives reloads. The store cannot change
    /// without a restart.
    pub fn reloaded(&self, config: Config) -> Result<Arc<Self>, RestartNeeded> {
        if config.idempotency != self.config.idempotency {
            return Err(RestartNeeded::Idempotency);
        }
        if config.server.listen != self.config.server.listen
            || config.server.admin_listen != self.config.server.admin_listen
            || config.simulator_listen != self.config.simulator_listen
        {
            return Err(RestartNeeded::ListenAddresses);
        }
        // The trace export is installed once, with the process's log subscriber.
        if config.telemetry != self.config.telemetry {
            return Err(RestartNeeded::Telemetry);
        }
        Ok(Arc::new(Self {
            dispatcher: self.dispatcher.reconfigured(config.server.max_response_bytes),
            limiter: self.limiter.reconfigured(&config.tenants, config.server.rate_limit_on_store_error),
            schema: Arc::clone(&self.schema),
            store: Arc::clone(&self.store),
            usage: Arc::clone(&self.usage),
            config,
        }))
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

    /// Replace every configured secret in `text`, raw or base64 (a provider's message may echo
    /// a credential).
    pub fn scrub(&self, text: &str) -> String {
        self.scrubber(&[]).scrub(text)
    }

    /// A scrubber for provider texts that came with `answers`: every configured secret, and the
    /// credentials the attempts behind those answers carried (a per-attempt token).
    pub fn scrubber(&self, answers: &[&checkout_provider_interface::ProviderResponse]) -> crate::scrub::TextScrubber {
        crate::scrub::TextScrubber::new(&self.config.secrets, answers)
    }

    pub fn provider(&self, name: &str) -> Option<&Arc<Provider>> {
        self.config.providers.get(name)
    }
}

/// The router's state: the current [`AppState`], swapped atomically on reload, and the
/// admission counts that must survive reloads.
pub struct Gateway {
    current: ArcSwap<AppState>,
    pub admission: Admission,
}

impl Gateway {
    pub fn new(state: Arc<AppState>) -> Arc<Self> {
        Arc::new(Self { current: ArcSwap::new(state), admission: Admission::default() })
    }

    /// The snapshot a request runs with from start to end.
    pub fn current(&self) -> Arc<AppState> {
        self.current.load_full()
    }

    /// Swap in `config`, or keep the old one and say why not.
    pub fn reload(&self, config: Config) -> Result<(), RestartNeeded> {
        let next = self.current().reloaded(config)?;
        self.current.store(next);
        Ok(())
    }
}
