//! Session ownership (issue 13, DESIGN §12): tenants that reach one provider account must not
//! read, update or passthrough each other's sessions. A provider entry shared by tenants declares
//! a rule, `ownership = { metadata_key = "tenant_id" }`, and each tenant has a value (its name,
//! or `tenants.<name>.ownership_value`). A session belongs to the tenant whose value its
//! `metadata[<key>]` holds; any other session, one without the key included, answers exactly as
//! a session the provider does not have.
//!
//! The check is on the unified session's `metadata`, so adapters stay unaware of it. The rule is
//! checked on every retrieve, on a read before every update, and on passthrough answers.

use std::collections::BTreeMap;

use bytes::Bytes;
use checkout_provider_interface::{FailureClass, FieldProblem, Patch, ProviderFailure, UnifiedUpdate};
use http_body_util::{BodyExt, Full};
use serde_json::Value;

use crate::config::{Provider, Tenant};
use crate::dispatch::stream::{AnswerBodyError, StreamedAnswer};
use crate::failure::{ProviderRef, UpdateError};

/// The rule as it applies to one tenant at one provider.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    key: &'a str,
    value: &'a str,
}

/// The owner to check for `tenant` at `provider`; `None` when the provider declares no rule
/// (a provider entry only one tenant reaches).
pub fn owner<'a>(provider: &'a Provider, tenant: &'a Tenant) -> Option<Owner<'a>> {
    let rule = provider.ownership.as_ref()?;
    Some(Owner { key: &rule.metadata_key, value: &tenant.ownership_value })
}

impl Owner<'_> {
    /// Whether a session with this (unified) metadata belongs to the tenant. Metadata the
    /// provider did not report belongs to nobody: the check fails closed.
    pub fn owns(&self, metadata: Option<&BTreeMap<String, String>>) -> bool {
        metadata.and_then(|m| m.get(self.key)).is_some_and(|value| value == self.value)
    }

    /// The same check on a provider's own successful answer (the passthrough), failing closed:
    /// only a JSON object whose `metadata` carries the tenant's value is the tenant's. A list,
    /// a sub-resource (e.g. a session's line items) or anything else whose owner the gateway
    /// cannot see is treated as another tenant's.
    pub fn owns_answer(&self, answer: &Value) -> bool {
        answer
            .get("metadata")
            .and_then(Value::as_object)
            .is_some_and(|metadata| metadata.get(self.key).and_then(Value::as_str) == Some(self.value))
    }

    /// Refuse an update that would change or remove the ownership key, which would hand the
    /// session to another tenant or to nobody. Setting it to the tenant's own value changes
    /// nothing and passes. `provider_options.<kind>` may not write the provider's `metadata`
    /// at all: it could set the key where the unified body cannot see it.
    pub fn check_update(&self, update: &UnifiedUpdate, kind: &str) -> Result<(), UpdateError> {
        let mut problems = Vec::new();
        match &update.metadata {
            Patch::Absent => {}
            Patch::Clear => problems.push(FieldProblem::new(
                "/metadata",
                format!("clearing metadata would remove `{}`, which holds the session's owner", self.key),
            )),
            Patch::Set(changes) => match changes.get(self.key) {
                Some(Some(value)) if value == self.value => {}
                Some(_) => problems.push(FieldProblem::new(
                    format!("/metadata/{}", escape(self.key)),
                    format!("`{}` holds the session's owner and cannot be changed or removed", self.key),
                )),
                None => {}
            },
        }
        for key in update.provider_options.get(kind).into_iter().flat_map(|options| options.keys()) {
            if checkout_provider_interface::adapter::option_root(key) == "metadata" {
                problems.push(FieldProblem::new(
                    format!("/provider_options/{kind}/{}", escape(key)),
                    "with an ownership rule, metadata is changed through the unified `metadata` only",
                ));
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(UpdateError::ValidationFailed(problems)) }
    }
}

fn escape(token: &str) -> String {
    checkout_provider_interface::capability::escape_pointer(token)
}

/// The one answer for a session the tenant may not see, and for a session the provider does
/// not have, at a provider with an ownership rule: `404 session_not_found` without the
/// provider's own texts (its message names the id, its request id differs per call), so the two
/// cannot be told apart.
pub fn not_found(provider: &Provider) -> UpdateError {
    let mut failure = ProviderFailure::new(FailureClass::NotFound, 404);
    failure.message = Some("no such checkout session".to_owned());
    UpdateError::Provider { provider: ProviderRef::of(provider), failure: Box::new(failure), retry_after_secs: None }
}

