//! The aws backend: blobs in S3 ([`s3::S3BlobStore`]) and records in one DynamoDB table
//! ([`dynamo::DynamoMetaStore`]). The clients are built once per process from the standard AWS
//! environment (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL` for LocalStack/MinIO/moto,
//! `AWS_ENDPOINT_URL_DYNAMODB` for DynamoDB alone, e.g. DynamoDB Local).

pub mod dynamo;
pub mod s3;

use std::time::Duration;

use aws_config::{retry::RetryConfig, timeout::TimeoutConfig, BehaviorVersion, Region};

use super::{StoreError, StoreResult};
use crate::config::AwsSettings;

/// Both stores of one deployment, sharing one loaded AWS configuration.
pub struct AwsStores {
    pub blobs: s3::S3BlobStore,
    pub meta: dynamo::DynamoMetaStore,
}

impl AwsStores {
    /// Builds the clients; nothing is sent yet (a cold start pays no round trip here).
    pub async fn connect(settings: &AwsSettings) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            // Throttling and 5xx are retried with exponential backoff and jitter.
            .retry_config(RetryConfig::standard().with_max_attempts(5))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(20))
                    .build(),
            );
        if let Some(endpoint) = &settings.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let mut shared = loader.load().await;
        if shared.region().is_none() {
            // Emulators accept any region; AWS itself always sets AWS_REGION.
            shared = shared.into_builder().region(Region::from_static("us-east-1")).build();
        }
        let s3_config = aws_sdk_s3::config::Builder::from(&shared)
            // Emulators on 127.0.0.1 have no per-bucket host names.
            .force_path_style(settings.endpoint.is_some())
            .build();
        let mut dynamo_config = aws_sdk_dynamodb::config::Builder::from(&shared);
        if let Some(endpoint) = &settings.dynamodb_endpoint {
            dynamo_config = dynamo_config.endpoint_url(endpoint);
        }
        let dynamo_config = dynamo_config.build();
        Self {
            blobs: s3::S3BlobStore::new(
                aws_sdk_s3::Client::from_conf(s3_config),
                settings.bucket.clone(),
                shared.credentials_provider(),
                settings.endpoint.as_deref(),
            ),
            meta: dynamo::DynamoMetaStore::new(
                aws_sdk_dynamodb::Client::from_conf(dynamo_config),
                settings.table.clone(),
            ),
        }
    }

    /// Creates the bucket and the table (keys, indexes, TTL) unless they exist: `imgcloud init-aws`.
    pub async fn init(&self) -> StoreResult<()> {
        self.blobs.create_bucket().await?;
        self.meta.create_table().await
    }
}

fn aws_error(backend: &'static str, e: impl std::error::Error) -> StoreError {
    // The SDK's Display is terse ("service error"); the source chain names the cause.
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !message.contains(&cause_text) {
            message = format!("{message}: {cause_text}");
        }
        source = cause.source();
    }
    StoreError { backend, message }
}
