//! checkout-gateway: one "update checkout session" API over several payment providers.
//!
//! The library holds everything the binary serves, so in-process tests and the CLI share it:
//! config loading ([`config`]), the provider registry ([`registry`]), the update pipeline
//! ([`update`]), provider dispatch ([`dispatch`]), the HTTP API ([`api`]) and the provider
//! simulators host ([`simulators`]).
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod dispatch;
pub mod idempotency;
pub mod listener;
pub mod metrics;
pub mod ownership;
pub mod passthrough;
pub mod registry;
pub mod schema;
pub mod scrub;
pub mod server;
pub mod simulators;
pub mod state;
pub mod telemetry;
pub mod update;
pub mod usage;
