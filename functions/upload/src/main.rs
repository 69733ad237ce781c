//! The upload Lambda function: multipart and direct-to-S3 uploads, over the core's router.

use imgcloud_core::{http::upload_routes, lambda, store, telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let config = Config::from_env()?;
    telemetry::init(config.log_format);
    let app = store::aws::open_app(config).await?;
    lambda_http::run(lambda::mount(app.clone(), upload_routes(app))).await
}
