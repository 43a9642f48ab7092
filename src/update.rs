//! The unified update pipeline, independent of HTTP: validate the body against the schema,
//! type it, check it against the provider's capabilities (rejecting or dropping unsupported
//! fields), then build, send and map the provider call(s).

use std::sync::Arc;

use checkout_provider_interface::capability::check_update;
use checkout_provider_interface::{
    Access, AdapterError, Context, DetailsPatch, FieldProblem, PagePatch, Patch, ProviderRequest, ProviderResponse,
    RedirectsPatch, UnifiedSession, UnifiedUpdate, Warning,
};
use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::api::problem::{ApiError, ProviderRef};
use crate::config::{OnUnsupported, Provider};
use crate::dispatch::{DispatchError, retry_after};
use crate::ownership::{self, Owner};
use crate::state::AppState;

/// A validated update, ready for its provider.
pub struct Prepared {
    pub update: UnifiedUpdate,
    /// `field_ignored` warnings under `on_unsupported = "ignore"`.
    pub warnings: Vec<Warning>,
    /// Nothing the provider can express is left: the update becomes a read.
    pub nothing_to_send: bool,
}

/// Validate `body` against the unified schema (every violation at once) and type it.
pub fn validate(state: &AppState, body: &Value) -> Result<UnifiedUpdate, ApiError> {
    let violations = state.schema.violations(body);
    if !violations.is_empty() {
        return Err(ApiError::ValidationFailed(violations));
    }
    typed(body)
}

/// Validate `body` for `provider`. Every problem is reported at once.
pub fn prepare(state: &AppState, provider: &Provider, body: Value, mode: OnUnsupported) -> Result<Prepared, ApiError> {
    let update = validate(state, &body)?;
    fit(provider, body, update, mode)
}

/// Fit a valid update to `provider`'s capabilities: refuse what it cannot express, or drop it
/// with warnings under `ignore`.
pub fn fit(
    provider: &Provider,
    mut body: Value,
    mut update: UnifiedUpdate,
    mode: OnUnsupported,
) -> Result<Prepared, ApiError> {
    let mut warnings = Vec::new();
    let check = check_update(provider.adapter.as_ref(), &update);
    if !check.unsupported.is_empty() {
        if mode == OnUnsupported::Reject {
            return Err(ApiError::UnsupportedField { provider: provider_ref(provider), problems: check.unsupported });
        }
        for problem in &check.unsupported {
            warnings.push(Warning {
                code: "field_ignored".to_owned(),
                pointer: Some(problem.pointer.clone()),
                detail: problem.detail.clone(),
            });
        }
        remove_pointers(&mut body, check.unsupported.iter().map(|p| p.pointer.as_str()));
        update = typed(&body)?;
    }
    let nothing_to_send = !update.provider_options.contains_key(provider.kind) && without_options(&update);
    if nothing_to_send {
        // Nothing left to send becomes a read: no provider rule applies to an empty update.
        return Ok(Prepared { update, warnings, nothing_to_send });
    }
    // What is left is judged on its own (an ignored field may have carried a rule's problem).
    let check = if warnings.is_empty() { check } else { check_update(provider.adapter.as_ref(), &update) };
    if !check.unsupported.is_empty() {
        return Err(ApiError::UnsupportedField { provider: provider_ref(provider), problems: check.unsupported });
    }
    if !check.invalid.is_empty() {
        return Err(ApiError::ValidationFailed(check.invalid));
    }
    Ok(Prepared { update, warnings, nothing_to_send })
}

