//! Typed configuration from the environment (SPEC §2), validated once at start. A bad value stops
//! the program with one line naming the variable.

use std::{net::SocketAddr, path::PathBuf};

use crate::{store::VariantCaps, telemetry::LogFormat};

/// The render caps' defaults, which `render::RenderLimits` keeps in one place.
const RENDER: crate::render::RenderLimits = crate::render::RenderLimits::DEFAULT;

/// A configured secret: its `Debug` shows that it is set, never what it is, so that a logged or
/// printed configuration cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub public_url: PublicUrl,
    /// Where assets and records live.
    pub backend: Backend,
    pub data_dir: PathBuf,
    pub admin_email: Option<String>,
    pub admin_password: Option<Secret>,
    pub max_upload_bytes: u64,
    pub max_pixels: u64,
    pub max_frames: u32,
    /// The formats accepted as originals (`IMGCLOUD_FORMATS`, comma-separated; all by default).
    pub formats: crate::media::Formats,
    pub max_output_side: u32,
    /// Failed logins allowed per email and per IP in 15 minutes (0: no limit).
    pub rate_login_failures: u32,
    /// API calls per principal per minute (0: no limit).
    pub rate_api_per_minute: u32,
    /// Uploads per principal per minute (0: no limit).
    pub rate_uploads_per_minute: u32,
    /// Uncached renders per client IP per minute (0: no limit).
    pub rate_renders_per_minute: u32,
    /// Renders that may wait for a free core; more are refused with 503.
    pub render_queue: u32,
    /// The most a render may take, from when it gets a core; past it, 422 `render_too_large`.
    pub render_seconds: u32,
    /// The working memory one render may take (`IMGCLOUD_RENDER_MEMORY_BYTES`, estimated before
    /// each step that allocates); past it, 422.
    pub render_memory_bytes: u64,
    /// The pixels an animated render may produce, summed over its output frames
    /// (`IMGCLOUD_MAX_ANIMATION_PIXELS`); past it, 413.
    pub max_animation_pixels: u64,
    /// What one asset version may store beside its original (`IMGCLOUD_MAX_VARIANTS_PER_ASSET`,
    /// `IMGCLOUD_MAX_VARIANT_BYTES_PER_ASSET`, masters counted in the bytes); past either, a
    /// variant is rendered and served but not stored.
    pub variant_caps: VariantCaps,
    pub cache_max_age: u32,
    /// `IMGCLOUD_STRICT_TRANSFORMS`: anonymous unsigned deliveries get originals only (and, once
    /// presets exist, presets); a transform needs a signature or the owner's credentials (SPEC §14).
    pub strict_transforms: bool,
    /// The HMAC key of signed URLs; `None` keeps a generated one in the data dir.
    pub signing_secret: Option<Secret>,
    /// `IMGCLOUD_PREVIOUS_SIGNING_SECRETS` (comma-separated): earlier keys, accepted when
    /// verifying a signature and never used to sign (SPEC §14, docs/SIGNED-URLS.md).
    pub previous_signing_secrets: Vec<Secret>,
    /// Bytes of originals and variants kept in memory for hot deliveries.
    pub memory_cache_bytes: u64,
    /// Behind a CDN: the value of `X-Imgcloud-Origin` every request must carry (the CDN adds it), so
    /// that nobody reaches the origin around the CDN; the viewer's address is then read from
    /// `CloudFront-Viewer-Address`.
    pub origin_secret: Option<Secret>,
    /// Image responses larger than this redirect to a short-lived URL of the store instead, when
    /// the store can make one (Lambda's response payload limit); `None`: always inline.
    pub inline_max_bytes: Option<u64>,
    /// Connections (SPEC §15): seconds a client may take to send a request's headers, and an idle
    /// keep-alive connection may wait for its next request; then the connection is closed.
    pub header_timeout_seconds: u32,
    /// Seconds a request body may send nothing while it is read; then 408 `request_timeout`.
    pub body_timeout_seconds: u32,
    /// Open connections of the local server; past it new ones wait in the listen backlog.
    pub max_connections: u32,
    /// `POST /v1/upload` requests read or processed at once; past it 503 `busy`, body unread.
    pub uploads_in_flight: u32,
    /// `IMGCLOUD_LOG_FORMAT`: `text` (default) or `json`, one object per line (SPEC §15).
    pub log_format: crate::telemetry::LogFormat,
    /// `IMGCLOUD_METRICS_ADDR`: the local server's second listener, for Prometheus's
    /// `GET /metrics` only (SPEC §15); `None`: no metrics.
    pub metrics_addr: Option<SocketAddr>,
    /// `IMGCLOUD_SHUTDOWN_GRACE_SECONDS`: how long a stopping server lets requests in flight finish.
    pub shutdown_grace_seconds: u32,
    /// `IMGCLOUD_PURGE_URL`: a Varnish in front (SPEC §13) that an asset change purges; `None`:
    /// no CDN to purge (on AWS, CloudFront is invalidated by the template's own function).
    pub purge_url: Option<http::Uri>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// Files under the data dir and SQLite beside them.
    Embedded,
    /// S3 and DynamoDB.
    Aws(AwsSettings),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    pub bucket: String,
    pub table: String,
    /// `AWS_ENDPOINT_URL`: an emulator (LocalStack, MinIO, moto) instead of AWS.
    pub endpoint: Option<String>,
    /// `AWS_ENDPOINT_URL_DYNAMODB`: DynamoDB alone elsewhere (DynamoDB Local beside an S3
    /// emulator); the SDK's own name for it.
    pub dynamodb_endpoint: Option<String>,
}

