//! Tallying the outcomes against the mock's record, and the printed report.
//!
//! A 5xx is *explained* when the provider attempt the gateway made last for that request was
//! faulted by the mock: the gateway gave up after an injected fault and said so. Any other 5xx
//! (no provider call, or a last attempt that was served normally) is *unexplained* and fails
//! the soak, as do transport errors between client and gateway and wrong answers (a 4xx for a
//! valid update, a 200 without a session, a refused body answered with anything but its 422).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::Duration;

use crate::Args;
use crate::load::{BodyKind, Outcome};
use crate::mock::{Attempt, Fault};

/// Listed individually in the report at most.
const SHOWN: usize = 10;

/// Resident memory of this process (gateway, mock and load generator), from `/proc/self/status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss_kib: Option<u64>,
    pub peak_kib: Option<u64>,
}

impl Memory {
    pub fn read() -> Self {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        };
        Self { rss_kib: field("VmRSS:"), peak_kib: field("VmHWM:") }
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".to_owned(), |kib| format!("{:.1} MiB", kib as f64 / 1024.0))
}

pub struct Report {
    requests: usize,
    elapsed: Duration,
    statuses: BTreeMap<u16, usize>,
    codes: BTreeMap<String, usize>,
    kinds: BTreeMap<BodyKind, usize>,
    provider_attempts: usize,
    faults: BTreeMap<Fault, usize>,
    /// Requests that met at least one fault and still answered 200.
    absorbed: usize,
    /// (last fault, status, code) -> count.
    explained: BTreeMap<(Fault, u16, String), usize>,
    unexplained: Vec<String>,
    transport: Vec<String>,
    wrong: Vec<String>,
    memory_before: Memory,
    memory_after: Memory,
}

impl Report {
    pub fn build(
        outcomes: &[Outcome],
        attempts: &HashMap<String, Vec<Attempt>>,
        faults: BTreeMap<Fault, usize>,
        elapsed: Duration,
        memory_before: Memory,
        memory_after: Memory,
    ) -> Self {
        let mut report = Self {
            requests: outcomes.len(),
            elapsed,
            statuses: BTreeMap::new(),
            codes: BTreeMap::new(),
            kinds: BTreeMap::new(),
            provider_attempts: attempts.values().map(Vec::len).sum(),
            faults,
            absorbed: 0,
            explained: BTreeMap::new(),
            unexplained: Vec::new(),
            transport: Vec::new(),
            wrong: Vec::new(),
            memory_before,
            memory_after,
        };
        for outcome in outcomes {
            report.add(outcome, attempts.get(&outcome.request_id).map_or(&[], Vec::as_slice));
        }
        report
    }

    fn add(&mut self, outcome: &Outcome, attempts: &[Attempt]) {
        *self.kinds.entry(outcome.kind).or_default() += 1;
        let id = &outcome.request_id;
        let answer = match &outcome.answer {
            Ok(answer) => answer,
            Err(error) => {
                self.transport.push(format!("{id}: {error}"));
                return;
            }
        };
        *self.statuses.entry(answer.status).or_default() += 1;
        let code = answer.code.clone().unwrap_or_default();
        if let Some(code) = &answer.code {
            *self.codes.entry(code.clone()).or_default() += 1;
        }
        let faulted = attempts.iter().any(|a| matches!(a, Attempt::Faulted(_)));
        if answer.status >= 500 {
            match attempts.last() {
                Some(Attempt::Faulted(fault)) if outcome.kind == BodyKind::Valid => {
                    *self.explained.entry((*fault, answer.status, code)).or_default() += 1;
                }
                _ => self.unexplained.push(format!("{id}: {} {code}, provider attempts {attempts:?}", answer.status)),
            }
            return;
        }
        let right = match outcome.kind {
            BodyKind::Valid => answer.status == 200 && answer.is_session,
            BodyKind::Invalid => answer.status == 422 && code == "validation_failed" && attempts.is_empty(),
            BodyKind::Unsupported => answer.status == 422 && code == "unsupported_field" && attempts.is_empty(),
        };
        if !right {
            self.wrong
                .push(format!("{id} ({:?}): {} {code}, provider attempts {attempts:?}", outcome.kind, answer.status));
        } else if faulted {
            self.absorbed += 1;
        }
    }

    pub fn passed(&self) -> bool {
        self.unexplained.is_empty() && self.transport.is_empty() && self.wrong.is_empty()
    }

    pub fn render(&self, args: &Args) -> String {
        let mut out = String::new();
        let secs = self.elapsed.as_secs_f64();
        let _ = writeln!(
            out,
            "soak: {} PATCH requests, concurrency {}, fault rate {}, provider retry.max_attempts {}, attempt timeout {} ms, seed {}",
            args.requests, args.concurrency, args.fault_rate, args.attempts, args.attempt_timeout_ms, args.seed
        );
        let _ =
            writeln!(out, "duration: {secs:.1} s ({:.0} requests/s)", self.requests as f64 / secs.max(f64::EPSILON));
        let _ = writeln!(
            out,
            "requests: {} ({})",
            self.requests,
            list(self.kinds.iter().map(|(k, n)| format!("{k:?} {n}")))
        );
        let _ = writeln!(out, "status codes: {}", list(self.statuses.iter().map(|(s, n)| format!("{s}: {n}"))));
        let _ = writeln!(out, "problem codes: {}", list(self.codes.iter().map(|(c, n)| format!("{c}: {n}"))));
        let injected: usize = self.faults.values().sum();
        let _ = writeln!(
            out,
            "provider attempts: {}, faults injected: {injected} ({})",
            self.provider_attempts,
            list(self.faults.iter().map(|(f, n)| format!("{}: {n}", f.name())))
        );
        let _ = writeln!(out, "requests that met a fault and still answered 200 (retried): {}", self.absorbed);
        let explained: usize = self.explained.values().sum();
        let _ = writeln!(
            out,
            "5xx explained by an injected fault: {explained} ({})",
            list(self.explained.iter().map(|((f, s, c), n)| format!("{} -> {s} {c}: {n}", f.name())))
        );
        let _ = writeln!(out, "5xx NOT explained by an injected fault: {}", self.unexplained.len());
        let _ = writeln!(out, "transport errors (client to gateway): {}", self.transport.len());
        let _ = writeln!(out, "wrong answers: {}", self.wrong.len());
        for line in self.unexplained.iter().chain(&self.transport).chain(&self.wrong).take(SHOWN) {
            let _ = writeln!(out, "  {line}");
        }
        let _ = writeln!(
            out,
            "memory (whole process): RSS before {}, RSS after {}, peak RSS {}",
            mib(self.memory_before.rss_kib),
            mib(self.memory_after.rss_kib),
            mib(self.memory_after.peak_kib)
        );
        let _ = writeln!(out, "result: {}", if self.passed() { "PASS" } else { "FAIL" });
        out
    }
}

fn list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    if items.is_empty() { "none".to_owned() } else { items.join(", ") }
}
