//! Configuration: figment layering (built-in defaults < TOML file < `CHECKOUT_GATEWAY__` env),
//! then validation into the runtime [`Config`]. Every error names the offending key.

mod messages;
mod raw;
pub mod routes;
mod secrets;
mod shared_store;
mod sharing;
mod telemetry;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use checkout_provider_interface::{Adapter, ProviderFactory, ProviderSetup, Simulator};
use figment::Figment;
use figment::providers::{Env, Format, Toml};
pub use raw::{LogFormat, OnUnsupported, RawIdempotency as IdempotencyConfig, StoreErrorPolicy, StoreKind};
use raw::{RawConfig, RawProvider, RawTenant};
use secrets::StartupSecrets;
pub use shared_store::{RedisNodes, RedisSettings};
pub use sharing::OwnershipRule;
pub use telemetry::TelemetryConfig;

/// The environment prefix for overrides: `CHECKOUT_GATEWAY__SERVER__LISTEN=…`.
pub const ENV_PREFIX: &str = "CHECKOUT_GATEWAY__";
/// The variable naming the config file when `--config` is not given.
pub const ENV_CONFIG_PATH: &str = "CHECKOUT_GATEWAY_CONFIG";
pub const DEFAULT_PATH: &str = "config/gateway.toml";
/// Set to `1` to serve a tenant holding the published demo key on a non-loopback address.
pub const ENV_DEMO: &str = "CHECKOUT_GATEWAY_DEMO";
/// The tenant key README publishes for the embedded default (`demo-tenant-key`), as SHA-256.
const DEMO_KEY_SHA256: &str = "01ea27eafbe8e5c7b672de58156a9277d5db106dafb491360d397f6b70b87bcc";

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
    /// The shared store's nodes, TLS and credentials when `idempotency.store = "redis"`.
    pub redis: Option<RedisSettings>,
    /// Where the built-in simulators listen, when enabled.
    pub simulator_listen: Option<String>,
    pub simulators: Vec<(String, Arc<dyn Simulator>)>,
    pub providers: BTreeMap<String, Arc<Provider>>,
    pub tenants: Vec<Tenant>,
    /// Non-fatal findings (e.g. inline secrets), logged at start-up.
    pub warnings: Vec<String>,
    /// Every resolved secret, so provider texts can be scrubbed of them.
    pub secrets: Vec<checkout_provider_interface::Secret>,
    /// OpenTelemetry export, when `[telemetry] otlp_endpoint` is set (read at start only).
    pub telemetry: Option<TelemetryConfig>,
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
    pub admin_listen: Option<String>,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub max_connections: usize,
    /// Failed authentications per client address per window; 0 disables the limit.
    pub auth_failure_limit: u32,
    pub auth_failure_window: Duration,
    pub rate_limit_on_store_error: StoreErrorPolicy,
}

/// A configured provider: the adapter plus what the gateway needs to call it.
pub struct Provider {
    pub name: String,
    pub kind: &'static str,
    /// Without a trailing slash; adapter paths start with `/`.
    pub base_url: String,
    pub adapter: Arc<dyn Adapter>,
    /// The kind's declarations (capability table); `kind` is `factory.kind`.
    pub factory: &'static ProviderFactory,
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub breaker: BreakerPolicy,
    /// The passthrough allow-list (DESIGN §7); empty forwards nothing.
    pub passthrough: Vec<crate::passthrough::AllowRule>,
    /// Which tenant owns a session here; set when tenants share this entry (`crate::ownership`).
    pub ownership: Option<OwnershipRule>,
    /// The bound on connections and calls open to this provider at once (`max_connections`).
    pub max_connections: usize,
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
    /// Requests in flight at once for this tenant (DESIGN §5 limits, issue 13).
    pub max_concurrency: Option<usize>,
    /// What marks this tenant's sessions at providers with an ownership rule.
    pub ownership_value: String,
    /// Rules picking the provider from the session id, before `provider` (`routes`).
    pub routes: Vec<routes::Route>,
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
        ConfigError::new(key, messages::without_values(&e.kind))
    })?;
    let demo_allowed = std::env::var_os(ENV_DEMO).is_some_and(|v| v == "1");
    validate(&raw, path, demo_allowed)
}

