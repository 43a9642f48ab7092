//! Tallying the outcomes against the mock's record, and the printed report.
//!
//! A 5xx is *explained* when the provider attempt the gateway made last for that request was
//! faulted by the mock: the gateway gave up after an injected fault and said so. Any other 5xx
//! (no provider call, or a last attempt that was served normally) is *unexplained* and fails
//! the soak, as do transport errors between client and gateway and wrong answers (a 4xx for a
//! valid update, a 200 without a session, a refused body answered with anything but its 422).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::time::Duration;

use crate::Args;
use crate::load::{BodyKind, Outcome, Tally};
use crate::mock::{Attempt, Fault};

/// The request id prefix of the measured phase (the warm-up is not reported).
const MEASURED: &str = "soak-";
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

/// Memory at start-up, after the warm-up (before the measured load) and after it.
#[derive(Debug, Clone, Copy)]
pub struct Memories {
    pub start: Memory,
    pub before: Memory,
    pub after: Memory,
}

pub struct Report {
    requests: usize,
    elapsed: Duration,
    statuses: BTreeMap<u16, usize>,
    codes: BTreeMap<String, usize>,
    kinds: BTreeMap<BodyKind, usize>,
    provider_attempts: usize,
    faults: BTreeMap<Fault, usize>,
    /// Requests that met at least one fault and still answered with their session.
    absorbed: usize,
    /// (last fault, status, code) -> count.
    explained: BTreeMap<(Fault, u16, String), usize>,
    unexplained: Vec<String>,
    transport: Vec<String>,
    wrong: Vec<String>,
    memory: Memories,
}

impl Report {
    /// `faulted`: the mock's record of every request that met a fault; `provider_attempts`:
    /// the attempts of the measured requests.
    pub fn build(
        tally: Tally,
        faulted: &HashMap<String, Vec<Attempt>>,
        provider_attempts: usize,
        elapsed: Duration,
        memory: Memories,
    ) -> Self {
        let measured: Vec<(&String, &Vec<Attempt>)> =
            faulted.iter().filter(|(id, _)| id.starts_with(MEASURED)).collect();
        let mut faults: BTreeMap<Fault, usize> = Fault::ALL.iter().map(|fault| (*fault, 0)).collect();
        for attempt in measured.iter().flat_map(|(_, attempts)| attempts.iter()) {
            if let Attempt::Faulted(fault) = attempt {
                *faults.entry(*fault).or_default() += 1;
            }
        }
        let not_plain_success: HashSet<&str> = tally.others.iter().map(|o| o.request_id.as_str()).collect();
        let mut report = Self {
            requests: tally.requests(),
            elapsed,
            statuses: tally.statuses,
            codes: tally.codes,
            kinds: tally.kinds,
            provider_attempts,
            faults,
            absorbed: measured.iter().filter(|(id, _)| !not_plain_success.contains(id.as_str())).count(),
            explained: BTreeMap::new(),
            unexplained: Vec::new(),
            transport: Vec::new(),
            wrong: Vec::new(),
            memory,
        };
        for outcome in &tally.others {
            report.classify(outcome, faulted.get(&outcome.request_id).map_or(&[], Vec::as_slice));
        }
        report
    }

    /// Judge an outcome that is not a plain success; `attempts` is empty when no attempt of
    /// the request was faulted.
    fn classify(&mut self, outcome: &Outcome, attempts: &[Attempt]) {
        let id = &outcome.request_id;
        let answer = match &outcome.answer {
            Ok(answer) => answer,
            Err(error) => {
                self.transport.push(format!("{id}: {error}"));
                return;
            }
        };
        let code = answer.code.clone().unwrap_or_default();
        if answer.status >= 500 {
            match attempts.last() {
                Some(Attempt::Faulted(fault)) if outcome.kind == BodyKind::Valid => {
                    *self.explained.entry((*fault, answer.status, code)).or_default() += 1;
                }
                _ => self.unexplained.push(format!("{id}: {} {code}, faulted attempts {attempts:?}", answer.status)),
            }
            return;
        }
        let right = match outcome.kind {
            BodyKind::Valid => false,
            BodyKind::Invalid => answer.status == 422 && code == "validation_failed",
            BodyKind::Unsupported => answer.status == 422 && code == "unsupported_field",
        };
        if !right {
            let session = if answer.is_session { "a session" } else { "no session" };
            self.wrong.push(format!("{id} ({:?}): {} {code} with {session}", outcome.kind, answer.status));
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
            "soak: {} PATCH requests after {} warm-up, concurrency {}, fault rate {}, provider retry.max_attempts {}, attempt timeout {} ms, breaker threshold {}, seed {}",
            args.requests,
            args.warmup,
            args.concurrency,
            args.fault_rate,
            args.attempts,
            args.attempt_timeout_ms,
            args.breaker_threshold,
            args.seed
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
        let _ = writeln!(
            out,
            "requests that met a fault and still answered with their session (retried): {}",
            self.absorbed
        );
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
        let memory = &self.memory;
        let _ = writeln!(
            out,
            "memory (whole process: gateway, mock, load generator): RSS at start {}, after warm-up (before) {}, after {}, peak {}",
            mib(memory.start.rss_kib),
            mib(memory.before.rss_kib),
            mib(memory.after.rss_kib),
            mib(memory.after.peak_kib)
        );
        let _ = writeln!(out, "result: {}", if self.passed() { "PASS" } else { "FAIL" });
        out
    }
}

fn list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    if items.is_empty() { "none".to_owned() } else { items.join(", ") }
}
