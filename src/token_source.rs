//! Bearer tokens for providers whose adapter declares OAuth 2.0 client credentials
//! ([`Adapter::token_source`](checkout_provider_interface::Adapter::token_source)): obtained from
//! the token endpoint, cached until shortly before they expire, refreshed by one caller at a time
//! (the others wait for its answer instead of asking too), and thrown away when a provider answers
//! `401` with one. The token lives only in a sensitive `HeaderValue`: never logged, never in an
//! error, scrubbed from provider answers like every credential an attempt carried.
//!
//! One source per configured provider and set of credentials; the sources outlive config reloads
//! (a reload that keeps a provider's credentials keeps its token).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use checkout_provider_interface::{ClientCredentials, TokenEndpoint};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

/// A token is refreshed this long before the provider said it expires (or at half its lifetime,
/// when that is shorter), so a call never leaves with a token that dies on the way.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// How long a token whose answer gave no `expires_in` is kept (RFC 6749 makes it optional): a
/// `401` throws it away sooner.
const UNDATED_LIFETIME: Duration = Duration::from_secs(300);
/// Token answers are small; a larger one is refused rather than buffered.
const MAX_TOKEN_ANSWER_BYTES: usize = 64 * 1024;

/// A bearer token as sent: `Authorization: Bearer …`, marked sensitive.
#[derive(Clone)]
pub struct Token {
    header: http::HeaderValue,
    /// Which fetch produced it, so a `401` throws away only the token that was refused.
    generation: u64,
}

impl Token {
    pub fn header(&self) -> &http::HeaderValue {
        &self.header
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token(generation {}, [redacted])", self.generation)
    }
}

/// Why no token could be obtained. Never carries the token endpoint's body (it may echo the
/// client secret) nor the credentials.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token endpoint did not answer within the deadline")]
    Timeout,
    #[error("the token endpoint could not be reached")]
    Unreachable,
    /// The endpoint refused the client credentials (400/401/403).
    #[error("the token endpoint refused the configured client credentials (HTTP {status})")]
    Refused { status: u16 },
    /// The endpoint is failing (429, 5xx, anything else unexpected).
    #[error("the token endpoint answered HTTP {status}")]
    Failing { status: u16 },
    #[error("the token endpoint's answer is not a usable bearer token: {0}")]
    Unusable(&'static str),
}

/// Every provider's token source, keyed by provider name and a digest of its credentials.
#[derive(Default)]
pub struct TokenSources {
    sources: Mutex<HashMap<String, Arc<TokenSource>>>,
}

impl TokenSources {
    /// The source for `provider` with `credentials` (a new one when the credentials changed).
    pub fn source(&self, provider: &str, base_url: &str, credentials: &ClientCredentials) -> Arc<TokenSource> {
        let url = match &credentials.endpoint {
            TokenEndpoint::OnBaseUrl(path) => format!("{base_url}{path}"),
            TokenEndpoint::Absolute(url) => url.clone(),
        };
        let fingerprint = fingerprint(&url, credentials);
        let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = sources.entry(provider.to_owned()).or_insert_with(|| Arc::new(TokenSource::new(&url, credentials)));
        if entry.fingerprint != fingerprint {
            *entry = Arc::new(TokenSource::new(&url, credentials));
        }
        Arc::clone(entry)
    }
}

fn fingerprint(url: &str, credentials: &ClientCredentials) -> [u8; 32] {
    let mut digest = Sha256::new();
    for part in [
        url,
        credentials.client_id.expose(),
        credentials.client_secret.expose(),
        credentials.scope.as_deref().unwrap_or(""),
    ] {
        digest.update((part.len() as u64).to_be_bytes());
        digest.update(part.as_bytes());
    }
    digest.finalize().into()
}

/// One provider's token: the cached one, and the lock that lets one refresh run at a time.
pub struct TokenSource {
    url: String,
    basic: http::HeaderValue,
    form: String,
    fingerprint: [u8; 32],
    cached: Mutex<Option<Cached>>,
    refresh: tokio::sync::Mutex<()>,
    /// Tokens fetched so far (the next one's generation); never reset, unlike `cached`.
    fetched: AtomicU64,
}

