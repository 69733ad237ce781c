//! API keys (SPEC §3): minted for their owner with a secret that is stored only as its hash,
//! revoked by their owner or an admin.

use crate::{
    app::App,
    auth::Principal,
    clock::now_ms,
    error::{AppError, AppResult, ErrorCode},
    secrets::{random_hex, random_token, sha256_hex},
    store::{ApiKeyRecord, Created},
};

/// A new key of `owner`, and its secret: the only time the secret exists outside its holder.
pub async fn create(app: &App, owner: &Principal, name: String) -> AppResult<(ApiKeyRecord, String)> {
    let secret = format!("cs_{}", random_token(32));
    let key = ApiKeyRecord {
        key_id: format!("ck_{}", random_hex(12)),
        owner_id: owner.user.id.clone(),
        name,
        secret_hash: sha256_hex(secret.as_bytes()),
        created_at: now_ms(),
        last_used_at: None,
        revoked_at: None,
    };
    if app.meta.create_api_key(&key).await? == Created::AlreadyExists {
        return Err(AppError::internal("a random API key id collided"));
    }
    Ok((key, secret))
}

pub async fn revoke(app: &App, principal: &Principal, key_id: &str) -> AppResult<ApiKeyRecord> {
    let no_such = || ErrorCode::NotFound.with("no such API key");
    let key = app.meta.api_key(key_id).await?.ok_or_else(no_such)?;
    if !principal.may_manage(&key.owner_id) {
        return Err(ErrorCode::Forbidden.with("this API key is not yours"));
    }
    app.meta.revoke_api_key(key_id, now_ms()).await?.ok_or_else(no_such)
}
