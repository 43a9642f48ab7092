//! Binding and serving: the gateway and (when enabled) the simulators, with graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{Config, ConfigError};
use crate::state::{AppState, Gateway, RestartNeeded, StateError};

/// Why the gateway did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `key` is the config key naming the address (`server.listen`, …).
    #[error("cannot bind {key} {listen}")]
    Bind {
        key: &'static str,
        listen: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the address server.listen bound")]
    BoundAddress(#[source] std::io::Error),
    #[error(transparent)]
    State(#[from] StateError),
}

/// Why a reload was refused (the old config stays in force).
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    RestartNeeded(#[from] RestartNeeded),
}

/// `listen` bound, or why not in terms of the config key `key`.
async fn bind(key: &'static str, listen: &str) -> Result<TcpListener, StartError> {
    TcpListener::bind(listen).await.map_err(|source| StartError::Bind { key, listen: listen.to_owned(), source })
}

/// A started gateway. Dropping it does not stop it; call [`Running::shutdown`].
pub struct Running {
    pub addr: SocketAddr,
    /// The admin listener's address, when `server.admin_listen` is set.
    pub admin_addr: Option<SocketAddr>,
    /// The live state holder, for reloads.
    pub gateway: Arc<Gateway>,
    pub simulator_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    grace: Duration,
}

impl Running {
    /// Stop accepting, let in-flight requests finish within the grace period, then return.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if tokio::time::timeout(self.grace, task).await.is_err() {
                tracing::warn!("in-flight requests did not finish within the shutdown grace period");
            }
        }
    }
}

/// Bind the listeners and start serving `config`.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let simulator = match &config.simulator_listen {
        Some(listen) => Some((bind("simulator.listen", listen).await?, crate::simulators::router(&config.simulators))),
        None => None,
    };
    let listener = bind("server.listen", &config.server.listen).await?;
    let addr = listener.local_addr().map_err(StartError::BoundAddress)?;
    let admin = match &config.server.admin_listen {
        Some(listen) => Some(bind("server.admin_listen", listen).await?),
        None => None,
    };
    let admin_addr = admin.as_ref().and_then(|listener| listener.local_addr().ok());
    let grace = config.server.shutdown_grace;
    // Install the metrics recorder before the first request records anything.
    let _ = crate::metrics::handle();
    let gateway = Gateway::new(AppState::new(config).await?);
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    let mut simulator_addr = None;
    if let Some((listener, router)) = simulator {
        simulator_addr = listener.local_addr().ok();
        tasks.push(tokio::spawn(serve(listener, router, stopped.clone())));
    }
    tasks.push(tokio::spawn(crate::metrics::upkeep(stopped.clone())));
    if let Some(admin) = admin {
        let router = crate::api::admin_router(Arc::clone(&gateway));
        tasks.push(tokio::spawn(crate::listener::serve(admin, router, Arc::clone(&gateway), stopped.clone())));
    }
    let router = crate::api::router(Arc::clone(&gateway));
    tasks.push(tokio::spawn(crate::listener::serve(listener, router, Arc::clone(&gateway), stopped)));
    Ok(Running { addr, admin_addr, gateway, simulator_addr, stop, tasks, grace })
}

/// The simulators' server (demo and tests only: no connection limits needed).
async fn serve(listener: TcpListener, router: axum::Router, mut stopped: watch::Receiver<bool>) {
    let shutdown = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
        tracing::error!(error = %e, "server stopped with an error");
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

/// Reload the config at `path` into `gateway` (SIGHUP): an invalid config is refused and
/// logged, and the old one stays in force.
pub fn reload(gateway: &Gateway, path: &std::path::Path) -> Result<(), ReloadError> {
    let result = crate::config::load(path)
        .map_err(ReloadError::from)
        .and_then(|config| gateway.reload(config).map_err(ReloadError::from));
    crate::metrics::reload(result.is_ok());
    match &result {
        Ok(()) => tracing::info!(path = %path.display(), "config reloaded"),
        Err(error) => {
            tracing::error!(path = %path.display(), error = %error, "config reload refused; the old config stays");
        }
    }
    result
}

/// Resolves on every SIGHUP (never on platforms without it).
pub async fn hangup(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[tokio::test]
    async fn a_taken_address_names_its_key_and_keeps_the_os_error() {
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let listen = taken.local_addr().unwrap().to_string();
        let error = bind("server.admin_listen", &listen).await.unwrap_err();
        assert_eq!(error.to_string(), format!("cannot bind server.admin_listen {listen}"));
        let cause = error.source().and_then(|cause| cause.downcast_ref::<std::io::Error>()).unwrap();
        assert_eq!(cause.kind(), std::io::ErrorKind::AddrInUse);
    }
}
