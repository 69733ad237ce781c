//! Who is calling: the session cookie or an `ApiKey` header resolved to a [`Principal`], the
//! extractors that enforce SPEC §3's auth kinds, and the CSRF check of SPEC §9.

use std::sync::Arc;

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderMap, Method},
};

use crate::{
    app::App,
    clock::now_ms,
    config::Config,
    domain::Role,
    error::{AppError, AppResult, ErrorCode},
    secrets::{constant_time_eq, sha256_hex},
    store::UserRecord,
};

pub const SESSION_IDLE_MS: i64 = 12 * 3600 * 1000;
pub const SESSION_MAX_MS: i64 = 7 * 24 * 3600 * 1000;
/// `last_seen_at` / `last_used_at` are written at most this often, so that reads stay reads.
const TOUCH_EVERY_MS: i64 = 60 * 1000;
/// Compared against when a key id is unknown, so that the failure costs what a wrong secret does.
const UNKNOWN_KEY_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    Session { token_hash: String },
    ApiKey { key_id: String },
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub user: UserRecord,
    pub via: Via,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    /// Owners and admins may read and change a resource (SPEC §9).
    pub fn may_manage(&self, owner_id: &str) -> bool {
        self.is_admin() || self.user.id == owner_id
    }

    pub fn auth_kind(&self) -> &'static str {
        match self.via {
            Via::Session { .. } => "session",
            Via::ApiKey { .. } => "api_key",
        }
    }
}

pub fn cookie_name(config: &Config) -> &'static str {
    if config.public_url.secure {
        "__Host-imgcloud_session"
    } else {
        "imgcloud_session"
    }
}

pub fn session_cookie(config: &Config, token: &str) -> String {
    let secure = if config.public_url.secure { "; Secure" } else { "" };
    format!(
        "{}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        cookie_name(config),
        SESSION_MAX_MS / 1000
    )
}

pub fn clear_session_cookie(config: &Config) -> String {
    let secure = if config.public_url.secure { "; Secure" } else { "" };
    format!("{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}", cookie_name(config))
}

pub fn session_token<'h>(config: &Config, headers: &'h HeaderMap) -> Option<&'h str> {
    let name = cookie_name(config);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

fn invalid_credentials() -> AppError {
    ErrorCode::Unauthorized.with("missing or invalid credentials")
}

/// Resolves the caller. An `Authorization` header, when present, must be a valid API key (a
/// broken one is never silently downgraded to the cookie); otherwise the session cookie counts.
pub async fn authenticate(app: &App, headers: &HeaderMap) -> AppResult<Option<Principal>> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| invalid_credentials())?;
        return api_key_principal(app, value).await.map(Some);
    }
    match session_token(&app.config, headers) {
        Some(token) => session_principal(app, token).await.map(Some),
        None => Ok(None),
    }
}

async fn api_key_principal(app: &App, header_value: &str) -> AppResult<Principal> {
    let (scheme, credentials) = header_value.split_once(' ').ok_or_else(invalid_credentials)?;
    if !scheme.eq_ignore_ascii_case("ApiKey") {
        return Err(ErrorCode::Unauthorized.with("use Authorization: ApiKey <key_id>:<key_secret>"));
    }
    let (key_id, secret) = credentials.trim().split_once(':').ok_or_else(invalid_credentials)?;
    let presented = sha256_hex(secret.as_bytes());
    let key = app.meta.api_key(key_id).await?;
    // Compare even when the key is unknown, so that both failures take the same time.
    let stored = key.as_ref().map_or(UNKNOWN_KEY_HASH, |k| k.secret_hash.as_str());
    let matches = constant_time_eq(presented.as_bytes(), stored.as_bytes());
    let key = key
        .filter(|k| matches && k.revoked_at.is_none() && secret.starts_with("cs_"))
        .ok_or_else(invalid_credentials)?;
    let user = app.meta.user(&key.owner_id).await?.filter(|u| !u.disabled).ok_or_else(invalid_credentials)?;
    let now = now_ms();
    if key.last_used_at.is_none_or(|t| now - t >= TOUCH_EVERY_MS) {
        app.meta.touch_api_key(&key.key_id, now).await?;
    }
    Ok(Principal { user, via: Via::ApiKey { key_id: key.key_id } })
}

