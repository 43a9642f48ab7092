//! Resolves `{env}`, `{file}` and `{value}` secret references at start-up.

use std::cell::RefCell;

use checkout_provider_interface::{ConfigError, Secret, SecretRef, SecretResolver};

/// Reads secrets from the environment and files. Inline values are allowed for local
/// development and recorded as warnings, which the caller logs once telemetry is up.
#[derive(Default)]
pub struct StartupSecrets {
    warnings: RefCell<Vec<String>>,
    resolved: RefCell<Vec<Secret>>,
}

impl StartupSecrets {
    /// A resolver for one provider's table, so warnings name the full key.
    pub fn scoped<'a>(&'a self, provider: &'a str) -> ScopedSecrets<'a> {
        ScopedSecrets { inner: self, provider }
    }

    /// The warnings (each once), and every secret value resolved (for scrubbing provider texts).
    pub fn finish(self) -> (Vec<String>, Vec<Secret>) {
        let mut warnings = self.warnings.into_inner();
        warnings.dedup();
        (warnings, self.resolved.into_inner())
    }
}

impl SecretResolver for StartupSecrets {
    fn resolve(&self, key: &str, reference: &SecretRef) -> Result<Secret, ConfigError> {
        let value = match reference {
            SecretRef::Env(name) => std::env::var(name).map_err(|_| {
                let named = if looks_like_variable(name) { format!("`{name}`") } else { NOT_SHOWN.to_owned() };
                ConfigError::new(key, format!("environment variable {named} is not set"))
            })?,
            SecretRef::File(path) => std::fs::read_to_string(path)
                .map_err(|e| {
                    let named =
                        if looks_like_path(path) { format!("`{}`", path.display()) } else { NOT_SHOWN.to_owned() };
                    ConfigError::new(key, format!("cannot read secret file {named}: {e}"))
                })?
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
            SecretRef::Value(value) => {
                self.warnings.borrow_mut().push(format!(
                    "{key}: inline secret value; use {{ env = … }} or {{ file = … }} outside local development"
                ));
                value.clone()
            }
        };
        if value.is_empty() {
            return Err(ConfigError::new(key, "secret is empty"));
        }
        let secret = Secret::new(value);
        self.resolved.borrow_mut().push(secret.clone());
        Ok(secret)
    }
}

/// Said instead of a variable name or path that may be the secret itself, written where its
/// reference belongs (`{ env = "sk_live_…" }`).
const NOT_SHOWN: &str = "(name not shown: it does not look like one and may be the secret itself)";

/// `UPPER_CASE_WITH_DIGITS`, as environment variables are conventionally named.
fn looks_like_variable(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// An absolute or explicitly relative path on one line (`/run/secrets/key`, `./key.pem`).
fn looks_like_path(path: &std::path::Path) -> bool {
    let text = path.to_string_lossy();
    text.len() <= 4096
        && (text.starts_with('/') || text.starts_with("./") || text.starts_with("../"))
        && !text.chars().any(char::is_whitespace)
}

/// [`StartupSecrets`] for one provider table. Errors keep the key relative (the config layer
/// prefixes it); warnings get the full key.
pub struct ScopedSecrets<'a> {
    inner: &'a StartupSecrets,
    provider: &'a str,
}

impl SecretResolver for ScopedSecrets<'_> {
    fn resolve(&self, key: &str, reference: &SecretRef) -> Result<Secret, ConfigError> {
        let full_key = format!("providers.{}.{key}", self.provider);
        self.inner.resolve(&full_key, reference).map_err(|e| ConfigError::new(key, e.message))
    }
}
