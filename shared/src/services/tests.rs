//! The services on the embedded store, without HTTP: each protocol's outcome and what it leaves
//! in the stores.

use std::{path::Path, sync::Arc};

use bytes::Bytes;

use super::{
    signed,
    upload::{self, Committed, NewUpload},
    usage, variant,
};
use crate::{
    app::{new_user_id, App},
    auth::{Principal, Via},
    clock::now_ms,
    config::Config,
    domain::{PublicId, Role},
    error::ErrorCode,
    media::Format,
    store::{AssetRecord, UserRecord},
    transform::Transform,
};

struct Fixture {
    app: Arc<App>,
    dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_owned();
    let config = Config::from_lookup(|name| (name == "IMGCLOUD_DATA_DIR").then(|| data_dir.clone())).unwrap();
    Fixture { app: crate::store::embedded::open_app(config).unwrap(), dir }
}

async fn principal(app: &App, role: Role) -> Principal {
    let user = UserRecord {
        id: new_user_id(),
        email: format!("{}@example.com", crate::secrets::random_hex(4)),
        name: None,
        role,
        disabled: false,
        password_hash: String::new(),
        created_at: now_ms(),
    };
    app.meta.create_user(&user).await.unwrap();
    Principal { user, via: Via::ApiKey { key_id: "ck_test".into() } }
}

fn png(width: u32, height: u32) -> Bytes {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    Bytes::from(out.into_inner())
}

fn new_upload(public_id: &str, bytes: Bytes, overwrite: bool) -> NewUpload {
    NewUpload {
        bytes,
        file_name: Some("photo.png".into()),
        public_id: PublicId::parse(public_id).unwrap(),
        folder: None,
        tags: None,
        visibility: None,
        overwrite,
    }
}

/// Every file under the blob store: what a failed commit must not add to.
fn blob_files(dir: &Path) -> usize {
    fn count(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .map_or(0, |entries| entries.flatten().map(|e| if e.path().is_dir() { count(&e.path()) } else { 1 }).sum())
    }
    count(&dir.join("blobs"))
}

