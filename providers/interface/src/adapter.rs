//! The adapter trait and what the gateway hands it.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::capability::{Capabilities, CheckedUpdate, UpdateCheck};
use crate::{
    AdapterError, ConfigError, ProviderRequest, ProviderResponse, SecretResolver, SessionIdError, Simulator,
    UnifiedSession, UnifiedUpdate,
};

/// Everything non-deterministic an adapter may need, chosen by the gateway per provider call.
#[derive(Debug, Clone)]
pub struct Context {
    pub session_id: String,
    /// The gateway request id; the gateway itself adds `X-Request-Id` to every provider call.
    pub request_id: String,
    /// The key to forward as `Idempotency-Key` (derived from the tenant and client key, or a
    /// fresh UUID per unified request). Identical across the gateway's retries.
    pub idempotency_key: String,
    pub now: OffsetDateTime,
    /// Unique per provider call (e.g. a JWT `jti`).
    pub nonce: String,
}

/// Whether a call reads or writes; providers with scoped credentials care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// What an update is built against: the session as the provider reported it, when the adapter
/// asked for it (read-then-write emulation).
#[derive(Debug, Clone, Copy)]
pub enum CurrentState<'a> {
    /// `needs_current_state` said no: nothing was read.
    NotRequested,
    /// A preview: the adapter asked, but nothing is read; it builds as if the state were empty.
    Preview,
    /// The provider's answer to `build_retrieve`.
    Read(&'a ProviderResponse),
}

impl<'a> CurrentState<'a> {
    /// The answer read, if any: `NotRequested` and `Preview` both build over an empty state.
    pub fn response(self) -> Option<&'a ProviderResponse> {
        match self {
            Self::Read(response) => Some(response),
            Self::NotRequested | Self::Preview => None,
        }
    }
}

/// A provider adapter. Implementations are pure: no I/O, clock, randomness or environment.
///
/// The kind and the capability table are declared once, on the kind's [`ProviderFactory`]; the
/// gateway reads them there.
pub trait Adapter: Send + Sync + 'static {
    /// Value-dependent rules the capability table cannot express (e.g. a field supported only
    /// with another one). The table itself is checked by the gateway.
    fn check_update(&self, _update: &UnifiedUpdate) -> UpdateCheck {
        UpdateCheck::default()
    }

    /// The provider's own session id format, stricter than the gateway's rule.
    fn check_session_id(&self, _id: &str) -> Result<(), SessionIdError> {
        Ok(())
    }

    /// Whether `build_update` needs the session's current state (read-then-write emulation).
    fn needs_current_state(&self, _update: &UnifiedUpdate) -> bool {
        false
    }

    /// The provider request for an update that passed the gateway's checks (so they are not run
    /// again here). `current` is the provider's answer to `build_retrieve` when
    /// `needs_current_state` said so, or `Preview`.
    fn build_update(
        &self,
        update: &CheckedUpdate,
        current: CurrentState<'_>,
        ctx: &Context,
    ) -> Result<ProviderRequest, AdapterError>;

    fn build_retrieve(&self, ctx: &Context) -> Result<ProviderRequest, AdapterError>;

    /// Map any provider response (success or error) to the unified session or a classified error.
    fn parse_session(&self, response: &ProviderResponse, ctx: &Context) -> Result<UnifiedSession, AdapterError>;

    /// A read that completes a successful answer: the rest of a paginated list the answer cut
    /// short, or the object after a write that answers without one. The gateway sends it (read
    /// access, same deadline) and maps both answers with `parse_with_follow_up`. `None`: the
    /// answer is complete.
    fn follow_up(&self, _response: &ProviderResponse, _ctx: &Context) -> Result<Option<ProviderRequest>, AdapterError> {
        Ok(None)
    }

    /// Map an answer together with the answer to its `follow_up` read. When the follow-up read
    /// fails, the gateway maps `response` alone with `parse_session` and says so in a warning.
    fn parse_with_follow_up(
        &self,
        response: &ProviderResponse,
        _follow_up: &ProviderResponse,
        ctx: &Context,
    ) -> Result<UnifiedSession, AdapterError> {
        self.parse_session(response, ctx)
    }

    /// Headers minted for one attempt at the moment it is sent: credentials that carry a clock
    /// or a nonce (a signed token), or a per-attempt idempotency key. `ctx` carries the
    /// attempt's own clock and nonce; `attempt` counts from 1. They replace the built request's
    /// headers of the same names. Requests are built without them, and every path that shows or
    /// sends a request (dispatch, preview, contract cases) adds them through [`for_attempt`].
    fn attempt_headers(&self, _access: Access, _ctx: &Context, _attempt: u32) -> Result<http::HeaderMap, AdapterError> {
        Ok(http::HeaderMap::new())
    }

    /// The bearer token this provider's calls need from the gateway's token source (OAuth 2.0
    /// client credentials), if any. The gateway obtains and attaches it (`Authorization`) to
    /// every call after the adapter's own and per-attempt headers; an adapter that declares one
    /// builds its requests without `Authorization`. `None`: the adapter authenticates itself.
    fn token_source(&self) -> Option<&crate::ClientCredentials> {
        None
    }

    /// Provider-specific retry advice for an answer (e.g. a `Should-Retry` header). `None` lets
    /// the gateway decide by status.
    fn retry_advice(&self, _response: &ProviderResponse) -> Option<bool> {
        None
    }

    /// The credential (and account routing) headers for a passthrough call. `allowed_paths` are
    /// the path patterns (e.g. `/checkout/sessions/*`) of the `passthrough.allow` rules that admit
    /// this call: a provider with scoped credentials scopes them to those resources and `access`.
    fn auth_headers(
        &self,
        access: Access,
        allowed_paths: &[&str],
        ctx: &Context,
    ) -> Result<http::HeaderMap, AdapterError>;

    /// Request headers, beyond `Content-Type` and `Accept`, that the passthrough proxy may take
    /// from the client for this provider (lower case). Never an account selector: those come
    /// only from config, through `auth_headers`. The gateway drops any name on its own deny list
    /// (forwarding, method-override, `Range`, hop-by-hop, credentials) whatever is declared here.
    fn passthrough_request_headers(&self) -> &'static [&'static str] {
        &[]
    }
}

