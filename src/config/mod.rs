//! Configuration: figment layering (built-in defaults < TOML file < `CHECKOUT_GATEWAY__` env),
//! then validation into the runtime [`Config`]. Every error names the offending key.

mod raw;
mod secrets;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use checkout_provider_interface::{Adapter, ProviderSetup, Simulator};
use figment::Figment;
use figment::providers::{Env, Format, Toml};
pub use raw::{LogFormat, OnUnsupported, RawIdempotency as IdempotencyConfig, StoreKind};
use raw::{RawConfig, RawProvider, RawTenant};
use secrets::StartupSecrets;

/// The environment prefix for overrides: `CHECKOUT_GATEWAY__SERVER__LISTEN=…`.
pub const ENV_PREFIX: &str = "CHECKOUT_GATEWAY__";
/// The variable naming the config file when `--config` is not given.
pub const ENV_CONFIG_PATH: &str = "CHECKOUT_GATEWAY_CONFIG";
pub const DEFAULT_PATH: &str = "config/gateway.toml";

#[derive(Debug, thiserror::Error)]
#[error("config error at `{key}`: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { key: key.into(), message: message.into() }
    }
}

pub struct Config {
    pub source: PathBuf,
    pub server: ServerConfig,
    pub idempotency: IdempotencyConfig,
    /// Where the built-in simulators listen, when enabled.
    pub simulator_listen: Option<String>,
    pub simulators: Vec<(String, Arc<dyn Simulator>)>,
    pub providers: BTreeMap<String, Arc<Provider>>,
    pub tenants: Vec<Tenant>,
    /// Non-fatal findings (e.g. inline secrets), logged at start-up.
    pub warnings: Vec<String>,
    /// Every resolved secret, so provider texts can be scrubbed of them.
    pub secrets: Vec<checkout_provider_interface::Secret>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: String,
    pub max_body_bytes: usize,
    pub max_response_bytes: usize,
    pub deadline: Duration,
    pub max_concurrency: usize,
    pub shutdown_grace: Duration,
    pub log_format: LogFormat,
}

/// A configured provider: the adapter plus what the gateway needs to call it.
pub struct Provider {
    pub name: String,
    pub kind: &'static str,
    /// Without a trailing slash; adapter paths start with `/`.
    pub base_url: String,
    pub adapter: Arc<dyn Adapter>,
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub breaker: BreakerPolicy,
    /// The passthrough allow-list (DESIGN §7); empty forwards nothing.
    pub passthrough: Vec<crate::passthrough::AllowRule>,
}

#[derive(Debug, Clone, Copy)]
pub struct BreakerPolicy {
    /// Consecutive failed calls that open the circuit.
    pub failure_threshold: u32,
    pub cool_down: Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

#[derive(Debug, Clone)]
pub struct Tenant {
    pub name: String,
    pub key_sha256: [u8; 32],
    pub provider: String,
    pub allowed_providers: Vec<String>,
    pub on_unsupported: OnUnsupported,
    pub rate_limit: Option<RateLimit>,
}

#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub requests_per_second: f64,
    pub burst: u32,
}

/// The file to read: `--config`, else `CHECKOUT_GATEWAY_CONFIG`, else `config/gateway.toml`.
pub fn resolve_path(explicit: Option<&Path>) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os(ENV_CONFIG_PATH).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PATH))
}

/// Load, layer and validate the config at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    if !path.is_file() {
        return Err(ConfigError::new("--config", format!("no config file at `{}`", path.display())));
    }
    let figment = Figment::new().merge(Toml::file(path)).merge(Env::prefixed(ENV_PREFIX).split("__"));
    let raw: RawConfig = figment.extract().map_err(|e| {
        let key = if e.path.is_empty() { "(root)".to_owned() } else { e.path.join(".") };
        ConfigError::new(key, e.kind.to_string())
    })?;
    validate(&raw, path)
}

