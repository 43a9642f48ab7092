//! checkout-gateway: one "update checkout session" API over several payment providers.
//!
//! The library holds everything the binary serves, so in-process tests and the CLI share it:
//! config loading ([`config`]), the provider registry ([`registry`]), the update pipeline
//! ([`update`], [`preview`], [`ownership`], failing with [`failure::UpdateError`]), provider
//! dispatch ([`dispatch`]), the HTTP API ([`api`]) and the provider simulators host
//! ([`simulators`]). Dependencies point one way: `api` → pipelines → `dispatch` → adapters; the
//! error table ([`errors`]) is plain data every layer may read (`tests/tidy.rs` checks for
//! import circles).
#![forbid(unsafe_code)]

pub mod admission;
pub mod api;
pub mod body_deadline;
pub mod config;
pub mod contract_test;
pub mod dispatch;
pub mod errors;
pub mod failure;
pub mod idempotency;
pub mod listener;
pub mod metrics;
pub mod ownership;
pub mod passthrough;
pub mod preview;
pub mod rate_limit;
pub mod redis_conn;
pub mod registry;
pub mod schema;
pub mod scrub;
pub mod server;
pub mod simulators;
pub mod state;
pub mod telemetry;
pub mod token_source;
pub mod update;
pub mod usage;