/// `request` as attempt number `attempt` sends it: the adapter's per-attempt headers, minted with
/// `ctx` (the attempt's clock and nonce), set over the built ones.
pub fn for_attempt(
    adapter: &dyn Adapter,
    mut request: ProviderRequest,
    access: Access,
    ctx: &Context,
    attempt: u32,
) -> Result<ProviderRequest, AdapterError> {
    let minted = adapter.attempt_headers(access, ctx, attempt)?;
    let headers = request.headers_mut();
    let mut last = None;
    for (name, value) in minted {
        // `HeaderMap`'s iterator names only the first of several values with one name.
        if let Some(name) = name {
            headers.remove(&name);
            last = Some(name);
        }
        if let Some(name) = &last {
            headers.append(name.clone(), value);
        }
    }
    Ok(request)
}

/// Merge `line_items[index].provider_options.<kind>` into that item's provider object. A key the
/// unified item already set is a conflict, reported at
/// `/line_items/<index>/provider_options/<kind>/<key>`.
pub fn merge_item_options(
    target: &mut Map<String, Value>,
    item: &crate::LineItem,
    index: usize,
    kind: &str,
) -> Vec<crate::FieldProblem> {
    let Some(options) = item.provider_options.get(kind) else {
        return Vec::new();
    };
    let mut conflicts = Vec::new();
    for (key, value) in options {
        if target.contains_key(option_root(key)) {
            conflicts.push(crate::FieldProblem::new(
                format!("/line_items/{index}/provider_options/{kind}/{}", crate::capability::escape_pointer(key)),
                format!("`{}` is already set by the unified line item", option_root(key)),
            ));
        } else {
            target.insert(key.clone(), value.clone());
        }
    }
    conflicts
}

/// What a provider's factory receives: its name, its kind-specific settings (the provider table
/// without the keys the gateway owns) and the gateway's secret resolver.
pub struct ProviderSetup<'a> {
    pub name: &'a str,
    pub settings: &'a Map<String, Value>,
    pub secrets: &'a dyn SecretResolver,
}

