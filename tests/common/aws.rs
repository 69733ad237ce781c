//! The emulators the aws-backend tests run against: `IMGCLOUD_TEST_AWS_ENDPOINT`, the moto server
//! that `scripts/test` installs and starts (or a LocalStack, where Docker runs one), and
//! `IMGCLOUD_TEST_DYNAMODB_ENDPOINT`, the DynamoDB Local it starts beside it. Never skipped: without
//! them the aws tests fail and say how to start one.

use imgcloud_core::{config::AwsSettings, store::aws::AwsStores};

pub fn endpoint() -> String {
    static CREDENTIALS: std::sync::Once = std::sync::Once::new();
    CREDENTIALS.call_once(|| {
        // Emulators take any credentials; the SDK wants some.
        for (var, value) in
            [("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"), ("AWS_REGION", "us-east-1")]
        {
            if std::env::var_os(var).is_none() {
                std::env::set_var(var, value);
            }
        }
    });
    std::env::var("IMGCLOUD_TEST_AWS_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "IMGCLOUD_TEST_AWS_ENDPOINT is not set: the aws backend tests need the moto server that ./scripts/test \
             installs and starts (or start one: scripts/moto, then export IMGCLOUD_TEST_AWS_ENDPOINT=http://127.0.0.1:<port>)"
        )
    })
}

/// DynamoDB's own endpoint when `IMGCLOUD_TEST_DYNAMODB_ENDPOINT` names one (the DynamoDB Local that
/// `scripts/test` starts; moto does not make concurrent conditional writes atomic); else the
/// emulator's.
fn dynamodb_endpoint() -> Option<String> {
    std::env::var("IMGCLOUD_TEST_DYNAMODB_ENDPOINT").ok().filter(|e| !e.is_empty())
}

/// A bucket and a table of their own for one test, created on the emulators.
pub async fn fresh_settings() -> AwsSettings {
    let name = format!("t-{}", imgcloud_core::secrets::random_hex(8));
    let settings = AwsSettings {
        bucket: name.clone(),
        table: name,
        endpoint: Some(endpoint()),
        dynamodb_endpoint: dynamodb_endpoint(),
    };
    AwsStores::connect(&settings).await.init().await.expect("bucket and table are created on the emulators");
    settings
}

/// The environment that configures a server or a function on `settings`.
#[allow(dead_code)] // the store suite starts no server
pub fn backend_vars(settings: &AwsSettings) -> Vec<(String, String)> {
    let mut vars = vec![
        ("IMGCLOUD_BACKEND".to_owned(), "aws".to_owned()),
        ("IMGCLOUD_BUCKET".to_owned(), settings.bucket.clone()),
        ("IMGCLOUD_TABLE".to_owned(), settings.table.clone()),
    ];
    vars.extend(settings.endpoint.clone().map(|e| ("AWS_ENDPOINT_URL".to_owned(), e)));
    vars.extend(settings.dynamodb_endpoint.clone().map(|e| ("AWS_ENDPOINT_URL_DYNAMODB".to_owned(), e)));
    vars
}

/// A DynamoDB client of its own on `settings`' emulator: to write items the store would not.
#[allow(dead_code)] // only some suites write raw items
pub async fn raw_dynamodb(settings: &AwsSettings) -> aws_sdk_dynamodb::Client {
    let endpoint = settings.dynamodb_endpoint.clone().or_else(|| settings.endpoint.clone()).unwrap();
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&shared)
}