/// The base of every URL the API returns, and the one origin trusted for cookie-authenticated
/// writes (CSRF, SPEC §9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    /// `https://img.example.com` or `https://example.com/img` (no trailing slash).
    pub base: String,
    /// `scheme://host[:port]`
    pub origin: String,
    pub secure: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

impl PublicUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim_end_matches('/');
        let (secure, rest) = if let Some(rest) = raw.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = raw.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err("must start with http:// or https://".into());
        };
        let host = rest.split('/').next().unwrap_or_default();
        if host.is_empty() || !host.chars().all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c)) {
            return Err("must name a host, like https://img.example.com".into());
        }
        if raw.contains(['?', '#', ' ']) {
            return Err("must not carry a query, a fragment or spaces".into());
        }
        let scheme = if secure { "https" } else { "http" };
        Ok(Self { base: raw.to_owned(), origin: format!("{scheme}://{}", host.to_ascii_lowercase()), secure })
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so that tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |var: &'static str| lookup(var).filter(|v| !v.is_empty());
        let err = |var: &'static str, reason: &str| ConfigError { var, reason: reason.to_owned() };

        let addr: SocketAddr = match get("IMGCLOUD_ADDR") {
            Some(v) => v.parse().map_err(|_| err("IMGCLOUD_ADDR", "must be an address like 127.0.0.1:8080"))?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let public_url = match get("IMGCLOUD_PUBLIC_URL") {
            Some(v) => PublicUrl::parse(&v).map_err(|r| err("IMGCLOUD_PUBLIC_URL", &r))?,
            None => PublicUrl::parse(&format!("http://{addr}")).map_err(|r| err("IMGCLOUD_ADDR", &r))?,
        };
        let backend = match get("IMGCLOUD_BACKEND").as_deref() {
            None | Some("embedded") => Backend::Embedded,
            Some("aws") => Backend::Aws(AwsSettings::from_lookup(&get)?),
            Some(_) => return Err(err("IMGCLOUD_BACKEND", "must be embedded or aws")),
        };
        let metrics_addr = match get("IMGCLOUD_METRICS_ADDR") {
            None => None,
            Some(v) => match v.parse::<SocketAddr>() {
                Ok(m) if m == addr && m.port() != 0 => {
                    return Err(err(
                        "IMGCLOUD_METRICS_ADDR",
                        "must differ from IMGCLOUD_ADDR: metrics are never public",
                    ))
                }
                Ok(m) => Some(m),
                Err(_) => return Err(err("IMGCLOUD_METRICS_ADDR", "must be an address like 127.0.0.1:9090")),
            },
        };
        let admin_email = get("IMGCLOUD_ADMIN_EMAIL")
            .map(|e| {
                crate::domain::Email::parse(&e)
                    .map(|e| e.0)
                    .map_err(|_| err("IMGCLOUD_ADMIN_EMAIL", "is not an email address"))
            })
            .transpose()?;
        let admin_password = get("IMGCLOUD_ADMIN_PASSWORD");
        let signing_secret = get("IMGCLOUD_SIGNING_SECRET");
        if let Some(secret) = &signing_secret {
            crate::signing::Signer::new(secret.as_bytes()).map_err(|r| err("IMGCLOUD_SIGNING_SECRET", &r))?;
        }
        let previous_signing_secrets = get("IMGCLOUD_PREVIOUS_SIGNING_SECRETS")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        crate::signing::Signer::new(s.as_bytes())
                            .map(|_| Secret(s.to_owned()))
                            .map_err(|r| err("IMGCLOUD_PREVIOUS_SIGNING_SECRETS", &format!("each secret {r}")))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        if let Some(p) = &admin_password {
            crate::domain::password::check_policy(p).map_err(|r| err("IMGCLOUD_ADMIN_PASSWORD", &r.message))?;
        }
        Ok(Self {
            addr,
            public_url,
            backend,
            data_dir: get("IMGCLOUD_DATA_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("./data")),
            admin_email,
            admin_password: admin_password.map(Secret),
            max_upload_bytes: number(&get, "IMGCLOUD_MAX_UPLOAD_BYTES", 25 * 1024 * 1024, 1, 1 << 40)?,
            max_pixels: number(&get, "IMGCLOUD_MAX_PIXELS", RENDER.max_pixels, 1, 1 << 40)?,
            max_frames: number(&get, "IMGCLOUD_MAX_FRAMES", u64::from(RENDER.max_frames), 1, 100_000)? as u32,
            formats: match get("IMGCLOUD_FORMATS") {
                Some(list) => crate::media::Formats::parse(&list).map_err(|r| err("IMGCLOUD_FORMATS", &r))?,
                None => crate::media::Formats::ALL,
            },
            max_output_side: number(&get, "IMGCLOUD_MAX_OUTPUT_SIDE", u64::from(RENDER.max_output_side), 1, 16_383)?
                as u32,
            signing_secret: signing_secret.map(Secret),
            previous_signing_secrets,
            memory_cache_bytes: number(&get, "IMGCLOUD_MEMORY_CACHE_BYTES", 256 << 20, 0, 1 << 40)?,
            rate_login_failures: number(&get, "IMGCLOUD_RATE_LOGIN_FAILURES", 10, 0, 1_000_000)? as u32,
            rate_api_per_minute: number(&get, "IMGCLOUD_RATE_API_PER_MINUTE", 600, 0, 100_000_000)? as u32,
            rate_uploads_per_minute: number(&get, "IMGCLOUD_RATE_UPLOADS_PER_MINUTE", 120, 0, 100_000_000)? as u32,
            rate_renders_per_minute: number(&get, "IMGCLOUD_RATE_RENDERS_PER_MINUTE", 300, 0, 100_000_000)? as u32,
            render_queue: number(&get, "IMGCLOUD_RENDER_QUEUE", 64, 1, 100_000)? as u32,
            render_seconds: number(&get, "IMGCLOUD_RENDER_SECONDS", 20, 1, 900)? as u32,
            render_memory_bytes: number(&get, "IMGCLOUD_RENDER_MEMORY_BYTES", RENDER.max_memory, 16 << 20, 1 << 40)?,
            max_animation_pixels: number(
                &get,
                "IMGCLOUD_MAX_ANIMATION_PIXELS",
                RENDER.max_animation_pixels,
                1,
                1 << 40,
            )?,
            variant_caps: VariantCaps {
                max_variants: number(&get, "IMGCLOUD_MAX_VARIANTS_PER_ASSET", 200, 0, 1_000_000_000)?,
                max_bytes: number(&get, "IMGCLOUD_MAX_VARIANT_BYTES_PER_ASSET", 512 << 20, 0, 1 << 50)?,
            },
            cache_max_age: number(&get, "IMGCLOUD_CACHE_MAX_AGE", 86_400, 0, 31_536_000)? as u32,
            strict_transforms: match get("IMGCLOUD_STRICT_TRANSFORMS").as_deref() {
                None | Some("false") => false,
                Some("true") => true,
                Some(_) => return Err(err("IMGCLOUD_STRICT_TRANSFORMS", "must be true or false")),
            },
            origin_secret: match get("IMGCLOUD_ORIGIN_SECRET") {
                Some(secret) if secret.len() < 16 => {
                    return Err(err("IMGCLOUD_ORIGIN_SECRET", "must be at least 16 characters"));
                }
                other => other.map(Secret),
            },
            inline_max_bytes: match get("IMGCLOUD_INLINE_MAX_BYTES") {
                Some(_) => Some(number(&get, "IMGCLOUD_INLINE_MAX_BYTES", 0, 1, 1 << 40)?),
                None => None,
            },
            header_timeout_seconds: number(&get, "IMGCLOUD_HEADER_TIMEOUT_SECONDS", 30, 1, 3600)? as u32,
            body_timeout_seconds: number(&get, "IMGCLOUD_BODY_TIMEOUT_SECONDS", 30, 1, 3600)? as u32,
            max_connections: number(&get, "IMGCLOUD_MAX_CONNECTIONS", 1024, 1, 1_000_000)? as u32,
            uploads_in_flight: number(&get, "IMGCLOUD_UPLOADS_IN_FLIGHT", 32, 1, 100_000)? as u32,
            log_format: match get("IMGCLOUD_LOG_FORMAT") {
                Some(v) => LogFormat::parse(&v).ok_or_else(|| err("IMGCLOUD_LOG_FORMAT", "must be text or json"))?,
                None => LogFormat::Text,
            },
            metrics_addr,
            shutdown_grace_seconds: number(&get, "IMGCLOUD_SHUTDOWN_GRACE_SECONDS", 25, 0, 3600)? as u32,
            purge_url: get("IMGCLOUD_PURGE_URL")
                .map(|v| purge_url(&v).map_err(|r| err("IMGCLOUD_PURGE_URL", r)))
                .transpose()?,
        })
    }
}

