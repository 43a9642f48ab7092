//! Data-driven contract cases: one JSON file per case under `providers/<kind>/contracts/`.
//!
//! A case gives the provider config, the context, a unified request (or a retrieve), and then
//! either the expected pre-dispatch rejection, or the exact provider request(s) expected plus a
//! provider response and the unified session or error it must map to. The gateway's
//! `tests/contracts.rs` runs every case of every registered provider through [`run_case`];
//! with `UPDATE_EXPECT=1` it first rewrites each case's expected outputs ([`rewrite_dir`]).
//! A case marked `live_safe` also runs against a live account (`checkout-gateway contract-test`),
//! whose answers [`record_answers`] writes back into the case.

mod error;
mod live;
mod ordered;
mod rewrite;

pub use error::CaseError;
pub use live::{LiveAnswers, record_answers};
pub use rewrite::{rewrite_dir, rewrite_file};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use self::rewrite::Outputs;
use crate::adapter::{CurrentState, for_attempt};
use crate::capability::{Refused, check_update};
use crate::wire::describe_request;
use crate::{
    Access, Adapter, AdapterError, ConfigError, Context, ProviderResponse, Secret, SecretRef, SecretResolver,
    UnifiedUpdate,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What the case shows, for people reading a failure.
    pub description: String,
    /// The case makes sense against a live sandbox account (`checkout-gateway contract-test`):
    /// its request names nothing but the session, and its answer is no failure a provider must
    /// be made to produce. Not for rejections, error shapes or fixtures that name provider objects.
    #[serde(default)]
    pub live_safe: bool,
    /// The provider table's kind-specific settings (secrets as `{ "value": … }`).
    pub provider_config: Map<String, Value>,
    pub context: CaseContext,
    pub operation: Operation,
    /// The unified body (update only).
    #[serde(default)]
    pub unified_request: Option<Value>,
    /// The outcome when the gateway must refuse before any provider call.
    #[serde(default)]
    pub expected_rejection: Option<Value>,
    /// For read-then-write adapters: the read the adapter asks for and the answer it gets.
    #[serde(default)]
    pub current_state: Option<Exchange>,
    #[serde(default)]
    pub expected_provider_request: Option<Value>,
    #[serde(default)]
    pub provider_response: Option<CaseResponse>,
    /// The follow-up read the adapter asks for after a successful answer (e.g. the rest of a
    /// paginated list) and the answer it gets.
    #[serde(default)]
    pub follow_up: Option<Exchange>,
    #[serde(default)]
    pub expected_session: Option<Value>,
    #[serde(default)]
    pub expected_error: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseContext {
    pub session_id: String,
    #[serde(default = "default_request_id")]
    pub request_id: String,
    #[serde(default = "default_idempotency_key")]
    pub idempotency_key: String,
    #[serde(default = "default_now")]
    pub now: String,
    #[serde(default = "default_nonce")]
    pub nonce: String,
}

fn default_request_id() -> String {
    "req_contract".to_owned()
}
fn default_idempotency_key() -> String {
    "idem_contract".to_owned()
}
fn default_now() -> String {
    "2026-11-23T12:00:00Z".to_owned()
}
fn default_nonce() -> String {
    "nonce_contract".to_owned()
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Update,
    Retrieve,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    pub expected_request: Value,
    pub response: CaseResponse,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CaseResponse {
    pub status: u16,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub headers: Map<String, Value>,
    /// A JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// A raw body, for unparseable answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
}

impl CaseResponse {
    pub fn to_response(&self) -> Result<ProviderResponse, CaseError> {
        let body = match (&self.body, &self.body_text) {
            (Some(json), None) => serde_json::to_vec(json).map_err(CaseError::Json)?,
            (None, Some(text)) => text.clone().into_bytes(),
            (None, None) => Vec::new(),
            (Some(_), Some(_)) => return Err(CaseError::Inputs("give `body` or `body_text`, not both")),
        };
        let mut builder = http::Response::builder().status(self.status);
        if self.body.is_some() {
            builder = builder.header(http::header::CONTENT_TYPE, crate::wire::JSON);
        }
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str().unwrap_or_default());
        }
        builder.body(body).map_err(CaseError::Response)
    }
}

/// Secrets in contract cases are inline test values.
pub struct InlineSecrets;

