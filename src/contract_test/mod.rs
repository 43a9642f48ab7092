//! `checkout-gateway contract-test`: a provider's `live_safe` contract cases sent to its
//! configured `base_url` (the team's sandbox account, a simulator, Prism) instead of being
//! answered from the case files. Per case: is the request accepted, does the answer still parse,
//! is the unified answer unchanged from the one recorded (`compare`). `--record` writes the live
//! answers into the case files for review (`interface::contract::record_answers`).

mod compare;
mod live;
mod report;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use checkout_provider_interface::contract::{Case, CaseError, case_paths, record_answers};
use serde_json::Value;

pub use self::compare::{Change, VOLATILE};
pub use self::report::{CaseReport, Recording, Report, Step, Verdict};
use crate::config::Provider;
use crate::state::AppState;

/// What a run checks; a check left out is still reported, as information only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// The provider answered 2xx, or the status the case records.
    Accepted,
    /// The adapter mapped the answer to the kind of outcome the case records.
    Parses,
    /// The unified answer equals the recorded one, volatile fields aside.
    Unchanged,
}

impl Check {
    pub const ALL: [Check; 3] = [Check::Accepted, Check::Parses, Check::Unchanged];
}

impl std::str::FromStr for Check {
    type Err = UnknownCheck;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "accepted" => Ok(Check::Accepted),
            "parses" => Ok(Check::Parses),
            "unchanged" => Ok(Check::Unchanged),
            other => Err(UnknownCheck(other.to_owned())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown check `{0}`; known: accepted, parses, unchanged")]
pub struct UnknownCheck(String);

/// How to run.
pub struct Options {
    /// The configured provider's name.
    pub provider: String,
    /// The case files; by default `providers/<kind>/contracts` under the working directory.
    pub cases: Option<PathBuf>,
    /// The live session every case is sent to, instead of the case's own `context.session_id`
    /// (a sandbox account has its own sessions).
    pub session: Option<String>,
    /// Write the live answers into the case files.
    pub record: bool,
    pub checks: Vec<Check>,
}

/// Why no report could be made.
#[derive(Debug, thiserror::Error)]
pub enum ContractTestError {
    #[error("no provider named `{0}` in the config")]
    UnknownProvider(String),
    #[error("{0}")]
    Cases(#[source] CaseError),
    #[error("no case in {} is marked `live_safe`", .0.display())]
    NoLiveCase(PathBuf),
    #[error(
        "simulator.listen {listen}: {source} (a running gateway serving the simulators? stop it, or move the port)"
    )]
    Simulators {
        listen: String,
        #[source]
        source: std::io::Error,
    },
}

/// Run every `live_safe` case of `options.provider`'s kind against its configured `base_url`.
pub async fn run(state: &AppState, options: &Options) -> Result<Report, ContractTestError> {
    let provider = state
        .provider(&options.provider)
        .ok_or_else(|| ContractTestError::UnknownProvider(options.provider.clone()))?
        .clone();
    let dir =
        options.cases.clone().unwrap_or_else(|| Path::new("providers").join(provider.factory.kind).join("contracts"));
    let paths = case_paths(&dir).map_err(ContractTestError::Cases)?;
    let mut cases = Vec::new();
    for path in &paths {
        let case = load(path).map_err(ContractTestError::Cases)?;
        if case.live_safe {
            cases.push((path.clone(), case));
        }
    }
    if cases.is_empty() {
        return Err(ContractTestError::NoLiveCase(dir));
    }
    serve_simulators(state, &provider).await?;
    let mut reports = Vec::new();
    for (path, case) in &cases {
        reports.push(run_case(state, &provider, options, path, case).await);
    }
    Ok(Report {
        provider: provider.name.clone(),
        kind: provider.factory.kind.to_owned(),
        base_url: provider.base_url.clone(),
        cases_dir: dir.display().to_string(),
        total_cases: paths.len(),
        checks: options.checks.clone(),
        record: options.record,
        cases: reports,
    })
}

fn load(path: &Path) -> Result<Case, CaseError> {
    let text = std::fs::read_to_string(path).map_err(|e| CaseError::Io(e).at(path))?;
    serde_json::from_str(&text).map_err(|e| CaseError::NotACase(e).at(path))
}

/// One case: send it, judge the answer, record it when asked.
async fn run_case(
    state: &AppState,
    provider: &Arc<Provider>,
    options: &Options,
    path: &Path,
    case: &Case,
) -> CaseReport {
    let session = options.session.as_deref().unwrap_or(&case.context.session_id);
    let request_id = format!("contract-test-{}", uuid::Uuid::new_v4());
    // A fresh key: a live provider would replay a key's first answer to every later run.
    let mut ctx = crate::update::context(session, &request_id, &uuid::Uuid::new_v4().to_string());
    // Whole seconds: the clock `--record` writes into the case maps the answers offline exactly
    // as they were mapped here.
    ctx.now = ctx.now.replace_nanosecond(0).unwrap_or(ctx.now);
    let keep_headers: Vec<String> =
        case.provider_response.as_ref().map(|answer| answer.headers.keys().cloned().collect()).unwrap_or_default();
    let name = path.file_stem().map_or_else(String::new, |stem| stem.to_string_lossy().into_owned());
    let mut report = CaseReport::new(name, case.description.clone());
    let run = match live::run(state, provider, case, &ctx, &keep_headers).await {
        Ok(run) => run,
        Err(failure) => {
            // A transport error may quote what was sent: never a credential.
            report.accepted = Step::failed(state.scrub(&failure.to_string()));
            report.judge(&options.checks);
            return report;
        }
    };
    report.accepted = Step::ok(format!("{}", run.answers.response.status));
    judge_answer(case, &run, &mut report);
    report.judge(&options.checks);
    if options.record {
        report.recorded = Some(record(provider, path, &run, &report));
    }
    report
}

/// The `parses` and `unchanged` steps: the live outcome against the one the case records.
fn judge_answer(case: &Case, run: &live::LiveRun, report: &mut CaseReport) {
    let (expected_kind, expected) = match (&case.expected_session, &case.expected_error) {
        (Some(session), _) => ("a session", Some(session)),
        (None, Some(error)) => ("an error", Some(error)),
        (None, None) => ("nothing", None),
    };
    let (got_kind, got) = match &run.outcome {
        Ok(session) => ("a session", session),
        Err(error) => ("an error", error),
    };
    report.parses = if run.unparseable || got_kind != expected_kind {
        Step::failed(format!("mapped to {got_kind}, the case records {expected_kind}: {got}"))
    } else {
        Step::ok(String::new())
    };
    if report.parses.passed() {
        let changes = expected.map_or_else(Vec::new, |expected| compare::changes(expected, got));
        report.unchanged = if changes.is_empty() {
            Step::ok(String::new())
        } else {
            Step::failed(format!("{} field(s) changed", changes.len()))
        };
        report.changes = changes;
    }
}

/// Write the live answers of an accepted, parsed case; what happened, for the report.
fn record(provider: &Provider, path: &Path, run: &live::LiveRun, report: &CaseReport) -> Recording {
    if !report.parses.passed() {
        return Recording::NotRecorded(
            "the answer does not parse (a mapping to fix, not a fixture to refresh)".to_owned(),
        );
    }
    match record_answers(provider.factory, path, &run.answers) {
        Ok(true) => Recording::Written,
        Ok(false) => Recording::Unchanged,
        Err(error) => Recording::NotRecorded(error.to_string()),
    }
}

/// Serve the configured simulators for this run when the provider's `base_url` points at them
/// (the embedded default): each run starts from the simulators' demo state.
async fn serve_simulators(state: &AppState, provider: &Provider) -> Result<(), ContractTestError> {
    let Some(listen) = state.config.simulator_listen.as_ref() else { return Ok(()) };
    if !provider.base_url.starts_with(&format!("http://{listen}/")) {
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| ContractTestError::Simulators { listen: listen.clone(), source })?;
    let router = crate::simulators::router(&state.config.simulators);
    // Lives as long as the runtime: the process ends with the run.
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(())
}

/// The report as text (one line per case, the changes under it, a summary) or as JSON.
pub fn render(report: &Report, json: bool) -> String {
    if json { serde_json::to_string_pretty(report).unwrap_or_else(|_| Value::Null.to_string()) } else { report.text() }
}