struct Cached {
    token: Token,
    refresh_at: Instant,
}

impl TokenSource {
    fn new(url: &str, credentials: &ClientCredentials) -> Self {
        // RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined for Basic.
        let id: String = form_urlencoded::byte_serialize(credentials.client_id.expose().as_bytes()).collect();
        let secret: String = form_urlencoded::byte_serialize(credentials.client_secret.expose().as_bytes()).collect();
        let mut basic = http::HeaderValue::try_from(format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))))
            .unwrap_or_else(|_| http::HeaderValue::from_static("Basic"));
        basic.set_sensitive(true);
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        if let Some(scope) = &credentials.scope {
            form.append_pair("scope", scope);
        }
        Self {
            url: url.to_owned(),
            basic,
            form: form.finish(),
            fingerprint: fingerprint(url, credentials),
            cached: Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
            fetched: AtomicU64::new(0),
        }
    }

    /// A token valid for a while yet: the cached one, or a fresh one fetched by this caller or by
    /// the caller already fetching (never two fetches at once).
    pub async fn token(&self, client: &reqwest::Client, deadline: Instant) -> Result<Token, TokenError> {
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let _refreshing =
            tokio::time::timeout_at(deadline, self.refresh.lock()).await.map_err(|_| TokenError::Timeout)?;
        // Whoever held the lock before may have fetched one meanwhile.
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let result = tokio::time::timeout_at(deadline, self.fetch(client)).await.unwrap_or(Err(TokenError::Timeout));
        crate::metrics::token_fetch(if result.is_ok() { "ok" } else { "failed" });
        let (header, lifetime) = result?;
        let generation = self.fetched.fetch_add(1, Ordering::Relaxed) + 1;
        let token = Token { header, generation };
        let mut cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        *cached = Some(Cached { token: token.clone(), refresh_at: Instant::now() + refresh_after(lifetime) });
        Ok(token)
    }

    /// Throw `refused` away (a provider answered `401` with it); a newer token stays.
    pub fn invalidate(&self, refused: &Token) {
        let mut cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        if cached.as_ref().is_some_and(|c| c.token.generation == refused.generation) {
            *cached = None;
        }
    }

    fn fresh(&self) -> Option<Token> {
        let cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        cached.as_ref().filter(|c| Instant::now() < c.refresh_at).map(|c| c.token.clone())
    }

    async fn fetch(&self, client: &reqwest::Client) -> Result<(http::HeaderValue, Option<Duration>), TokenError> {
        let sent = client
            .post(&self.url)
            .header(http::header::AUTHORIZATION, self.basic.clone())
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(http::header::ACCEPT, "application/json")
            .body(self.form.clone())
            .send()
            .await;
        let mut answer =
            sent.map_err(|e| if e.is_timeout() { TokenError::Timeout } else { TokenError::Unreachable })?;
        let status = answer.status().as_u16();
        match status {
            200..=299 => {}
            400 | 401 | 403 => return Err(TokenError::Refused { status }),
            _ => return Err(TokenError::Failing { status }),
        }
        let mut body = Vec::new();
        while let Some(chunk) = answer.chunk().await.map_err(|_| TokenError::Unreachable)? {
            if body.len() + chunk.len() > MAX_TOKEN_ANSWER_BYTES {
                return Err(TokenError::Unusable("the answer is too large"));
            }
            body.extend_from_slice(&chunk);
        }
        parse_token_answer(&body)
    }
}

/// RFC 6749 §5.1: `access_token`, `token_type` (must be a bearer token when given) and, optionally,
/// `expires_in` seconds.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

