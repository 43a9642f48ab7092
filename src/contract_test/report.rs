//! The contract-test report: a verdict per case (`PASS`, `DRIFT`, `FAIL`) from its three steps,
//! the changed fields, and a summary; as text lines or JSON.

use serde::Serialize;

use super::Check;
use super::compare::Change;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check passed.
    Pass,
    /// The provider answered, but the answer no longer parses or maps to another unified answer.
    Drift,
    /// No usable answer: refused before the call, not accepted, or not reached.
    Fail,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Drift => "DRIFT",
            Verdict::Fail => "FAIL",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    /// An earlier step failed, so this one could not be judged.
    NotReached,
}

/// One step of a case: its outcome and what to tell the reader.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl Step {
    pub fn ok(detail: String) -> Self {
        Self { outcome: Outcome::Passed, detail }
    }

    pub fn failed(detail: String) -> Self {
        Self { outcome: Outcome::Failed, detail }
    }

    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }

    fn text(&self, name: &str, checked: bool) -> String {
        let info = if checked { "" } else { " (info)" };
        match (self.outcome, self.detail.is_empty()) {
            (Outcome::Passed, true) => format!("{name} ok"),
            (Outcome::Passed, false) => format!("{name} {}", self.detail),
            (Outcome::Failed, _) => format!("{name}{info}: {}", self.detail),
            (Outcome::NotReached, _) => format!("{name} -"),
        }
    }
}

impl Default for Step {
    fn default() -> Self {
        Self { outcome: Outcome::NotReached, detail: String::new() }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    /// The case file's name without `.json`.
    pub case: String,
    pub description: String,
    pub verdict: Verdict,
    pub accepted: Step,
    pub parses: Step,
    pub unchanged: Step,
    /// The fields of the unified answer that changed (also listed when `unchanged` is not checked).
    pub changes: Vec<Change>,
    /// With `--record`: what became of the case file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<Recording>,
}

/// What `--record` did with one case file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recording {
    /// The live answers (and what they map to) were written.
    Written,
    /// The file already held them.
    Unchanged,
    /// Nothing was written, and why.
    NotRecorded(String),
}

impl CaseReport {
    pub fn new(case: String, description: String) -> Self {
        Self {
            case,
            description,
            verdict: Verdict::Fail,
            accepted: Step::default(),
            parses: Step::default(),
            unchanged: Step::default(),
            changes: Vec::new(),
            recorded: None,
        }
    }

    /// The verdict under `checks`. `accepted` always counts: without an answer nothing was checked.
    pub fn judge(&mut self, checks: &[Check]) {
        let fails = |step: &Step, check: Check| step.outcome == Outcome::Failed && checks.contains(&check);
        self.verdict = if !self.accepted.passed() {
            Verdict::Fail
        } else if fails(&self.parses, Check::Parses) || fails(&self.unchanged, Check::Unchanged) {
            Verdict::Drift
        } else {
            Verdict::Pass
        };
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub provider: String,
    pub kind: String,
    pub base_url: String,
    pub cases_dir: String,
    /// Case files in the directory, live-safe or not.
    pub total_cases: usize,
    pub checks: Vec<Check>,
    pub record: bool,
    pub cases: Vec<CaseReport>,
}

impl Report {
    fn count(&self, verdict: Verdict) -> usize {
        self.cases.iter().filter(|case| case.verdict == verdict).count()
    }

    /// Whether the run fails: any case failed, drifted (unless the drift was being recorded), or
    /// could not be recorded.
    pub fn failed(&self) -> bool {
        self.cases.iter().any(|case| {
            case.verdict == Verdict::Fail
                || (case.verdict == Verdict::Drift && !self.record)
                || matches!(case.recorded, Some(Recording::NotRecorded(_)))
        })
    }

