//! The answers of `/v1/providers` and the probes as types. Handlers serialize these and
//! `/openapi.json` derives their schemas from them, so the document cannot promise a shape the
//! server does not send (a feature or field added here shows up in both).

use checkout_provider_interface::{Feature, IdempotencyMode, ProviderFactory, Support};
use schemars::JsonSchema;
use serde::Serialize;

/// `GET /v1/providers`: the tenant's providers.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProviderList {
    /// Always `list`.
    pub object: &'static str,
    pub data: Vec<ProviderEntry>,
}

impl ProviderList {
    pub fn new(data: Vec<ProviderEntry>) -> Self {
        Self { object: "list", data }
    }
}

/// One configured provider the tenant may use, with its capability matrix.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProviderEntry {
    /// The configured name (what `Checkout-Provider` takes).
    pub name: String,
    /// The provider kind (which adapter speaks to it).
    pub kind: &'static str,
    /// Whether this is the tenant's default provider.
    pub default: bool,
    pub idempotency: IdempotencyMode,
    /// One entry per unified feature, in the order of the unified request.
    pub capabilities: Vec<CapabilityEntry>,
}

impl ProviderEntry {
    /// The entry of the provider `name` of `factory`'s kind.
    pub fn new(name: &str, factory: &ProviderFactory, default: bool) -> Self {
        let capabilities = factory.capabilities;
        Self {
            name: name.to_owned(),
            kind: factory.kind,
            default,
            idempotency: capabilities.idempotency,
            capabilities: Feature::ALL
                .iter()
                .map(|feature| CapabilityEntry::new(*feature, capabilities.support(*feature)))
                .collect(),
        }
    }
}

/// How a provider supports one unified feature.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CapabilityEntry {
    pub feature: Feature,
    /// Where the feature lives in the unified request, for people reading the matrix.
    pub field: &'static str,
    pub support: SupportLevel,
    /// How the provider does it; absent when unsupported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub how: Option<&'static str>,
}

impl CapabilityEntry {
    pub fn new(feature: Feature, support: Support) -> Self {
        Self { feature, field: feature.field(), support: SupportLevel::of(support), how: SupportLevel::how(support) }
    }
}

/// A support level without its explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SupportLevel {
    /// The provider has the field itself.
    Native,
    /// The gateway builds it from what the provider has.
    Emulated,
    /// Carried in provider-side metadata.
    ProviderMetadata,
    /// Refused with `422 unsupported_field` (or ignored under `on_unsupported = "ignore"`).
    Unsupported,
}

impl SupportLevel {
    pub fn of(support: Support) -> Self {
        match support {
            Support::Native(_) => Self::Native,
            Support::Emulated(_) => Self::Emulated,
            Support::ProviderMetadata(_) => Self::ProviderMetadata,
            Support::Unsupported => Self::Unsupported,
        }
    }

    /// How a provider does it, when it does.
    pub fn how(support: Support) -> Option<&'static str> {
        match support {
            Support::Native(how) | Support::Emulated(how) | Support::ProviderMetadata(how) => Some(how),
            Support::Unsupported => None,
        }
    }
}

/// `GET /healthz`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Liveness {
    pub status: LivenessStatus,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LivenessStatus {
    Ok,
}

/// `GET /readyz`: ready or not, nothing else (anyone who can reach the API port can read it).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Readiness {
    pub status: ReadinessStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadinessStatus {
    Ready,
    NotReady,
}
