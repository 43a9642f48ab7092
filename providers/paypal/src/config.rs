//! The `[providers.<name>]` settings a PayPal provider owns (the gateway keeps `kind`,
//! `base_url`, retries and the like to itself).

use checkout_provider_interface::{ClientCredentials, ConfigError, ProviderSetup, Secret, SecretRef, TokenEndpoint};
use serde::Deserialize;

/// Where PayPal's token endpoint is on the API host.
pub const TOKEN_PATH: &str = "/v1/oauth2/token";

/// As written in config; parsed, then validated into [`Config`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// The REST app's client id.
    client_id: SecretRef,
    /// The REST app's secret.
    client_secret: SecretRef,
    /// An absolute token endpoint; without it, `POST <base_url>/v1/oauth2/token`.
    #[serde(default)]
    token_url: Option<String>,
}

/// Validated settings, shared by the adapter and the simulator.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// What the gateway's token source needs; the adapter itself never sends a credential.
    pub(crate) credentials: ClientCredentials,
}

impl Config {
    pub(crate) fn from_setup(setup: &ProviderSetup<'_>) -> Result<Self, ConfigError> {
        let raw: RawConfig = setup.parse()?;
        let client_id = setup.secrets.resolve("client_id", &raw.client_id)?;
        let client_secret = setup.secrets.resolve("client_secret", &raw.client_secret)?;
        // HTTP Basic: the id may not hold `:` (it ends the user part); both must be printable.
        if !usable(&client_id) || client_id.expose().contains(':') {
            return Err(ConfigError::new("client_id", "must be a non-empty id of printable characters, without `:`"));
        }
        if !usable(&client_secret) {
            return Err(ConfigError::new("client_secret", "must be a non-empty secret of printable characters"));
        }
        let endpoint = match raw.token_url {
            None => TokenEndpoint::OnBaseUrl(TOKEN_PATH.to_owned()),
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                if url.parse::<http::Uri>().is_err() {
                    return Err(ConfigError::new("token_url", "is not a valid URL"));
                }
                TokenEndpoint::Absolute(url)
            }
            Some(_) => return Err(ConfigError::new("token_url", "must be an absolute http(s) URL")),
        };
        Ok(Self { credentials: ClientCredentials { endpoint, client_id, client_secret, scope: None } })
    }
}

fn usable(secret: &Secret) -> bool {
    !secret.expose().is_empty() && secret.expose().bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use checkout_provider_interface::contract::InlineSecrets;
    use serde_json::{Map, Value, json};

    use super::*;

    fn parse(settings: &Value) -> Result<Config, ConfigError> {
        let settings: Map<String, Value> = settings.as_object().cloned().unwrap_or_default();
        Config::from_setup(&ProviderSetup { name: "paypal", settings: &settings, secrets: &InlineSecrets })
    }

    #[test]
    fn the_token_endpoint_is_on_the_base_url_unless_configured() {
        let config = parse(&json!({"client_id": {"value": "AbC"}, "client_secret": {"value": "EfG"}}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.credentials.endpoint, TokenEndpoint::OnBaseUrl("/v1/oauth2/token".to_owned()));
        assert_eq!(config.credentials.client_id.expose(), "AbC");
        let absolute = parse(&json!({"client_id": {"value": "a"}, "client_secret": {"value": "b"},
            "token_url": "https://id.example/oauth2/token"}))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            absolute.credentials.endpoint,
            TokenEndpoint::Absolute("https://id.example/oauth2/token".to_owned())
        );
    }

    #[test]
    fn bad_settings_name_their_key_and_never_the_value() {
        let key = |settings: Value| parse(&settings).err().map(|e| e.key).unwrap_or_default();
        assert_eq!(key(json!({"client_id": {"value": "a:b"}, "client_secret": {"value": "s"}})), "client_id");
        assert_eq!(key(json!({"client_id": {"value": "a"}, "client_secret": {"value": "s s"}})), "client_secret");
        assert_eq!(
            key(json!({"client_id": {"value": "a"}, "client_secret": {"value": "s"}, "token_url": "/token"})),
            "token_url"
        );
        assert!(parse(&json!({"client_id": {"value": "a"}, "client_secret": {"value": "s"}, "secret": 1})).is_err());
        let error = parse(&json!({"client_id": {"value": "a"}, "client_secret": {"value": "top secret"}}))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!error.contains("top secret"), "{error}");
    }
}
