//! The provider calls an update would make, as JSON, without sending anything: the preview
//! endpoint and `checkout-gateway translate` both show this. Part of the update pipeline (no HTTP
//! types), so the CLI does not reach into the HTTP layer for it.

use checkout_provider_interface::wire::describe_request;
use checkout_provider_interface::{Access, Context, CurrentState, ProviderRequest, for_attempt};
use serde_json::{Value, json};

use crate::config::Provider;
use crate::failure::UpdateError;
use crate::state::AppState;
use crate::update::{self, Plan, Prepared};

/// The provider calls `prepared` would make, as the first attempt would send them: per-attempt
/// credentials minted, and redacted.
pub fn preview(
    state: &AppState,
    provider: &Provider,
    prepared: &Prepared,
    ctx: &Context,
) -> Result<Value, UpdateError> {
    let adapter = provider.adapter.as_ref();
    let mut calls = Vec::new();
    let mut notes = Vec::new();
    let describe = |request: &ProviderRequest, purpose: &str| {
        let mut call = describe_request(request, true);
        if let Some(object) = call.as_object_mut() {
            let path = object.get("path").and_then(Value::as_str).unwrap_or("/").to_owned();
            object.insert("url".to_owned(), Value::String(format!("{}{path}", provider.base_url)));
            object.insert("purpose".to_owned(), Value::String(purpose.to_owned()));
        }
        call
    };
    let to_update_error = |e| update::adapter_error(state, provider, e, None);
    let read = || for_attempt(adapter, adapter.build_retrieve(ctx)?, Access::Read, ctx, 1);
    match &prepared.plan {
        Plan::Read(_) => calls.push(describe(&read().map_err(to_update_error)?, "read (nothing left to update)")),
        Plan::Update(update) => {
            let current = if adapter.needs_current_state(update) {
                calls.push(describe(&read().map_err(to_update_error)?, "read the current state"));
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
            calls.push(describe(&update, "update"));
        }
    }
    Ok(json!({
        "provider": provider.name,
        "provider_kind": provider.kind,
        "requests": calls,
        "notes": notes,
        "warnings": prepared.warnings,
    }))
}
