//! The local server: every area of the core's router and the dashboard on one hyper listener
//! (HTTP/1.1 with SPEC §15's connection bounds), Prometheus's metrics on a second one when
//! configured, plus the sweeper that keeps blobs and metadata consistent. The `imgcloud` binary
//! and the integration tests both start it through [`serve`].

mod dashboard;
mod metrics;

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use axum::{extract::connect_info::IntoMakeServiceWithConnectInfo, Router};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use imgcloud_core::{app::StartError, config::Backend, gc, http::all_routes, store, App, Config};
use tokio::{
    net::TcpListener,
    sync::{oneshot, Semaphore},
    task::JoinHandle,
};
use tower_http::timeout::RequestBodyTimeout;
use tower_service::Service;

pub struct Server {
    pub addr: SocketAddr,
    /// Where `GET /metrics` is served (`IMGCLOUD_METRICS_ADDR`).
    pub metrics_addr: Option<SocketAddr>,
    pub app: Arc<App>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
}

/// Opens the configured backend's stores: the embedded ones, or with the `aws` feature S3 and
/// DynamoDB (or their emulators).
pub async fn open_app(config: Config) -> Result<Arc<App>, StartError> {
    match &config.backend {
        Backend::Embedded => store::embedded::open_app(config),
        #[cfg(feature = "aws")]
        Backend::Aws(_) => store::aws::open_app(config).await,
        #[cfg(not(feature = "aws"))]
        Backend::Aws(_) => Err(StartError::Backend(
            "this imgcloud is built without the aws backend: cargo build --release -p imgcloud-local --features aws",
        )),
    }
}

/// Opens the stores, creates the first admin if the store has none (printing a generated
/// password once), and serves on `listener` until [`Server::stop`]; with `IMGCLOUD_METRICS_ADDR`,
/// metrics on a listener of their own.
pub async fn serve(config: Config, listener: TcpListener) -> Result<Server, StartError> {
    let metrics_listener = match config.metrics_addr {
        Some(addr) => Some(TcpListener::bind(addr).await.map_err(StartError::Listen)?),
        None => None,
    };
    let app = open_app(config).await?;
    app.bootstrap_admin_announced().await?;
    app.prepare_logins();
    let addr = listener.local_addr().map_err(StartError::Listen)?;
    let (stop, stopped) = oneshot::channel();
    let router = all_routes(app.clone(), dashboard::routes()).into_make_service_with_connect_info::<SocketAddr>();
    let limits = ConnectionLimits::from(&app.config);
    let mut background = vec![gc::spawn_sweeper(app.clone()), gc::spawn_usage_flusher(app.clone())];
    let metrics_addr = match metrics_listener {
        Some(listener) => {
            let addr = listener.local_addr().map_err(StartError::Listen)?;
            background.push(metrics::serve(listener));
            Some(addr)
        }
        None => None,
    };
    let task = tokio::spawn(accept(listener, router, limits, stopped));
    Ok(Server { addr, metrics_addr, app, stop, task, background })
}

impl Server {
    /// Stops accepting, lets requests in flight finish (for at most
    /// `IMGCLOUD_SHUTDOWN_GRACE_SECONDS`), flushes the usage tally, and returns once the listener
    /// is closed.
    pub async fn stop(self) -> std::io::Result<()> {
        self.background.iter().for_each(JoinHandle::abort);
        let _ = self.stop.send(());
        let served = self.task.await.unwrap_or_else(|e| Err(std::io::Error::other(e)));
        self.app.usage.flush(self.app.meta.as_ref()).await.map_err(std::io::Error::other)?;
        served
    }
}

/// SPEC §15's connection bounds, from `IMGCLOUD_HEADER_TIMEOUT_SECONDS`, `IMGCLOUD_BODY_TIMEOUT_SECONDS`
/// and `IMGCLOUD_MAX_CONNECTIONS`, and how long a stop waits for them to finish their requests
/// (`IMGCLOUD_SHUTDOWN_GRACE_SECONDS`).
#[derive(Clone, Copy)]
struct ConnectionLimits {
    header: Duration,
    body: Duration,
    connections: usize,
    grace: Duration,
}

impl From<&Config> for ConnectionLimits {
    fn from(config: &Config) -> Self {
        Self {
            header: Duration::from_secs(config.header_timeout_seconds.into()),
            body: Duration::from_secs(config.body_timeout_seconds.into()),
            connections: config.max_connections as usize,
            grace: Duration::from_secs(config.shutdown_grace_seconds.into()),
        }
    }
}

/// Serves HTTP/1.1 until `stop`, then stops accepting (new connections are refused) and waits for
/// the open connections, at most the grace period: each finishes the request it is serving and
/// closes; past the grace, those still open are cut off.
///
/// Every bound holds per connection: its headers (and, between requests, the wait for the next
/// ones) must arrive within the header timeout, else hyper closes it; a request body that sends
/// nothing for the body timeout fails its read, which the handlers answer with 408. At most
/// `connections` are open: the loop takes a slot before it accepts, so that past the cap new
/// connections wait in the kernel's listen backlog and are served, in order, as slots free.
async fn accept(
    listener: TcpListener,
    mut router: IntoMakeServiceWithConnectInfo<Router, SocketAddr>,
    limits: ConnectionLimits,
    stop: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header);
    let slots = Arc::new(Semaphore::new(limits.connections));
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        let slot = tokio::select! {
            biased;
            _ = &mut stop => break,
            slot = slots.clone().acquire_owned() => slot.expect("the slots are never closed"),
        };
        let (stream, peer) = tokio::select! {
            biased;
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => continue,
                // Out of file descriptors, most likely: wait for connections to close (the header
                // timeout sees to the stalled ones) rather than spin.
                Err(e) => {
                    tracing::error!(error = %e, "accept failed");
                    tokio::select! {
                        _ = &mut stop => break,
                        _ = tokio::time::sleep(Duration::from_millis(250)) => continue,
                    }
                }
            },
        };
        // As nginx's `tcp_nodelay`: a response's last segment leaves without waiting for the
        // client's acknowledgement of the one before.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, %peer, "TCP_NODELAY not set");
        }
        // Adds `ConnectInfo<SocketAddr>` to every request (the client IP of the rate limits).
        let service = router.call(peer).await.unwrap_or_else(|never: Infallible| match never {});
        let service = TowerToHyperService::new(RequestBodyTimeout::new(service, limits.body));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "connection closed with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.grace, graceful.shutdown()).await.is_err() {
        tracing::warn!(
            grace_seconds = limits.grace.as_secs(),
            "requests still in flight after the grace period are cut off"
        );
    }
    Ok(())
}

/// Errors of one connection that died before it was accepted: the next one may be fine.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}
