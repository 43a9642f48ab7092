//! Provider requests and responses as plain `http` values, and their canonical JSON view used by
//! previews, the `translate` command and contract fixtures.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};

/// A provider request: method, path-and-query relative to the provider's `base_url`, headers
/// (credentials marked sensitive) and the encoded body.
pub type ProviderRequest = http::Request<Vec<u8>>;
/// A provider response as received (body already size-limited by the gateway).
pub type ProviderResponse = http::Response<Vec<u8>>;

pub const JSON: &str = "application/json";
pub const FORM: &str = "application/x-www-form-urlencoded";
pub const REDACTED: &str = "[redacted]";

/// What an adapter noticed while building an update that the client should hear about (e.g. a
/// value it had to clamp into the provider's range). It rides in the request's extensions, since
/// the adapter is pure and the provider's answer alone cannot tell; the gateway adds it to the
/// unified answer's `warnings` once the update succeeded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildWarnings(pub Vec<crate::Warning>);

/// Attach `warnings` to a built request (nothing when there are none).
pub fn with_warnings(mut request: ProviderRequest, warnings: Vec<crate::Warning>) -> ProviderRequest {
    if !warnings.is_empty() {
        request.extensions_mut().insert(BuildWarnings(warnings));
    }
    request
}

/// The warnings an adapter attached to `request` while building it.
pub fn build_warnings(request: &ProviderRequest) -> &[crate::Warning] {
    request.extensions().get::<BuildWarnings>().map_or(&[], |w| w.0.as_slice())
}

/// Start a request with `method` and `path_and_query`.
pub fn request(method: http::Method, path_and_query: &str) -> http::request::Builder {
    http::Request::builder().method(method).uri(path_and_query)
}

/// A header value that previews and logs must never show (credentials).
pub fn sensitive(value: &str) -> Result<http::HeaderValue, crate::AdapterError> {
    // A configured credential: the gateway's own fault, and the value itself is never shown.
    // `InvalidHeaderValue` says only "failed to parse header value", never the value.
    let mut header = http::HeaderValue::from_str(value)
        .map_err(|e| crate::AdapterError::internal("the configured credential is not a valid header value", e))?;
    header.set_sensitive(true);
    Ok(header)
}

/// Finish a request builder with a body. A builder error is the adapter's own fault (a path or
/// header it made that `http` refuses), so it is [`AdapterError::Internal`](crate::AdapterError).
pub fn finish(builder: http::request::Builder, body: Vec<u8>) -> Result<ProviderRequest, crate::AdapterError> {
    builder.body(body).map_err(|e| crate::AdapterError::internal("cannot build the provider request", e))
}

/// Percent-encode one path segment (RFC 3986 unreserved characters pass through).
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Canonical view of a request: `{method, path, headers, body}`. JSON bodies are shown parsed,
/// form bodies as the exact encoded string, an empty body as `null`. Typed, so an answer carrying
/// it (the preview) publishes its schema.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RequestDescription {
    pub method: String,
    /// Path and query, relative to the provider's base URL.
    pub path: String,
    /// Credentials show as `[redacted]` when redacted.
    pub headers: BTreeMap<String, String>,
    /// The parsed JSON body, the encoded text of any other body, or `null` when empty.
    pub body: Value,
}

/// The canonical view of `request`; sensitive headers are redacted when asked.
pub fn describe(request: &ProviderRequest, redact: bool) -> RequestDescription {
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| {
            let shown = if redact && value.is_sensitive() {
                REDACTED.to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), shown)
        })
        .collect();
    let path = request.uri().path_and_query().map_or_else(|| request.uri().to_string(), ToString::to_string);
    RequestDescription {
        method: request.method().as_str().to_owned(),
        path,
        headers,
        body: describe_body(request.headers(), request.body()),
    }
}

/// [`describe`] as JSON, for contract fixtures and logs.
pub fn describe_request(request: &ProviderRequest, redact: bool) -> Value {
    let RequestDescription { method, path, headers, body } = describe(request, redact);
    json!({ "method": method, "path": path, "headers": headers, "body": body })
}

fn describe_body(headers: &http::HeaderMap, body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    let is_json =
        headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with(JSON));
    if is_json {
        if let Ok(value) = serde_json::from_slice(body) {
            return value;
        }
    }
    Value::String(String::from_utf8_lossy(body).into_owned())
}

/// The response body parsed as JSON, or an `Unparseable` error naming what was wrong.
pub fn json_body(response: &ProviderResponse) -> Result<Value, crate::AdapterError> {
    serde_json::from_slice(response.body())
        .map_err(|e| crate::AdapterError::unparseable(format!("body is not JSON: {e}")))
}

/// A response header as text, if present and valid.
pub fn header<'a>(response: &'a ProviderResponse, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}
