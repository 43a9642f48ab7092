//! The accept loop for the API and admin listeners (instead of `axum::serve`, which runs hyper
//! without a timer, so no header-read timeout applies): HTTP/1 connections with a header-read
//! timeout, a cap on open connections, the peer address for per-client limits, and a graceful
//! drain on shutdown. Settings are read per connection from the current config, so a reload
//! changes them for new connections.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt as _;

use crate::admission;
use crate::state::Gateway;

/// Serve `router` on `listener` until `stopped`, then let open connections finish.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    gateway: Arc<Gateway>,
    mut stopped: watch::Receiver<bool>,
) {
    let open = Arc::new(AtomicUsize::new(0));
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.wait_for(|stop| *stop) => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Answers go out at once, as nginx's `tcp_nodelay` has it: a response written in more
        // than one segment must not wait for the client's delayed ACK.
        let _ = stream.set_nodelay(true);
        let (max_connections, header_read_timeout) = {
            let state = gateway.current();
            (state.config.server.max_connections, state.config.server.header_read_timeout)
        };
        let Some(slot) = admission::acquire(&open, max_connections) else {
            // Closing at once tells the client (and a load balancer) to go elsewhere; leaving it
            // in the kernel's backlog would only hide the overload.
            crate::metrics::connection_refused();
            drop(stream);
            continue;
        };
        let service = router.clone().map_request(move |mut request: http::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
        let stream = WatchedStream { inner: stream, request_started: Arc::default() };
        let request_started = Arc::clone(&stream.request_started);
        let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(error) = connection.await {
                if error.is_timeout() {
                    // hyper's header timer also runs while a keep-alive connection sits idle;
                    // only a request that had begun to arrive is a slow client.
                    if request_started.load(Ordering::Acquire) {
                        crate::metrics::slow_client("headers");
                    }
                } else {
                    tracing::debug!(error = %error, "connection ended with an error");
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The connection's socket, noting whether bytes of a request arrived since the last response
/// was written, which tells a slow client from an idle keep-alive connection.
struct WatchedStream {
    inner: TcpStream,
    request_started: Arc<AtomicBool>,
}

impl AsyncRead for WatchedStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.request_started.store(true, Ordering::Release);
        }
        polled
    }
}

impl AsyncWrite for WatchedStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.request_started.store(false, Ordering::Release);
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.request_started.store(false, Ordering::Release);
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
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
