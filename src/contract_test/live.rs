//! One contract case sent for real: the steps of the offline runner
//! (`interface::contract::run_case`), with the provider's answers coming from its configured
//! `base_url` through the gateway's dispatcher instead of from the case file. Each request is
//! built by the adapter from the case's inputs and sent by `Dispatcher::send`, which mints each
//! attempt's headers with `for_attempt` as every gateway call does (the configured credentials,
//! timeouts, retries and breaker apply).

use std::sync::Arc;

use checkout_provider_interface::capability::{Refused, check_update};
use checkout_provider_interface::contract::{Case, CaseResponse, LiveAnswers, Operation, describe_error};
use checkout_provider_interface::{
    Access, AdapterError, Context, CurrentState, IdempotencyMode, ProviderRequest, ProviderResponse, UnifiedUpdate,
};
use serde_json::Value;
use tokio::time::Instant;

use crate::config::Provider;
use crate::dispatch::DispatchError;
use crate::scrub::TextScrubber;
use crate::state::AppState;

/// What one live run of a case gave.
pub struct LiveRun {
    /// The answers, as the case records them (configured secrets and sent credentials scrubbed).
    pub answers: LiveAnswers,
    /// The mapped outcome in the case's comparable form: the session (without the configured
    /// provider's name, which a case does not know) or the described adapter error.
    pub outcome: Result<Value, Value>,
    /// The answer did not parse at all (`AdapterError::Unparseable`).
    pub unparseable: bool,
}