/// `error`, with a provider's own "not found" replaced by [`not_found`] when the provider has
/// an ownership rule.
pub fn uniform(provider: &Provider, error: UpdateError) -> UpdateError {
    match error {
        UpdateError::Provider { failure, .. }
            if provider.ownership.is_some() && failure.class == FailureClass::NotFound =>
        {
            not_found(provider)
        }
        other => other,
    }
}

/// A passthrough answer checked against `owner` before any of it reaches the client: its body
/// is read (within `limit` bytes and the deadline) and handed back whole. A 404 becomes
/// [`not_found`], as does every successful answer that is not provably the tenant's (see
/// [`Owner::owns_answer`]); other errors (the provider's 4xx and 5xx, which carry no session)
/// pass unchanged.
pub async fn checked_answer(
    owner: Owner<'_>,
    provider: &Provider,
    answer: StreamedAnswer,
    limit: usize,
    deadline: tokio::time::Instant,
) -> Result<http::Response<Full<Bytes>>, UpdateError> {
    if answer.status() == http::StatusCode::NOT_FOUND {
        return Err(not_found(provider));
    }
    let timeout = || UpdateError::ProviderTimeout { provider: ProviderRef::of(provider) };
    let unusable = |detail: String| UpdateError::ProviderUnparseable { provider: ProviderRef::of(provider), detail };
    let (parts, mut answer_body) = answer.into_parts();
    let mut body = Vec::new();
    loop {
        let frame = tokio::time::timeout_at(deadline, answer_body.frame()).await.map_err(|_| timeout())?;
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|error| match error {
            AnswerBodyError::Late => timeout(),
            AnswerBodyError::Failed(_) => unusable(format!("the provider's response could not be read: {error}")),
        })?;
        // Trailers carry no part of the answer's content.
        let Ok(chunk) = frame.into_data() else { continue };
        if body.len() + chunk.len() > limit {
            return Err(unusable(format!("the provider's response exceeds {limit} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    if parts.status.is_success() {
        let owned = serde_json::from_slice::<Value>(&body).is_ok_and(|json| owner.owns_answer(&json));
        if !owned {
            return Err(not_found(provider));
        }
    }
    Ok(http::Response::from_parts(parts, Full::new(Bytes::from(body))))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const OWNER: Owner<'static> = Owner { key: "tenant_id", value: "acme" };

    fn metadata(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn refused(update: Value) -> Vec<String> {
        let update: UnifiedUpdate = serde_json::from_value(update).unwrap_or_else(|e| panic!("{e}"));
        match OWNER.check_update(&update, "form") {
            Ok(()) => Vec::new(),
            Err(UpdateError::ValidationFailed(problems)) => problems.into_iter().map(|p| p.pointer).collect(),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn only_the_tenants_value_owns_a_session() {
        assert!(OWNER.owns(Some(&metadata(&[("tenant_id", "acme"), ("order", "1")]))));
        assert!(!OWNER.owns(Some(&metadata(&[("tenant_id", "globex")]))));
        assert!(!OWNER.owns(Some(&metadata(&[("order", "1")]))), "without the key: nobody's");
        assert!(!OWNER.owns(None), "metadata not reported: nobody's");
    }

    #[test]
    fn passthrough_answers_with_metadata_must_carry_the_tenants_value() {
        assert!(OWNER.owns_answer(&json!({"id": "cs_1", "metadata": {"tenant_id": "acme"}})));
        assert!(!OWNER.owns_answer(&json!({"id": "cs_1", "metadata": {"tenant_id": "globex"}})));
        assert!(!OWNER.owns_answer(&json!({"id": "cs_1", "metadata": {}})));
        assert!(!OWNER.owns_answer(&json!({"id": "cs_1", "metadata": null})));
        assert!(!OWNER.owns_answer(&json!({"object": "list", "data": [{"id": "li_1"}]})), "a sub-resource: nobody's");
    }

    #[test]
    fn an_update_cannot_change_or_remove_the_ownership_key() {
        assert!(refused(json!({"metadata": {"tenant_id": "acme", "order": "1"}})).is_empty());
        assert!(refused(json!({"metadata": {"order": null}})).is_empty());
        assert_eq!(refused(json!({"metadata": {"tenant_id": "globex"}})), ["/metadata/tenant_id"]);
        assert_eq!(refused(json!({"metadata": {"tenant_id": null}})), ["/metadata/tenant_id"]);
        assert_eq!(refused(json!({"metadata": null})), ["/metadata"]);
        assert_eq!(
            refused(json!({"provider_options": {
                "form": {"metadata": {"tenant_id": "globex"}, "metadata[tenant_id]": "", "expand": ["x"]},
                "json": {"metadata": {}}
            }})),
            ["/provider_options/form/metadata", "/provider_options/form/metadata[tenant_id]"]
        );
    }
}