async fn session_principal(app: &App, token: &str) -> AppResult<Principal> {
    let token_hash = sha256_hex(token.as_bytes());
    let (session, user) = app.meta.session(&token_hash).await?.ok_or_else(invalid_credentials)?;
    let now = now_ms();
    if now >= session.expires_at || now - session.last_seen_at >= SESSION_IDLE_MS {
        app.meta.delete_session(&token_hash).await?;
        return Err(ErrorCode::Unauthorized.with("session expired; sign in again"));
    }
    if user.disabled {
        return Err(invalid_credentials());
    }
    if now - session.last_seen_at >= TOUCH_EVERY_MS {
        app.meta.touch_session(&token_hash, now).await?;
    }
    Ok(Principal { user, via: Via::Session { token_hash } })
}

/// SPEC §9: a cookie-authenticated request that changes state is refused when it comes from
/// another site.
pub fn check_csrf(config: &Config, method: &Method, headers: &HeaderMap) -> AppResult<()> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let refused = || ErrorCode::CsrfRejected.with("cross-site request refused");
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site") == Some("cross-site") {
        return Err(refused());
    }
    let source = header("origin").or_else(|| header("referer"));
    if let Some(source) = source {
        let origin = origin_of(source);
        if !origin.eq_ignore_ascii_case(&config.public_url.origin) {
            return Err(refused());
        }
    }
    Ok(())
}

/// `scheme://host[:port]` of a URL (the whole string when it has no path).
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find(['/', '?', '#']) {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// Any caller: session or API key (401 without credentials).
pub struct AnyAuth(pub Principal);
/// The dashboard's session only: an API key is refused with 403.
pub struct SessionAuth(pub Principal);
/// Any caller with the admin role (403 otherwise).
pub struct AdminAuth(pub Principal);

async fn require(parts: &Parts, app: &App) -> AppResult<Principal> {
    let principal = authenticate(app, &parts.headers)
        .await?
        .ok_or_else(|| ErrorCode::Unauthorized.with("sign in or send an API key"))?;
    if matches!(principal.via, Via::Session { .. }) {
        check_csrf(&app.config, &parts.method, &parts.headers)?;
    }
    app.limits
        .api
        .check(&principal.user.id)
        .await
        .map_err(|wait| crate::limits::too_many(wait, crate::limits::Limit::ApiCalls))?;
    Ok(principal)
}

impl FromRequestParts<Arc<App>> for AnyAuth {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> AppResult<Self> {
        require(parts, app).await.map(Self)
    }
}

impl FromRequestParts<Arc<App>> for SessionAuth {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> AppResult<Self> {
        let principal = require(parts, app).await?;
        match principal.via {
            Via::Session { .. } => Ok(Self(principal)),
            Via::ApiKey { .. } => {
                Err(ErrorCode::Forbidden.with("this endpoint needs a dashboard session; API keys cannot use it"))
            }
        }
    }
}

impl FromRequestParts<Arc<App>> for AdminAuth {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> AppResult<Self> {
        let principal = require(parts, app).await?;
        if principal.is_admin() {
            Ok(Self(principal))
        } else {
            Err(ErrorCode::Forbidden.with("this endpoint is for admins"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::from_lookup(|_| None).unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (header::HeaderName::from_static(k), v.parse().unwrap())).collect()
    }

    #[test]
    fn csrf_refuses_other_origins_and_cross_site_fetches() {
        let c = config();
        let post = Method::POST;
        assert!(check_csrf(&c, &post, &headers(&[])).is_ok());
        assert!(check_csrf(&c, &post, &headers(&[("origin", "http://127.0.0.1:8080")])).is_ok());
        assert!(check_csrf(&c, &post, &headers(&[("referer", "http://127.0.0.1:8080/dashboard/keys")])).is_ok());
        assert!(check_csrf(&c, &post, &headers(&[("origin", "https://evil.example")])).is_err());
        assert!(check_csrf(&c, &post, &headers(&[("origin", "http://127.0.0.1:8080.evil.example")])).is_err());
        assert!(check_csrf(&c, &post, &headers(&[("origin", "null")])).is_err());
        assert!(check_csrf(&c, &post, &headers(&[("referer", "https://evil.example/x")])).is_err());
        assert!(check_csrf(&c, &post, &headers(&[("sec-fetch-site", "cross-site")])).is_err());
        assert!(check_csrf(&c, &Method::GET, &headers(&[("origin", "https://evil.example")])).is_ok());
    }

    #[test]
    fn reads_only_our_cookie() {
        let c = config();
        let h = headers(&[("cookie", "other=1; imgcloud_session=abc; x=y")]);
        assert_eq!(session_token(&c, &h), Some("abc"));
        assert_eq!(session_token(&c, &headers(&[("cookie", "imgcloud_sessionx=abc")])), None);
    }
}
