//! What goes wrong below the HTTP layer: [`UpdateError`], the one error of the update pipeline
//! (`crate::update`, `crate::preview`, `crate::ownership`), in the pipeline's own terms. The
//! HTTP layer maps it to its problem+json answer (`api::problem`); nothing here knows HTTP.

use checkout_provider_interface::{FieldProblem, ProviderFailure};

use crate::config::Provider;

/// A fault's underlying cause, kept for the log.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Which configured provider an error concerns.
#[derive(Debug, Clone)]
pub struct ProviderRef {
    pub name: String,
    pub kind: &'static str,
}

impl ProviderRef {
    pub fn of(provider: &Provider) -> Self {
        Self { name: provider.name.clone(), kind: provider.kind }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The session id fails the provider's own format.
    #[error("{0}")]
    InvalidSessionId(String),
    /// The body breaks the unified schema, the provider's rules or the ownership rule.
    #[error("the request does not match the unified schema")]
    ValidationFailed(Vec<FieldProblem>),
    /// Fields the provider cannot express.
    #[error("{} cannot express {} field(s)", .provider.name, .problems.len())]
    UnsupportedField { provider: ProviderRef, problems: Vec<FieldProblem> },
    /// The provider answered with a classified error (texts already scrubbed).
    #[error("{} answered {}", .provider.name, .failure.status)]
    Provider { provider: ProviderRef, failure: Box<ProviderFailure>, retry_after_secs: Option<u64> },
    #[error("{} answered something the gateway cannot use: {detail}", .provider.name)]
    ProviderUnparseable { provider: ProviderRef, detail: String },
    #[error("{} is unavailable: {detail}", .provider.name)]
    ProviderUnavailable { provider: ProviderRef, detail: String, retry_after_secs: u64 },
    #[error("{} did not answer within the deadline", .provider.name)]
    ProviderTimeout { provider: ProviderRef },
    /// The gateway's own fault (a provider request that cannot be built or signed): neither the
    /// client's nor the provider's doing.
    #[error("{what}")]
    Internal {
        what: String,
        #[source]
        cause: Option<Cause>,
    },
}

impl UpdateError {
    /// Whether the provider was reached and answered (so the outcome is the provider's).
    pub fn reached_provider(&self) -> bool {
        matches!(self, Self::Provider { .. })
    }
}
