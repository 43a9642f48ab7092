//! The unified update pipeline, independent of HTTP: validate the body against the schema,
//! type it, check it against the provider's capabilities (rejecting or dropping unsupported
//! fields), then build, send and map the provider call(s). Every failure is an [`UpdateError`]
//! (`crate::failure`); the HTTP layer decides how it is answered.

use std::sync::Arc;

use checkout_provider_interface::capability::{Refused, check_update};
use checkout_provider_interface::{
    Access, AdapterError, CheckedUpdate, Context, CurrentState, DetailsPatch, FailureClass, FieldProblem, PagePatch,
    Patch, ProviderFailure, ProviderRequest, ProviderResponse, RedirectsPatch, UnifiedSession, UnifiedUpdate, Warning,
};
use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::config::{OnUnsupported, Provider};
use crate::dispatch::{DispatchError, retry_after};
use crate::failure::{ProviderRef, UpdateError};
use crate::ownership::{self, Owner};
use crate::state::AppState;
use crate::token_source::TokenError;

/// A validated update, ready for its provider.
pub struct Prepared {
    pub plan: Plan,
    /// `field_ignored` warnings under `on_unsupported = "ignore"`.
    pub warnings: Vec<Warning>,
}

/// What a prepared update sends.
pub enum Plan {
    /// Checked against the provider's capabilities and rules: built and sent.
    Update(CheckedUpdate),
    /// Nothing the provider can express is left: the update becomes a read. The update is kept
    /// for an ownership rule to inspect.
    Read(UnifiedUpdate),
}

impl Prepared {
    /// The update as validated (without the fields dropped under "ignore"), whatever the plan.
    pub fn update(&self) -> &UnifiedUpdate {
        match &self.plan {
            Plan::Update(checked) => checked,
            Plan::Read(update) => update,
        }
    }
}

/// Validate `body` against the unified schema (every violation at once) and type it.
pub fn validate(state: &AppState, body: &Value) -> Result<UnifiedUpdate, UpdateError> {
    let violations = state.schema.violations(body);
    if !violations.is_empty() {
        return Err(UpdateError::ValidationFailed(violations));
    }
    typed(body)
}

/// Validate `body` for `provider`. Every problem is reported at once.
pub fn prepare(
    state: &AppState,
    provider: &Provider,
    body: Value,
    mode: OnUnsupported,
) -> Result<Prepared, UpdateError> {
    let update = validate(state, &body)?;
    fit(provider, body, update, mode)
}

/// Fit a valid update to `provider`'s capabilities: refuse what it cannot express, or drop it
/// with warnings under `ignore`.
pub fn fit(
    provider: &Provider,
    mut body: Value,
    update: UnifiedUpdate,
    mode: OnUnsupported,
) -> Result<Prepared, UpdateError> {
    let adapter = provider.adapter.as_ref();
    let Refused { mut update, problems } = match check_update(provider.factory, adapter, update) {
        // Nothing left to send becomes a read.
        Ok(checked) if nothing_to_send(provider, &checked) => {
            return Ok(Prepared { plan: Plan::Read(checked.into_inner()), warnings: Vec::new() });
        }
        Ok(checked) => return Ok(Prepared { plan: Plan::Update(checked), warnings: Vec::new() }),
        Err(refused) => *refused,
    };
    let mut warnings = Vec::new();
    if !problems.unsupported.is_empty() {
        if mode == OnUnsupported::Reject {
            return Err(UpdateError::UnsupportedField {
                provider: ProviderRef::of(provider),
                problems: problems.unsupported,
            });
        }
        for problem in &problems.unsupported {
            warnings.push(Warning {
                code: "field_ignored".to_owned(),
                pointer: Some(problem.pointer.clone()),
                detail: problem.detail.clone(),
            });
        }
        remove_pointers(&mut body, problems.unsupported.iter().map(|p| p.pointer.as_str()));
        update = typed(&body)?;
    }
    if nothing_to_send(provider, &update) {
        // Nothing left to send becomes a read: no provider rule applies to an empty update.
        return Ok(Prepared { plan: Plan::Read(update), warnings });
    }
    // What is left is judged on its own (an ignored field may have carried a rule's problem).
    let problems = if warnings.is_empty() {
        problems
    } else {
        match check_update(provider.factory, adapter, update) {
            Ok(checked) => return Ok(Prepared { plan: Plan::Update(checked), warnings }),
            Err(refused) => refused.problems,
        }
    };
    if !problems.unsupported.is_empty() {
        return Err(UpdateError::UnsupportedField {
            provider: ProviderRef::of(provider),
            problems: problems.unsupported,
        });
    }
    Err(UpdateError::ValidationFailed(problems.invalid))
}