fn validate(raw: &RawConfig, path: &Path) -> Result<Config, ConfigError> {
    let server = &raw.server;
    if server.max_body_bytes == 0 || server.max_response_bytes == 0 || server.max_concurrency == 0 {
        return Err(ConfigError::new("server", "max_body_bytes, max_response_bytes and max_concurrency must be > 0"));
    }
    if server.deadline_ms == 0 {
        return Err(ConfigError::new("server.deadline_ms", "must be > 0"));
    }
    let idempotency = &raw.idempotency;
    if idempotency.store == StoreKind::Redis && idempotency.redis_url.is_none() {
        return Err(ConfigError::new("idempotency.redis_url", "required when store = \"redis\""));
    }
    if idempotency.ttl_seconds == 0 || idempotency.max_entries == 0 {
        return Err(ConfigError::new("idempotency", "ttl_seconds and max_entries must be > 0"));
    }
    let secrets = StartupSecrets::default();
    let mut providers = BTreeMap::new();
    let mut simulators = Vec::new();
    for (name, provider) in &raw.providers {
        providers.insert(name.clone(), Arc::new(build_provider(name, provider, &secrets)?));
        if raw.simulator.enabled {
            simulators.push((name.clone(), build_simulator(name, provider, &secrets)?));
        }
    }
    let mut tenants = Vec::new();
    for (name, tenant) in &raw.tenants {
        tenants.push(build_tenant(name, tenant, &providers)?);
    }
    for (i, a) in tenants.iter().enumerate() {
        if let Some(b) = tenants[i + 1..].iter().find(|b| b.key_sha256 == a.key_sha256) {
            return Err(ConfigError::new(
                format!("tenants.{}.api_key_sha256", b.name),
                format!("same key hash as tenant `{}`", a.name),
            ));
        }
    }
    let (warnings, secrets) = secrets.finish();
    Ok(Config {
        source: path.to_path_buf(),
        server: ServerConfig {
            listen: server.listen.clone(),
            max_body_bytes: server.max_body_bytes,
            max_response_bytes: server.max_response_bytes,
            deadline: Duration::from_millis(server.deadline_ms),
            max_concurrency: server.max_concurrency,
            shutdown_grace: Duration::from_millis(server.shutdown_grace_ms),
            log_format: server.log_format,
        },
        idempotency: raw.idempotency.clone(),
        simulator_listen: raw.simulator.enabled.then(|| raw.simulator.listen.clone()),
        simulators,
        providers,
        tenants,
        warnings,
        secrets,
    })
}

