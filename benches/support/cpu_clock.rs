//! A Criterion measurement of the benchmark thread's own CPU time (`CLOCK_THREAD_CPUTIME_ID`).
//!
//! The translations measured here are single-threaded and never block, so on an idle machine
//! their CPU time equals their wall time; on a busy one (two cores shared with builds) wall
//! time also counts the periods the thread waits for a core, which made medians swing by 2x
//! between runs. CPU time does not.

use std::time::Duration;

use cpu_time::ThreadTime;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// Formats durations exactly as the default wall clock does.
static WALL: WallTime = WallTime;

pub struct ThreadCpu;

fn now() -> Duration {
    ThreadTime::now().as_duration()
}

impl Measurement for ThreadCpu {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        now()
    }

    fn end(&self, started: Duration) -> Duration {
        now().saturating_sub(started)
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        WALL.formatter()
    }
}