impl SecretResolver for InlineSecrets {
    fn resolve(&self, key: &str, reference: &SecretRef) -> Result<Secret, ConfigError> {
        match reference {
            SecretRef::Value(value) => Ok(Secret::new(value.clone())),
            SecretRef::Env(_) | SecretRef::File(_) => {
                Err(ConfigError::new(key, "contract cases use inline `value` secrets"))
            }
        }
    }
}

impl Case {
    pub fn context(&self) -> Result<Context, CaseError> {
        let now = OffsetDateTime::parse(&self.context.now, &Rfc3339).map_err(CaseError::Clock)?;
        Ok(Context {
            session_id: self.context.session_id.clone(),
            request_id: self.context.request_id.clone(),
            idempotency_key: self.context.idempotency_key.clone(),
            now,
            nonce: self.context.nonce.clone(),
        })
    }
}

/// The comparable JSON form of an adapter error.
pub fn describe_error(error: &AdapterError) -> Value {
    let pointers = |problems: &[crate::FieldProblem]| problems.iter().map(|p| p.pointer.clone()).collect::<Vec<_>>();
    match error {
        AdapterError::InvalidSessionId(_) => json!({ "code": "invalid_session_id" }),
        AdapterError::Unsupported(problems) => json!({ "code": "unsupported_field", "pointers": pointers(problems) }),
        AdapterError::Invalid(problems) => json!({ "code": "validation_failed", "pointers": pointers(problems) }),
        AdapterError::Unparseable(_) => json!({ "code": "provider_error" }),
        AdapterError::Internal { what, .. } => json!({ "code": "internal_error", "what": what }),
        AdapterError::Provider(failure) => json!({
            "code": failure.class.code(),
            "class": failure.class,
            "status": failure.status,
            "provider_code": failure.code,
            "message": failure.message,
            "param": failure.param,
            "request_id": failure.request_id,
            "pointers": pointers(&failure.errors),
        }),
    }
}

/// Run one case against an adapter `factory` built from the case's config. `Err` says what
/// differed.
pub fn run_case(factory: &crate::ProviderFactory, adapter: &dyn Adapter, case: &Case) -> Result<(), CaseError> {
    run_with(factory, adapter, case, &mut Outputs::Verify)
}

/// [`run_case`], with each expected output compared or recorded as `outputs` says.
fn run_with(
    factory: &crate::ProviderFactory,
    adapter: &dyn Adapter,
    case: &Case,
    outputs: &mut Outputs<'_>,
) -> Result<(), CaseError> {
    let ctx = case.context()?;
    if let Err(why) = adapter.check_session_id(&ctx.session_id) {
        let got = describe_error(&AdapterError::InvalidSessionId(why));
        return outputs.expect("expected_rejection", case.expected_rejection.as_ref(), &got);
    }
    let access = match case.operation {
        Operation::Retrieve => Access::Read,
        Operation::Update => Access::Write,
    };
    let request = match case.operation {
        Operation::Retrieve => adapter.build_retrieve(&ctx),
        Operation::Update => {
            let body =
                case.unified_request.clone().ok_or(CaseError::Inputs("an update case needs `unified_request`"))?;
            let update: UnifiedUpdate = serde_json::from_value(body).map_err(CaseError::UnifiedRequest)?;
            let update = match check_update(factory, adapter, update) {
                Ok(update) => update,
                Err(refused) => {
                    let Refused { problems, .. } = *refused;
                    let error = if problems.unsupported.is_empty() {
                        AdapterError::Invalid(problems.invalid)
                    } else {
                        AdapterError::Unsupported(problems.unsupported)
                    };
                    return outputs.expect(
                        "expected_rejection",
                        case.expected_rejection.as_ref(),
                        &describe_error(&error),
                    );
                }
            };
            let current = read_current_state(adapter, case, &update, &ctx, outputs)?;
            let current = current.as_ref().map_or(CurrentState::NotRequested, CurrentState::Read);
            adapter.build_update(&update, current, &ctx)
        }
    };
    // As the first attempt sends it, with the case's clock and nonce.
    let request = match request.and_then(|request| for_attempt(adapter, request, access, &ctx, 1)) {
        Ok(request) => request,
        Err(error) => {
            return outputs.expect("expected_rejection", case.expected_rejection.as_ref(), &describe_error(&error));
        }
    };
    outputs.expect_absent("expected_rejection", case.expected_rejection.as_ref())?;
    outputs.expect(
        "expected_provider_request",
        case.expected_provider_request.as_ref(),
        &describe_request(&request, false),
    )?;
    let response =
        case.provider_response.as_ref().ok_or(CaseError::Inputs("missing `provider_response`"))?.to_response()?;
    let follow_up_failed = |source| CaseError::Adapter { step: "follow_up", source };
    let follow_up = if response.status().is_success() {
        adapter.follow_up(&response, &ctx).map_err(follow_up_failed)?
    } else {
        None
    };
    let parsed = match (follow_up, &case.follow_up) {
        (None, None) => adapter.parse_session(&response, &ctx),
        (None, Some(_)) => {
            return Err(CaseError::Inputs("`follow_up` given but the adapter asks for no follow-up read"));
        }
        (Some(_), None) => return Err(CaseError::Inputs("the adapter asks for a follow-up read: give `follow_up`")),
        (Some(read), Some(exchange)) => {
            let read = for_attempt(adapter, read, Access::Read, &ctx, 1).map_err(follow_up_failed)?;
            outputs.expect(
                "follow_up.expected_request",
                Some(&exchange.expected_request),
                &describe_request(&read, false),
            )?;
            adapter.parse_with_follow_up(&response, &exchange.response.to_response()?, &ctx)
        }
    };
    match parsed {
        Ok(mut session) => {
            // As the gateway answers it: with what the adapter noticed while building.
            session.warnings.extend_from_slice(crate::wire::build_warnings(&request));
            let mut got = serde_json::to_value(&session).map_err(CaseError::Json)?;
            if let Some(object) = got.as_object_mut() {
                object.remove("provider");
            }
            outputs.expect("expected_session", case.expected_session.as_ref(), &got)
        }
        Err(error) => outputs.expect("expected_error", case.expected_error.as_ref(), &describe_error(&error)),
    }
}