async fn created(f: &Fixture, owner: &Principal, public_id: &str) -> AssetRecord {
    match upload::commit(&f.app, owner, new_upload(public_id, png(64, 48), false)).await.unwrap() {
        Committed::Created(asset) => asset,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_upload_creates_then_an_overwrite_replaces_and_collects_the_old_version() {
    let f = fixture().await;
    let ann = principal(&f.app, Role::User).await;
    let first = created(&f, &ann, "shots/hero").await;
    assert_eq!((first.width, first.height, first.version, first.format), (64, 48, 1, Format::Png));
    assert_eq!(f.app.meta.asset("shots/hero").await.unwrap().as_ref(), Some(&first));

    let replaced = upload::commit(&f.app, &ann, new_upload("shots/hero", png(32, 32), true)).await.unwrap();
    let Committed::Replaced(second) = replaced else { panic!("{replaced:?}") };
    assert_eq!((second.version, second.width, second.created_at), (2, 32, first.created_at));
    assert_ne!(second.blob_id, first.blob_id);
    let old_original = crate::store::original_key(&first.blob_id);
    assert!(f.app.blobs.get(&old_original).await.unwrap().is_none(), "the old version's blobs are collected");
}

#[tokio::test]
async fn a_refused_commit_leaves_no_blob_behind() {
    let f = fixture().await;
    let (ann, bob) = (principal(&f.app, Role::User).await, principal(&f.app, Role::User).await);
    created(&f, &ann, "taken").await;
    let before = blob_files(f.dir.path());
    let whole = png(64, 48);
    let truncated = whole.slice(..whole.len() / 2);
    let refusals = [
        (new_upload("taken", png(8, 8), false), &ann, ErrorCode::AlreadyExists),
        (new_upload("taken", png(8, 8), true), &bob, ErrorCode::Forbidden),
        (new_upload("broken", truncated, false), &ann, ErrorCode::InvalidImage),
        (new_upload("text", Bytes::from_static(b"hello, world"), false), &ann, ErrorCode::UnsupportedMediaType),
        (new_upload("empty", Bytes::new(), false), &ann, ErrorCode::EmptyFile),
    ];
    for (upload, who, code) in refusals {
        let refused = upload::commit(&f.app, who, upload).await.unwrap_err();
        assert_eq!(refused.code, code, "{}", refused.message);
    }
    assert_eq!(blob_files(f.dir.path()), before);
    assert!(f.app.meta.asset("broken").await.unwrap().is_none());
}

#[tokio::test]
async fn a_variant_is_rendered_once_then_served_from_the_store_and_counted() {
    let f = fixture().await;
    let ann = principal(&f.app, Role::User).await;
    let asset = created(&f, &ann, "hero").await;
    let transform = Transform::parse("w_16,f_webp").unwrap();
    let rendition = variant::rendition(&asset, Some(transform), "");
    let (rendered, cache) = variant::fetch(&f.app, &asset, &rendition, "127.0.0.1").await.unwrap();
    assert_eq!(cache, Some(variant::Cache::Miss));
    assert_eq!(image::load_from_memory(&rendered).unwrap().width(), 16);
    let (stored, cache) = variant::fetch(&f.app, &asset, &rendition, "127.0.0.1").await.unwrap();
    assert_eq!((cache, stored), (Some(variant::Cache::Hit), rendered.clone()));
    let counted = f.app.meta.asset("hero").await.unwrap().unwrap();
    assert_eq!((counted.variants, counted.derived_bytes), (1, asset.derived_bytes + rendered.len() as u64));

    let auto = variant::rendition(&asset, Some(Transform::parse("w_16,f_auto").unwrap()), "image/webp,*/*");
    assert_eq!(auto.format, Format::WebP);
    assert_ne!(auto.etag, rendition.etag, "f_auto's variants are its own, negotiated per Accept");
    let original = variant::rendition(&asset, None, "");
    let (bytes, cache) = variant::fetch(&f.app, &asset, &original, "127.0.0.1").await.unwrap();
    assert_eq!((bytes.len() as u64, cache), (asset.bytes, None));
}

#[tokio::test]
async fn a_signed_url_verifies_for_its_version_only() {
    let f = fixture().await;
    let ann = principal(&f.app, Role::User).await;
    let asset = created(&f, &ann, "contract").await;
    let url = signed::sign(&f.app, &asset, "w_100", 60);
    let (path, query) = url.url.strip_prefix(&f.app.config.public_url.base).unwrap().split_once('?').unwrap();
    assert_eq!(path, "/v1/image/w_100/contract");
    let verified = signed::verify(&f.app, path, Some(query)).unwrap().expect("signed");
    assert_eq!(verified.expires, url.expires);
    verified.check_asset(&asset).unwrap();
    let tampered = signed::verify(&f.app, "/v1/image/w_200/contract", Some(query)).unwrap_err();
    assert_eq!(tampered.code, ErrorCode::InvalidSignature);
    assert!(signed::verify(&f.app, path, None).unwrap().is_none(), "an unsigned URL");

    let replaced = upload::commit(&f.app, &ann, new_upload("contract", png(8, 8), true)).await.unwrap();
    let Committed::Replaced(newer) = replaced else { panic!() };
    assert_eq!(verified.check_asset(&newer).unwrap_err().code, ErrorCode::InvalidSignature);
}

#[tokio::test]
async fn the_usage_summary_adds_up_each_owner_and_everyone() {
    let f = fixture().await;
    let (ann, bob) = (principal(&f.app, Role::User).await, principal(&f.app, Role::Admin).await);
    let a = created(&f, &ann, "a").await;
    let b = created(&f, &bob, "b").await;
    let period = crate::usage::period(now_ms());
    f.app.usage.record(&ann.user.id, &period, 1000);
    let mine = usage::summary(&f.app, Some(&ann.user.id), &period).await.unwrap();
    assert_eq!((mine.total.storage.asset_count, mine.total.storage.original_bytes), (1, a.bytes));
    assert_eq!((mine.total.bandwidth_bytes, mine.total.requests), (1000, 1));
    let everyone = usage::summary(&f.app, None, &period).await.unwrap();
    assert_eq!(everyone.total.storage.original_bytes, a.bytes + b.bytes);
    assert_eq!(everyone.per_owner.len(), 2);
    assert_eq!(everyone.per_owner[&bob.user.id].requests, 0);
}

#[tokio::test]
async fn accounts_keep_an_enabled_admin_and_keys_never_grant_sessions_powers() {
    let f = fixture().await;
    let admin = principal(&f.app, Role::Admin).await;
    let new = |role| super::users::NewUser {
        email: crate::domain::Email::parse(&format!("{}@example.com", crate::secrets::random_hex(4))).unwrap(),
        password: "a-long-enough-password".into(),
        role,
        name: None,
    };
    let refused = super::users::create(&f.app, &admin, new(Role::Admin)).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::SessionRequired, "an API key cannot make an admin");
    let ann = super::users::create(&f.app, &admin, new(Role::User)).await.unwrap();
    assert!(f.app.passwords.verify("a-long-enough-password".into(), Some(ann.password_hash.clone())).await);
    let demote = super::users::Change { role: Some(Role::User), ..Default::default() };
    let refused = super::users::update(&f.app, &admin, &admin.user.id, demote).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::LastAdmin);
    assert_eq!(super::users::delete(&f.app, &admin.user.id).await.unwrap_err().code, ErrorCode::LastAdmin);
    super::users::delete(&f.app, &ann.id).await.unwrap();
    assert_eq!(super::users::delete(&f.app, &ann.id).await.unwrap_err().code, ErrorCode::NotFound);

    let bob = principal(&f.app, Role::User).await;
    let (key, secret) = super::api_keys::create(&f.app, &bob, "ci".into()).await.unwrap();
    assert_eq!(key.secret_hash, crate::secrets::sha256_hex(secret.as_bytes()), "only the hash is kept");
    let carol = principal(&f.app, Role::User).await;
    let refused = super::api_keys::revoke(&f.app, &carol, &key.key_id).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden);
    let revoked = super::api_keys::revoke(&f.app, &admin, &key.key_id).await.unwrap();
    assert!(revoked.revoked_at.is_some());
}