fn parse_token_answer(body: &[u8]) -> Result<(http::HeaderValue, Option<Duration>), TokenError> {
    let answer: TokenAnswer =
        serde_json::from_slice(body).map_err(|_| TokenError::Unusable("not a JSON object with access_token"))?;
    if answer.token_type.as_deref().is_some_and(|kind| !kind.eq_ignore_ascii_case("bearer")) {
        return Err(TokenError::Unusable("token_type is not Bearer"));
    }
    if answer.access_token.is_empty() {
        return Err(TokenError::Unusable("access_token is empty"));
    }
    let mut header = http::HeaderValue::try_from(format!("Bearer {}", answer.access_token))
        .map_err(|_| TokenError::Unusable("access_token is not header text"))?;
    header.set_sensitive(true);
    Ok((header, answer.expires_in.map(Duration::from_secs)))
}

/// How long a token is used: its lifetime less the margin, or half of it when that is shorter.
fn refresh_after(lifetime: Option<Duration>) -> Duration {
    let Some(lifetime) = lifetime else { return UNDATED_LIFETIME };
    lifetime.saturating_sub(EXPIRY_MARGIN.min(lifetime / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_refreshed_before_it_expires() {
        assert_eq!(refresh_after(Some(Duration::from_secs(32_400))), Duration::from_secs(32_340));
        assert_eq!(refresh_after(Some(Duration::from_secs(60))), Duration::from_secs(30));
        assert_eq!(refresh_after(Some(Duration::ZERO)), Duration::ZERO);
        assert_eq!(refresh_after(None), UNDATED_LIFETIME);
    }

    #[test]
    fn token_answers_are_checked_and_the_token_is_sensitive() {
        let (header, lifetime) =
            parse_token_answer(br#"{"access_token":"A21AA","token_type":"Bearer","expires_in":32400,"scope":"x"}"#)
                .unwrap_or_else(|e| panic!("{e}"));
        assert!(header.is_sensitive());
        assert_eq!(header.as_bytes(), b"Bearer A21AA");
        assert_eq!(lifetime, Some(Duration::from_secs(32_400)));
        for refused in [&br#"{"access_token":"A","token_type":"mac"}"#[..], br#"{"access_token":""}"#, b"[]", b"<html>"]
        {
            assert!(matches!(parse_token_answer(refused), Err(TokenError::Unusable(_))));
        }
        let error = parse_token_answer(br#"{"access_token":"a\nb"}"#).unwrap_err().to_string();
        assert!(!error.contains("a\nb") && !error.contains("A21AA"), "{error}");
    }

    fn credentials(endpoint: TokenEndpoint) -> ClientCredentials {
        ClientCredentials {
            endpoint,
            client_id: checkout_provider_interface::Secret::new("client-id"),
            client_secret: checkout_provider_interface::Secret::new("client-secret-0123456789"),
            scope: Some("checkout".to_owned()),
        }
    }

    async fn token_endpoint(answer: wiremock::ResponseTemplate) -> wiremock::MockServer {
        use wiremock::matchers::{body_string, header, method, path};
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(method("POST"))
            .and(path("/oauth2/token"))
            .and(header("authorization", "Basic Y2xpZW50LWlkOmNsaWVudC1zZWNyZXQtMDEyMzQ1Njc4OQ=="))
            .and(body_string("grant_type=client_credentials&scope=checkout"))
            .respond_with(answer)
            .mount(&server)
            .await;
        server
    }

    fn granted(token: &str, expires_in: u64) -> wiremock::ResponseTemplate {
        wiremock::ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({"access_token": token, "token_type": "Bearer", "expires_in": expires_in}))
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch_and_the_cache_serves_the_next() {
        let server = token_endpoint(granted("A21AA-one", 32_400).set_delay(Duration::from_millis(200))).await;
        let sources = TokenSources::default();
        let source =
            sources.source("wallet", &server.uri(), &credentials(TokenEndpoint::OnBaseUrl("/oauth2/token".into())));
        let client = reqwest::Client::new();
        let callers = (0..20).map(|_| source.token(&client, soon()));
        let tokens = futures_util::future::join_all(callers).await;
        for token in &tokens {
            let token = token.as_ref().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(token.header().as_bytes(), b"Bearer A21AA-one");
        }
        assert!(source.token(&client, soon()).await.is_ok());
        assert_eq!(server.received_requests().await.map(|r| r.len()), Some(1), "one fetch for 21 callers");
    }

    #[tokio::test]
    async fn a_refused_token_is_replaced_and_a_stale_refusal_keeps_the_newer_one() {
        let server = token_endpoint(granted("A21AA-two", 32_400)).await;
        let url = format!("{}/oauth2/token", server.uri());
        let source =
            TokenSources::default().source("wallet", "http://unused", &credentials(TokenEndpoint::Absolute(url)));
        let client = reqwest::Client::new();
        let first = source.token(&client, soon()).await.unwrap_or_else(|e| panic!("{e}"));
        source.invalidate(&first);
        let second = source.token(&client, soon()).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(server.received_requests().await.map(|r| r.len()), Some(2));
        // A caller that still held the first token reports it refused: the second stays.
        source.invalidate(&first);
        let third = source.token(&client, soon()).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((second.generation, third.generation), (2, 2));
        assert_eq!(server.received_requests().await.map(|r| r.len()), Some(2));
    }

    #[tokio::test]
    async fn a_token_near_its_expiry_is_fetched_again() {
        let server = token_endpoint(granted("A21AA-short", 1)).await;
        let source = TokenSources::default().source(
            "wallet",
            &server.uri(),
            &credentials(TokenEndpoint::OnBaseUrl("/oauth2/token".into())),
        );
        let client = reqwest::Client::new();
        assert!(source.token(&client, soon()).await.is_ok());
        // Refreshed at half a one-second lifetime.
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(source.token(&client, soon()).await.is_ok());
        assert_eq!(server.received_requests().await.map(|r| r.len()), Some(2));
    }

    #[tokio::test]
    async fn refusals_and_failures_are_classified_without_the_endpoints_text() {
        let echo = "client-secret-0123456789 is wrong";
        let refused = token_endpoint(wiremock::ResponseTemplate::new(401).set_body_string(echo)).await;
        let failing = token_endpoint(wiremock::ResponseTemplate::new(503)).await;
        let client = reqwest::Client::new();
        let on = |server: &wiremock::MockServer| {
            TokenSources::default().source(
                "p",
                &server.uri(),
                &credentials(TokenEndpoint::OnBaseUrl("/oauth2/token".into())),
            )
        };
        let error = on(&refused).token(&client, soon()).await.unwrap_err();
        assert!(matches!(error, TokenError::Refused { status: 401 }), "{error:?}");
        assert!(!error.to_string().contains("client-secret"), "{error}");
        let error = on(&failing).token(&client, soon()).await.unwrap_err();
        assert!(matches!(error, TokenError::Failing { status: 503 }), "{error:?}");
        let slow = token_endpoint(granted("late", 60).set_delay(Duration::from_secs(3))).await;
        let error = on(&slow).token(&client, Instant::now() + Duration::from_millis(100)).await.unwrap_err();
        assert!(matches!(error, TokenError::Timeout), "{error:?}");
    }

    #[test]
    fn changed_credentials_get_a_new_source_and_unchanged_ones_keep_theirs() {
        let sources = TokenSources::default();
        let credentials = ClientCredentials {
            endpoint: TokenEndpoint::OnBaseUrl("/oauth2/token".to_owned()),
            client_id: checkout_provider_interface::Secret::new("id"),
            client_secret: checkout_provider_interface::Secret::new("secret"),
            scope: None,
        };
        let first = sources.source("wallet", "http://127.0.0.1:1", &credentials);
        assert_eq!(first.url, "http://127.0.0.1:1/oauth2/token");
        assert!(Arc::ptr_eq(&first, &sources.source("wallet", "http://127.0.0.1:1", &credentials)));
        let rotated =
            ClientCredentials { client_secret: checkout_provider_interface::Secret::new("new"), ..credentials };
        assert!(!Arc::ptr_eq(&first, &sources.source("wallet", "http://127.0.0.1:1", &rotated)));
        assert_eq!(first.basic.to_str().ok(), Some("Basic aWQ6c2VjcmV0"));
        assert!(first.basic.is_sensitive());
    }
}
