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
            SecretRef::Env(name) => std::env::var(name)
                .map_err(|_| ConfigError::new(key, format!("environment variable `{name}` is not set")))?,
            SecretRef::File(path) => std::fs::read_to_string(path)
                .map_err(|e| ConfigError::new(key, format!("cannot read secret file `{}`: {e}", path.display())))?
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
