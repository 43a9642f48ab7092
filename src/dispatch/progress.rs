//! How far a client's streamed request body got: written by whoever streams it (the
//! passthrough's client body), read by the streamed send ([`super::stream`]) to tell the
//! client's failures from the provider's. A leaf, so the passthrough module can use it without
//! depending on the dispatcher (which depends on the config, which holds passthrough rules).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

/// Why a client's request body did not arrive whole. Each is the client's doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFailure {
    /// It grew past `server.max_body_bytes`.
    TooLarge,
    /// It was still arriving at `server.body_read_timeout_ms`.
    Late,
    /// The client's connection failed or closed mid-body.
    Aborted,
}

/// Not asked for yet: the call is still queued for a connection, or never got one.
const UNSENT: u8 = 0;
const COMPLETE: u8 = 1;
const TOO_LARGE: u8 = 2;
const LATE: u8 = 3;
const ABORTED: u8 = 4;
const STREAMING: u8 = 5;

/// Where a streamed request body stands, shared between the stream and the dispatcher. The
/// first end reported (complete or failed) is final.
#[derive(Debug, Clone, Default)]
pub struct BodyProgress(Arc<AtomicU8>);

impl BodyProgress {
    /// For a request that sends no body: complete from the start.
    pub fn none() -> Self {
        Self(Arc::new(AtomicU8::new(COMPLETE)))
    }

    /// The HTTP client asked for the body's first part: the call is on a connection. A call
    /// that times out before this waited in the provider's queue, which is not the client's doing.
    pub fn start(&self) {
        let _ = self.0.compare_exchange(UNSENT, STREAMING, Ordering::AcqRel, Ordering::Acquire);
    }

    /// The body ended and every byte was handed on.
    pub fn complete(&self) {
        self.settle(COMPLETE);
    }

    pub fn fail(&self, why: BodyFailure) {
        self.settle(match why {
            BodyFailure::TooLarge => TOO_LARGE,
            BodyFailure::Late => LATE,
            BodyFailure::Aborted => ABORTED,
        });
    }

    fn settle(&self, end: u8) {
        // Only the first end counts; a later one (none is expected) changes nothing.
        let open = |now: u8| matches!(now, UNSENT | STREAMING).then_some(end);
        let _ = self.0.fetch_update(Ordering::AcqRel, Ordering::Acquire, open);
    }

    /// Whether sending the body began (a request without one counts as begun and complete).
    pub fn has_started(&self) -> bool {
        self.0.load(Ordering::Acquire) != UNSENT
    }

    pub fn is_complete(&self) -> bool {
        self.0.load(Ordering::Acquire) == COMPLETE
    }

    pub fn failure(&self) -> Option<BodyFailure> {
        match self.0.load(Ordering::Acquire) {
            TOO_LARGE => Some(BodyFailure::TooLarge),
            LATE => Some(BodyFailure::Late),
            ABORTED => Some(BodyFailure::Aborted),
            _ => None,
        }
    }
}
