//! What a contract case run reports. [`CaseError`]'s `Display` is the whole report the contract
//! driver prints, causes included: a failing case is read as one text, never walked. Each cause
//! is kept as `source()` as well, for a caller that wants the typed error.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{AdapterError, ConfigError};

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// An expected output differs from what the adapter produced.
    #[error("{what} differs\n expected: {}\n      got: {}", pretty(.expected), pretty(.got))]
    Differs { what: &'static str, expected: Value, got: Value },
    /// The case has no expectation for an output the adapter produced.
    #[error("`{what}` is missing; the adapter produced:\n{}", pretty(.got))]
    Missing { what: &'static str, got: Value },
    /// The case expects an output the adapter did not produce.
    #[error("`{what}` is given, but the adapter did not produce it")]
    NotProduced { what: &'static str },
    /// The case's inputs do not fit what the adapter does (a read it does not ask for, a
    /// missing provider answer): not an output, so `UPDATE_EXPECT=1` cannot fix it either.
    #[error("{0}")]
    Inputs(&'static str),
    /// The rewrite produced an exchange's expected request, but the case has no such exchange.
    #[error("`{name}` produced but the case has no `{exchange}`")]
    NoExchange { name: &'static str, exchange: &'static str },
    #[error("context.now: {0}")]
    Clock(#[source] time::error::Parse),
    #[error("unified_request: {0}")]
    UnifiedRequest(#[source] serde_json::Error),
    #[error("not a contract case: {0}")]
    NotACase(#[source] serde_json::Error),
    #[error("provider_config: {0}")]
    ProviderConfig(#[source] ConfigError),
    /// A case's provider answer cannot be made into an HTTP response.
    #[error("{0}")]
    Response(#[source] http::Error),
    /// The adapter failed at `step` (`build_retrieve`, `follow_up`) of a read the case shows.
    #[error("{step}: {source}")]
    Adapter {
        step: &'static str,
        #[source]
        source: AdapterError,
    },
    /// JSON that could not be written or read: a body, the produced session, a rewritten case.
    #[error("{0}")]
    Json(#[source] serde_json::Error),
    #[error("{0}")]
    Io(#[source] std::io::Error),
    /// A failure of the case described by `description`.
    #[error("{description} — {source}")]
    Case {
        description: String,
        #[source]
        source: Box<CaseError>,
    },
    /// `UPDATE_EXPECT=1`: the case cannot be run to record its outputs.
    #[error("{description} — cannot rewrite: {source}")]
    CannotRewrite {
        description: String,
        #[source]
        source: Box<CaseError>,
    },
    /// `UPDATE_EXPECT=1`: the rewritten case does not pass.
    #[error("still fails after the rewrite: {0}")]
    StillFails(#[source] Box<CaseError>),
    /// A failure in the file or directory at `path`.
    #[error("{}: {source}", .path.display())]
    At {
        path: PathBuf,
        #[source]
        source: Box<CaseError>,
    },
    /// Every failure of a directory's cases, one report.
    #[error("{}", report(.0))]
    Several(Vec<CaseError>),
}

impl CaseError {
    /// `self`, as a failure at `path`.
    pub fn at(self, path: &Path) -> Self {
        Self::At { path: path.to_owned(), source: Box::new(self) }
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn report(failures: &[CaseError]) -> String {
    failures.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n\n")
}