fn build_provider(name: &str, raw: &RawProvider, secrets: &StartupSecrets) -> Result<Provider, ConfigError> {
    let key = |field: &str| format!("providers.{name}.{field}");
    let factory = crate::registry::factory(&raw.kind).ok_or_else(|| {
        ConfigError::new(
            key("kind"),
            format!("unknown provider kind `{}`; known: {}", raw.kind, crate::registry::kinds().join(", ")),
        )
    })?;
    let base_url =
        validate_base_url(&raw.base_url, raw.allow_insecure_http).map_err(|m| ConfigError::new(key("base_url"), m))?;
    if raw.timeout_ms == 0 {
        return Err(ConfigError::new(key("timeout_ms"), "must be > 0"));
    }
    if raw.circuit_breaker.failure_threshold == 0 {
        return Err(ConfigError::new(key("circuit_breaker.failure_threshold"), "must be at least 1"));
    }
    if raw.retry.max_attempts == 0 {
        return Err(ConfigError::new(key("retry.max_attempts"), "must be at least 1"));
    }
    let passthrough = raw
        .passthrough
        .allow
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            crate::passthrough::AllowRule::parse(rule)
                .map_err(|why| ConfigError::new(key("passthrough.allow"), format!("entry {i}: {why}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let scoped = secrets.scoped(name);
    let setup = ProviderSetup { name, settings: &raw.settings, secrets: &scoped };
    let adapter = (factory.build)(&setup).map_err(|e| adapter_config_error(name, &e))?;
    Ok(Provider {
        name: name.to_owned(),
        kind: factory.kind,
        base_url,
        adapter,
        timeout: Duration::from_millis(raw.timeout_ms),
        retry: RetryPolicy {
            max_attempts: raw.retry.max_attempts,
            base_delay: Duration::from_millis(raw.retry.base_delay_ms),
            max_delay: Duration::from_millis(raw.retry.max_delay_ms.max(raw.retry.base_delay_ms)),
        },
        breaker: BreakerPolicy {
            failure_threshold: raw.circuit_breaker.failure_threshold,
            cool_down: Duration::from_millis(raw.circuit_breaker.cool_down_ms),
        },
        passthrough,
    })
}

fn build_simulator(name: &str, raw: &RawProvider, secrets: &StartupSecrets) -> Result<Arc<dyn Simulator>, ConfigError> {
    let factory = crate::registry::factory(&raw.kind)
        .ok_or_else(|| ConfigError::new(format!("providers.{name}.kind"), "unknown provider kind"))?;
    let scoped = secrets.scoped(name);
    let setup = ProviderSetup { name, settings: &raw.settings, secrets: &scoped };
    (factory.simulator)(&setup).map_err(|e| adapter_config_error(name, &e))
}

/// An adapter's error names a key relative to its table (or the table itself).
fn adapter_config_error(name: &str, error: &checkout_provider_interface::ConfigError) -> ConfigError {
    let key = if error.key.is_empty() || error.key == name {
        format!("providers.{name}")
    } else {
        format!("providers.{name}.{}", error.key)
    };
    ConfigError::new(key, error.message.clone())
}

fn validate_base_url(text: &str, allow_insecure_http: bool) -> Result<String, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure_http => {}
        "http" => return Err("plain http is refused; set allow_insecure_http = true for a local mock".to_owned()),
        other => return Err(format!("unsupported scheme `{other}`")),
    }
    if url.query().is_some() || url.fragment().is_some() || url.host().is_none() {
        return Err("must be scheme://host[:port][/path] without query or fragment".to_owned());
    }
    Ok(text.trim_end_matches('/').to_owned())
}

fn build_tenant(
    name: &str,
    raw: &RawTenant,
    providers: &BTreeMap<String, Arc<Provider>>,
) -> Result<Tenant, ConfigError> {
    let key = |field: &str| format!("tenants.{name}.{field}");
    let mut key_sha256 = [0_u8; 32];
    hex::decode_to_slice(raw.api_key_sha256.trim(), &mut key_sha256)
        .map_err(|_| ConfigError::new(key("api_key_sha256"), "must be 64 hex digits (`checkout-gateway hash-key`)"))?;
    if !providers.contains_key(&raw.provider) {
        return Err(ConfigError::new(key("provider"), format!("no provider named `{}`", raw.provider)));
    }
    let mut allowed = raw.allowed_providers.clone();
    if let Some(unknown) = allowed.iter().find(|p| !providers.contains_key(*p)) {
        return Err(ConfigError::new(key("allowed_providers"), format!("no provider named `{unknown}`")));
    }
    if allowed.is_empty() {
        allowed.push(raw.provider.clone());
    } else if !allowed.contains(&raw.provider) {
        return Err(ConfigError::new(
            key("allowed_providers"),
            format!("must include the default provider `{}`", raw.provider),
        ));
    }
    let rate_limit = match raw.rate_limit {
        Some(limit)
            if !(limit.requests_per_second > 0.0 && limit.requests_per_second.is_finite()) || limit.burst == 0 =>
        {
            return Err(ConfigError::new(key("rate_limit"), "requests_per_second and burst must be > 0"));
        }
        Some(limit) => Some(RateLimit { requests_per_second: limit.requests_per_second, burst: limit.burst }),
        None => None,
    };
    Ok(Tenant {
        name: name.to_owned(),
        key_sha256,
        provider: raw.provider.clone(),
        allowed_providers: allowed,
        on_unsupported: raw.on_unsupported,
        rate_limit,
    })
}
