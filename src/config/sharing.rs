//! Provider entries shared by tenants (issue 13, DESIGN §12): allowed only with an ownership
//! rule (`crate::ownership`), under which every tenant reaching the entry has its own value.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::raw::{RawProvider, RawTenant};
use super::{ConfigError, Provider, Tenant};

/// A provider entry's rule: the session metadata key that names the owning tenant (checked by
/// `crate::ownership`, which reads the config; the rule is config, so it lives here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnershipRule {
    pub metadata_key: String,
}

/// DESIGN §3.1's limits on a metadata key and value: the rule's key and a tenant's value must
/// be writable as session metadata.
const MAX_KEY_CHARS: usize = 40;
const MAX_VALUE_CHARS: usize = 500;

/// `providers.<name>.ownership`, checked. A rule is checked on answers, which a passthrough
/// write only gives after it acted, so a provider with a rule forwards reads only.
pub(super) fn rule(name: &str, raw: &RawProvider) -> Result<Option<OwnershipRule>, ConfigError> {
    let Some(ownership) = &raw.ownership else { return Ok(None) };
    let key = &ownership.metadata_key;
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS {
        return Err(ConfigError::new(
            format!("providers.{name}.ownership.metadata_key"),
            format!("must be 1 to {MAX_KEY_CHARS} characters (a metadata key)"),
        ));
    }
    for (i, entry) in raw.passthrough.allow.iter().enumerate() {
        let method = entry.trim().split_once(' ').map_or("", |(method, _)| method);
        if !matches!(method, "GET" | "HEAD") {
            return Err(ConfigError::new(
                format!("providers.{name}.passthrough.allow"),
                format!(
                    "entry {i}: only GET and HEAD rules go with an ownership rule (a write would act before its answer shows whose session it was)"
                ),
            ));
        }
    }
    Ok(Some(OwnershipRule { metadata_key: key.clone() }))
}

/// `tenants.<name>.ownership_value`, or the tenant's name.
pub(super) fn tenant_value(name: &str, raw: &RawTenant) -> Result<String, ConfigError> {
    let value = raw.ownership_value.clone().unwrap_or_else(|| name.to_owned());
    if value.is_empty() || value.chars().count() > MAX_VALUE_CHARS {
        return Err(ConfigError::new(
            format!("tenants.{name}.ownership_value"),
            format!("must be 1 to {MAX_VALUE_CHARS} characters (a metadata value)"),
        ));
    }
    Ok(value)
}

/// Refuse a provider entry that several tenants reach (as default or in `allowed_providers`)
/// without an ownership rule, and two of its tenants with one ownership value.
pub(super) fn check(providers: &BTreeMap<String, Arc<Provider>>, tenants: &[Tenant]) -> Result<(), ConfigError> {
    for (name, provider) in providers {
        let reaching: Vec<&Tenant> = tenants.iter().filter(|t| t.allowed_providers.contains(name)).collect();
        let [first, second, ..] = reaching.as_slice() else { continue };
        if provider.ownership.is_none() {
            return Err(ConfigError::new(
                format!("providers.{name}.ownership"),
                format!(
                    "required: tenants `{}` and `{}` both reach this provider, so either could read and update the other's sessions; declare ownership = {{ metadata_key = \"tenant_id\" }} (sessions carry the tenant's ownership_value there) or give each tenant its own provider entry",
                    first.name, second.name
                ),
            ));
        }
        for (i, a) in reaching.iter().enumerate() {
            if let Some(b) = reaching[i + 1..].iter().find(|b| b.ownership_value == a.ownership_value) {
                return Err(ConfigError::new(
                    format!("tenants.{}.ownership_value", b.name),
                    format!("same ownership value as tenant `{}`, which shares provider `{name}`", a.name),
                ));
            }
        }
    }
    Ok(())
}
