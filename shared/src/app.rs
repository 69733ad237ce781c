//! The application: configuration plus the storage ports, built once at start and shared by every
//! handler. Which stores it gets is the wiring's business (`store::embedded::open_app`,
//! `store::aws::open_app`, chosen by each shape's binary).

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::{
    cdn::{CdnPurge, XkeyPurge},
    clock::now_ms,
    config::Config,
    domain::{password::Passwords, Role},
    limits::RateLimits,
    secrets::random_token,
    signing::Signer,
    single_flight::KeyedLocks,
    store::{BlobStore, Created, MetaStore, SharedCounters, StoreError, UserRecord},
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
    /// The CDN that asset changes purge (`IMGCLOUD_PURGE_URL`), if any.
    pub cdn: Option<Arc<dyn CdnPurge>>,
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
    /// The configured backend is not one this binary serves.
    #[error("{0}")]
    Backend(&'static str),
}

impl App {
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
            blobs,
            meta,
            decode_permits: Arc::new(Semaphore::new(cores)),
            signer,
            renders_waiting: Default::default(),
            limits,
            usage: UsageMeter::default(),
            render_locks: KeyedLocks::default(),
            passwords: Passwords::new(cores),
            cdn: config.purge_url.clone().map(|url| Arc::new(XkeyPurge::new(url)) as Arc<dyn CdnPurge>),
            config,
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
