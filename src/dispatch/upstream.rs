//! Every connection to a provider, for updates and reads ([`super::Dispatcher::send`]) and for
//! the passthrough ([`super::Dispatcher::send_streamed`]) alike: one hyper client per provider,
//! built when the provider is first called and kept across reloads while its base URL and bound
//! stay the same. Its request body is either an update's whole body or a client's streamed one
//! ([`OutgoingBody`]: an enum, so an update's body is not boxed).
//!
//! Two limits hold `max_connections` (the provider table's key). Calls take a slot of the
//! provider's call queue before their attempt, waiting at most until their deadline (then the
//! call fails as a timeout, like an attempt that got no answer). And every connection holds a
//! slot of the provider's connection bound for as long as it is open, so the pool never has
//! more than `max_connections` connections to the provider, even in the moment when a finished
//! call's connection is on its way back to the pool and the next call would otherwise open one
//! more. The base URL is parsed once, here, not on every call.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use http::uri::{Authority, PathAndQuery, Scheme};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{Either, Full};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::config::Provider;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// A client's request body streaming through the passthrough (one box per passthrough call).
pub type StreamedBody = UnsyncBoxBody<Bytes, BoxError>;
/// What a provider is sent: an update's body, whole, or a passthrough client's, streamed.
pub type OutgoingBody = Either<Full<Bytes>, StreamedBody>;
pub type UpstreamClient = Client<HttpsConnector<BoundedConnector>, OutgoingBody>;

/// Every provider's client, by provider name.
pub struct Upstreams {
    by_provider: Mutex<HashMap<String, Arc<Upstream>>>,
    tls: rustls::ClientConfig,
}

/// One provider's client, call queue and parsed base URL.
pub struct Upstream {
    base_url: String,
    bound: usize,
    scheme: Scheme,
    authority: Authority,
    /// The base URL's path without its trailing slash (often empty); adapter paths start with `/`.
    prefix: String,
    calls: Arc<Semaphore>,
    /// Requests that call this provider, admitted just before their first call (see
    /// [`Upstream::admit_request`]).
    requests: Arc<Semaphore>,
    pub client: UpstreamClient,
}

/// The base URL is not an absolute `http(s)` URL (config validation should have refused it).
#[derive(Debug, thiserror::Error)]
#[error("the provider's base URL cannot be used: {0}")]
pub struct BadBaseUrl(&'static str);

impl Upstreams {
    /// TLS as the shared reqwest client (token endpoints) does it: rustls with the webpki roots.
    pub fn new() -> Result<Self, rustls::Error> {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self { by_provider: Mutex::default(), tls })
    }

    /// `provider`'s client: the existing one, or a new one when none exists yet or the base URL
    /// or bound changed (calls in flight keep the old one until they finish).
    pub fn of(&self, provider: &Provider) -> Result<Arc<Upstream>, BadBaseUrl> {
        let mut clients = self.by_provider.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(upstream) = clients.get(&provider.name)
            && upstream.base_url == provider.base_url
            && upstream.bound == provider.max_connections
        {
            return Ok(Arc::clone(upstream));
        }
        let upstream = Arc::new(Upstream::new(provider, &self.tls)?);
        clients.insert(provider.name.clone(), Arc::clone(&upstream));
        Ok(upstream)
    }
}

impl Upstream {
    fn new(provider: &Provider, tls: &rustls::ClientConfig) -> Result<Self, BadBaseUrl> {
        let uri: Uri = provider.base_url.parse().map_err(|_| BadBaseUrl("not a URI"))?;
        let scheme = uri.scheme().cloned().ok_or(BadBaseUrl("no scheme"))?;
        let authority = uri.authority().cloned().ok_or(BadBaseUrl("no host"))?;
        let prefix = uri.path().trim_end_matches('/').to_owned();
        let bound = provider.max_connections.max(1);
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        // The TLS layer hands `https` URIs to this connector.
        http.enforce_http(false);
        let bounded = BoundedConnector { inner: http, slots: Arc::new(Semaphore::new(bound)), wait: provider.timeout };
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls.clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(bounded);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(bound)
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(Self {
            base_url: provider.base_url.clone(),
            bound,
            scheme,
            authority,
            prefix,
            calls: Arc::new(Semaphore::new(bound)),
            requests: Arc::new(Semaphore::new(bound)),
            client,
        })
    }

    /// A place in the provider's call queue, or `None` when none freed up before `deadline`.
    pub async fn queue(&self, deadline: Instant) -> Option<OwnedSemaphorePermit> {
        wait_for(&self.calls, deadline).await
    }

    /// A place among the requests calling this provider at once, or `None` when none freed up
    /// before `deadline`. A request makes its calls one after another, so with one place each
    /// no more than the bound of calls is ever attempted. Taken after the request was checked
    /// and its idempotency key claimed, just before its first call: a request the gateway
    /// answers itself (a refusal, a replay) never waits here.
    pub async fn admit_request(&self, deadline: Instant) -> Option<OwnedSemaphorePermit> {
        wait_for(&self.requests, deadline).await
    }

    /// The absolute URI for an adapter-built request (`path_and_query` relative to the base URL).
    pub fn uri(&self, request: &Uri) -> Result<Uri, http::Error> {
        self.uri_for(request.path_and_query().map_or("/", PathAndQuery::as_str))
    }

    /// The absolute URI for `path` (starting with `/`, a query allowed) under the base URL.
    pub fn uri_for(&self, path: &str) -> Result<Uri, http::Error> {
        let builder = Uri::builder().scheme(self.scheme.clone()).authority(self.authority.clone());
        if self.prefix.is_empty() {
            builder.path_and_query(path).build()
        } else {
            builder.path_and_query(format!("{}{path}", self.prefix)).build()
        }
    }
}

async fn wait_for(places: &Arc<Semaphore>, deadline: Instant) -> Option<OwnedSemaphorePermit> {
    tokio::time::timeout_at(deadline, Arc::clone(places).acquire_owned()).await.ok()?.ok()
}

/// Opens a TCP connection only with a free slot of the provider's connection bound, waiting
/// for one at most `wait`; the connection keeps its slot until it closes.
#[derive(Clone)]
pub struct BoundedConnector {
    inner: HttpConnector,
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl tower::Service<Uri> for BoundedConnector {
    type Response = BoundedStream<<HttpConnector as tower::Service<Uri>>::Response>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let slots = Arc::clone(&self.slots);
        let wait = self.wait;
        let mut inner = self.inner.clone();
        Box::pin(async move {
            let slot = tokio::time::timeout(wait, slots.acquire_owned())
                .await
                .map_err(|_| "every connection to the provider stayed busy")?
                .map_err(|_| "the connection bound was closed")?;
            let stream = inner.call(uri).await?;
            Ok::<_, BoxError>(BoundedStream { inner: stream, _slot: slot })
        })
    }
}

/// A connection and the slot of the bound it holds.
pub struct BoundedStream<S> {
    inner: S,
    _slot: OwnedSemaphorePermit,
}

impl<S: Connection> Connection for BoundedStream<S> {
    fn connected(&self) -> Connected {
        self.inner.connected()
    }
}

impl<S: Read + Unpin> Read for BoundedStream<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: ReadBufCursor<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: Write + Unpin> Write for BoundedStream<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
