//! The local server: every area of the core's router and the dashboard on one hyper listener, plus the sweeper that
//! keeps blobs and metadata consistent. The `imgcloud` binary and the integration tests both start
//! it through [`serve`].

mod dashboard;

use std::{net::SocketAddr, sync::Arc};

use imgcloud_core::{app::StartError, gc, http::all_routes, App, Config};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

pub struct Server {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    background: [JoinHandle<()>; 2],
}

/// Opens the stores, creates the first admin if the store has none (printing a generated
/// password once), and serves on `listener` until [`Server::stop`].
pub async fn serve(config: Config, listener: TcpListener) -> Result<Server, StartError> {
    let app = App::open(config).await?;
    app.bootstrap_admin_announced().await?;
    app.prepare_logins();
    let addr = listener.local_addr().map_err(StartError::Listen)?;
    let (stop, stopped) = oneshot::channel();
    let router = all_routes(app.clone(), dashboard::routes()).into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router).with_graceful_shutdown(async { stopped.await.unwrap_or(()) }).await
    });
    let background = [gc::spawn_sweeper(app.clone()), gc::spawn_usage_flusher(app.clone())];
    Ok(Server { addr, app, stop, task, background })
}

impl Server {
    /// Stops accepting, lets requests in flight finish, flushes the usage tally, and returns once
    /// the listener is closed.
    pub async fn stop(self) -> std::io::Result<()> {
        self.background.iter().for_each(JoinHandle::abort);
        let _ = self.stop.send(());
        let served = self.task.await.unwrap_or_else(|e| Err(std::io::Error::other(e)));
        self.app.usage.flush(self.app.meta.as_ref()).await.map_err(std::io::Error::other)?;
        served
    }
}
