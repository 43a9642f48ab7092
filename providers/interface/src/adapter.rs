//! The adapter trait and what the gateway hands it.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::capability::{Capabilities, UpdateCheck};
use crate::{
    AdapterError, ConfigError, ProviderRequest, ProviderResponse, SecretResolver, Simulator, UnifiedSession,
    UnifiedUpdate,
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

/// A provider adapter. Implementations are pure: no I/O, clock, randomness or environment.
pub trait Adapter: Send + Sync + 'static {
    /// The provider kind, e.g. `stripe`.
    fn kind(&self) -> &'static str;

    fn capabilities(&self) -> &'static Capabilities;

    /// Value-dependent rules the capability table cannot express (e.g. a field supported only
    /// with another one). The table itself is checked by the gateway.
    fn check_update(&self, _update: &UnifiedUpdate) -> UpdateCheck {
        UpdateCheck::default()
    }

    /// The provider's own session id format, stricter than the gateway's rule.
    fn check_session_id(&self, _id: &str) -> Result<(), String> {
        Ok(())
    }

    /// Whether `build_update` needs the session's current state (read-then-write emulation).
    fn needs_current_state(&self, _update: &UnifiedUpdate) -> bool {
        false
    }

    /// The provider request for an update. `current` is the provider's answer to
    /// `build_retrieve` when `needs_current_state` said so; `None` in a preview, where the
    /// adapter builds as if the current state were empty.
    fn build_update(
        &self,
        update: &UnifiedUpdate,
        current: Option<&ProviderResponse>,
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

    /// Provider-specific retry advice for an answer (e.g. a `Should-Retry` header). `None` lets
    /// the gateway decide by status.
    fn retry_advice(&self, _response: &ProviderResponse) -> Option<bool> {
        None
    }

    /// The credential headers for a call, for the passthrough proxy.
    fn auth_headers(&self, access: Access, ctx: &Context) -> Result<http::HeaderMap, AdapterError>;
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
        if target.contains_key(key) {
            conflicts.push(crate::FieldProblem::new(
                format!("/line_items/{index}/provider_options/{kind}/{}", crate::capability::escape_pointer(key)),
                format!("`{key}` is already set by the unified line item"),
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

/// One registry entry: how to build a provider kind's adapter and its simulator.
pub struct ProviderFactory {
    pub kind: &'static str,
    /// The declared capabilities (the same table the built adapter returns), for reports that
    /// compare kinds without configuring one.
    pub capabilities: &'static Capabilities,
    pub build: fn(&ProviderSetup<'_>) -> Result<Arc<dyn Adapter>, ConfigError>,
    /// A simulator speaking the provider's wire protocol with demo sessions, accepting the
    /// credentials configured for this provider (for the embedded default config).
    pub simulator: fn(&ProviderSetup<'_>) -> Result<Arc<dyn Simulator>, ConfigError>,
}

/// Merge `provider_options.<kind>` into a provider body. A key the unified body already set is
/// a conflict (DESIGN §3.1), reported at `/provider_options/<kind>/<key>`.
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
        if body.contains_key(key) {
            conflicts.push(crate::FieldProblem::new(
                format!("/provider_options/{kind}/{}", crate::capability::escape_pointer(key)),
                format!("`{key}` is already set by the unified request"),
            ));
        } else {
            body.insert(key.clone(), value.clone());
        }
    }
    if conflicts.is_empty() { Ok(()) } else { Err(AdapterError::Invalid(conflicts)) }
}
