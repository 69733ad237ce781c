//! The application: configuration plus the storage ports, built once at start and shared by every
//! handler.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::{
    clock::now_ms,
    config::{AwsSettings, Backend, Config},
    domain::{password::Passwords, Role},
    limits::{RateLimits, SharedCounters},
    secrets::random_token,
    signing::Signer,
    single_flight::KeyedLocks,
    store::{
        aws::AwsStores, fs::FileBlobStore, memory::CachedBlobStore, sqlite::SqliteMetaStore, BlobStore, Created,
        MetaStore, StoreError, UserRecord,
    },
    usage::UsageMeter,
};

pub struct App {
    pub config: Config,
    pub blobs: Arc<dyn BlobStore>,
    pub meta: Arc<dyn MetaStore>,
    /// Bounds concurrent decodes (uploads and renders), so that a burst cannot exhaust memory.
    decode_permits: Arc<Semaphore>,
    /// Signs and checks delivery URLs (SPEC §7).
    pub signer: Signer,
    /// Image traffic not yet flushed to the store (SPEC §10).
    pub usage: UsageMeter,
    /// The rate limits of SPEC §9.
    pub limits: RateLimits,
    /// Renders waiting for a decode permit (bounded by `config.render_queue`).
    pub renders_waiting: std::sync::atomic::AtomicU32,
    /// One render per variant at a time.
    pub render_locks: KeyedLocks,
    /// Argon2 hashing and checks, bounded and in reused memory.
    pub passwords: Passwords,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("configuration error: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot open the data dir {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen: {0}")]
    Listen(std::io::Error),
}

impl App {
    /// Reads the configuration from the environment and opens its stores: what every entry point
    /// does first.
    pub async fn from_env() -> Result<Arc<Self>, StartError> {
        Self::open(Config::from_env()?).await
    }

    /// Opens the configured backend.
    pub async fn open(config: Config) -> Result<Arc<Self>, StartError> {
        match config.backend.clone() {
            Backend::Embedded => Self::open_embedded(config),
            Backend::Aws(settings) => Self::open_aws(config, &settings).await,
        }
    }

    /// Connects to S3 and DynamoDB. The signing secret is the configured one, or else the one kept
    /// in the table (made on first use).
    pub async fn open_aws(config: Config, settings: &AwsSettings) -> Result<Arc<Self>, StartError> {
        let stores = AwsStores::connect(settings).await;
        let secret = match &config.signing_secret {
            Some(secret) => secret.expose().to_owned(),
            None => stores.meta.load_or_create_signing_secret().await?,
        };
        let signer =
            Signer::new(secret.as_bytes()).map_err(|reason| StoreError { backend: "dynamodb", message: reason })?;
        let blobs = CachedBlobStore::new(stores.blobs, config.memory_cache_bytes);
        let meta = Arc::new(stores.meta);
        Ok(Self::new(config, Arc::new(blobs), meta.clone(), signer, Some(meta)))
    }

    /// Opens the embedded stores under the configured data dir.
    pub fn open_embedded(config: Config) -> Result<Arc<Self>, StartError> {
        let dir = config.data_dir.clone();
        let data_dir_error = |source| StartError::DataDir { path: dir.display().to_string(), source };
        std::fs::create_dir_all(&dir).map_err(data_dir_error)?;
        let blobs = CachedBlobStore::new(FileBlobStore::open(dir.join("blobs"))?, config.memory_cache_bytes);
        let meta = SqliteMetaStore::open(&dir.join("imgcloud.sqlite3"))?;
        let signer = match &config.signing_secret {
            Some(secret) => Signer::new(secret.expose().as_bytes())
                .expect("IMGCLOUD_SIGNING_SECRET is checked with the configuration"),
            None => Signer::load_or_create(&dir).map_err(data_dir_error)?,
        };
        Ok(Self::new(config, Arc::new(blobs), Arc::new(meta), signer, None))
    }

    /// The app over its stores; rate limits count in this process, or in `shared_counters` when
    /// several processes serve one deployment.
    pub fn new(
        config: Config,
        blobs: Arc<dyn BlobStore>,
        meta: Arc<dyn MetaStore>,
        signer: Signer,
        shared_counters: Option<Arc<dyn SharedCounters>>,
    ) -> Arc<Self> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let limits = RateLimits::new(&config, shared_counters);
        Arc::new(Self {
            config,
            blobs,
            meta,
            decode_permits: Arc::new(Semaphore::new(cores)),
            signer,
            renders_waiting: Default::default(),
            limits,
            usage: UsageMeter::default(),
            render_locks: KeyedLocks::default(),
            passwords: Passwords::new(cores),
        })
    }

    /// Prepares [`Passwords`] in the background, for the shapes that sign users in (the api
    /// function, the local server).
    pub fn prepare_logins(self: &Arc<Self>) {
        let app = self.clone();
        tokio::spawn(async move { app.passwords.prepare().await });
    }

    /// Waits for one of the decode slots (one per core).
    pub async fn decode_permit(&self) -> Result<DecodePermit, tokio::sync::AcquireError> {
        self.decode_permits.clone().acquire_owned().await.map(|slot| DecodePermit { _slot: slot })
    }

    /// The caps every render runs under.
    pub fn render_limits(&self) -> crate::render::RenderLimits {
        crate::render::RenderLimits {
            max_pixels: self.config.max_pixels,
            max_frames: self.config.max_frames,
            max_output_side: self.config.max_output_side,
            max_memory: self.config.render_memory_bytes,
            max_animation_pixels: self.config.max_animation_pixels,
            deadline: None,
            cancelled: None,
        }
    }

    /// [`Self::bootstrap_admin`], printing a generated password once (to the terminal of the
    /// local server, to the log of a Lambda function).
    pub async fn bootstrap_admin_announced(&self) -> Result<(), StoreError> {
        if let Some((email, password)) = self.bootstrap_admin().await? {
            crate::telemetry::announce(&format!("imgcloud: created the first admin {email} with password {password}"));
            crate::telemetry::announce("imgcloud: this password is shown once; sign in and change it");
        }
        Ok(())
    }

    /// Creates the first admin when the store has no user (SPEC §2). Returns the generated password
    /// when none was configured, for the caller to print once.
    pub async fn bootstrap_admin(&self) -> Result<Option<(String, String)>, StoreError> {
        if self.meta.has_users().await? {
            return Ok(None);
        }
        let email = self.config.admin_email.clone().unwrap_or_else(|| "admin@localhost".to_owned());
        let (password, generated) = match &self.config.admin_password {
            Some(p) => (p.expose().to_owned(), false),
            None => (random_token(18), true),
        };
        let hash = self.passwords.hash(password.clone()).await;
        let user = UserRecord {
            id: new_user_id(),
            email: email.clone(),
            name: Some("Administrator".into()),
            role: Role::Admin,
            disabled: false,
            password_hash: hash,
            created_at: now_ms(),
        };
        // Another process may have bootstrapped the same store meanwhile; theirs stands.
        let created = self.meta.create_user(&user).await? == Created::Created;
        Ok((created && generated).then_some((email, password)))
    }
}

/// A decode slot. It goes with the blocking job rather than with the request, so that a client
/// hanging up does not free the slot while the work it started runs on.
pub struct DecodePermit {
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl DecodePermit {
    /// Runs `job` on the blocking pool, holding this slot until the job ends.
    pub async fn run<T: Send + 'static>(
        self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, tokio::task::JoinError> {
        tokio::task::spawn_blocking(move || {
            let _held = self;
            job()
        })
        .await
    }
}

pub fn new_user_id() -> String {
    format!("usr_{}", crate::secrets::random_hex(8))
}
