//! The provider kit: helpers every provider crate would otherwise re-type (issue 14). Free
//! functions only, no framework: each crate keeps its wire shapes, its status overrides and its
//! parameter maps, and calls these for the parts that are really the same.
//!
//! - [`failure`]: the error-parsing skeleton (status → class with a provider's overrides, text
//!   fields of a JSON error body, the request-id header, unified pointers from tokens).
//! - [`credentials`]: credentials usable as a header, and constant-time comparison of presented
//!   credentials (every simulator checks one).
//! - [`simulator`] (cargo feature `simulator`): JSON answers, percent-decoding of a path
//!   segment, method + path-template routing, and poison-tolerant shared state.

pub mod credentials;
pub mod failure;
#[cfg(feature = "simulator")]
pub mod simulator;