    /// One line per case, its changed fields under it, then the summary.
    pub fn text(&self) -> String {
        let checks: Vec<&str> = self
            .checks
            .iter()
            .map(|check| match check {
                Check::Accepted => "accepted",
                Check::Parses => "parses",
                Check::Unchanged => "unchanged",
            })
            .collect();
        let mut out = format!(
            "contract-test {} (kind {}) against {}: {} live-safe of {} cases in {}; checks: {}\n",
            self.provider,
            self.kind,
            self.base_url,
            self.cases.len(),
            self.total_cases,
            self.cases_dir,
            checks.join(", ")
        );
        let width = self.cases.iter().map(|case| case.case.len()).max().unwrap_or(0);
        for case in &self.cases {
            let checked = |check: Check| self.checks.contains(&check);
            let mut line = format!(
                "{:<5}  {:<width$}  {} | {} | {}",
                case.verdict.label(),
                case.case,
                case.accepted.text("accepted", true),
                case.parses.text("parses", checked(Check::Parses)),
                case.unchanged.text("unchanged", checked(Check::Unchanged)),
            );
            match &case.recorded {
                Some(Recording::Written) => line.push_str(" | recorded"),
                Some(Recording::Unchanged) => line.push_str(" | recorded (file unchanged)"),
                Some(Recording::NotRecorded(why)) => line.push_str(&format!(" | not recorded: {why}")),
                None => {}
            }
            out.push_str(line.trim_end());
            out.push('\n');
            let marker = if checked(Check::Unchanged) { "" } else { "info: " };
            for change in &case.changes {
                out.push_str(&format!("         {marker}{change}\n"));
            }
        }
        out.push_str(&format!(
            "summary: {} pass, {} drift, {} fail{}\n",
            self.count(Verdict::Pass),
            self.count(Verdict::Drift),
            self.count(Verdict::Fail),
            if self.record { " (answers recorded for review: see the diff)" } else { "" }
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::{CaseReport, Check, Recording, Report, Step, Verdict};

    fn drifted() -> CaseReport {
        let mut case = CaseReport::new("15-retrieve".to_owned(), "a retrieve".to_owned());
        case.accepted = Step::ok("200".to_owned());
        case.parses = Step::ok(String::new());
        case.unchanged = Step::failed("1 field(s) changed".to_owned());
        case
    }

    fn report(case: CaseReport, checks: &[Check], record: bool) -> Report {
        let mut case = case;
        case.judge(checks);
        Report {
            provider: "p".to_owned(),
            kind: "k".to_owned(),
            base_url: "http://127.0.0.1:1".to_owned(),
            cases_dir: "cases".to_owned(),
            total_cases: 1,
            checks: checks.to_vec(),
            record,
            cases: vec![case],
        }
    }

    #[test]
    fn a_check_left_out_informs_and_an_unaccepted_request_always_fails() {
        let all = report(drifted(), &Check::ALL, false);
        assert_eq!(all.cases[0].verdict, Verdict::Drift);
        assert!(all.failed());
        let lenient = report(drifted(), &[Check::Accepted, Check::Parses], false);
        assert_eq!(lenient.cases[0].verdict, Verdict::Pass);
        assert!(!lenient.failed());
        assert!(lenient.text().contains("unchanged (info): 1 field(s) changed"), "{}", lenient.text());
        let mut refused = drifted();
        refused.accepted = Step::failed("request answered 404".to_owned());
        let refused = report(refused, &[Check::Parses], false);
        assert_eq!(refused.cases[0].verdict, Verdict::Fail);
        assert!(refused.failed());
    }

    #[test]
    fn recording_a_drift_succeeds_and_a_case_it_could_not_record_fails() {
        let mut recorded = drifted();
        recorded.recorded = Some(Recording::Written);
        assert!(!report(recorded, &Check::ALL, true).failed());
        let mut refused = drifted();
        refused.recorded = Some(Recording::NotRecorded("the answer does not parse".to_owned()));
        let refused = report(refused, &Check::ALL, true);
        assert!(refused.failed());
        assert!(refused.text().contains("| not recorded: the answer does not parse"), "{}", refused.text());
    }
}
