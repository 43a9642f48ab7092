//! The `stripe` provider's own settings (the `[providers.<name>]` keys the gateway does not own).

use checkout_provider_interface::{ConfigError, ProviderSetup, Secret, SecretRef};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// Secret or restricted key (`sk_…` / `rk_…`), sent as `Authorization: Bearer`.
    api_key: SecretRef,
    /// Pins `Stripe-Version`; without it the gateway pins [`DEFAULT_API_VERSION`].
    #[serde(default)]
    api_version: Option<String>,
}

/// The version sent when `api_version` is not configured: the one the adapter's field names,
/// contract cases and the published description (`openapi.json`) follow. The account's own
/// default version is unknown to the gateway and may predate fields the adapter writes.
pub const DEFAULT_API_VERSION: &str = "2026-10-28.endive";

/// The oldest version the adapter's requests work with: `collected_information[shipping_details]`
/// (written, and read back for the partial merge) exists from `2025-03-31.basil` on; before it
/// the object was a top-level `shipping_details`.
pub const MINIMUM_API_VERSION: &str = "2025-03-31.basil";

/// Validated settings.
#[derive(Debug, Clone)]
pub struct StripeConfig {
    pub api_key: Secret,
    /// Sent as `Stripe-Version` on every call: the configured version, else [`DEFAULT_API_VERSION`].
    pub api_version: String,
}

impl StripeConfig {
    pub fn from_setup(setup: &ProviderSetup<'_>) -> Result<Self, ConfigError> {
        let raw: RawConfig = setup.parse()?;
        let api_key = setup.secrets.resolve("api_key", &raw.api_key)?;
        // Checked once at start-up so that building a request can never fail on the key.
        if api_key.expose().is_empty() || !api_key.expose().bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::new("api_key", "must be a non-empty key without spaces or control characters"));
        }
        let api_version = raw.api_version.unwrap_or_else(|| DEFAULT_API_VERSION.to_owned());
        if !is_api_version(&api_version) {
            return Err(ConfigError::new(
                "api_version",
                format!("`{api_version}` is not a Stripe API version (YYYY-MM-DD or YYYY-MM-DD.name)"),
            ));
        }
        if !version_at_least(&api_version, MINIMUM_API_VERSION) {
            return Err(ConfigError::new(
                "api_version",
                format!(
                    "`{api_version}` is too old: the adapter writes collected_information[shipping_details], which needs {MINIMUM_API_VERSION} or later"
                ),
            ));
        }
        Ok(Self { api_key, api_version })
    }

    /// Whether the configured version is `minimum` or later (e.g. to pick a field that only
    /// newer versions have).
    pub fn api_version_at_least(&self, minimum: &str) -> bool {
        version_at_least(&self.api_version, minimum)
    }
}

/// Stripe versions are ordered by their release date (`YYYY-MM-DD`); the name after the dot
/// only labels the release. Both arguments must pass [`is_api_version`].
pub fn version_at_least(version: &str, minimum: &str) -> bool {
    fn date(version: &str) -> &str {
        version.split_once('.').map_or(version, |(date, _)| date)
    }
    // Fixed-width ISO dates compare correctly as text.
    date(version) >= date(minimum)
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
        assert!(config.is_ok_and(|c| c.api_version == "2025-03-31.basil"));
        let pinned = setup(&json!({"api_key": {"value": "sk_test_1"}}));
        assert!(pinned.is_ok_and(|c| c.api_version == DEFAULT_API_VERSION));
    }

    #[test]
    fn versions_before_the_minimum_are_refused_naming_the_key() {
        let error = setup(&json!({"api_key": {"value": "sk"}, "api_version": "2024-06-20"})).err();
        let text = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("api_version") && text.contains(MINIMUM_API_VERSION), "{text}");
        assert!(setup(&json!({"api_key": {"value": "sk"}, "api_version": "2025-03-30.acacia"})).is_err());
        assert!(setup(&json!({"api_key": {"value": "sk"}, "api_version": "2025-03-31"})).is_ok());
    }

    #[test]
    fn versions_compare_by_release_date() {
        assert!(version_at_least("2025-12-15.clover", "2025-03-31.basil"));
        assert!(version_at_least("2025-03-31.basil", "2025-03-31.basil"));
        assert!(!version_at_least("2025-03-31.basil", "2025-12-15.clover"));
        assert!(!version_at_least("2024-12-18.acacia", "2025-03-31.basil"));
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
