//! `UPDATE_EXPECT=1`: contract cases whose expected outputs are rewritten with what the adapter
//! produced, so a deliberate mapping change is one command and a reviewed diff, not 100 files
//! edited by hand.
//!
//! The runner records every output it would have compared ([`Outputs::Record`]); the case file
//! then gets those values at its expectation keys and keeps everything else (description, config,
//! request, provider answers) and its key order. Stale expectations go: a case that now fails
//! with an error loses its `expected_session`. Structural mismatches (a read the adapter no
//! longer asks for, a missing provider answer) are not outputs: they still fail, and nothing is
//! written.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::ordered::Ordered;
use super::{Case, CaseError, expect_equal, run_file, run_with};

/// What the runner does with each expected output.
pub(super) enum Outputs<'a> {
    /// Compare it with the case (the default).
    Verify,
    /// Keep what the adapter produced, by expectation name.
    Record(&'a mut BTreeMap<&'static str, Value>),
}

impl Outputs<'_> {
    /// The expectation `what` against what the adapter produced.
    pub(super) fn expect(
        &mut self,
        what: &'static str,
        expected: Option<&Value>,
        got: &Value,
    ) -> Result<(), CaseError> {
        match self {
            Outputs::Verify => expect_equal(what, expected, got),
            Outputs::Record(produced) => {
                produced.insert(what, got.clone());
                Ok(())
            }
        }
    }

    /// The expectation `what` names an output the adapter did not produce; recording leaves it
    /// out, so the rewrite removes it.
    pub(super) fn expect_absent(&mut self, what: &'static str, expected: Option<&Value>) -> Result<(), CaseError> {
        match (self, expected) {
            (Outputs::Verify, Some(_)) => Err(CaseError::NotProduced { what }),
            (Outputs::Verify | Outputs::Record(_), _) => Ok(()),
        }
    }
}

/// The top-level expectation keys. Each is set to the produced output or removed.
const TOP_LEVEL: [&str; 4] = ["expected_rejection", "expected_provider_request", "expected_session", "expected_error"];

/// The expectations inside an exchange; the exchange itself is input and must already exist.
const NESTED: [(&str, &str, &str); 2] = [
    ("current_state.expected_request", "current_state", "expected_request"),
    ("follow_up.expected_request", "follow_up", "expected_request"),
];

/// Rewrite the case at `path` with what the adapter built by `factory` produces, then run it
/// again as a check. Returns whether the file changed; a file already right is not written.
pub fn rewrite_file(factory: &crate::ProviderFactory, path: &Path) -> Result<bool, CaseError> {
    let text = std::fs::read_to_string(path).map_err(|e| CaseError::Io(e).at(path))?;
    let case: Case = serde_json::from_str(&text).map_err(|e| CaseError::NotACase(e).at(path))?;
    let tree: Ordered = serde_json::from_str(&text).map_err(|e| CaseError::Json(e).at(path))?;
    let setup =
        crate::ProviderSetup { name: "contract", settings: &case.provider_config, secrets: &super::InlineSecrets };
    let adapter = (factory.build)(&setup).map_err(|e| CaseError::ProviderConfig(e).at(path))?;
    let mut produced = BTreeMap::new();
    run_with(factory, adapter.as_ref(), &case, &mut Outputs::Record(&mut produced)).map_err(|why| {
        CaseError::CannotRewrite { description: case.description.clone(), source: Box::new(why) }.at(path)
    })?;
    let rewritten = with_outputs(&tree, &produced)?;
    if rewritten == tree {
        return Ok(false);
    }
    let mut written = serde_json::to_string_pretty(&rewritten).map_err(CaseError::Json)?;
    written.push('\n');
    std::fs::write(path, written).map_err(|e| CaseError::Io(e).at(path))?;
    run_file(factory, path).map_err(|why| CaseError::StillFails(Box::new(why)).at(path))?;
    Ok(true)
}

/// [`rewrite_file`] for every `*.json` case in `dir`. Returns how many files changed; all
/// failures are collected into one report.
pub fn rewrite_dir(factory: &crate::ProviderFactory, dir: &Path) -> Result<usize, CaseError> {
    let mut changed = 0;
    let mut failures = Vec::new();
    for path in super::case_paths(dir)? {
        match rewrite_file(factory, &path) {
            Ok(true) => changed += 1,
            Ok(false) => {}
            Err(why) => failures.push(why),
        }
    }
    if failures.is_empty() { Ok(changed) } else { Err(CaseError::Several(failures)) }
}

/// `case` with its expectations replaced by `produced`: a top-level key keeps its place, a new
/// one takes the place of a stale one (else goes last), stale ones go.
fn with_outputs(case: &Ordered, produced: &BTreeMap<&'static str, Value>) -> Result<Ordered, CaseError> {
    let Ordered::Object(entries) = case else { return Err(CaseError::Inputs("a case is a JSON object")) };
    let present = |key: &str| entries.iter().any(|(name, _)| name == key);
    let mut new_keys = TOP_LEVEL
        .iter()
        .filter(|key| !present(key))
        .filter_map(|key| produced.get(key).map(|got| ((*key).to_owned(), Ordered::from(got))));
    let mut rewritten = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        if !TOP_LEVEL.contains(&key.as_str()) {
            rewritten.push((key.clone(), value.clone()));
        } else if let Some(got) = produced.get(key.as_str()) {
            rewritten.push((key.clone(), value.overwritten_with(got)));
        } else if let Some(new_entry) = new_keys.next() {
            rewritten.push(new_entry);
        }
    }
    rewritten.extend(new_keys);
    let mut rewritten = Ordered::Object(rewritten);
    for (name, exchange, key) in NESTED {
        if let Some(got) = produced.get(name) {
            let slot = rewritten
                .get_mut(exchange)
                .and_then(|exchange| exchange.get_mut(key))
                .ok_or(CaseError::NoExchange { name, exchange })?;
            *slot = slot.overwritten_with(got);
        }
    }
    Ok(rewritten)
}