impl ProviderSetup<'_> {
    /// Deserialize the settings into the adapter's own config type (which should use
    /// `deny_unknown_fields`, so a typo is an error naming the key). The error names the key
    /// (its path in the table) and never the value: a value in the wrong place may be a secret.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        serde_path_to_error::deserialize(Value::Object(self.settings.clone())).map_err(|error| {
            let path = error.path().to_string();
            let key = if path == "." { self.name.to_owned() } else { path };
            ConfigError::new(key, without_values(&error.into_inner().to_string()))
        })
    }
}

/// A serde message with the values it quotes left out: `invalid type: string "sk_live_…",
/// expected …` becomes `invalid type: a string, expected …`, and `unknown variant `…`` loses the
/// variant written. Field names (keys) stay.
pub fn without_values(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            return match unexpected_kind(rest) {
                Some((kind, after)) => format!("{prefix}{kind}{after}"),
                None => format!("{prefix}the value written is not accepted here (not shown)"),
            };
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        for tail in ["`, expected ", "`, there are no variants"] {
            if let Some(at) = rest.find(tail) {
                return format!("unknown variant{}", &rest[at + 1..]);
            }
        }
        return "unknown variant".to_owned();
    }
    message.to_owned()
}

/// serde's rendering of an unexpected value (`string "…"`, `integer `7``, …) at the start of
/// `text`: its kind, and the text after the value.
fn unexpected_kind(text: &str) -> Option<(&'static str, &str)> {
    if let Some(quoted) = text.strip_prefix("string \"") {
        // `{:?}` of a string: escapes start with `\`, the value ends at the first bare `"`.
        let mut escaped = false;
        for (at, c) in quoted.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => return Some(("a string", &quoted[at + 1..])),
                _ => {}
            }
        }
        return None;
    }
    let kinds = [
        ("integer `", "an integer"),
        ("floating point `", "a number"),
        ("boolean `", "a boolean"),
        ("character `", "a character"),
    ];
    let quoted = kinds.into_iter().find_map(|(prefix, kind)| {
        let value = text.strip_prefix(prefix)?;
        let end = value.find('`')?;
        Some((kind, &value[end + 1..]))
    });
    // Kinds serde renders without a value.
    let bare = ["map", "sequence", "unit value", "Option value", "byte array", "newtype struct", "enum"];
    quoted.or_else(|| bare.into_iter().find_map(|kind| Some((kind, text.strip_prefix(kind)?))))
}

/// One registry entry: a provider kind's declarations and how to build its adapter and its
/// simulator. The only place a kind and its capability table are declared.
pub struct ProviderFactory {
    /// The provider kind, e.g. `stripe`.
    pub kind: &'static str,
    /// The declared capabilities, checked by [`check_update`](crate::capability::check_update)
    /// and shown in capability reports.
    pub capabilities: &'static Capabilities,
    pub build: fn(&ProviderSetup<'_>) -> Result<Arc<dyn Adapter>, ConfigError>,
    /// A simulator speaking the provider's wire protocol with demo sessions, accepting the
    /// credentials configured for this provider (for the embedded default config). `None` when
    /// the provider crate is built without its `simulator` feature.
    pub simulator: Option<BuildSimulator>,
    /// What the provider's session ids look like, so a tenant switching providers can route a
    /// session to the provider that issued it (`routes` in the gateway's tenant config).
    pub session_ids: SessionIdFormat,
}

/// A provider's published session-id format.
///
/// Consistency with [`Adapter::check_session_id`]: the adapter accepts every id `pattern`
/// matches (within the gateway's own id rule). It may accept more where the provider does not
/// enforce its format itself and answers an unknown id with its own 404; it never refuses an id
/// in the published format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionIdFormat {
    /// A regular expression (Rust `regex` syntax), anchored with `^…$`, matching every session id
    /// the provider issues.
    pub pattern: &'static str,
    /// One id in that format, as the provider's documentation shows it.
    pub example: &'static str,
    /// The format in words, for reports (`checkout-gateway check-config`, the switch report).
    pub described: &'static str,
}

