//! `ANY /v1/passthrough/{provider}/{*path}` (DESIGN §7): a streaming, credential-injecting
//! proxy to a provider's own API, for the method + path patterns in that provider's
//! `passthrough.allow`.
//!
//! Both bodies stream: the request body is counted against `server.max_body_bytes` on its way
//! out, the response body against `server.max_response_bytes` on its way back (the stream is
//! aborted when exceeded), so nothing is buffered beyond one chunk. There are no retries: a
//! streamed body cannot be replayed, and a passthrough write may not be idempotent. The
//! gateway's idempotency store is not used either; a client `Idempotency-Key` is forwarded as
//! a key derived from (tenant, key), as in the unified API.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::response::Response;
use checkout_provider_interface::Access;
use futures_util::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, header};
use percent_encoding::percent_decode_str;

use crate::api::extract::AuthedTenant;
use crate::api::handlers::{IDEMPOTENCY_HEADER, PROVIDER_HEADER, forwarded_idempotency_key};
use crate::api::problem::{ApiError, ApiFailure};
use crate::config::{Provider, Tenant};
use crate::dispatch::REQUEST_ID_HEADER;
use crate::passthrough::{Scrubber, forward_path, headers, limited_body};
use crate::state::AppState;
use crate::update::{self, provider_ref};

/// The route, and the prefix its handler strips from the raw path.
pub const ROUTE: &str = "/v1/passthrough/{provider}/{*path}";
const PREFIX: &str = "/v1/passthrough/";

/// Forward one request. The raw (still percent-encoded) path is checked and forwarded rather
/// than the router's decoded one, so the provider reads exactly what the allow-list matched.
pub async fn forward(
    auth: AuthedTenant,
    method: Method,
    uri: Uri,
    client_headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiFailure> {
    let AuthedTenant { tenant, request_id, state } = auth;
    let fail = |e: ApiError| e.with_request_id(&request_id);
    let (name, rest) = uri.path().strip_prefix(PREFIX).and_then(|p| p.split_once('/')).unwrap_or_default();
    let provider = allowed_provider(&state, &tenant, name).map_err(fail)?;
    let path = forward_path(rest).map_err(|why| fail(ApiError::InvalidPassthroughPath(why)))?;
    if !provider.passthrough.iter().any(|rule| rule.matches(&method, &path.segments)) {
        return Err(fail(ApiError::PassthroughNotAllowed(format!(
            "{method} {} is not in the passthrough allow-list of provider `{}`",
            path.raw, provider.name
        ))));
    }
    let limit = state.config.server.max_body_bytes;
    let declared = declared_length(&client_headers);
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(fail(ApiError::PayloadTooLarge(limit)));
    }
    let has_body = declared.is_some_and(|len| len > 0) || client_headers.contains_key(header::TRANSFER_ENCODING);

    // A fresh context per call: credentials may be minted per call (a JWT with its own id).
    let client_key = client_headers.get(IDEMPOTENCY_HEADER).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let forwarded_key = forwarded_idempotency_key(&tenant, client_key.as_deref());
    let ctx = update::context("", &request_id, &forwarded_key);
    let access = if matches!(method, Method::GET | Method::HEAD) { Access::Read } else { Access::Write };
    let credentials = provider
        .adapter
        .auth_headers(access, &ctx)
        .map_err(|e| fail(update::adapter_error(&state, &provider, e, None)))?;
    let scrubber = scrubber_for(&state, &credentials);
    if !scrubber.is_usable() {
        return Err(fail(ApiError::Internal("the credential scrubber could not be built".to_owned())));
    }

    let mut outgoing = headers::request_headers(&client_headers);
    for (name, value) in &credentials {
        outgoing.insert(name.clone(), value.clone());
    }
    let value = |text: &str| HeaderValue::from_str(text).map_err(|_| fail(ApiError::Internal("header value".into())));
    outgoing.insert(REQUEST_ID_HEADER, value(&request_id)?);
    outgoing.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    if client_key.is_some() {
        outgoing.insert(IDEMPOTENCY_HEADER, value(&forwarded_key)?);
    }
    if let Some(len) = declared.filter(|_| has_body) {
        outgoing.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    let mut url = format!("{}{}", provider.base_url, path.raw);
    if let Some(query) = uri.query() {
        url.push('?');
        url.push_str(query);
    }
    let deadline = state.config.server.deadline;
    let mut request = state.dispatcher.client().request(method.clone(), url).headers(outgoing).timeout(deadline);
    let exceeded = Arc::new(AtomicBool::new(false));
    if has_body {
        let stream = limited_body(body.into_data_stream(), limit, Arc::clone(&exceeded));
        request = request.body(reqwest::Body::wrap_stream(stream));
    }

    if let Err(wait) = state.dispatcher.breakers.admit(&provider.name, &provider.breaker) {
        return Err(fail(ApiError::ProviderUnavailable {
            provider: provider_ref(&provider),
            detail: "the circuit breaker is open after repeated failures".to_owned(),
            retry_after_secs: wait.as_secs().max(1),
        }));
    }
    let sent = tokio::time::timeout(provider.timeout.min(deadline), request.send()).await;
    // Every admitted call records an outcome (a half-open probe must resolve). A body the
    // client made too large says nothing bad about the provider, which was taking it.
    let healthy = matches!(&sent, Ok(Ok(r)) if !r.status().is_server_error()) || exceeded.load(Ordering::Relaxed);
    state.dispatcher.breakers.record(&provider.name, &provider.breaker, healthy);
    if exceeded.load(Ordering::Relaxed) {
        return Err(fail(ApiError::PayloadTooLarge(limit)));
    }
    let answer = match sent {
        Ok(Ok(answer)) => answer,
        Ok(Err(error)) => return Err(fail(transport_error(&state, &provider, &error))),
        Err(_) => return Err(fail(ApiError::ProviderTimeout { provider: provider_ref(&provider) })),
    };
    respond(&state, &provider, &method, answer, scrubber).map_err(fail)
}

/// The provider named in the path, if the tenant may use it (unknown names get the same 403,
/// so the answer does not tell which providers exist).
fn allowed_provider(state: &AppState, tenant: &Tenant, raw_name: &str) -> Result<Arc<Provider>, ApiError> {
    let name = percent_decode_str(raw_name).decode_utf8_lossy();
    let provider = tenant
        .allowed_providers
        .iter()
        .any(|allowed| *allowed == name)
        .then(|| state.provider(&name).cloned())
        .flatten()
        .ok_or_else(|| ApiError::ProviderNotAllowed(format!("provider `{name}` is not allowed for this tenant")))?;
    tracing::Span::current().record("provider", provider.name.as_str());
    Ok(provider)
}

/// `Content-Length`, when sent (hyper has already refused a malformed one).
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok())
}

