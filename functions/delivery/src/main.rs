//! The delivery Lambda function: image delivery, over the core's router.

use imgcloud_core::{http::delivery_routes, App};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let app = App::from_env()?;
    lambda_http::run(delivery_routes(app)).await
}
