//! `ANY /v1/passthrough/{provider}/{*path}` (DESIGN §7): a streaming, credential-injecting
//! proxy to a provider's own API, for the method + path patterns in that provider's
//! `passthrough.allow`.
//!
//! Only what the allow-lists name crosses: the path (checked raw, then matched), request headers
//! from `passthrough::headers`' allow-list, and a body only for methods that carry one (a body
//! sent with `GET` or `HEAD` is neither read nor forwarded). Credentials and account routing
//! come from the provider's config, scoped by the rules that admit the call.
//!
//! Both bodies stream: the request body is counted against `server.max_body_bytes` on its way
//! out, the response body against `server.max_response_bytes` on its way back (the stream is
//! aborted when exceeded), so nothing is buffered beyond one chunk. The call goes through
//! `Dispatcher::send_streamed`: the provider's own bounded client (its `max_connections` bound
//! and call queue, shared with updates), breakers, attempt metrics and failure classes, with no
//! retries (a streamed body cannot be replayed) and nothing the client's body did counted
//! against the provider. The gateway's idempotency store is not used either; a client
//! `Idempotency-Key` is forwarded as a key derived from (tenant, key), as in the unified API.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use checkout_provider_interface::Access;
use futures_util::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, header};
use http_body_util::BodyExt;
use percent_encoding::percent_decode_str;
use tokio::time::Instant;

