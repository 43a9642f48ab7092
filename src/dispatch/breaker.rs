//! One circuit breaker per provider (DESIGN §5): opens after consecutive failed attempts, fails
//! fast while open, half-opens after a cool-down with a single probe.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::BreakerPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One probe is out since `since`; everyone else waits for its outcome. A probe whose
    /// outcome never arrives (its client went away mid-call) is replaced after a cool-down.
    HalfOpen {
        since: Instant,
    },
}

/// A breaker state for `/readyz` and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

impl CircuitState {
    /// Gauge value: 0 closed, 1 half-open, 2 open.
    pub fn level(self) -> u8 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen => 1,
            Self::Open => 2,
        }
    }
}

#[derive(Default)]
pub struct Breakers {
    states: Mutex<HashMap<String, State>>,
}

impl Breakers {
    fn with<T>(&self, provider: &str, f: impl FnOnce(&mut State) -> T) -> T {
        let mut states = self.states.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(states.entry(provider.to_owned()).or_insert(State::Closed { failures: 0 }))
    }

    /// May an attempt go to `provider` now? `Err` carries how long until it may.
    pub fn admit(&self, provider: &str, policy: &BreakerPolicy) -> Result<(), Duration> {
        let now = Instant::now();
        self.with(provider, |state| match *state {
            State::Closed { .. } => Ok(()),
            State::Open { until } if now >= until => {
                *state = State::HalfOpen { since: now };
                Ok(())
            }
            State::Open { until } => Err(until - now),
            State::HalfOpen { since } if now.duration_since(since) >= policy.cool_down => {
                *state = State::HalfOpen { since: now };
                Ok(())
            }
            State::HalfOpen { .. } => Err(policy.cool_down.min(Duration::from_secs(1))),
        })
    }

    /// Record an attempt's outcome.
    pub fn record(&self, provider: &str, policy: &BreakerPolicy, success: bool) {
        let now = Instant::now();
        self.with(provider, |state| {
            *state = match (*state, success) {
                (_, true) => State::Closed { failures: 0 },
                (State::Closed { failures }, false) if failures + 1 < policy.failure_threshold => {
                    State::Closed { failures: failures + 1 }
                }
                (State::Open { until }, false) => State::Open { until },
                (State::Closed { .. } | State::HalfOpen { .. }, false) => {
                    tracing::warn!(provider, cool_down_ms = policy.cool_down.as_millis(), "circuit opened");
                    State::Open { until: now + policy.cool_down }
                }
            };
        });
    }

    /// An admitted attempt whose outcome says nothing about the provider (its client's body
    /// failed or came late, or the client went away). The count of consecutive failures stays as
    /// it was; a half-open probe slot is freed for the next caller at once.
    pub fn abandon(&self, provider: &str) {
        let now = Instant::now();
        self.with(provider, |state| {
            if let State::HalfOpen { .. } = *state {
                *state = State::Open { until: now };
            }
        });
    }

    pub fn state(&self, provider: &str) -> CircuitState {
        self.with(provider, |state| match *state {
            State::Closed { .. } => CircuitState::Closed,
            State::Open { until } if Instant::now() >= until => CircuitState::HalfOpen,
            State::Open { .. } => CircuitState::Open,
            State::HalfOpen { .. } => CircuitState::HalfOpen,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_and_half_opens_with_one_probe() {
        let policy = BreakerPolicy { failure_threshold: 3, cool_down: Duration::from_millis(40) };
        let breakers = Breakers::default();
        for _ in 0..2 {
            breakers.record("p", &policy, false);
        }
        assert_eq!(breakers.state("p"), CircuitState::Closed);
        breakers.record("p", &policy, true);
        for _ in 0..3 {
            assert!(breakers.admit("p", &policy).is_ok());
            breakers.record("p", &policy, false);
        }
        assert_eq!(breakers.state("p"), CircuitState::Open);
        assert!(breakers.admit("p", &policy).is_err());
        std::thread::sleep(Duration::from_millis(60));
        assert!(breakers.admit("p", &policy).is_ok(), "the probe");
        assert!(breakers.admit("p", &policy).is_err(), "only one probe");
        breakers.record("p", &policy, false);
        assert_eq!(breakers.state("p"), CircuitState::Open);
        std::thread::sleep(Duration::from_millis(60));
        assert!(breakers.admit("p", &policy).is_ok());
        breakers.record("p", &policy, true);
        assert_eq!(breakers.state("p"), CircuitState::Closed);
        assert!(breakers.admit("p", &policy).is_ok());
    }

    #[test]
    fn an_abandoned_attempt_neither_counts_nor_resets_and_frees_the_probe() {
        let policy = BreakerPolicy { failure_threshold: 2, cool_down: Duration::from_secs(600) };
        let breakers = Breakers::default();
        breakers.record("p", &policy, false);
        for _ in 0..10 {
            assert!(breakers.admit("p", &policy).is_ok());
            breakers.abandon("p");
        }
        assert_eq!(breakers.state("p"), CircuitState::Closed);
        breakers.record("p", &policy, false);
        assert_eq!(breakers.state("p"), CircuitState::Open, "the earlier failure still counted");

        let quick = BreakerPolicy { failure_threshold: 1, cool_down: Duration::from_millis(30) };
        breakers.record("q", &quick, false);
        std::thread::sleep(Duration::from_millis(40));
        assert!(breakers.admit("q", &quick).is_ok(), "the probe (its client's body then fails)");
        assert!(breakers.admit("q", &quick).is_err());
        breakers.abandon("q");
        assert!(breakers.admit("q", &quick).is_ok(), "the next caller probes without waiting");
    }

    #[test]
    fn a_probe_whose_outcome_never_arrives_is_replaced_after_the_cool_down() {
        let policy = BreakerPolicy { failure_threshold: 1, cool_down: Duration::from_millis(30) };
        let breakers = Breakers::default();
        breakers.record("p", &policy, false);
        std::thread::sleep(Duration::from_millis(40));
        assert!(breakers.admit("p", &policy).is_ok(), "the probe (its client then goes away)");
        assert!(breakers.admit("p", &policy).is_err());
        std::thread::sleep(Duration::from_millis(40));
        assert!(breakers.admit("p", &policy).is_ok(), "a new probe after the cool-down");
        breakers.record("p", &policy, true);
        assert_eq!(breakers.state("p"), CircuitState::Closed);
    }
}