/// Whether nothing but `provider_options` is set (checked field by field: no clone on the hot path).
fn without_options(update: &UnifiedUpdate) -> bool {
    let UnifiedUpdate {
        metadata,
        line_items,
        currency,
        shipping_rate,
        shipping_options,
        shipping_details,
        billing_details,
        redirects,
        page,
        description,
        expires_in,
        provider_options: _,
    } = update;
    // An empty object is an empty merge patch: what removing every ignored key of it leaves.
    let no_metadata = match metadata {
        Patch::Absent => true,
        Patch::Set(map) => map.is_empty(),
        Patch::Clear => false,
    };
    no_metadata
        && line_items.is_none()
        && currency.is_none()
        && shipping_rate.is_none()
        && shipping_options.is_absent()
        && is_empty_patch(shipping_details)
        && is_empty_patch(billing_details)
        && redirects.as_ref().is_none_or(|r| *r == RedirectsPatch::default())
        && page.as_ref().is_none_or(|p| *p == PagePatch::default())
        && description.is_absent()
        && expires_in.is_none()
}

fn is_empty_patch(details: &Patch<DetailsPatch>) -> bool {
    match details {
        Patch::Absent => true,
        Patch::Set(patch) => *patch == DetailsPatch::default(),
        Patch::Clear => false,
    }
}

/// The schema has passed, so a failure here means schema and types disagree: report it as a
/// validation problem rather than a 500, with serde's own description.
fn typed(body: &Value) -> Result<UnifiedUpdate, ApiError> {
    UnifiedUpdate::deserialize(body).map_err(|e| ApiError::ValidationFailed(vec![FieldProblem::new("", e.to_string())]))
}

