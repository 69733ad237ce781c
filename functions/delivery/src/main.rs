//! The delivery Lambda function: image delivery, over the core's router, buffered behind API
//! Gateway or streamed from a function URL (`IMGCLOUD_LAMBDA_RESPONSE_MODE`, docs/AWS.md).

use imgcloud_core::{http::delivery_routes, lambda, store, telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let mut config = Config::from_env()?;
    telemetry::init(config.log_format);
    let mode = lambda::ResponseMode::from_env()?;
    // Past what the mode can answer, images redirect to S3.
    config.inline_max_bytes.get_or_insert(mode.inline_max_bytes());
    let app = store::aws::open_app(config).await?;
    mode.run(lambda::mount(app.clone(), delivery_routes(app))).await
}
