//! What every provider simulator needs besides its provider's wire shapes: JSON answers,
//! percent-decoding of a path segment ([`segment`]), method + path-template routing ([`route`])
//! and state shared between requests that survives a panicking one ([`Shared`]).
//!
//! Behind the cargo feature `simulator`: a production build without simulators compiles none of
//! this (README: Build).

pub mod route;
pub mod segment;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

pub use route::{Route, Routed, match_template, route};
pub use segment::decode_segment;

/// A JSON answer with `status` (500 if `status` is not one).
pub fn json_response(status: u16, body: &serde_json::Value) -> http::Response<Vec<u8>> {
    json_bytes(status, serde_json::to_vec(body).unwrap_or_default())
}

/// A JSON answer whose body is already encoded.
pub fn json_bytes(status: u16, body: Vec<u8>) -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(body);
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(crate::wire::JSON));
    response
}

/// State shared by a simulator's requests. A poisoned lock only means another request panicked
/// mid-way; simulators change their state only once a request is accepted, so it is still
/// consistent and the simulator keeps serving.
#[derive(Debug, Default)]
pub struct Shared<T>(Mutex<T>);

impl<T> Shared<T> {
    pub fn new(value: T) -> Self {
        Self(Mutex::new(value))
    }

    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Demo sessions by id.
pub type Sessions<T> = Shared<BTreeMap<String, T>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_answer_has_its_status_and_media_type() {
        let response = json_response(402, &serde_json::json!({"a": 1}));
        assert_eq!(response.status(), 402);
        assert_eq!(response.headers()[http::header::CONTENT_TYPE], crate::wire::JSON);
        assert_eq!(response.body(), br#"{"a":1}"#);
        assert_eq!(json_bytes(1000, Vec::new()).status(), 500);
    }

    #[test]
    fn state_survives_a_panicking_holder() {
        let shared = std::sync::Arc::new(Shared::new(1));
        let holder = std::sync::Arc::clone(&shared);
        let panicked = std::thread::spawn(move || {
            let _guard = holder.lock();
            panic!("a request panicked");
        })
        .join();
        assert!(panicked.is_err());
        *shared.lock() += 1;
        assert_eq!(*shared.lock(), 2);
    }
}