fn read_current_state(
    adapter: &dyn Adapter,
    case: &Case,
    update: &UnifiedUpdate,
    ctx: &Context,
    outputs: &mut Outputs<'_>,
) -> Result<Option<ProviderResponse>, CaseError> {
    if !adapter.needs_current_state(update) {
        return match case.current_state {
            Some(_) => Err(CaseError::Inputs("`current_state` given but the adapter does not read first")),
            None => Ok(None),
        };
    }
    let exchange =
        case.current_state.as_ref().ok_or(CaseError::Inputs("the adapter reads first: give `current_state`"))?;
    let read = adapter
        .build_retrieve(ctx)
        .and_then(|read| for_attempt(adapter, read, Access::Read, ctx, 1))
        .map_err(|source| CaseError::Adapter { step: "build_retrieve", source })?;
    outputs.expect(
        "current_state.expected_request",
        Some(&exchange.expected_request),
        &describe_request(&read, false),
    )?;
    exchange.response.to_response().map(Some)
}

fn expect_equal(what: &'static str, expected: Option<&Value>, got: &Value) -> Result<(), CaseError> {
    match expected {
        Some(expected) if expected == got => Ok(()),
        Some(expected) => Err(CaseError::Differs { what, expected: expected.clone(), got: got.clone() }),
        None => Err(CaseError::Missing { what, got: got.clone() }),
    }
}

/// Run every `*.json` case in `dir` against adapters built by `factory`; all failures are
/// collected into one report. Returns the number of cases run.
pub fn run_dir(factory: &crate::ProviderFactory, dir: &std::path::Path) -> Result<usize, CaseError> {
    let paths = case_paths(dir)?;
    let failures: Vec<CaseError> =
        paths.iter().filter_map(|path| run_file(factory, path).err().map(|why| why.at(path))).collect();
    if failures.is_empty() { Ok(paths.len()) } else { Err(CaseError::Several(failures)) }
}

/// The `*.json` case files in `dir`, sorted.
pub fn case_paths(dir: &std::path::Path) -> Result<Vec<std::path::PathBuf>, CaseError> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| CaseError::Io(e).at(dir))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// Load one case file and run it.
pub fn run_file(factory: &crate::ProviderFactory, path: &std::path::Path) -> Result<(), CaseError> {
    let text = std::fs::read_to_string(path).map_err(CaseError::Io)?;
    let case: Case = serde_json::from_str(&text).map_err(CaseError::NotACase)?;
    let setup = crate::ProviderSetup { name: "contract", settings: &case.provider_config, secrets: &InlineSecrets };
    let adapter = (factory.build)(&setup).map_err(CaseError::ProviderConfig)?;
    run_case(factory, adapter.as_ref(), &case)
        .map_err(|why| CaseError::Case { description: case.description.clone(), source: Box::new(why) })
}
