//! `imgcloud`: img-cloud on one machine. Configuration comes from the environment (see README).
//! `imgcloud init-aws` creates the aws backend's bucket and table instead of serving (and, like
//! `imgcloud migrate`, brings stores an earlier release wrote up to this one);
//! `imgcloud usage-recount` repairs the storage counters;
//! `imgcloud import DIR` and `imgcloud export DIR` are a client of a running server (`transfer`).

mod transfer;

use imgcloud_core::{
    config::Backend,
    telemetry::{self, announce},
    Config,
};

#[tokio::main]
async fn main() {
    // A client of a server: none of the server's configuration applies.
    if let Some(status) = transfer::dispatch().await {
        std::process::exit(status);
    }
    // Before the subscriber, which takes its format from the configuration: a bad configuration
    // is one plain line on stderr.
    let config = Config::from_env().unwrap_or_else(|e| fail(format!("configuration error: {e}")));
    telemetry::init(config.log_format);
    match std::env::args().nth(1).as_deref() {
        None => {}
        Some("init-aws") => return init_aws(&config).await,
        Some("migrate") => return migrate(config).await,
        Some("usage-recount") => return usage_recount(config).await,
        Some(other) => fail(format!(
            "unknown command {other:?}; usage: imgcloud [init-aws | migrate | usage-recount | import DIR | export DIR]"
        )),
    }
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .unwrap_or_else(|e| fail(format!("IMGCLOUD_ADDR: cannot listen on {}: {e}", config.addr)));
    let public_url = config.public_url.base.clone();
    let hint = match &config.backend {
        Backend::Aws(_) => " (on the aws backend, `imgcloud init-aws` creates the bucket and the table)",
        Backend::Embedded => "",
    };
    let server = imgcloud_local::serve(config, listener).await.unwrap_or_else(|e| fail(format!("{e}{hint}")));
    announce(&format!("imgcloud: listening on {} (public URL {public_url})", server.addr));
    if let Some(addr) = server.metrics_addr {
        announce(&format!("imgcloud: metrics on http://{addr}/metrics"));
    }
    let grace = server.app.config.shutdown_grace_seconds;
    shutdown_signal().await;
    announce(&format!("imgcloud: shutting down (requests in flight get up to {grace} s to finish)"));
    if let Err(e) = server.stop().await {
        fail(format!("server error: {e}"));
    }
}

/// Creates the bucket and the table (keys, indexes, TTL) unless they exist; safe to run again.
#[cfg(feature = "aws")]
async fn init_aws(config: &Config) {
    let Backend::Aws(settings) = &config.backend else {
        fail("init-aws needs IMGCLOUD_BACKEND=aws with IMGCLOUD_BUCKET and IMGCLOUD_TABLE".into())
    };
    announce(&format!(
        "imgcloud: creating bucket {} and table {} (kept if they exist)",
        settings.bucket, settings.table
    ));
    match imgcloud_core::store::aws::AwsStores::connect(settings).await.init().await {
        Ok(()) => announce(&format!("imgcloud: bucket {} and table {} are ready", settings.bucket, settings.table)),
        Err(e) => fail(format!("init-aws failed: {e}")),
    }
}

#[cfg(not(feature = "aws"))]
async fn init_aws(_: &Config) {
    fail(
        "this imgcloud is built without the aws backend: cargo build --release -p imgcloud-local --features aws".into(),
    )
}

/// Brings the configured stores up to this release: the embedded store does so when it opens
/// (each start does too), the aws backend's table in `init-aws`.
async fn migrate(config: Config) {
    if let Backend::Aws(_) = &config.backend {
        return init_aws(&config).await;
    }
    match imgcloud_local::open_app(config).await {
        Ok(_) => announce("imgcloud: the embedded store is up to date"),
        Err(e) => fail(format!("migrate failed: {e}")),
    }
}

/// Sets the storage counters to what the asset records sum to, reporting each owner that was off.
async fn usage_recount(config: Config) {
    let app = imgcloud_local::open_app(config).await.unwrap_or_else(|e| fail(format!("usage-recount: {e}")));
    announce("imgcloud: recounting the storage of every owner from the asset records");
    let drift = app.meta.recount_storage().await.unwrap_or_else(|e| fail(format!("usage-recount failed: {e}")));
    for d in &drift {
        let (k, c) = (&d.kept, &d.counted);
        announce(&format!(
            "imgcloud: owner {}: assets {} -> {}, original bytes {} -> {}, derived bytes {} -> {}",
            c.owner_id,
            k.asset_count,
            c.asset_count,
            k.original_bytes,
            c.original_bytes,
            k.derived_bytes,
            c.derived_bytes
        ));
    }
    announce(&match drift.len() {
        0 => "imgcloud: usage-recount: no drift, every counter was right".to_owned(),
        n => format!("imgcloud: usage-recount: {n} owner(s) had drifted and are recounted"),
    });
}

fn fail(message: String) -> ! {
    telemetry::complain(&format!("imgcloud: {message}"));
    std::process::exit(2)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
}
