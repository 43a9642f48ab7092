//! The provider's own settings (`[providers.<name>]` minus the keys the gateway owns).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use checkout_provider_interface::{AdapterError, ConfigError, ProviderSetup, Secret, SecretRef, wire};
use serde::Deserialize;

/// The `speed-version` values Speed documents.
pub const API_VERSIONS: [&str; 2] = ["2022-04-15", "2022-10-15"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    api_key: SecretRef,
    #[serde(default)]
    api_version: Option<String>,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Config {
    api_key: Secret,
    /// `None` sends no `speed-version`, so the account's pinned version applies.
    pub api_version: Option<&'static str>,
}

impl Config {
    pub fn from_setup(setup: &ProviderSetup<'_>) -> Result<Self, ConfigError> {
        let raw: RawConfig = setup.parse()?;
        let api_version = match raw.api_version.as_deref() {
            None => None,
            Some(version) => Some(API_VERSIONS.into_iter().find(|known| *known == version).ok_or_else(|| {
                ConfigError::new(
                    "api_version",
                    format!("unknown Speed API version `{version}`; expected one of {}", API_VERSIONS.join(", ")),
                )
            })?),
        };
        let api_key = setup.secrets.resolve("api_key", &raw.api_key)?;
        if api_key.expose().is_empty() || api_key.expose().contains(':') {
            // Basic auth puts the key before a `:`; an empty key or one holding `:` cannot work.
            return Err(ConfigError::new("api_key", "must be a non-empty Speed secret key without `:`"));
        }
        Ok(Self { api_key, api_version })
    }

    /// `Basic base64("<secret key>:")`: the key is the user name, the password is empty.
    pub fn authorization_value(&self) -> String {
        basic_credentials(self.api_key.expose())
    }

    pub fn authorization(&self) -> Result<http::HeaderValue, AdapterError> {
        wire::sensitive(&self.authorization_value())
    }
}

pub fn basic_credentials(key: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{key}:")))
}

#[cfg(test)]
mod tests {
    use checkout_provider_interface::ProviderSetup;
    use checkout_provider_interface::contract::InlineSecrets;
    use serde_json::{Map, Value, json};

    use super::Config;

    fn settings(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    fn build(value: Value) -> Result<Config, checkout_provider_interface::ConfigError> {
        let settings = settings(value);
        Config::from_setup(&ProviderSetup { name: "speed", settings: &settings, secrets: &InlineSecrets })
    }

    #[test]
    fn accepts_both_documented_versions_and_none() {
        for version in ["2022-04-15", "2022-10-15"] {
            let config = build(json!({"api_key": {"value": "sk_test_1"}, "api_version": version})).unwrap();
            assert_eq!(config.api_version, Some(version));
        }
        assert_eq!(build(json!({"api_key": {"value": "sk_test_1"}})).unwrap().api_version, None);
    }

    #[test]
    fn an_unknown_version_is_an_error_naming_the_key() {
        let error = build(json!({"api_key": {"value": "sk_test_1"}, "api_version": "2023-01-01"})).unwrap_err();
        assert_eq!(error.key, "api_version");
        assert!(error.message.contains("2023-01-01"), "{}", error.message);
    }

    #[test]
    fn unknown_keys_and_bad_keys_are_errors() {
        assert!(build(json!({"api_key": {"value": "sk_test_1"}, "apikey": 1})).is_err());
        assert!(build(json!({"api_version": "2022-10-15"})).is_err());
        assert_eq!(build(json!({"api_key": {"value": "a:b"}})).unwrap_err().key, "api_key");
        assert_eq!(build(json!({"api_key": {"value": ""}})).unwrap_err().key, "api_key");
    }

    #[test]
    fn basic_header_is_key_colon_in_base64_and_debug_hides_it() {
        let config = build(json!({"api_key": {"value": "sk_test_123"}})).unwrap();
        // printf 'sk_test_123:' | base64
        assert_eq!(config.authorization_value(), "Basic c2tfdGVzdF8xMjM6");
        assert!(config.authorization().unwrap().is_sensitive());
        assert!(!format!("{config:?}").contains("sk_test_123"));
    }
}