/// A purge endpoint: plain HTTP to a host (Varnish speaks no TLS; it sits beside the server).
fn purge_url(raw: &str) -> Result<http::Uri, &'static str> {
    let uri: http::Uri = raw.parse().map_err(|_| "must be a URL like http://127.0.0.1:6081")?;
    match (uri.scheme_str(), uri.host(), uri.query()) {
        (Some("http"), Some(_), None) => Ok(uri),
        (Some("https"), ..) => Err("must be http:// (the purge goes to a Varnish beside the server)"),
        _ => Err("must be a URL like http://127.0.0.1:6081, without a query"),
    }
}

impl AwsSettings {
    fn from_lookup(get: &impl Fn(&'static str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |var: &'static str| {
            get(var).ok_or_else(|| ConfigError { var, reason: "is required when IMGCLOUD_BACKEND=aws".into() })
        };
        let bucket = required("IMGCLOUD_BUCKET")?;
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && bucket.as_bytes()[0].is_ascii_alphanumeric();
        if !bucket_ok {
            return Err(ConfigError {
                var: "IMGCLOUD_BUCKET",
                reason: "must be an S3 bucket name (3-63 lowercase letters, digits, '-' or '.')".into(),
            });
        }
        let table = required("IMGCLOUD_TABLE")?;
        if !(3..=255).contains(&table.len()) || !table.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        {
            return Err(ConfigError {
                var: "IMGCLOUD_TABLE",
                reason: "must be a DynamoDB table name (3-255 letters, digits, '_', '-' or '.')".into(),
            });
        }
        let url = |var: &'static str| match get(var) {
            Some(e) if !(e.starts_with("http://") || e.starts_with("https://")) => {
                Err(ConfigError { var, reason: "must start with http:// or https://".into() })
            }
            e => Ok(e),
        };
        Ok(Self {
            bucket,
            table,
            endpoint: url("AWS_ENDPOINT_URL")?,
            dynamodb_endpoint: url("AWS_ENDPOINT_URL_DYNAMODB")?,
        })
    }
}

