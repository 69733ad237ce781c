//! The api Lambda function: auth, users, API keys and asset metadata, over the core's router.

use imgcloud_core::{gc, http::api_routes, lambda, store, telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let config = Config::from_env()?;
    telemetry::init(config.log_format);
    let app = store::aws::open_app(config).await?;
    // The first admin of an empty table; a generated password is logged once.
    app.bootstrap_admin_announced().await?;
    app.prepare_logins();
    // Blobs of overwritten and deleted assets are collected while an instance is warm.
    gc::spawn_sweeper(app.clone());
    lambda_http::run(lambda::mount(app.clone(), api_routes(app))).await
}