use crate::api::extract::AuthedTenant;
use crate::api::handlers::{IDEMPOTENCY_HEADER, forwarded_idempotency_key};
use crate::api::problem::ApiError;
use crate::api::respond::PROVIDER_HEADER;
use crate::config::{Provider, Tenant};
use crate::dispatch::stream::{BodyFailure, BodyProgress, StreamedRequest};
use crate::dispatch::{DispatchError, REQUEST_ID_HEADER};
use crate::failure::ProviderRef;
use crate::passthrough::{AllowRule, Scrubber, client_body, forward_path, headers};
use crate::state::AppState;
use crate::update;

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
) -> Result<Response, ApiError> {
    let AuthedTenant { tenant, request_id, state } = auth;
    let (name, rest) = uri.path().strip_prefix(PREFIX).and_then(|p| p.split_once('/')).unwrap_or_default();
    let provider = allowed_provider(&state, &tenant, name)?;
    let path = forward_path(rest).map_err(|why| ApiError::InvalidPassthroughPath(why.to_string()))?;
    let admitting: Vec<&AllowRule> =
        provider.passthrough.iter().filter(|rule| rule.matches(&method, &path.segments)).collect();
    if admitting.is_empty() {
        return Err(ApiError::PassthroughNotAllowed(format!(
            "{method} {} is not in the passthrough allow-list of provider `{}`",
            path.raw, provider.name
        )));
    }
    let limit = state.config.server.max_body_bytes;
    // RFC 9110 §9.3.1-2: content in a GET or HEAD has no defined meaning. It is not forwarded,
    // and not read: a body dribbled on a read then cannot hold the call open either.
    let takes_body = !matches!(method, Method::GET | Method::HEAD);
    let declared = declared_length(&client_headers).filter(|_| takes_body);
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let has_body =
        takes_body && (declared.is_some_and(|len| len > 0) || client_headers.contains_key(header::TRANSFER_ENCODING));

    // A fresh context per call: credentials may be minted per call (a JWT with its own id).
    let client_key = client_headers.get(IDEMPOTENCY_HEADER).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let forwarded_key = forwarded_idempotency_key(&tenant, client_key.as_deref());
    let ctx = update::context("", &request_id, &forwarded_key);
    let access = if takes_body { Access::Write } else { Access::Read };
    let patterns: Vec<&str> = admitting.iter().map(|rule| rule.path_pattern()).collect();
    let mut credentials = provider
        .adapter
        .auth_headers(access, &patterns, &ctx)
        .map_err(|e| update::adapter_error(&state, &provider, e, None))?;
    let deadline = Instant::now() + state.config.server.deadline;
    // A token-source bearer is a credential like the adapter's: sent, and scrubbed from the answer.
    let token = state
        .dispatcher
        .bearer(&provider, deadline)
        .await
        .map_err(|error| ApiError::from(update::dispatch_error(&state, &provider, error)))?;
    if let Some(token) = &token {
        credentials.insert(header::AUTHORIZATION, token.header().clone());
    }
    let scrubber = scrubber_for(&state, &credentials);
    if !scrubber.is_usable() {
        return Err(ApiError::internal("the credential scrubber could not be built"));
    }

    let mut outgoing = headers::request_headers(&client_headers, provider.adapter.passthrough_request_headers());
    for (name, value) in &credentials {
        outgoing.insert(name.clone(), value.clone());
    }
    let value = |text: &str| HeaderValue::from_str(text).map_err(|_| ApiError::internal("a header value is not valid"));
    outgoing.insert(REQUEST_ID_HEADER, value(&request_id)?);
    outgoing.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    if client_key.is_some() {
        outgoing.insert(IDEMPOTENCY_HEADER, value(&forwarded_key)?);
    }
    if let Some(len) = declared.filter(|_| has_body) {
        outgoing.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    let mut path_and_query = path.raw.clone();
    if let Some(query) = uri.query() {
        path_and_query.push('?');
        path_and_query.push_str(query);
    }
    let progress = if has_body { BodyProgress::default() } else { BodyProgress::none() };
    let body =
        has_body.then(|| client_body(body, declared, limit, progress.clone()).map_err(Into::into).boxed_unsync());
    let request =
        StreamedRequest { method: method.clone(), path_and_query, headers: outgoing, body, progress: progress.clone() };
    let sent = state.dispatcher.send_streamed(&provider, request, deadline).await;
    // A refused bearer is dropped so the next call fetches a new one; this call's streamed body
    // cannot be sent again, so its 401 goes to the client.
    if let (Some(token), Ok(answer)) = (&token, &sent)
        && answer.status() == http::StatusCode::UNAUTHORIZED
    {
        state.dispatcher.refused(&provider, token);
    }
    // The client's own failure decides the answer, whatever the provider did meanwhile.
    if let Some(failure) = progress.failure() {
        return Err(client_body_error(failure, limit));
    }
    let answer = match sent {
        Ok(answer) => answer,
        // The provider waited for a body the client was still sending (a call that timed out in
        // the provider's queue, its body not yet asked for, is the provider's timeout).
        Err(DispatchError::Timeout) if progress.has_started() && !progress.is_complete() => {
            return Err(ApiError::RequestTimeout);
        }
        Err(error) => return Err(update::dispatch_error(&state, &provider, error).into()),
    };
    // The provider's answer, its head read and its body not yet: the one place to look at it
    // (status, headers, or the body buffered within `max_response_bytes`) before any of it
    // reaches the client.
    match crate::ownership::owner(&provider, &tenant) {
        // Another tenant's session must look like no session (issue 13): read the body first.
        Some(owner) => {
            let limit = state.config.server.max_response_bytes;
            let whole = crate::ownership::checked_answer(owner, &provider, answer, limit, deadline).await?;
            respond(&state, &provider, &method, whole, scrubber)
        }
        None => respond(&state, &provider, &method, answer, scrubber),
    }
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

/// The client's body went wrong: its fault, answered as such (it is usually gone by now).
fn client_body_error(failure: BodyFailure, limit: usize) -> ApiError {
    match failure {
        BodyFailure::TooLarge => ApiError::PayloadTooLarge(limit),
        BodyFailure::Late => {
            crate::metrics::slow_client("body");
            ApiError::RequestTimeout
        }
        BodyFailure::Aborted => ApiError::MalformedJson("the request body could not be read to its end".to_owned()),
    }
}

/// The provider's answer, streamed back with its status, its end-to-end headers (none holding
/// a secret), `Checkout-Provider`, and a scrubbed body bounded by `server.max_response_bytes`.
/// The body is the provider's stream, or the one the ownership check read whole.
fn respond<B>(
    state: &AppState,
    provider: &Provider,
    method: &Method,
    answer: http::Response<B>,
    scrubber: Scrubber,
) -> Result<Response, ApiError>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display + 'static,
{
    let limit = state.config.server.max_response_bytes;
    let unusable = |detail: String| ApiError::ProviderUnparseable { provider: ProviderRef::of(provider), detail };
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
    let body = scrubber.stream(answer.into_body().into_data_stream(), limit).inspect(move |item| {
        if let Err(error) = item {
            tracing::warn!(provider = %provider_name, error = %error, "passthrough response aborted");
        }
    });
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = status;
    *response.headers_mut() = back;
    Ok(response)
}
