//! The `stripe` provider's own settings (the `[providers.<name>]` keys the gateway does not own).

use checkout_provider_interface::{ConfigError, ProviderSetup, Secret, SecretRef};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// Secret or restricted key (`sk_…` / `rk_…`), sent as `Authorization: Bearer`.
    api_key: SecretRef,
    /// Pins `Stripe-Version`; without it Stripe uses the account's default version.
    #[serde(default)]
    api_version: Option<String>,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct StripeConfig {
    pub api_key: Secret,
    pub api_version: Option<String>,
}

impl StripeConfig {
    pub fn from_setup(setup: &ProviderSetup<'_>) -> Result<Self, ConfigError> {
        let raw: RawConfig = setup.parse()?;
        let api_key = setup.secrets.resolve("api_key", &raw.api_key)?;
        // Checked once at start-up so that building a request can never fail on the key.
        if api_key.expose().is_empty() || !api_key.expose().bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::new("api_key", "must be a non-empty key without spaces or control characters"));
        }
        if let Some(version) = &raw.api_version {
            if !is_api_version(version) {
                return Err(ConfigError::new(
                    "api_version",
                    format!("`{version}` is not a Stripe API version (YYYY-MM-DD or YYYY-MM-DD.name)"),
                ));
            }
        }
        Ok(Self { api_key, api_version: raw.api_version })
    }
}

/// `YYYY-MM-DD` optionally followed by `.name` in lower case, e.g. `2025-03-31.basil`
/// (the `Stripe-Version` pattern of the provider's OpenAPI description).
pub fn is_api_version(text: &str) -> bool {
    let (date, name) = match text.split_once('.') {
        Some((date, name)) => (date, Some(name)),
        None => (text, None),
    };
    let bytes = date.as_bytes();
    let date_ok = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() });
    let name_ok = name.is_none_or(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_lowercase()));
    date_ok && name_ok
}

#[cfg(test)]
mod tests {
    use checkout_provider_interface::contract::InlineSecrets;
    use serde_json::{Map, Value, json};

    use super::*;

    fn setup(settings: &Value) -> Result<StripeConfig, ConfigError> {
        let map: Map<String, Value> = settings.as_object().cloned().unwrap_or_default();
        StripeConfig::from_setup(&ProviderSetup { name: "stripe-test", settings: &map, secrets: &InlineSecrets })
    }

    #[test]
    fn accepts_key_and_optional_version() {
        let config = setup(&json!({"api_key": {"value": "sk_test_1"}, "api_version": "2025-03-31.basil"}));
        assert!(config.is_ok_and(|c| c.api_version.as_deref() == Some("2025-03-31.basil")));
        assert!(setup(&json!({"api_key": {"value": "sk_test_1"}})).is_ok_and(|c| c.api_version.is_none()));
    }

    #[test]
    fn rejects_unknown_keys_bad_versions_and_bad_keys() {
        assert!(setup(&json!({"api_key": {"value": "sk"}, "apikey": 1})).is_err());
        assert!(setup(&json!({"api_key": {"value": "sk"}, "api_version": "latest"})).is_err());
        assert!(setup(&json!({"api_key": {"value": "sk test"}})).is_err());
        assert!(setup(&json!({})).is_err());
    }

    #[test]
    fn version_pattern() {
        assert!(is_api_version("2022-11-15"));
        assert!(is_api_version("2026-10-28.endive"));
        assert!(!is_api_version("2026-10-28."));
        assert!(!is_api_version("2026-10-28.Endive"));
        assert!(!is_api_version("2026-1-28"));
    }
}