/// Remove the values at `pointers`, deepest and highest-index first so indices stay valid.
fn remove_pointers<'a>(body: &mut Value, pointers: impl Iterator<Item = &'a str>) {
    let mut pointers: Vec<&str> = pointers.collect();
    pointers.sort_by_key(|p| std::cmp::Reverse(pointer_order(p)));
    for pointer in pointers {
        let Some((parent, last)) = pointer.rsplit_once('/') else { continue };
        let token = last.replace("~1", "/").replace("~0", "~");
        match body.pointer_mut(parent) {
            Some(Value::Object(map)) => {
                map.remove(&token);
            }
            Some(Value::Array(items)) => {
                if let Ok(index) = token.parse::<usize>() {
                    if index < items.len() {
                        items.remove(index);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Sort key: tokens compared numerically where numeric, so `/line_items/10` follows `/line_items/9`.
fn pointer_order(pointer: &str) -> Vec<(u64, String)> {
    pointer.split('/').map(|t| (t.parse::<u64>().unwrap_or(u64::MAX), t.to_owned())).collect()
}

pub fn provider_ref(provider: &Provider) -> ProviderRef {
    ProviderRef { name: provider.name.clone(), kind: provider.kind }
}

/// A fresh context for one provider call.
pub fn context(session_id: &str, request_id: &str, idempotency_key: &str) -> Context {
    Context {
        session_id: session_id.to_owned(),
        request_id: request_id.to_owned(),
        idempotency_key: idempotency_key.to_owned(),
        now: time::OffsetDateTime::now_utc(),
        nonce: uuid::Uuid::new_v4().to_string(),
    }
}

/// Send an update (reading first when the adapter needs the current state, or when `owner`
/// must be checked) and map the answer.
pub async fn execute(
    state: &AppState,
    provider: &Arc<Provider>,
    owner: Option<Owner<'_>>,
    prepared: &Prepared,
    ctx: &Context,
    deadline: Instant,
) -> Result<(UnifiedSession, ProviderResponse), ApiError> {
    let adapter = provider.adapter.as_ref();
    if prepared.nothing_to_send {
        return retrieve(state, provider, owner, ctx, deadline).await;
    }
    let needs_state = adapter.needs_current_state(&prepared.update);
    // Under an ownership rule every update reads first: a write must never reach another
    // tenant's session. The read the adapter needs anyway serves for both.
    let current = if needs_state || owner.is_some() {
        let (read_ctx, response) =
            read_first(state, provider, ctx, deadline).await.map_err(|e| ownership::uniform(provider, e))?;
        if let Some(owner) = owner {
            let session = adapter
                .parse_session(&response, &read_ctx)
                .map_err(|e| adapter_error(state, provider, e, Some(&response)))?;
            if !owner.owns(session.metadata.as_ref()) {
                return Err(ownership::not_found(provider));
            }
        }
        needs_state.then_some(response)
    } else {
        None
    };
    let request = adapter
        .build_update(&prepared.update, current.as_ref(), ctx)
        .map_err(|e| adapter_error(state, provider, e, None))?;
    let retry_safe = adapter.capabilities().idempotency != checkout_provider_interface::IdempotencyMode::Unsafe;
    let response = send(state, provider, &request, Access::Write, ctx, deadline, retry_safe).await?;
    let (mut session, response) =
        parse(state, provider, response, ctx, deadline).await.map_err(|e| ownership::uniform(provider, e))?;
    session.warnings.extend_from_slice(checkout_provider_interface::wire::build_warnings(&request));
    Ok((session, response))
}

/// The session as it is before an update, with the context it was read with. A failed read's
/// error is the answer (e.g. 404 session_not_found).
async fn read_first(
    state: &AppState,
    provider: &Provider,
    ctx: &Context,
    deadline: Instant,
) -> Result<(Context, ProviderResponse), ApiError> {
    let adapter = provider.adapter.as_ref();
    let read_ctx = Context { nonce: uuid::Uuid::new_v4().to_string(), ..ctx.clone() };
    let read = adapter.build_retrieve(&read_ctx).map_err(|e| adapter_error(state, provider, e, None))?;
    let response = send(state, provider, &read, Access::Read, ctx, deadline, true).await?;
    if !response.status().is_success() {
        let error = match adapter.parse_session(&response, &read_ctx) {
            Err(e) => e,
            Ok(_) => AdapterError::unparseable(format!("read answered {}", response.status())),
        };
        return Err(adapter_error(state, provider, error, Some(&response)));
    }
    Ok((read_ctx, response))
}

/// Read a session and map it; under an ownership rule, another tenant's session is not found.
pub async fn retrieve(
    state: &AppState,
    provider: &Arc<Provider>,
    owner: Option<Owner<'_>>,
    ctx: &Context,
    deadline: Instant,
) -> Result<(UnifiedSession, ProviderResponse), ApiError> {
    let request = provider.adapter.build_retrieve(ctx).map_err(|e| adapter_error(state, provider, e, None))?;
    let response = send(state, provider, &request, Access::Read, ctx, deadline, true).await?;
    let (session, response) =
        parse(state, provider, response, ctx, deadline).await.map_err(|e| ownership::uniform(provider, e))?;
    if owner.is_some_and(|owner| !owner.owns(session.metadata.as_ref())) {
        return Err(ownership::not_found(provider));
    }
    Ok((session, response))
}

/// Map an answer, first sending the follow-up read the adapter asks for (the rest of a list, or
/// the object after a bodiless write). A failed follow-up never hides the answer it follows:
/// the session is mapped from that answer alone, with a `follow_up_failed` warning.
async fn parse(
    state: &AppState,
    provider: &Provider,
    response: ProviderResponse,
    ctx: &Context,
    deadline: Instant,
) -> Result<(UnifiedSession, ProviderResponse), ApiError> {
    let adapter = provider.adapter.as_ref();
    let follow_up = if response.status().is_success() {
        adapter.follow_up(&response, ctx).map_err(|e| adapter_error(state, provider, e, Some(&response)))?
    } else {
        None
    };
    let mut warning = None;
    let mut follow_up_answer = None;
    let parsed = match follow_up {
        None => adapter.parse_session(&response, ctx),
        Some(read) => match send(state, provider, &read, Access::Read, ctx, deadline, true).await {
            Ok(answer) if answer.status().is_success() => {
                let parsed = adapter.parse_with_follow_up(&response, &answer, ctx);
                follow_up_answer = Some(answer);
                parsed
            }
            outcome => {
                let why = match outcome {
                    Ok(answer) => format!("the provider answered {}", answer.status()),
                    Err(error) => error.to_string(),
                };
                warning = Some(Warning {
                    code: "follow_up_failed".to_owned(),
                    pointer: None,
                    detail: format!("the follow-up read failed ({why}); the session is shown as first answered"),
                });
                adapter.parse_session(&response, ctx)
            }
        },
    };
    match parsed {
        Ok(mut session) => {
            session.provider.clone_from(&provider.name);
            session.warnings.extend(warning);
            Ok((session, response))
        }
        Err(error) => {
            let answers: Vec<&ProviderResponse> = std::iter::once(&response).chain(follow_up_answer.as_ref()).collect();
            Err(classified(state, provider, error, Some(&response), &answers))
        }
    }
}

async fn send(
    state: &AppState,
    provider: &Provider,
    request: &ProviderRequest,
    access: Access,
    ctx: &Context,
    deadline: Instant,
    retry_safe: bool,
) -> Result<ProviderResponse, ApiError> {
    state.dispatcher.send(provider, request, access, ctx, deadline, retry_safe).await.map_err(|error| match error {
        DispatchError::Prepare(error) => adapter_error(state, provider, error, None),
        DispatchError::Timeout => ApiError::ProviderTimeout { provider: provider_ref(provider) },
        DispatchError::Unreachable { detail } => {
            ApiError::ProviderUnavailable { provider: provider_ref(provider), detail, retry_after_secs: 1 }
        }
        error @ DispatchError::CircuitOpen { retry_after } => ApiError::ProviderUnavailable {
            provider: provider_ref(provider),
            detail: error.to_string(),
            retry_after_secs: retry_after.as_secs().max(1),
        },
        error @ (DispatchError::ResponseTooLarge { .. } | DispatchError::Transport { .. }) => {
            ApiError::ProviderUnparseable { provider: provider_ref(provider), detail: error.to_string() }
        }
    })
}

/// Map an adapter error to the API error; every provider text passes the secret scrubber.
pub fn adapter_error(
    state: &AppState,
    provider: &Provider,
    error: AdapterError,
    response: Option<&ProviderResponse>,
) -> ApiError {
    let answers: Vec<&ProviderResponse> = response.into_iter().collect();
    classified(state, provider, error, response, &answers)
}

/// [`adapter_error`] for an error drawn from `answers` (an answer and its follow-up read):
/// each text is scrubbed of every configured secret and of the credentials those answers' attempts
/// carried; `response` gives `Retry-After`.
fn classified(
    state: &AppState,
    provider: &Provider,
    error: AdapterError,
    response: Option<&ProviderResponse>,
    answers: &[&ProviderResponse],
) -> ApiError {
    let reference = provider_ref(provider);
    match error {
        AdapterError::InvalidSessionId(why) => ApiError::InvalidSessionId(why),
        AdapterError::Unsupported(problems) => ApiError::UnsupportedField { provider: reference, problems },
        AdapterError::Invalid(problems) => ApiError::ValidationFailed(problems),
        AdapterError::Unparseable(detail) => {
            ApiError::ProviderUnparseable { provider: reference, detail: state.scrubber(answers).scrub(&detail) }
        }
        AdapterError::Provider(mut failure) => {
            let scrubber = state.scrubber(answers);
            failure.code = scrubber.scrub_option(failure.code);
            failure.message = scrubber.scrub_option(failure.message);
            failure.param = scrubber.scrub_option(failure.param);
            failure.request_id = scrubber.scrub_option(failure.request_id);
            for problem in &mut failure.errors {
                problem.pointer = scrubber.scrub(&problem.pointer);
                problem.detail = scrubber.scrub(&problem.detail);
            }
            let retry_after_secs = response.and_then(retry_after).map(|d| d.as_secs());
            ApiError::Provider { provider: reference, failure, retry_after_secs }
        }
    }
}
