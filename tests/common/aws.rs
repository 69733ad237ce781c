//! The S3 + DynamoDB endpoint the aws-backend tests run against, named by
//! `IMGCLOUD_TEST_AWS_ENDPOINT`: the moto server that `scripts/test` installs and starts (or a
//! LocalStack, where Docker runs one). Never skipped: without it the aws tests fail and say how to
//! start one.

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

/// A bucket and a table of their own for one test, created on the emulator.
pub async fn fresh_settings() -> AwsSettings {
    let name = format!("t-{}", imgcloud_core::secrets::random_hex(8));
    let settings = AwsSettings { bucket: name.clone(), table: name, endpoint: Some(endpoint()) };
    AwsStores::connect(&settings).await.init().await.expect("bucket and table are created on the emulator");
    settings
}