/// Every configured secret, and each credential injected into this call (a per-call token is
/// in no config), alone and without its scheme (`Bearer `, `Basic `).
fn scrubber_for(state: &AppState, credentials: &HeaderMap) -> Scrubber {
    let mut secrets: Vec<Vec<u8>> = state.config.secrets.iter().map(|s| s.expose().as_bytes().to_vec()).collect();
    for value in credentials.values().filter(|v| v.is_sensitive()) {
        let bytes = value.as_bytes();
        secrets.push(bytes.to_vec());
        if let Some(space) = bytes.iter().position(|b| *b == b' ') {
            secrets.push(bytes[space + 1..].to_vec());
        }
    }
    Scrubber::new(secrets)
}

fn transport_error(state: &AppState, provider: &Provider, error: &reqwest::Error) -> ApiError {
    let provider_ref = provider_ref(provider);
    if error.is_timeout() {
        ApiError::ProviderTimeout { provider: provider_ref }
    } else if error.is_connect() {
        ApiError::ProviderUnavailable {
            provider: provider_ref,
            detail: state.scrub(&error_chain(error)),
            retry_after_secs: 1,
        }
    } else {
        ApiError::ProviderUnparseable { provider: provider_ref, detail: state.scrub(&error_chain(error)) }
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The provider's answer, streamed back with its status, its end-to-end headers (none holding
/// a secret), `Checkout-Provider`, and a scrubbed body bounded by `server.max_response_bytes`.
fn respond(
    state: &AppState,
    provider: &Provider,
    method: &Method,
    answer: reqwest::Response,
    scrubber: Scrubber,
) -> Result<Response, ApiError> {
    let limit = state.config.server.max_response_bytes;
    let unusable = |detail: String| ApiError::ProviderUnparseable { provider: provider_ref(provider), detail };
    let declared = declared_length(answer.headers());
    if *method != Method::HEAD && declared.is_some_and(|len| len > limit as u64) {
        return Err(unusable(format!("the provider's response exceeds {limit} bytes")));
    }
    // Scrubbing needs the plain bytes; `Accept-Encoding: identity` asked for them.
    let encoding = answer.headers().get(header::CONTENT_ENCODING).map(|v| v.as_bytes().to_ascii_lowercase());
    if encoding.is_some_and(|e| e != b"identity") {
        return Err(unusable("the provider sent an encoded body despite Accept-Encoding: identity".to_owned()));
    }
    let mut back = HeaderMap::new();
    for (name, value) in &headers::response_headers(answer.headers()) {
        if !scrubber.contains(value.as_bytes()) {
            back.append(name.clone(), value.clone());
        }
    }
    if let Ok(name) = HeaderValue::from_str(&provider.name) {
        back.insert(HeaderName::from_static(PROVIDER_HEADER), name);
    }
    let status = answer.status();
    let provider_name = provider.name.clone();
    let body = scrubber.stream(Box::pin(answer.bytes_stream()), limit).inspect(move |item| {
        if let Err(error) = item {
            tracing::warn!(provider = %provider_name, error = %error, "passthrough response aborted");
        }
    });
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = status;
    *response.headers_mut() = back;
    Ok(response)
}
