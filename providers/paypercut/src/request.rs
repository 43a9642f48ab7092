//! Unified update → `POST /v1/checkouts/{id}` with `{"shipping_rate": …}`; retrieve →
//! `GET /v1/checkouts/{id}`.

use checkout_provider_interface::adapter::merge_provider_options;
use checkout_provider_interface::wire::{self, JSON};
use checkout_provider_interface::{
    AdapterError, CheckedUpdate, Context, FieldProblem, ProviderRequest, SessionIdError,
};
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{Map, Value};

use crate::KIND;
use crate::config::{Config, bearer};

/// Paypercut's documented limit on checkout ids (path parameter `maxLength: 200`).
pub(crate) const MAX_SESSION_ID: usize = 200;
/// Paypercut's documented limit on idempotency keys.
const MAX_IDEMPOTENCY_KEY: usize = 255;

pub(crate) fn check_session_id(id: &str) -> Result<(), SessionIdError> {
    if id.is_empty() || id.len() > MAX_SESSION_ID {
        return Err(SessionIdError { kind: KIND, expected: format!("1 to {MAX_SESSION_ID} characters") });
    }
    Ok(())
}

/// `update` passed `capabilities::check`, so the body has a non-empty `shipping_rate` (from the
/// unified field or `provider_options.paypercut`).
pub(crate) fn build_update(
    config: &Config,
    update: &CheckedUpdate,
    ctx: &Context,
) -> Result<ProviderRequest, AdapterError> {
    let mut body = Map::new();
    if let Some(rate) = &update.shipping_rate {
        body.insert("shipping_rate".to_owned(), Value::String(rate.clone()));
    }
    merge_provider_options(&mut body, update, KIND)?;
    let key = idempotency_key(&ctx.idempotency_key)?;
    let encoded = serde_json::to_vec(&Value::Object(body))
        .map_err(|e| AdapterError::internal("cannot encode the update body", e))?;
    let mut builder = wire::request(Method::POST, &path(&ctx.session_id))
        .header(http::header::CONTENT_TYPE, JSON)
        .header("idempotency-key", key);
    for (name, value) in &auth_headers(config)? {
        builder = builder.header(name, value);
    }
    wire::finish(builder, encoded)
}

/// No `expand`: Paypercut's examples return `line_items` unexpanded and the query encoding of
/// `expand` is not documented.
pub(crate) fn build_retrieve(config: &Config, ctx: &Context) -> Result<ProviderRequest, AdapterError> {
    let mut builder = wire::request(Method::GET, &path(&ctx.session_id));
    for (name, value) in &auth_headers(config)? {
        builder = builder.header(name, value);
    }
    wire::finish(builder, Vec::new())
}

/// `Authorization: Bearer <secret key>` (redacted in previews) and, when configured,
/// `Paypercut-Account`.
pub(crate) fn auth_headers(config: &Config) -> Result<HeaderMap, AdapterError> {
    let mut headers = HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, wire::sensitive(&bearer(&config.api_key))?);
    if let Some(account) = &config.account {
        let value = HeaderValue::from_str(account)
            .map_err(|e| AdapterError::internal("the configured account is not a valid header value", e))?;
        headers.insert("paypercut-account", value);
    }
    Ok(headers)
}

fn path(session_id: &str) -> String {
    format!("/v1/checkouts/{}", wire::encode_segment(session_id))
}

/// The gateway's keys already fit Paypercut's rule; checked so a key that does not is refused
/// here instead of by Paypercut after the fact.
fn idempotency_key(key: &str) -> Result<HeaderValue, AdapterError> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-' | b'.');
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY || !key.bytes().all(allowed) {
        return Err(AdapterError::Invalid(vec![FieldProblem::new(
            "",
            "the idempotency key does not fit paypercut's rule (1-255 of [A-Za-z0-9:_-.])",
        )]));
    }
    HeaderValue::from_str(key).map_err(|e| AdapterError::internal("the idempotency key is not a header value", e))
}

#[cfg(test)]
mod tests {
    use checkout_provider_interface::capability::{Refused, check_update};
    use checkout_provider_interface::wire::describe_request;
    use checkout_provider_interface::{AdapterError, CheckedUpdate, Context, Secret, UnifiedUpdate};
    use serde_json::json;

    use super::{build_retrieve, build_update, check_session_id};
    use crate::config::Config;

    fn config(account: Option<&str>) -> Config {
        Config { api_key: Secret::new("sk_test_x"), account: account.map(str::to_owned) }
    }

    fn ctx(id: &str, key: &str) -> Context {
        Context {
            session_id: id.to_owned(),
            request_id: "req".to_owned(),
            idempotency_key: key.to_owned(),
            now: time::OffsetDateTime::UNIX_EPOCH,
            nonce: "n".to_owned(),
        }
    }

    /// `body` as the gateway's check passes it, or the problems it found.
    fn checked(body: serde_json::Value) -> Result<CheckedUpdate, Box<Refused>> {
        let update: UnifiedUpdate = serde_json::from_value(body).unwrap();
        check_update(&crate::FACTORY, &crate::Paypercut { config: config(None) }, update)
    }

    fn update(body: serde_json::Value) -> CheckedUpdate {
        checked(body).unwrap()
    }

    #[test]
    fn update_sends_rate_key_and_redactable_credentials() {
        let request =
            build_update(&config(Some("acct_9")), &update(json!({"shipping_rate": "shr_1"})), &ctx("a/b", "k:1"))
                .unwrap();
        assert_eq!(
            describe_request(&request, true),
            json!({"method": "POST", "path": "/v1/checkouts/a%2Fb", "body": {"shipping_rate": "shr_1"},
                   "headers": {"authorization": "[redacted]", "content-type": "application/json",
                               "idempotency-key": "k:1", "paypercut-account": "acct_9"}})
        );
    }

    #[test]
    fn update_without_a_rate_or_with_a_bad_key_is_refused() {
        let none = checked(json!({"provider_options": {"paypercut": {"x": 1}}}));
        assert!(matches!(none, Err(refused) if refused.problems.invalid[0].pointer == "/shipping_rate"));
        let spaced = build_update(&config(None), &update(json!({"shipping_rate": "s"})), &ctx("c", "a b"));
        assert!(matches!(spaced, Err(AdapterError::Invalid(_))));
        let long = "k".repeat(256);
        assert!(build_update(&config(None), &update(json!({"shipping_rate": "s"})), &ctx("c", &long)).is_err());
    }

    #[test]
    fn retrieve_has_no_body_and_no_idempotency_key() {
        let request = build_retrieve(&config(None), &ctx("chk_1", "k")).unwrap();
        assert_eq!(
            describe_request(&request, false),
            json!({"method": "GET", "path": "/v1/checkouts/chk_1", "body": null,
                   "headers": {"authorization": "Bearer sk_test_x"}})
        );
    }

    #[test]
    fn session_ids_are_limited_to_200_characters() {
        assert!(check_session_id(&"a".repeat(200)).is_ok());
        assert!(check_session_id(&"a".repeat(201)).is_err());
        assert!(check_session_id("").is_err());
    }
}
