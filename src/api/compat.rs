//! The switch report: "what breaks if we move this tenant to provider X". Joins the tenant's
//! recent field usage with the target's declared capabilities; the static kind-to-kind
//! difference (`checkout-gateway compat`) comes from the same tables.

use axum::Json;
use axum::extract::RawQuery;
use checkout_provider_interface::{Capabilities, Feature, Support};
use serde_json::{Value, json};

use crate::api::extract::AuthedTenant;
use crate::api::problem::ApiError;

/// The support level's name: `native`, `emulated`, `provider_metadata` or `unsupported`.
pub fn level(support: Support) -> &'static str {
    match support {
        Support::Native(_) => "native",
        Support::Emulated(_) => "emulated",
        Support::ProviderMetadata(_) => "provider_metadata",
        Support::Unsupported => "unsupported",
    }
}

/// How a provider does it, when it does.
pub fn how(support: Support) -> Option<&'static str> {
    match support {
        Support::Native(how) | Support::Emulated(how) | Support::ProviderMetadata(how) => Some(how),
        Support::Unsupported => None,
    }
}

/// `GET /v1/providers/compatibility?to=<provider>`.
pub async fn report(auth: AuthedTenant, RawQuery(query): RawQuery) -> Result<Json<Value>, ApiError> {
    let AuthedTenant { tenant, state, .. } = auth;
    let target = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "to")
        .map(|(_, value)| value.into_owned())
        .ok_or_else(missing_target)?;
    if !tenant.allowed_providers.contains(&target) {
        return Err(ApiError::ProviderNotAllowed(format!("provider `{target}` is not allowed for this tenant")));
    }
    let provider =
        state.provider(&target).ok_or_else(|| ApiError::ProviderNotAllowed(format!("no provider `{target}`")))?;
    let counts = state.usage.counts(&tenant.name).await.map_err(|e| ApiError::StoreUnavailable(e.to_string()))?;
    let capabilities = provider.factory.capabilities;
    let fields: Vec<Value> = counts
        .iter()
        .map(|(feature, requests)| {
            let support = capabilities.support(*feature);
            json!({
                "feature": feature,
                "field": feature.field(),
                "requests": requests,
                "support": level(support),
                "how": how(support),
            })
        })
        .collect();
    let breaking: Vec<&Value> = fields.iter().filter(|f| f["support"] == "unsupported").collect();
    Ok(Json(json!({
        "tenant": tenant.name,
        "to": provider.name,
        "kind": provider.kind,
        "compatible": breaking.is_empty(),
        "breaking": breaking,
        "fields": fields,
    })))
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
