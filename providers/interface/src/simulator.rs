//! Provider simulators for the embedded default config: each provider crate ships one that
//! speaks its wire protocol with demo sessions (behind the provider crate's `simulator`
//! feature; its helpers are in `kit::simulator`). The gateway serves them on a loopback port.

/// Handles one HTTP request addressed to the provider (path relative to the provider's
/// `base_url`). Simulators are stateful (demo sessions change) but must never panic.
pub trait Simulator: Send + Sync + 'static {
    fn handle(&self, request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>>;
}