fn validate(raw: &RawConfig, path: &Path, demo_allowed: bool) -> Result<Config, ConfigError> {
    let server = &raw.server;
    if server.max_body_bytes == 0 || server.max_response_bytes == 0 || server.max_concurrency == 0 {
        return Err(ConfigError::new("server", "max_body_bytes, max_response_bytes and max_concurrency must be > 0"));
    }
    if server.deadline_ms == 0 {
        return Err(ConfigError::new("server.deadline_ms", "must be > 0"));
    }
    for (key, value) in [
        ("server.header_read_timeout_ms", server.header_read_timeout_ms),
        ("server.body_read_timeout_ms", server.body_read_timeout_ms),
        ("server.max_connections", server.max_connections as u64),
    ] {
        if value == 0 {
            return Err(ConfigError::new(key, "must be > 0"));
        }
    }
    if !(1..=3600).contains(&server.auth_failure_window_seconds) {
        return Err(ConfigError::new("server.auth_failure_window_seconds", "must be 1 to 3600"));
    }
    let idempotency = &raw.idempotency;
    if idempotency.ttl_seconds == 0 || idempotency.max_entries == 0 || idempotency.max_bytes_per_tenant == 0 {
        return Err(ConfigError::new("idempotency", "ttl_seconds, max_entries and max_bytes_per_tenant must be > 0"));
    }
    let telemetry = telemetry::settings(&raw.telemetry)?;
    let secrets = StartupSecrets::default();
    let redis = shared_store::settings(idempotency, &secrets)?;
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
    sharing::check(&providers, &tenants)?;
    if !demo_allowed && !is_loopback(&server.listen) {
        refuse_public_demo_tenant(raw)?;
    }
    for (i, a) in tenants.iter().enumerate() {
        if let Some(b) = tenants[i + 1..].iter().find(|b| b.key_sha256 == a.key_sha256) {
            return Err(ConfigError::new(
                format!("tenants.{}.api_key_sha256", b.name),
                format!("same key hash as tenant `{}`", a.name),
            ));
        }
    }
    let (mut warnings, secrets) = secrets.finish();
    warnings.extend(tenants.iter().flat_map(routes::warnings));
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
            admin_listen: server.admin_listen.clone(),
            header_read_timeout: Duration::from_millis(server.header_read_timeout_ms),
            body_read_timeout: Duration::from_millis(server.body_read_timeout_ms),
            max_connections: server.max_connections,
            auth_failure_limit: server.auth_failure_limit,
            auth_failure_window: Duration::from_secs(server.auth_failure_window_seconds),
            rate_limit_on_store_error: server.rate_limit_on_store_error,
        },
        idempotency: raw.idempotency.clone(),
        redis,
        simulator_listen: raw.simulator.enabled.then(|| raw.simulator.listen.clone()),
        simulators,
        providers,
        tenants,
        warnings,
        secrets,
        telemetry,
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
    let base_url = validate_base_url(&raw.base_url, raw.allow_insecure_http)
        .map_err(|e| ConfigError::new(key("base_url"), e.to_string()))?;
    if raw.timeout_ms == 0 {
        return Err(ConfigError::new(key("timeout_ms"), "must be > 0"));
    }
    if raw.max_connections == 0 {
        return Err(ConfigError::new(key("max_connections"), "must be at least 1"));
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
    let ownership = sharing::rule(name, raw)?;
    let scoped = secrets.scoped(name);
    let setup = ProviderSetup { name, settings: &raw.settings, secrets: &scoped };
    let adapter = (factory.build)(&setup).map_err(|e| adapter_config_error(name, &e))?;
    Ok(Provider {
        name: name.to_owned(),
        kind: factory.kind,
        base_url,
        adapter,
        factory,
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
        ownership,
        max_connections: raw.max_connections,
    })
}