/// Builds a provider's simulator from the provider's configuration.
pub type BuildSimulator = fn(&ProviderSetup<'_>) -> Result<Arc<dyn Simulator>, ConfigError>;

/// Merge `provider_options.<kind>` into a provider body. A key the unified body already set is
/// a conflict (DESIGN §3.1), reported at `/provider_options/<kind>/<key>`; so is a key in
/// bracket notation whose root the body set (`metadata[k]` beside a unified `metadata`), since a
/// form encoder sends it as the same parameter (see [`option_root`]).
pub fn merge_provider_options(
    body: &mut Map<String, Value>,
    update: &UnifiedUpdate,
    kind: &str,
) -> Result<(), AdapterError> {
    let Some(options) = update.provider_options.get(kind) else {
        return Ok(());
    };
    let mut conflicts = Vec::new();
    for (key, value) in options {
        let root = option_root(key);
        if body.contains_key(root) {
            conflicts.push(crate::FieldProblem::new(
                format!("/provider_options/{kind}/{}", crate::capability::escape_pointer(key)),
                format!("`{root}` is already set by the unified request"),
            ));
        } else {
            body.insert(key.clone(), value.clone());
        }
    }
    if conflicts.is_empty() { Ok(()) } else { Err(AdapterError::Invalid(conflicts)) }
}

/// The top-level field an option key writes: the key up to its first bracket. A form body
/// (Stripe's) encodes the key `metadata[k]` as `metadata%5Bk%5D`, which the provider decodes into
/// `metadata`'s member `k`; comparing whole keys would let such a key overwrite what the unified
/// request set. A percent-encoded bracket counts too, in case the provider decodes twice. JSON
/// bodies take such a key literally, so there the rule is only stricter than needed.
pub fn option_root(key: &str) -> &str {
    let bracket = key.find('[');
    let encoded = key.as_bytes().windows(3).position(|w| w.eq_ignore_ascii_case(b"%5b"));
    let end = match (bracket, encoded) {
        (Some(a), Some(b)) => a.min(b),
        (Some(at), None) | (None, Some(at)) => at,
        (None, None) => key.len(),
    };
    &key[..end]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn unified(value: Value) -> UnifiedUpdate {
        serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"))
    }

    fn pointers(result: Result<(), AdapterError>) -> Vec<String> {
        match result {
            Err(AdapterError::Invalid(problems)) => problems.into_iter().map(|p| p.pointer).collect(),
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    #[test]
    fn a_bracket_key_whose_root_the_unified_body_set_is_a_conflict() {
        let mut body = Map::new();
        body.insert("metadata".to_owned(), json!({"order_id": "42"}));
        let update = unified(json!({"provider_options": {"stripe": {
            "metadata[order_id]": "43", "metadata%5Bcoupon%5D": "x", "line_items[0][price]": "p", "expand": ["a"]
        }}}));
        let mut body_with_items = body.clone();
        body_with_items.insert("line_items".to_owned(), json!([]));
        assert_eq!(
            pointers(merge_provider_options(&mut body_with_items, &update, "stripe")),
            [
                "/provider_options/stripe/line_items[0][price]",
                "/provider_options/stripe/metadata%5Bcoupon%5D",
                "/provider_options/stripe/metadata[order_id]"
            ]
        );
        let plain = unified(json!({"provider_options": {"stripe": {"metadata": {"order_id": "43"}}}}));
        assert_eq!(
            pointers(merge_provider_options(&mut body, &plain, "stripe")),
            ["/provider_options/stripe/metadata"]
        );
    }

    #[test]
    fn bracket_keys_of_fields_the_body_did_not_set_are_merged() {
        let mut body = Map::new();
        body.insert("metadata".to_owned(), json!({"order_id": "42"}));
        let update = unified(json!({"provider_options": {"stripe": {"payment_intent_data[description]": "x"}}}));
        assert!(merge_provider_options(&mut body, &update, "stripe").is_ok());
        assert_eq!(body.get("payment_intent_data[description]"), Some(&json!("x")));
    }

    #[test]
    fn option_roots() {
        assert_eq!(option_root("metadata[k]"), "metadata");
        assert_eq!(option_root("metadata%5Bk%5D"), "metadata");
        assert_eq!(option_root("metadata%5bk"), "metadata");
        assert_eq!(option_root("a%5B[b]"), "a");
        assert_eq!(option_root("expand"), "expand");
        assert_eq!(option_root("[x]"), "");
    }
}
