//! The aws backend: blobs in S3 ([`s3::S3BlobStore`]) and records in one DynamoDB table
//! ([`dynamo::DynamoMetaStore`]). The clients are built once per process from the standard AWS
//! environment (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL` for LocalStack/MinIO/moto,
//! `AWS_ENDPOINT_URL_DYNAMODB` for DynamoDB alone, e.g. DynamoDB Local).

pub mod dynamo;
pub mod s3;

use std::{sync::Arc, time::Duration};

use aws_config::{retry::RetryConfig, timeout::TimeoutConfig, BehaviorVersion, Region};

use super::{memory::CachedBlobStore, StoreError, StoreResult};
use crate::{
    app::{App, StartError},
    config::{AwsSettings, Backend},
    signing::Signer,
    Config,
};

/// The aws backend's wiring: S3 and DynamoDB (with a memory cache in front of S3), rate limits
/// counted in the table for every instance. The signing secret is the configured one, or else the
/// one kept in the table (made on first use).
pub async fn open_app(config: Config) -> Result<Arc<App>, StartError> {
    let Backend::Aws(settings) = &config.backend else {
        return Err(StartError::Backend("this shape serves the aws backend only: set IMGCLOUD_BACKEND=aws"));
    };
    let stores = AwsStores::connect(settings).await;
    let secret = match &config.signing_secret {
        Some(secret) => secret.expose().to_owned(),
        None => stores.meta.load_or_create_signing_secret().await?,
    };
    let signer = Signer::new(secret.as_bytes())
        .map_err(|reason| StoreError { backend: "dynamodb", message: reason })?
        .accepting(config.previous_signing_secrets.iter().map(|s| s.expose().as_bytes()));
    let blobs = CachedBlobStore::new(stores.blobs, config.memory_cache_bytes);
    let meta = Arc::new(stores.meta);
    Ok(App::new(config, Arc::new(blobs), meta.clone(), signer, Some(meta)))
}

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

    /// Creates the bucket and the table (keys, indexes, TTL) unless they exist, and brings a
    /// table an earlier release wrote up to this one: `imgcloud init-aws` (or `migrate`).
    pub async fn init(&self) -> StoreResult<()> {
        self.blobs.create_bucket().await?;
        self.meta.create_table().await?;
        self.meta.backfill().await.map(drop)
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