fn build_simulator(name: &str, raw: &RawProvider, secrets: &StartupSecrets) -> Result<Arc<dyn Simulator>, ConfigError> {
    let factory = crate::registry::factory(&raw.kind)
        .ok_or_else(|| ConfigError::new(format!("providers.{name}.kind"), "unknown provider kind"))?;
    // A production build (`--no-default-features`) compiles no simulator: say so at start-up.
    let Some(simulator) = factory.simulator else {
        let message = "this build has no provider simulators (built without the `simulators` feature): set it to false";
        return Err(ConfigError::new("simulator.enabled", message));
    };
    let scoped = secrets.scoped(name);
    let setup = ProviderSetup { name, settings: &raw.settings, secrets: &scoped };
    simulator(&setup).map_err(|e| adapter_config_error(name, &e))
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

/// Why a provider's `base_url` is refused. The texts never repeat the URL: it may carry
/// credentials.
#[derive(Debug, thiserror::Error)]
enum BaseUrlError {
    // The parser's text is part of the message: a `ConfigError` keeps one text per key.
    #[error("not a URL: {0}")]
    NotAUrl(#[source] <reqwest::Url as std::str::FromStr>::Err),
    #[error("plain http is refused; set allow_insecure_http = true for a local mock")]
    PlainHttp,
    #[error("unsupported scheme `{0}`")]
    UnsupportedScheme(String),
    #[error("must not contain credentials (user:password@); use the provider's credential keys")]
    Credentials,
    #[error("must be scheme://host[:port][/path] without query or fragment")]
    NotAnOrigin,
}

fn validate_base_url(text: &str, allow_insecure_http: bool) -> Result<String, BaseUrlError> {
    let url = reqwest::Url::parse(text).map_err(BaseUrlError::NotAUrl)?;
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure_http => {}
        "http" => return Err(BaseUrlError::PlainHttp),
        other => return Err(BaseUrlError::UnsupportedScheme(other.to_owned())),
    }
    // Credentials in the URL would show in previews, `check-config` and error texts.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(BaseUrlError::Credentials);
    }
    if url.query().is_some() || url.fragment().is_some() || url.host().is_none() {
        return Err(BaseUrlError::NotAnOrigin);
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
    if raw.max_concurrency == Some(0) {
        return Err(ConfigError::new(key("max_concurrency"), "must be > 0 (or unset for no cap)"));
    }
    let ownership_value = sharing::tenant_value(name, raw)?;
    let routes = routes::build(name, &raw.routes, &allowed, providers)?;
    Ok(Tenant {
        name: name.to_owned(),
        key_sha256,
        provider: raw.provider.clone(),
        allowed_providers: allowed,
        on_unsupported: raw.on_unsupported,
        rate_limit,
        max_concurrency: raw.max_concurrency,
        ownership_value,
        routes,
    })
}

/// Whether `listen` only accepts connections from this host.
fn is_loopback(listen: &str) -> bool {
    match listen.parse::<std::net::SocketAddr>() {
        Ok(addr) => addr.ip().is_loopback(),
        Err(_) => listen.rsplit_once(':').is_some_and(|(host, _)| host.eq_ignore_ascii_case("localhost")),
    }
}

/// The embedded default's tenant key is published in the README: serving it beyond loopback
/// (the container image's `0.0.0.0`, or env overrides merged into the demo file) must be asked
/// for explicitly.
fn refuse_public_demo_tenant(raw: &RawConfig) -> Result<(), ConfigError> {
    match raw.tenants.iter().find(|(_, tenant)| tenant.api_key_sha256.trim().eq_ignore_ascii_case(DEMO_KEY_SHA256)) {
        Some((name, _)) => Err(ConfigError::new(
            format!("tenants.{name}.api_key_sha256"),
            format!(
                "is the published demo key, refused on the non-loopback server.listen `{}`; set {ENV_DEMO}=1 to serve the demo there on purpose",
                raw.server.listen
            ),
        )),
        None => Ok(()),
    }
}
