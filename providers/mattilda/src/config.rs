//! The `[providers.<name>]` settings of a Mattilda provider, parsed and validated.

use std::fmt;

use checkout_provider_interface::kit::credentials;
use checkout_provider_interface::{ConfigError, ProviderSetup, Secret, SecretRef};
use serde::Deserialize;

use crate::jwt::KeySigner;

/// The keys as written in config; everything the gateway core owns is already removed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    /// A ready bearer token (e.g. one minted by another service).
    #[serde(default)]
    token: Option<SecretRef>,
    /// A PEM P-521 private key; the gateway signs a fresh ES512 JWT per attempt with it.
    #[serde(default)]
    private_key: Option<SecretRef>,
    /// Sent as `x-gr4vy-merchant-account-id` when set.
    #[serde(default)]
    merchant_account_id: Option<String>,
}

/// How the gateway authenticates to Mattilda.
pub enum Auth {
    Token(Secret),
    Key(Box<KeySigner>),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token(_) => f.write_str("Token([redacted])"),
            Self::Key(signer) => write!(f, "Key({signer:?})"),
        }
    }
}

/// Validated settings, shared by the adapter and the simulator.
#[derive(Debug)]
pub struct Settings {
    pub auth: Auth,
    pub merchant_account_id: Option<http::HeaderValue>,
}

impl Settings {
    pub fn from_setup(setup: &ProviderSetup<'_>) -> Result<Self, ConfigError> {
        let raw: RawSettings = setup.parse()?;
        let auth = match (raw.token, raw.private_key) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "private_key",
                    "`token` and `private_key` are mutually exclusive: set exactly one",
                ));
            }
            (None, None) => {
                return Err(ConfigError::new(
                    "private_key",
                    "set exactly one of `private_key` (a P-521 PEM key) or `token` (a bearer token)",
                ));
            }
            (Some(reference), None) => {
                let token = setup.secrets.resolve("token", &reference)?;
                if !credentials::usable_as_bearer(&token) {
                    // Never echo the value: it is a credential.
                    return Err(ConfigError::new("token", "the token is empty or not a valid header value"));
                }
                Auth::Token(token)
            }
            (None, Some(reference)) => {
                let pem = setup.secrets.resolve("private_key", &reference)?;
                let signer = KeySigner::from_pem(pem.expose())
                    .map_err(|why| ConfigError::new("private_key", why.to_string()))?;
                Auth::Key(Box::new(signer))
            }
        };
        let merchant_account_id = match raw.merchant_account_id {
            None => None,
            Some(id) if id.is_empty() => {
                return Err(ConfigError::new("merchant_account_id", "must not be empty"));
            }
            Some(id) => Some(http::HeaderValue::from_str(&id).map_err(|_| {
                ConfigError::new("merchant_account_id", "must be visible ASCII (it is sent as a header)")
            })?),
        };
        Ok(Self { auth, merchant_account_id })
    }
}

#[cfg(test)]
mod tests {
    use checkout_provider_interface::contract::InlineSecrets;
    use serde_json::{Map, Value, json};

    use super::{Auth, Settings};
    use crate::jwt::DEMO_PRIVATE_KEY;

    fn settings(value: &Value) -> Result<Settings, checkout_provider_interface::ConfigError> {
        let map: Map<String, Value> = value.as_object().cloned().unwrap_or_default();
        let setup =
            checkout_provider_interface::ProviderSetup { name: "mattilda", settings: &map, secrets: &InlineSecrets };
        Settings::from_setup(&setup)
    }

    #[test]
    fn exactly_one_credential_is_required() {
        let both = settings(&json!({"token": {"value": "t"}, "private_key": {"value": DEMO_PRIVATE_KEY}}));
        assert!(both.is_err_and(|e| e.key == "private_key" && e.message.contains("mutually exclusive")));
        let neither = settings(&json!({"merchant_account_id": "default"}));
        assert!(neither.is_err_and(|e| e.key == "private_key" && e.message.contains("exactly one")));
    }

    #[test]
    fn a_token_or_a_key_is_accepted() {
        let token = settings(&json!({"token": {"value": "tok_123"}, "merchant_account_id": "default"}));
        assert!(matches!(token.map(|s| s.auth), Ok(Auth::Token(_))));
        let key = settings(&json!({"private_key": {"value": DEMO_PRIVATE_KEY}}));
        assert!(matches!(key.map(|s| s.auth), Ok(Auth::Key(_))));
    }

    #[test]
    fn bad_values_are_config_errors_without_the_secret() {
        let pem = settings(
            &json!({"private_key": {"value": "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----"}}),
        );
        assert!(pem.is_err_and(|e| e.key == "private_key" && !e.message.contains("nope")));
        let token = settings(&json!({"token": {"value": "bad\ntoken"}}));
        assert!(token.is_err_and(|e| e.key == "token" && !e.message.contains("bad")));
        let merchant = settings(&json!({"token": {"value": "t"}, "merchant_account_id": "bad\u{7f}"}));
        assert!(merchant.is_err_and(|e| e.key == "merchant_account_id"));
        let unknown = settings(&json!({"token": {"value": "t"}, "api_key": "x"}));
        assert!(unknown.is_err_and(|e| e.message.contains("api_key")));
    }

    #[test]
    fn debug_output_hides_the_token() {
        let Ok(settings) = settings(&json!({"token": {"value": "tok_secret_123"}})) else {
            panic!("valid settings");
        };
        assert!(!format!("{settings:?}").contains("tok_secret_123"));
    }
}
