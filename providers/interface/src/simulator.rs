//! Provider simulators for the embedded default config: each provider crate ships one that
//! speaks its wire protocol with demo sessions. The gateway serves them on a loopback port.

/// Handles one HTTP request addressed to the provider (path relative to the provider's
/// `base_url`). Simulators are stateful (demo sessions change) but must never panic.
pub trait Simulator: Send + Sync + 'static {
    fn handle(&self, request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>>;
}

/// A JSON response, for simulators.
pub fn json_response(status: u16, body: &serde_json::Value) -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(serde_json::to_vec(body).unwrap_or_default());
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(crate::wire::JSON));
    response
}
