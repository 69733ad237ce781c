//! The delivery Lambda function: image delivery, over the core's router.

use imgcloud_core::{
    http::{delivery_routes, flush_usage_per_request},
    store, Config,
};

/// 6 MB of payload less base64's third and room for headers.
const LAMBDA_INLINE_MAX_BYTES: u64 = 4 << 20;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let mut config = Config::from_env()?;
    // Lambda answers at most 6 MB, base64 included: larger images redirect to S3.
    config.inline_max_bytes.get_or_insert(LAMBDA_INLINE_MAX_BYTES);
    let app = store::aws::open_app(config).await?;
    lambda_http::run(flush_usage_per_request(app.clone(), delivery_routes(app))).await
}