/// Why a case got no answer to compare.
#[derive(Debug, thiserror::Error)]
pub enum LiveFailure {
    /// The adapter would not build the case's request: a session id it cannot take, a field the
    /// kind cannot express, or a live state it refuses to update (read first): the case is not
    /// live-safe for this provider or this session.
    #[error("the adapter refused to build the request: {0}")]
    Refused(Value),
    /// The provider refused a request the case expects it to accept.
    #[error("{step} answered {status} (the case records {recorded}): {detail}")]
    NotAccepted { step: &'static str, status: u16, recorded: String, detail: String },
    /// No answer at all (unreachable, timeout, open circuit, an answer too large).
    #[error("{step}: {source}")]
    Dispatch {
        step: &'static str,
        #[source]
        source: DispatchError,
    },
}

/// Send `case` to `provider` with `ctx` (the live session, a fresh idempotency key and clock).
/// `keep_headers` are the answer headers the case records.
pub async fn run(
    state: &AppState,
    provider: &Arc<Provider>,
    case: &Case,
    ctx: &Context,
    keep_headers: &[String],
) -> Result<LiveRun, LiveFailure> {
    let adapter = provider.adapter.as_ref();
    let deadline = Instant::now() + state.config.server.deadline;
    let send = |request: ProviderRequest, access: Access, step: &'static str| async move {
        let retry_safe = access == Access::Read || provider.factory.capabilities.idempotency != IdempotencyMode::Unsafe;
        state
            .dispatcher
            .send(provider, &request, access, ctx, deadline, retry_safe)
            .await
            .map_err(|source| LiveFailure::Dispatch { step, source })
    };
    let refused = |error: AdapterError| LiveFailure::Refused(describe_error(&error));
    adapter.check_session_id(&ctx.session_id).map_err(|why| refused(AdapterError::InvalidSessionId(why)))?;
    let mut current_state = None;
    let (request, access) = match case.operation {
        Operation::Retrieve => (adapter.build_retrieve(ctx).map_err(refused)?, Access::Read),
        Operation::Update => {
            let body = case.unified_request.clone().unwrap_or(Value::Null);
            let update: UnifiedUpdate = serde_json::from_value(body).map_err(|e| {
                LiveFailure::Refused(Value::String(format!("`unified_request` is not a unified update: {e}")))
            })?;
            let update = check_update(provider.factory, adapter, update).map_err(|refusal| {
                let Refused { problems, .. } = *refusal;
                refused(if problems.unsupported.is_empty() {
                    AdapterError::Invalid(problems.invalid)
                } else {
                    AdapterError::Unsupported(problems.unsupported)
                })
            })?;
            if adapter.needs_current_state(&update) {
                let read = adapter.build_retrieve(ctx).map_err(refused)?;
                let answer = send(read, Access::Read, "current_state").await?;
                let recorded = case.current_state.as_ref().map(|exchange| exchange.response.status);
                accepted(state, provider, ctx, &answer, recorded, "current_state")?;
                current_state = Some(answer);
            }
            let current = current_state.as_ref().map_or(CurrentState::NotRequested, CurrentState::Read);
            (adapter.build_update(&update, current, ctx).map_err(refused)?, Access::Write)
        }
    };
    let response = send(request.clone(), access, "request").await?;
    let recorded = case.provider_response.as_ref().map(|answer| answer.status);
    accepted(state, provider, ctx, &response, recorded, "request")?;
    // As the offline runner and the pipeline do: only a successful answer asks for more.
    let wanted =
        if response.status().is_success() { adapter.follow_up(&response, ctx).map_err(refused)? } else { None };
    let follow_up = match wanted {
        Some(read) => {
            let answer = send(read, Access::Read, "follow_up").await?;
            let recorded = case.follow_up.as_ref().map(|exchange| exchange.response.status);
            accepted(state, provider, ctx, &answer, recorded, "follow_up")?;
            Some(answer)
        }
        None => None,
    };
    let parsed = match &follow_up {
        Some(answer) => adapter.parse_with_follow_up(&response, answer, ctx),
        None => adapter.parse_session(&response, ctx),
    };
    let all: Vec<&ProviderResponse> =
        [current_state.as_ref(), Some(&response), follow_up.as_ref()].into_iter().flatten().collect();
    let scrubber = state.scrubber(&all);
    let unparseable = matches!(parsed, Err(AdapterError::Unparseable(_)));
    let mut outcome = match parsed {
        Ok(mut session) => {
            // As the offline runner shows it: with what the adapter noticed while building.
            session.warnings.extend_from_slice(checkout_provider_interface::wire::build_warnings(&request));
            let mut value = serde_json::to_value(&session).unwrap_or(Value::Null);
            if let Some(object) = value.as_object_mut() {
                object.remove("provider");
            }
            Ok(value)
        }
        Err(error) => Err(describe_error(&error)),
    };
    match &mut outcome {
        Ok(value) | Err(value) => scrubber.scrub_json(value),
    }
    let record = |answer: &ProviderResponse| scrubbed(&scrubber, CaseResponse::recorded(answer, keep_headers));
    let answers = LiveAnswers {
        now: ctx.now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        current_state: current_state.as_ref().map(record),
        response: record(&response),
        follow_up: follow_up.as_ref().map(record),
    };
    Ok(LiveRun { answers, outcome, unparseable })
}

/// The answer is accepted when it is a 2xx or the status the case records.
fn accepted(
    state: &AppState,
    provider: &Provider,
    ctx: &Context,
    answer: &ProviderResponse,
    recorded: Option<u16>,
    step: &'static str,
) -> Result<(), LiveFailure> {
    let status = answer.status().as_u16();
    if answer.status().is_success() || recorded == Some(status) {
        return Ok(());
    }
    // What the provider said, as the adapter reads it, never with a credential in it.
    let said = match provider.adapter.parse_session(answer, ctx) {
        Err(error) => describe_error(&error),
        Ok(_) => Value::String(format!("an answer {status} the adapter mapped to a session")),
    };
    let detail = state.scrubber(&[answer]).scrub(&said.to_string());
    let recorded = recorded.map_or_else(|| "no answer".to_owned(), |status| status.to_string());
    Err(LiveFailure::NotAccepted { step, status, recorded, detail })
}

/// `answer` with every credential the scrubber knows replaced.
fn scrubbed(scrubber: &TextScrubber, mut answer: CaseResponse) -> CaseResponse {
    if let Some(body) = answer.body.as_mut() {
        scrubber.scrub_json(body);
    }
    answer.body_text = scrubber.scrub_option(answer.body_text);
    for value in answer.headers.values_mut() {
        scrubber.scrub_json(value);
    }
    answer
}
