//! Bearer tokens the gateway obtains for an adapter: OAuth 2.0 client credentials (RFC 6749
//! §4.4). An adapter that needs one declares it ([`Adapter::token_source`](crate::Adapter)); the
//! gateway core fetches, caches, refreshes and attaches the token, so the adapter stays pure (no
//! I/O, no clock) and never sees the token itself.

use crate::Secret;

/// Where the token endpoint is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenEndpoint {
    /// A path on the provider's `base_url` (e.g. `/v1/oauth2/token`).
    OnBaseUrl(String),
    /// An absolute URL (an identity service apart from the API).
    Absolute(String),
}

/// What the gateway needs to obtain a bearer token for every call to this provider: it sends
/// `POST <endpoint>` with `grant_type=client_credentials` (and `scope` when set) as a form, the
/// client id and secret as HTTP Basic credentials, reads `access_token` and `expires_in` from the
/// JSON answer, and sends `Authorization: Bearer <access_token>` on every provider call (updates,
/// reads, follow-ups, passthrough). A `401` on a call refreshes the token once and retries.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub endpoint: TokenEndpoint,
    pub client_id: Secret,
    pub client_secret: Secret,
    /// The `scope` parameter, when the provider wants one.
    pub scope: Option<String>,
}
