//! Secrets: how config refers to them, and the wrapper that keeps them out of logs.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

/// A reference to a secret in config: `{ env = "NAME" }`, `{ file = "/path" }` or, for local
/// development only, `{ value = "..." }`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
    Value(String),
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
