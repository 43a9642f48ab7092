//! The `[providers.<name>]` settings a Paypercut provider owns (the gateway keeps `kind`,
//! `base_url`, retries and the like to itself).

use checkout_provider_interface::kit::credentials;
use checkout_provider_interface::{ConfigError, ProviderSetup, Secret, SecretRef};
use serde::Deserialize;

/// As written in config; parsed, then validated into [`Config`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// The secret key (`sk_test_…` / `sk_live_…`), sent as `Authorization: Bearer`.
    api_key: SecretRef,
    /// A connected account to act on, sent as `Paypercut-Account`.
    #[serde(default)]
    account: Option<String>,
}

/// Validated settings, shared by the adapter and the simulator.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) api_key: Secret,
    pub(crate) account: Option<String>,
}

impl Config {
    pub(crate) fn from_setup(setup: &ProviderSetup<'_>) -> Result<Self, ConfigError> {
        let raw: RawConfig = setup.parse()?;
        let api_key = setup.secrets.resolve("api_key", &raw.api_key)?;
        // Checked here so that building a request can never fail on a bad credential later.
        if !credentials::usable_as_bearer(&api_key) {
            return Err(ConfigError::new("api_key", "must be a non-empty key usable in an HTTP header"));
        }
        if let Some(account) = &raw.account {
            if account.is_empty() || http::HeaderValue::from_str(account).is_err() {
                return Err(ConfigError::new("account", "must be a non-empty Paypercut account id"));
            }
        }
        Ok(Self { api_key, account: raw.account })
    }
}

/// The `Authorization` header value for a key.
pub(crate) use credentials::bearer;

#[cfg(test)]
mod tests {
    use checkout_provider_interface::contract::InlineSecrets;
    use checkout_provider_interface::{ConfigError, ProviderSetup};
    use serde_json::{Map, Value, json};

    use super::Config;

    fn parse(settings: Value) -> Result<Config, ConfigError> {
        let settings: Map<String, Value> = serde_json::from_value(settings).unwrap_or_default();
        Config::from_setup(&ProviderSetup { name: "paypercut", settings: &settings, secrets: &InlineSecrets })
    }

    #[test]
    fn accepts_key_and_optional_account() {
        let config = parse(json!({"api_key": {"value": "sk_test_1"}, "account": "acct_1"})).unwrap();
        assert_eq!(config.api_key.expose(), "sk_test_1");
        assert_eq!(config.account.as_deref(), Some("acct_1"));
        assert!(parse(json!({"api_key": {"value": "sk_test_1"}})).unwrap().account.is_none());
    }

    #[test]
    fn rejects_typos_missing_key_and_bad_values() {
        assert!(parse(json!({"api_key": {"value": "sk"}, "acount": "x"})).is_err());
        assert!(parse(json!({})).is_err());
        assert_eq!(parse(json!({"api_key": {"value": ""}})).unwrap_err().key, "api_key");
        assert_eq!(parse(json!({"api_key": {"value": "sk\n"}})).unwrap_err().key, "api_key");
        assert_eq!(parse(json!({"api_key": {"value": "sk"}, "account": ""})).unwrap_err().key, "account");
    }

    #[test]
    fn debug_never_shows_the_key() {
        let config = parse(json!({"api_key": {"value": "sk_test_secret"}})).unwrap();
        assert!(!format!("{config:?}").contains("sk_test_secret"));
    }
}
