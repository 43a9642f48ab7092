//! Secrets: how config refers to them, and the wrapper that keeps them out of logs.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A reference to a secret in config: `{ env = "NAME" }`, `{ file = "/path" }` or, for local
/// development only, `{ value = "..." }`.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
    Value(String),
}

/// What a malformed reference is told, whatever was written: never the text itself, since an
/// operator who writes `api_key = "sk_live_…"` has put the secret exactly where the message
/// would quote it.
pub const SECRET_REF_EXPECTED: &str = "expected a secret reference: { env = \"NAME\" }, { file = \"/path\" } or \
     { value = \"…\" } (what was written is not shown: it may be the secret itself)";

impl<'de> Deserialize<'de> for SecretRef {
    /// Read the whole value first and judge it here: serde's own messages (`unknown variant
    /// `sk_live_…``, `invalid type: string "…"`) quote what they refuse.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let refused = || serde::de::Error::custom(SECRET_REF_EXPECTED);
        let Value::Object(table) = Value::deserialize(deserializer).map_err(|_| refused())? else {
            return Err(refused());
        };
        let mut entries = table.into_iter();
        let (Some((source, Value::String(text))), None) = (entries.next(), entries.next()) else {
            return Err(refused());
        };
        match source.as_str() {
            "env" => Ok(Self::Env(text)),
            "file" => Ok(Self::File(PathBuf::from(text))),
            "value" => Ok(Self::Value(text)),
            _ => Err(refused()),
        }
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "env:{name}"),
            Self::File(path) => write!(f, "file:{}", path.display()),
            Self::Value(_) => f.write_str("value:[redacted]"),
        }
    }
}

/// A resolved secret. `Debug` and `Display` never show it; call [`Secret::expose`] at the one
/// place the value is needed (building a header).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Resolves secret references at start-up; implemented by the gateway (environment, files).
pub trait SecretResolver {
    /// Resolve `reference` found at `key` (relative to the provider table), or say why not.
    fn resolve(&self, key: &str, reference: &SecretRef) -> Result<Secret, crate::ConfigError>;
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::*;
    use crate::{ConfigError, ProviderSetup};

    struct NoSecrets;

    impl SecretResolver for NoSecrets {
        fn resolve(&self, key: &str, _reference: &SecretRef) -> Result<Secret, ConfigError> {
            Err(ConfigError::new(key, "unused"))
        }
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only the parse outcome matters")]
    struct Settings {
        api_key: SecretRef,
        #[serde(default)]
        timeout: Option<u32>,
        #[serde(default)]
        mode: Option<Mode>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Live,
    }

    fn parse(settings: Value) -> Result<Settings, ConfigError> {
        let Value::Object(settings) = settings else { return Err(ConfigError::new("", "not a table")) };
        let settings: Map<String, Value> = settings;
        ProviderSetup { name: "stripe", settings: &settings, secrets: &NoSecrets }.parse()
    }

    #[test]
    fn a_reference_of_each_form_parses() {
        for (written, expected) in [
            (json!({ "env": "STRIPE_KEY" }), SecretRef::Env("STRIPE_KEY".to_owned())),
            (json!({ "file": "/run/key" }), SecretRef::File(PathBuf::from("/run/key"))),
            (json!({ "value": "sk_test_1" }), SecretRef::Value("sk_test_1".to_owned())),
        ] {
            assert_eq!(serde_json::from_value::<SecretRef>(written).unwrap(), expected);
        }
    }

    #[test]
    fn a_plain_secret_where_a_reference_belongs_is_refused_naming_the_key_not_the_value() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----";
        for written in [
            json!("sk_live_51SecretValue"),
            json!(pem),
            json!(123_456_789),
            json!({ "sk_live_51SecretValue": "x" }),
            json!({ "value": 123_456_789 }),
            json!({ "env": "A", "value": "sk_live_51SecretValue" }),
            json!(["sk_live_51SecretValue"]),
        ] {
            let error = parse(json!({ "api_key": written })).unwrap_err();
            assert_eq!(error.key, "api_key");
            assert_eq!(error.message, SECRET_REF_EXPECTED);
        }
    }

    #[test]
    fn other_refusals_name_the_key_and_leave_the_value_out() {
        let error = parse(json!({ "api_key": { "env": "K" }, "timeout": "sk_live_51SecretValue" })).unwrap_err();
        assert_eq!((error.key.as_str(), error.message.as_str()), ("timeout", "invalid type: a string, expected u32"));
        let error = parse(json!({ "api_key": { "env": "K" }, "mode": "sk_live_51SecretValue" })).unwrap_err();
        assert_eq!(error.key, "mode");
        assert_eq!(error.message, "unknown variant, expected `live`");
        let error = parse(json!({ "api_key": { "env": "K" }, "timeout": 1.5 })).unwrap_err();
        assert_eq!(error.message, "invalid type: a number, expected u32");
        let error = parse(json!({ "api_key": { "env": "K" }, "api_kye": 1 })).unwrap_err();
        assert!(error.message.starts_with("unknown field `api_kye`"), "{error:?}");
        assert_eq!(error.key, "api_kye");
    }
}