/// Nothing the provider can express: no option of its kind and no unified field.
fn nothing_to_send(provider: &Provider, update: &UnifiedUpdate) -> bool {
    !update.provider_options.contains_key(provider.kind) && without_options(update)
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
fn typed(body: &Value) -> Result<UnifiedUpdate, UpdateError> {
    UnifiedUpdate::deserialize(body)
        .map_err(|e| UpdateError::ValidationFailed(vec![FieldProblem::new("", e.to_string())]))
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
) -> Result<(UnifiedSession, ProviderResponse), UpdateError> {
    let adapter = provider.adapter.as_ref();
    let update = match &prepared.plan {
        Plan::Read(_) => return retrieve(state, provider, owner, ctx, deadline).await,
        Plan::Update(update) => update,
    };
    let needs_state = adapter.needs_current_state(update);
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
    let current = current.as_ref().map_or(CurrentState::NotRequested, CurrentState::Read);
    let request = adapter.build_update(update, current, ctx).map_err(|e| adapter_error(state, provider, e, None))?;
    let retry_safe = provider.factory.capabilities.idempotency != checkout_provider_interface::IdempotencyMode::Unsafe;
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
) -> Result<(Context, ProviderResponse), UpdateError> {
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
) -> Result<(UnifiedSession, ProviderResponse), UpdateError> {
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
) -> Result<(UnifiedSession, ProviderResponse), UpdateError> {
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
) -> Result<ProviderResponse, UpdateError> {
    state
        .dispatcher
        .send(provider, request, access, ctx, deadline, retry_safe)
        .await
        .map_err(|error| dispatch_error(state, provider, error))
}

/// Class a dispatch failure; its texts pass the secret scrubber (a transport error can quote a
/// URL or a header). Also the passthrough's mapping.
pub fn dispatch_error(state: &AppState, provider: &Provider, error: DispatchError) -> UpdateError {
    let provider_ref = ProviderRef::of(provider);
    match error {
        // The request could not be made ready to send (per-attempt credentials, e.g. a JWT that
        // cannot be signed): the gateway's own fault, whatever the adapter called it.
        DispatchError::Prepare(AdapterError::Internal { what, cause }) => {
            UpdateError::Internal { what: format!("{}: {what}", provider.name), cause }
        }
        DispatchError::Prepare(cause) => UpdateError::Internal {
            what: format!("the request to {} could not be prepared", provider.name),
            cause: Some(Box::new(cause)),
        },
        DispatchError::Timeout => UpdateError::ProviderTimeout { provider: provider_ref },
        DispatchError::Unreachable { detail } => UpdateError::ProviderUnavailable {
            provider: provider_ref,
            detail: state.scrub(&detail),
            retry_after_secs: 1,
        },
        error @ DispatchError::CircuitOpen { retry_after } => UpdateError::ProviderUnavailable {
            provider: provider_ref,
            detail: error.to_string(),
            retry_after_secs: retry_after.as_secs().max(1),
        },
        DispatchError::Token(error) => token_error(state, provider_ref, &error),
        error @ (DispatchError::ResponseTooLarge { .. } | DispatchError::Transport { .. }) => {
            UpdateError::ProviderUnparseable { provider: provider_ref, detail: state.scrub(&error.to_string()) }
        }
    }
}

/// No bearer token: a timeout is the provider's timeout, refused credentials are an
/// authentication failure at the provider (the operator's to fix), anything else makes the
/// provider unavailable for now. The token endpoint's body is never shown (it may echo a secret).
fn token_error(state: &AppState, provider: ProviderRef, error: &TokenError) -> UpdateError {
    match error {
        TokenError::Timeout => UpdateError::ProviderTimeout { provider },
        TokenError::Refused { status } => {
            let mut failure = ProviderFailure::new(FailureClass::Authentication, *status);
            failure.message = Some(error.to_string());
            UpdateError::Provider { provider, failure: Box::new(failure), retry_after_secs: None }
        }
        TokenError::Unreachable | TokenError::Failing { .. } | TokenError::Unusable(_) => {
            UpdateError::ProviderUnavailable { provider, detail: state.scrub(&error.to_string()), retry_after_secs: 1 }
        }
    }
}

/// Map an adapter error to the pipeline's error; every provider text passes the secret scrubber.
pub fn adapter_error(
    state: &AppState,
    provider: &Provider,
    error: AdapterError,
    response: Option<&ProviderResponse>,
) -> UpdateError {
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
) -> UpdateError {
    let reference = ProviderRef::of(provider);
    match error {
        AdapterError::InvalidSessionId(why) => UpdateError::InvalidSessionId(why.to_string()),
        // The gateway's own fault (a request that cannot be built, a key that cannot sign):
        // 500 internal_error, the cause logged, never shown.
        AdapterError::Internal { what, cause } => {
            UpdateError::Internal { what: format!("{}: {what}", provider.name), cause }
        }
        AdapterError::Unsupported(problems) => UpdateError::UnsupportedField { provider: reference, problems },
        AdapterError::Invalid(problems) => UpdateError::ValidationFailed(problems),
        AdapterError::Unparseable(detail) => {
            UpdateError::ProviderUnparseable { provider: reference, detail: state.scrubber(answers).scrub(&detail) }
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
            UpdateError::Provider { provider: reference, failure, retry_after_secs }
        }
    }
}