fn number(
    get: &impl Fn(&'static str) -> Option<String>,
    var: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let Some(raw) = get(var) else {
        return Ok(default);
    };
    match raw.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ConfigError { var, reason: format!("must be a whole number from {min} to {max}, got {raw:?}") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_follow_the_spec() {
        let c = config(&[]).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_url.base, "http://127.0.0.1:8080");
        assert_eq!(c.max_upload_bytes, 26_214_400);
        assert_eq!(c.max_pixels, 50_000_000);
        assert_eq!(c.cache_max_age, 86_400);
        assert!(!c.public_url.secure);
        assert_eq!((c.header_timeout_seconds, c.body_timeout_seconds), (30, 30));
        assert_eq!((c.max_connections, c.uploads_in_flight), (1024, 32));
        assert_eq!(c.variant_caps, VariantCaps { max_variants: 200, max_bytes: 512 << 20 });
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!((c.metrics_addr, c.shutdown_grace_seconds), (None, 25));
    }

    #[test]
    fn a_printed_configuration_shows_no_secret() {
        let secrets = [
            ("IMGCLOUD_ADMIN_PASSWORD", "a-very-secret-admin-password"),
            ("IMGCLOUD_SIGNING_SECRET", "0123456789abcdef0123456789abcdef-signing"),
            ("IMGCLOUD_ORIGIN_SECRET", "origin-secret-of-the-cdn-0123"),
            ("IMGCLOUD_PREVIOUS_SIGNING_SECRETS", "a-previous-signing-secret-0123"),
        ];
        let c = config(&secrets).unwrap();
        let printed = format!("{c:?}");
        for (name, value) in secrets {
            assert!(!printed.contains(value), "{name} printed: {printed}");
        }
        assert_eq!(c.signing_secret.as_ref().map(Secret::expose), Some(secrets[1].1));
        assert!(printed.contains("signing_secret: Some(Secret(<redacted>))"));
    }

    #[test]
    fn bad_values_name_their_variable() {
        assert_eq!(config(&[("IMGCLOUD_MAX_UPLOAD_BYTES", "lots")]).unwrap_err().var, "IMGCLOUD_MAX_UPLOAD_BYTES");
        assert_eq!(config(&[("IMGCLOUD_PUBLIC_URL", "ftp://x")]).unwrap_err().var, "IMGCLOUD_PUBLIC_URL");
        assert_eq!(config(&[("IMGCLOUD_BACKEND", "mongo")]).unwrap_err().var, "IMGCLOUD_BACKEND");
        assert_eq!(config(&[("IMGCLOUD_BACKEND", "aws")]).unwrap_err().var, "IMGCLOUD_BUCKET");
        let aws = [("IMGCLOUD_BACKEND", "aws"), ("IMGCLOUD_BUCKET", "Bad_Bucket"), ("IMGCLOUD_TABLE", "t1")];
        assert_eq!(config(&aws).unwrap_err().var, "IMGCLOUD_BUCKET");
        assert_eq!(config(&[("IMGCLOUD_ADMIN_PASSWORD", "short")]).unwrap_err().var, "IMGCLOUD_ADMIN_PASSWORD");
        assert_eq!(config(&[("IMGCLOUD_MAX_CONNECTIONS", "0")]).unwrap_err().var, "IMGCLOUD_MAX_CONNECTIONS");
        assert_eq!(config(&[("IMGCLOUD_BODY_TIMEOUT_SECONDS", "0")]).unwrap_err().var, "IMGCLOUD_BODY_TIMEOUT_SECONDS");
        let over = config(&[("IMGCLOUD_MAX_VARIANTS_PER_ASSET", "-1")]).unwrap_err();
        assert_eq!(over.var, "IMGCLOUD_MAX_VARIANTS_PER_ASSET");
        let over = config(&[("IMGCLOUD_MAX_VARIANT_BYTES_PER_ASSET", "1GiB")]).unwrap_err();
        assert_eq!(over.var, "IMGCLOUD_MAX_VARIANT_BYTES_PER_ASSET");
        assert_eq!(config(&[("IMGCLOUD_LOG_FORMAT", "yaml")]).unwrap_err().var, "IMGCLOUD_LOG_FORMAT");
        assert_eq!(config(&[("IMGCLOUD_LOG_FORMAT", "json")]).unwrap().log_format, LogFormat::Json);
        assert_eq!(config(&[("IMGCLOUD_METRICS_ADDR", "9090")]).unwrap_err().var, "IMGCLOUD_METRICS_ADDR");
        let public = [("IMGCLOUD_ADDR", "127.0.0.1:8080"), ("IMGCLOUD_METRICS_ADDR", "127.0.0.1:8080")];
        assert_eq!(config(&public).unwrap_err().var, "IMGCLOUD_METRICS_ADDR");
        let metrics = config(&[("IMGCLOUD_METRICS_ADDR", "127.0.0.1:9090")]).unwrap().metrics_addr;
        assert_eq!(metrics, Some(SocketAddr::from(([127, 0, 0, 1], 9090))));
        let grace = config(&[("IMGCLOUD_SHUTDOWN_GRACE_SECONDS", "soon")]).unwrap_err();
        assert_eq!(grace.var, "IMGCLOUD_SHUTDOWN_GRACE_SECONDS");
        for bad in ["127.0.0.1:6081", "https://cdn.example.com", "http://127.0.0.1:6081/?x=1", "http://"] {
            assert_eq!(config(&[("IMGCLOUD_PURGE_URL", bad)]).unwrap_err().var, "IMGCLOUD_PURGE_URL", "{bad}");
        }
        let previous = config(&[("IMGCLOUD_PREVIOUS_SIGNING_SECRETS", "0123456789abcdef-one, short")]).unwrap_err();
        assert_eq!(previous.var, "IMGCLOUD_PREVIOUS_SIGNING_SECRETS");
        let previous = config(&[("IMGCLOUD_PREVIOUS_SIGNING_SECRETS", "0123456789abcdef-one, 0123456789abcdef-two")]);
        assert_eq!(previous.unwrap().previous_signing_secrets.len(), 2);
        assert_eq!(config(&[("IMGCLOUD_STRICT_TRANSFORMS", "yes")]).unwrap_err().var, "IMGCLOUD_STRICT_TRANSFORMS");
        assert!(config(&[("IMGCLOUD_STRICT_TRANSFORMS", "true")]).unwrap().strict_transforms);
        let purge = config(&[("IMGCLOUD_PURGE_URL", "http://127.0.0.1:6081")]).unwrap().purge_url;
        assert_eq!(purge.map(|u| u.to_string()), Some("http://127.0.0.1:6081/".to_owned()));
    }

    #[test]
    fn the_aws_backend_names_its_bucket_table_and_endpoint() {
        let c = config(&[
            ("IMGCLOUD_BACKEND", "aws"),
            ("IMGCLOUD_BUCKET", "img-cloud-assets"),
            ("IMGCLOUD_TABLE", "imgcloud"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
        ])
        .unwrap();
        let expected = AwsSettings {
            bucket: "img-cloud-assets".into(),
            table: "imgcloud".into(),
            endpoint: Some("http://127.0.0.1:5000".into()),
            dynamodb_endpoint: Some("http://127.0.0.1:8000".into()),
        };
        assert_eq!(c.backend, Backend::Aws(expected));
        let bad = [("IMGCLOUD_BACKEND", "aws"), ("IMGCLOUD_BUCKET", "b-1"), ("IMGCLOUD_TABLE", "t-1")];
        let bad = [&bad[..], &[("AWS_ENDPOINT_URL_DYNAMODB", "127.0.0.1:8000")]].concat();
        assert_eq!(config(&bad).unwrap_err().var, "AWS_ENDPOINT_URL_DYNAMODB");
    }

    #[test]
    fn https_public_url_turns_on_secure_cookies_and_sets_the_origin() {
        let c = config(&[("IMGCLOUD_PUBLIC_URL", "https://Img.Example.com/base/")]).unwrap();
        assert!(c.public_url.secure);
        assert_eq!(c.public_url.base, "https://Img.Example.com/base");
        assert_eq!(c.public_url.origin, "https://img.example.com");
    }
}
