//! The api Lambda function: auth, users, API keys and asset metadata, over the core's router.

use imgcloud_core::{http::api_routes, App};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let app = App::from_env()?;
    lambda_http::run(api_routes(app)).await
}
