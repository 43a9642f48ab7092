//! The switch report: "what breaks if we move this tenant to provider X". Joins the tenant's
//! recent field usage with the target's declared capabilities; the static kind-to-kind
//! difference (`checkout-gateway compat`) comes from the same tables.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::RawQuery;
use checkout_provider_interface::{Capabilities, Feature, Support};
use schemars::JsonSchema;
use serde::Serialize;

use crate::api::answers::SupportLevel;
use crate::api::extract::AuthedTenant;
use crate::api::problem::ApiError;
use crate::config::routes;

/// The support level's name: `native`, `emulated`, `provider_metadata` or `unsupported`.
pub fn level(support: Support) -> &'static str {
    match support {
        Support::Native(_) => "native",
        Support::Emulated(_) => "emulated",
        Support::ProviderMetadata(_) => "provider_metadata",
        Support::Unsupported => "unsupported",
    }
}

/// `GET /v1/providers/compatibility?to=<provider>`: what breaks if the tenant moves there.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SwitchReport {
    pub tenant: String,
    /// The target provider's configured name.
    pub to: String,
    /// The target provider's kind.
    pub kind: &'static str,
    /// True when no field the tenant sent is unsupported by the target.
    pub compatible: bool,
    /// The `fields` entries the target does not support.
    pub breaking: Vec<FieldReport>,
    /// Every unified feature the tenant sent recently, with the target's support.
    pub fields: Vec<FieldReport>,
    /// What the tenant's `routes` do in a cutover from `from` (default: the tenant's default
    /// provider) to the target: which rules keep sessions on the old provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routes: Option<routes::Cutover>,
}

/// One feature the tenant sent, and how the target supports it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FieldReport {
    pub feature: Feature,
    /// Where the feature lives in the unified request.
    pub field: &'static str,
    /// Requests that used it (in the usage window).
    pub requests: u64,
    pub support: SupportLevel,
    /// How the target does it; null when unsupported.
    pub how: Option<&'static str>,
}

impl SwitchReport {
    /// The report for `tenant` moving to the provider `to` of `kind`, given its usage counts.
    pub fn new(
        tenant: &str,
        to: &str,
        kind: &'static str,
        capabilities: &Capabilities,
        counts: &BTreeMap<Feature, u64>,
    ) -> Self {
        let fields: Vec<FieldReport> = counts
            .iter()
            .map(|(feature, requests)| {
                let support = capabilities.support(*feature);
                FieldReport {
                    feature: *feature,
                    field: feature.field(),
                    requests: *requests,
                    support: SupportLevel::of(support),
                    how: SupportLevel::how(support),
                }
            })
            .collect();
        let breaking: Vec<FieldReport> =
            fields.iter().filter(|field| field.support == SupportLevel::Unsupported).cloned().collect();
        Self {
            tenant: tenant.to_owned(),
            to: to.to_owned(),
            kind,
            compatible: breaking.is_empty(),
            breaking,
            fields,
            routes: None,
        }
    }
}

/// `GET /v1/providers/compatibility?to=<provider>[&from=<provider>]`.
pub async fn report(auth: AuthedTenant, RawQuery(query): RawQuery) -> Result<Json<SwitchReport>, ApiError> {
    let AuthedTenant { tenant, state, .. } = auth;
    let query = query.unwrap_or_default();
    let param = |wanted: &str| {
        form_urlencoded::parse(query.as_bytes()).find(|(name, _)| name == wanted).map(|(_, value)| value.into_owned())
    };
    let allowed = |name: &str| {
        if !tenant.allowed_providers.iter().any(|allowed| allowed == name) {
            return Err(ApiError::ProviderNotAllowed(format!("provider `{name}` is not allowed for this tenant")));
        }
        state.provider(name).ok_or_else(|| ApiError::ProviderNotAllowed(format!("no provider `{name}`")))
    };
    let provider = allowed(&param("to").ok_or_else(missing_target)?)?;
    let old = allowed(&param("from").unwrap_or_else(|| tenant.provider.clone()))?;
    let counts = state.usage.counts(&tenant.name).await.map_err(|e| ApiError::StoreUnavailable(e.to_string()))?;
    let mut report =
        SwitchReport::new(&tenant.name, &provider.name, provider.kind, provider.factory.capabilities, &counts);
    // The automata search is CPU work bounded per question, off the async workers all the same.
    let (old, new) = (Arc::clone(old), Arc::clone(provider));
    let cutover = tokio::task::spawn_blocking(move || routes::cutover(&tenant, &old, &new))
        .await
        .map_err(|e| ApiError::internal(format!("the switch report's route search failed: {e}")))?;
    report.routes = Some(cutover);
    Ok(Json(report))
}

fn missing_target() -> ApiError {
    ApiError::ValidationFailed(vec![checkout_provider_interface::FieldProblem::new(
        "?to",
        "name the provider to compare with: ?to=<provider>",
    )])
}

/// Rows of the static capability difference between two kinds: (field, from, to, verdict).
pub fn difference(
    from: &Capabilities,
    to: &Capabilities,
) -> Vec<(&'static str, &'static str, &'static str, &'static str)> {
    Feature::ALL
        .iter()
        .map(|feature| {
            let (a, b) = (level(from.support(*feature)), level(to.support(*feature)));
            let verdict = match (a, b) {
                (x, y) if x == y => "same",
                (_, "unsupported") => "breaks",
                ("unsupported", _) => "gained",
                _ => "changes",
            };
            (feature.field(), a, b, verdict)
        })
        .collect()
}
