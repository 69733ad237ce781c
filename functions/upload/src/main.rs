//! The upload Lambda function: multipart uploads, over the core's router.

use imgcloud_core::{http::upload_routes, App};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let app = App::from_env()?;
    lambda_http::run(upload_routes(app)).await
}
