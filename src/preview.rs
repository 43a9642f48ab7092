//! The provider calls an update would make, as JSON, without sending anything: the preview
//! endpoint and `checkout-gateway translate` both show this. Part of the update pipeline (no HTTP
//! types), so the CLI does not reach into the HTTP layer for it.

use checkout_provider_interface::wire::{RequestDescription, describe};
use checkout_provider_interface::{Access, Context, CurrentState, ProviderRequest, Warning, for_attempt};
use schemars::JsonSchema;
use serde::Serialize;

use crate::config::Provider;
use crate::failure::UpdateError;
use crate::state::AppState;
use crate::update::{self, Plan, Prepared};

/// What an update would send (the preview endpoint's answer, the `translate` command's output).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Preview {
    /// The configured provider name.
    pub provider: String,
    pub provider_kind: &'static str,
    /// The provider calls, in order.
    pub requests: Vec<PreviewCall>,
    pub notes: Vec<&'static str>,
    /// What the update would warn about (`field_ignored` under `on_unsupported = "ignore"`).
    pub warnings: Vec<Warning>,
}

/// One provider call, credentials redacted.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PreviewCall {
    #[serde(flatten)]
    pub request: RequestDescription,
    /// The full URL: the provider's base URL and `path`.
    pub url: String,
    /// Why the call is made (`update`, `read the current state`, ...).
    pub purpose: &'static str,
}

/// The provider calls `prepared` would make, as the first attempt would send them: per-attempt
/// credentials minted, and redacted.
pub fn preview(
    state: &AppState,
    provider: &Provider,
    prepared: &Prepared,
    ctx: &Context,
) -> Result<Preview, UpdateError> {
    let adapter = provider.adapter.as_ref();
    let mut calls = Vec::new();
    let mut notes = Vec::new();
    let call = |request: &ProviderRequest, purpose: &'static str| {
        let request = describe(request, true);
        PreviewCall { url: format!("{}{}", provider.base_url, request.path), request, purpose }
    };
    let to_update_error = |e| update::adapter_error(state, provider, e, None);
    let read = || for_attempt(adapter, adapter.build_retrieve(ctx)?, Access::Read, ctx, 1);
    match &prepared.plan {
        Plan::Read(_) => calls.push(call(&read().map_err(to_update_error)?, "read (nothing left to update)")),
        Plan::Update(update) => {
            let current = if adapter.needs_current_state(update) {
                calls.push(call(&read().map_err(to_update_error)?, "read the current state"));
                notes.push(
                    "the update is built against the current state read first; shown here against an empty state",
                );
                CurrentState::Preview
            } else {
                CurrentState::NotRequested
            };
            let update = adapter
                .build_update(update, current, ctx)
                .and_then(|request| for_attempt(adapter, request, Access::Write, ctx, 1))
                .map_err(to_update_error)?;
            calls.push(call(&update, "update"));
        }
    }
    Ok(Preview {
        provider: provider.name.clone(),
        provider_kind: provider.kind,
        requests: calls,
        notes,
        warnings: prepared.warnings.clone(),
    })
}
