//! The upload Lambda function: multipart and direct-to-S3 uploads, over the core's router.

use imgcloud_core::{
    http::{flush_usage_per_request, upload_routes},
    store, Config,
};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let app = store::aws::open_app(config).await?;
    lambda_http::run(flush_usage_per_request(app.clone(), upload_routes(app))).await
}
