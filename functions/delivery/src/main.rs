//! The delivery Lambda function: image delivery, over the core's router.

use imgcloud_core::{http::delivery_routes, lambda, store, telemetry, Config};

/// 6 MB of payload less base64's third and room for headers.
const LAMBDA_INLINE_MAX_BYTES: u64 = 4 << 20;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let mut config = Config::from_env()?;
    telemetry::init(config.log_format);
    // Lambda answers at most 6 MB, base64 included: larger images redirect to S3.
    config.inline_max_bytes.get_or_insert(LAMBDA_INLINE_MAX_BYTES);
    let app = store::aws::open_app(config).await?;
    lambda_http::run(lambda::mount(app.clone(), delivery_routes(app))).await
}
