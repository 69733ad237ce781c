//! The contract of the storage ports, one function per behaviour; `main.rs` runs each against
//! every backend.

use bytes::Bytes;
use std::sync::Arc;

use imgcloud_core::{
    domain::{Analysis, Fraction, Point, Region, Role, Visibility},
    store::*,
};

use crate::Stores;

fn user(id: &str, email: &str, role: Role, created_at: i64) -> UserRecord {
    UserRecord {
        id: id.into(),
        email: email.into(),
        name: Some(format!("name of {id}")),
        role,
        disabled: false,
        password_hash: "hash-1".into(),
        created_at,
    }
}

fn session(token_hash: &str, user_id: &str) -> SessionRecord {
    SessionRecord {
        token_hash: token_hash.into(),
        user_id: user_id.into(),
        created_at: 1_000,
        last_seen_at: 1_000,
        expires_at: 4_102_444_800_000,
    }
}

fn key(key_id: &str, owner_id: &str, created_at: i64) -> ApiKeyRecord {
    ApiKeyRecord {
        key_id: key_id.into(),
        owner_id: owner_id.into(),
        name: format!("key {key_id}"),
        secret_hash: "secret-hash".into(),
        created_at,
        last_used_at: None,
        revoked_at: None,
    }
}

fn asset(public_id: &str, owner_id: &str, created_at: i64) -> AssetRecord {
    AssetRecord {
        public_id: public_id.into(),
        owner_id: owner_id.into(),
        folder: String::new(),
        tags: vec![],
        visibility: Visibility::Public,
        format: imgcloud_core::media::Format::Jpeg,
        width: 640,
        height: 480,
        has_alpha: false,
        has_master: false,
        derived_bytes: 0,
        variants: 0,
        bytes: 1_000,
        original_filename: Some("photo.jpg".into()),
        created_at,
        updated_at: created_at,
        version: 1,
        blob_id: format!("blob-{public_id}-1"),
        focal_point: None,
        analysis: Some(Analysis {
            faces: vec![Region {
                x: Fraction::clamped(0.125),
                y: Fraction::clamped(0.25),
                w: Fraction::clamped(0.1),
                h: Fraction::clamped(0.2),
            }],
            thumbhash: "1QcSHQRnh493V4dIh4eXh1h4kJUI".into(),
            dominant_color: "#a0b1c2".into(),
        }),
    }
}

pub async fn blobs_put_get_and_delete_trees(s: &Stores) {
    let b = &s.blobs;
    b.put("assets/ab12/original", Bytes::from_static(b"one")).await.unwrap();
    b.put("assets/ab12/original", Bytes::from_static(b"two")).await.unwrap();
    b.put("assets/ab12/variants/w_1.jpg", Bytes::from_static(b"variant")).await.unwrap();
    b.put("assets/ab123/original", Bytes::from_static(b"a sibling whose name extends the first")).await.unwrap();
    assert_eq!(b.get("assets/ab12/original").await.unwrap().unwrap(), "two", "the last put wins");
    assert_eq!(b.size("assets/ab12/variants/w_1.jpg").await.unwrap(), Some(7));
    assert_eq!(b.get("assets/none/original").await.unwrap(), None);
    assert_eq!(b.size("assets/none/original").await.unwrap(), None);
    b.delete_tree("assets/ab12").await.unwrap();
    b.delete_tree("assets/ab12").await.unwrap();
    assert_eq!(b.get("assets/ab12/original").await.unwrap(), None);
    assert_eq!(b.get("assets/ab12/variants/w_1.jpg").await.unwrap(), None);
    assert!(b.get("assets/ab123/original").await.unwrap().is_some(), "a tree is its key and what is below `key/`");
}

pub async fn large_blobs_round_trip(s: &Stores) {
    // Above the S3 store's multipart threshold, with a part boundary inside.
    let bytes: Vec<u8> = (0..17 * 1024 * 1024 + 123).map(|i: usize| (i * 31 % 251) as u8).collect();
    s.blobs.put("assets/big/original", Bytes::from(bytes.clone())).await.unwrap();
    let back = s.blobs.get("assets/big/original").await.unwrap().unwrap();
    assert_eq!(back.len(), bytes.len());
    assert!(back == bytes, "the bytes come back unchanged");
}

pub async fn users_have_unique_emails_and_list_oldest_first(s: &Stores) {
    let m = &s.meta;
    assert!(!m.has_users().await.unwrap());
    assert_eq!(m.create_user(&user("u2", "b@example.com", Role::User, 20)).await.unwrap(), Created::Created);
    assert_eq!(m.create_user(&user("u1", "a@example.com", Role::Admin, 10)).await.unwrap(), Created::Created);
    assert_eq!(
        m.create_user(&user("u3", "a@example.com", Role::User, 30)).await.unwrap(),
        Created::AlreadyExists,
        "the email is taken"
    );
    assert!(m.has_users().await.unwrap());
    assert_eq!(m.user("u3").await.unwrap(), None, "a refused create leaves nothing");
    assert_eq!(m.user("u1").await.unwrap().unwrap(), user("u1", "a@example.com", Role::Admin, 10));
    assert_eq!(m.user_by_email("b@example.com").await.unwrap().unwrap().id, "u2");
    assert_eq!(m.user_by_email("c@example.com").await.unwrap(), None);
    let ids: Vec<String> = m.users().await.unwrap().into_iter().map(|u| u.id).collect();
    assert_eq!(ids, ["u1", "u2"]);

    let unnamed = UserUpdate { name: Some(None), ..Default::default() };
    let stored = m.update_user("u2", &unnamed, None).await.unwrap().unwrap();
    assert_eq!(stored, UserRecord { name: None, ..user("u2", "b@example.com", Role::User, 20) });
    assert_eq!(m.user("u2").await.unwrap().unwrap(), stored);
    let named = UserUpdate { name: Some(Some("Bee".into())), ..Default::default() };
    assert_eq!(m.update_user("u2", &named, None).await.unwrap().unwrap().name.as_deref(), Some("Bee"));
    assert_eq!(m.update_user("nobody", &named, None).await.unwrap(), Err(UserRefusal::NotFound));
}

/// A change writes its own fields only: a password change after a demotion and a disable (which a
/// handler holding the user as it was before them might have undone) leaves the user demoted and
/// disabled. (Sequential: moto rolls a refused transaction back by restoring a copy of the whole
/// table, which can undo a concurrent one, so races are not replayed on it here.)
pub async fn user_updates_write_only_their_fields(s: &Stores) {
    let m = &s.meta;
    m.create_user(&user("a1", "a1@example.com", Role::Admin, 1)).await.unwrap();
    m.create_user(&user("a2", "a2@example.com", Role::Admin, 2)).await.unwrap();
    let demote = UserUpdate { role: Some(Role::User), disabled: Some(true), ..Default::default() };
    let new_password = UserUpdate { password_hash: Some("hash-2".into()), ..Default::default() };
    let rename = UserUpdate { name: Some(Some("A2".into())), ..Default::default() };
    for change in [&demote, &new_password, &rename] {
        assert!(m.update_user("a2", change, None).await.unwrap().is_ok());
    }
    let stored = m.user("a2").await.unwrap().unwrap();
    assert_eq!(
        (stored.role, stored.disabled, stored.password_hash.as_str(), stored.name.as_deref()),
        (Role::User, true, "hash-2", Some("A2"))
    );
    // An update that leaves the admin fields alone is not refused for the last admin.
    assert!(m.update_user("a1", &new_password, None).await.unwrap().is_ok());
    let disable = UserUpdate { disabled: Some(true), ..Default::default() };
    assert_eq!(m.update_user("a1", &disable, None).await.unwrap(), Err(UserRefusal::LastAdmin));
}

pub async fn the_last_enabled_admin_stays(s: &Stores) {
    let m = &s.meta;
    let admin = user("a1", "a1@example.com", Role::Admin, 1);
    m.create_user(&admin).await.unwrap();
    let demote = UserUpdate { role: Some(Role::User), ..Default::default() };
    assert_eq!(m.update_user("a1", &demote, None).await.unwrap(), Err(UserRefusal::LastAdmin));
    let disable = UserUpdate { disabled: Some(true), ..Default::default() };
    assert_eq!(m.update_user("a1", &disable, None).await.unwrap(), Err(UserRefusal::LastAdmin));
    assert_eq!(m.delete_user("a1").await.unwrap(), Err(UserRefusal::LastAdmin));
    assert_eq!(m.user("a1").await.unwrap().unwrap(), admin, "a refused change changes nothing");

    let second = user("a2", "a2@example.com", Role::Admin, 2);
    m.create_user(&second).await.unwrap();
    assert_eq!(m.update_user("a1", &demote, None).await.unwrap().unwrap().role, Role::User);
    assert_eq!(m.delete_user("a2").await.unwrap(), Err(UserRefusal::LastAdmin), "a1 is no admin any more");
    let promote = UserUpdate { role: Some(Role::Admin), ..Default::default() };
    assert_eq!(m.update_user("a1", &promote, None).await.unwrap().unwrap().role, Role::Admin);
    assert_eq!(m.delete_user("a2").await.unwrap(), Ok(()));
    assert_eq!(m.delete_user("a2").await.unwrap(), Err(UserRefusal::NotFound));
    assert_eq!(m.user_by_email("a2@example.com").await.unwrap(), None);
    // The email is free again.
    assert_eq!(m.create_user(&user("a3", "a2@example.com", Role::User, 3)).await.unwrap(), Created::Created);
}

pub async fn sessions_end_with_a_new_password_or_a_disabled_user(s: &Stores) {
    let m = &s.meta;
    let u = user("u1", "u1@example.com", Role::User, 1);
    m.create_user(&u).await.unwrap();
    m.create_user(&user("admin", "admin@example.com", Role::Admin, 0)).await.unwrap();
    for token in ["t1", "t2", "t3"] {
        m.create_session(&session(token, "u1")).await.unwrap();
    }
    let (found, owner) = m.session("t1").await.unwrap().unwrap();
    assert_eq!((found, owner.id), (session("t1", "u1"), "u1".to_owned()), "the session comes with its user");
    m.touch_session("t1", 5_000).await.unwrap();
    assert_eq!(m.session("t1").await.unwrap().unwrap().0.last_seen_at, 5_000);
    m.delete_session("t3").await.unwrap();
    assert_eq!(m.session("t3").await.unwrap(), None);
    m.touch_session("t3", 6_000).await.unwrap();
    assert_eq!(m.session("t3").await.unwrap(), None, "touching a deleted session does not revive it");

    // A rename keeps every session.
    let rename = UserUpdate { name: Some(Some("New".into())), ..Default::default() };
    m.update_user("u1", &rename, None).await.unwrap().unwrap();
    assert!(m.session("t1").await.unwrap().is_some() && m.session("t2").await.unwrap().is_some());

    // A new password ends the others, keeping the one that changed it.
    let new_password = UserUpdate { password_hash: Some("hash-2".into()), ..Default::default() };
    assert!(m.update_user("u1", &new_password, Some("t2")).await.unwrap().is_ok());
    assert_eq!(m.session("t1").await.unwrap(), None);
    assert!(m.session("t2").await.unwrap().is_some());

    // A session made after the change is valid; disabling the user ends all.
    m.create_session(&session("t4", "u1")).await.unwrap();
    assert!(m.session("t4").await.unwrap().is_some());
    let disable = UserUpdate { disabled: Some(true), ..Default::default() };
    m.update_user("u1", &disable, Some("t2")).await.unwrap().unwrap();
    assert!(m.session("t4").await.unwrap().is_none());

    // Deleting a user ends their sessions.
    m.create_user(&user("u2", "u2@example.com", Role::User, 2)).await.unwrap();
    m.create_session(&session("t5", "u2")).await.unwrap();
    m.delete_user("u2").await.unwrap().unwrap();
    assert_eq!(m.session("t5").await.unwrap(), None);
    m.purge_expired(i64::MAX).await.unwrap();
}

pub async fn api_keys_list_newest_first_revoke_once_and_go_with_their_owner(s: &Stores) {
    let m = &s.meta;
    m.create_user(&user("admin", "admin@example.com", Role::Admin, 0)).await.unwrap();
    m.create_user(&user("u1", "u1@example.com", Role::User, 1)).await.unwrap();
    assert_eq!(m.create_api_key(&key("k1", "u1", 10)).await.unwrap(), Created::Created);
    assert_eq!(m.create_api_key(&key("k2", "u1", 20)).await.unwrap(), Created::Created);
    assert_eq!(m.create_api_key(&key("k3", "admin", 30)).await.unwrap(), Created::Created);
    assert_eq!(m.create_api_key(&key("k1", "admin", 40)).await.unwrap(), Created::AlreadyExists);
    assert_eq!(m.api_key("k1").await.unwrap().unwrap(), key("k1", "u1", 10));
    assert_eq!(m.api_key("nope").await.unwrap(), None);
    let ids: Vec<String> = m.api_keys_of("u1").await.unwrap().into_iter().map(|k| k.key_id).collect();
    assert_eq!(ids, ["k2", "k1"]);

    m.touch_api_key("k1", 50).await.unwrap();
    assert_eq!(m.api_key("k1").await.unwrap().unwrap().last_used_at, Some(50));
    assert_eq!(m.revoke_api_key("k1", 60).await.unwrap().unwrap().revoked_at, Some(60));
    assert_eq!(m.revoke_api_key("k1", 70).await.unwrap().unwrap().revoked_at, Some(60), "revoked once");
    assert_eq!(m.revoke_api_key("nope", 70).await.unwrap(), None);

    m.delete_user("u1").await.unwrap().unwrap();
    assert_eq!(m.api_key("k2").await.unwrap(), None);
    assert!(m.api_keys_of("u1").await.unwrap().is_empty());
    assert!(m.api_key("k3").await.unwrap().is_some());
}

pub async fn assets_are_created_once_and_swapped_by_version(s: &Stores) {
    let m = &s.meta;
    let first = asset("photos/cat", "u1", 100);
    // The upload lists its blob as garbage before writing it; the create takes it off.
    m.add_garbage(&first.blob_id, 0).await.unwrap();
    assert_eq!(m.create_asset(&first).await.unwrap(), Created::Created);
    assert_eq!(m.create_asset(&asset("photos/cat", "u2", 200)).await.unwrap(), Created::AlreadyExists);
    assert_eq!(m.asset("photos/cat").await.unwrap().unwrap(), first);
    assert!(m.due_garbage(i64::MAX, 10).await.unwrap().is_empty());

    let second =
        AssetRecord { version: 2, blob_id: "blob-cat-2".into(), bytes: 2_000, updated_at: 300, ..first.clone() };
    m.add_garbage(&second.blob_id, 0).await.unwrap();
    assert_eq!(m.replace_asset(&second, 5, &first.blob_id).await.unwrap(), Swapped::Stale);
    assert_eq!(m.asset("photos/cat").await.unwrap().unwrap(), first, "a stale swap changes nothing");
    assert_eq!(m.replace_asset(&second, 1, &first.blob_id).await.unwrap(), Swapped::Swapped);
    assert_eq!(m.asset("photos/cat").await.unwrap().unwrap(), second);
    assert_eq!(m.due_garbage(i64::MAX, 10).await.unwrap(), [first.blob_id.as_str()], "the old blob is due");
    assert_eq!(m.replace_asset(&asset("photos/none", "u1", 1), 1, "x").await.unwrap(), Swapped::Stale);

    assert_eq!(m.delete_asset("photos/cat", 1, &second.blob_id, 400).await.unwrap(), Swapped::Stale);
    assert_eq!(m.delete_asset("photos/cat", 2, &second.blob_id, 400).await.unwrap(), Swapped::Swapped);
    assert_eq!(m.asset("photos/cat").await.unwrap(), None);
    let mut due = m.due_garbage(i64::MAX, 10).await.unwrap();
    due.sort();
    let mut expected = [first.blob_id.clone(), second.blob_id.clone()];
    expected.sort();
    assert_eq!(due, expected);
    assert_eq!(m.delete_asset("photos/cat", 2, &second.blob_id, 500).await.unwrap(), Swapped::Stale);
}

pub async fn garbage_is_due_in_order(s: &Stores) {
    let m = &s.meta;
    m.add_garbage("late", 3_000).await.unwrap();
    m.add_garbage("early", 1_000).await.unwrap();
    m.add_garbage("middle", 2_000).await.unwrap();
    assert!(m.due_garbage(999, 10).await.unwrap().is_empty());
    assert_eq!(m.due_garbage(2_000, 10).await.unwrap(), ["early", "middle"], "due at or before now, oldest first");
    assert_eq!(m.due_garbage(5_000, 2).await.unwrap(), ["early", "middle"], "at most the limit");
    m.add_garbage("early", 4_000).await.unwrap();
    assert_eq!(m.due_garbage(3_500, 10).await.unwrap(), ["middle", "late"], "listing again moves the due time");
    m.remove_garbage("middle").await.unwrap();
    m.remove_garbage("never-listed").await.unwrap();
    assert_eq!(m.due_garbage(i64::MAX, 10).await.unwrap(), ["late", "early"]);
}

pub async fn metadata_updates_leave_content_alone(s: &Stores) {
    let m = &s.meta;
    let original = asset("a", "u1", 1);
    m.create_asset(&original).await.unwrap();
    let edit = AssetRecord {
        tags: vec!["x".into(), "y".into()],
        folder: "new/folder".into(),
        visibility: Visibility::Private,
        updated_at: 50,
        focal_point: Some(Point { x: Fraction::clamped(0.25), y: Fraction::clamped(0.75) }),
        // Content fields in the argument are ignored.
        bytes: 999_999,
        version: 7,
        analysis: None,
        ..original.clone()
    };
    let stored = m.update_asset_meta(&edit).await.unwrap().unwrap();
    let expected = AssetRecord {
        tags: edit.tags.clone(),
        folder: edit.folder.clone(),
        visibility: Visibility::Private,
        updated_at: 50,
        focal_point: edit.focal_point,
        ..original
    };
    assert_eq!(stored, expected);
    assert_eq!(m.asset("a").await.unwrap().unwrap(), expected);
    let cleared = AssetRecord { focal_point: None, ..expected.clone() };
    assert_eq!(m.update_asset_meta(&cleared).await.unwrap(), Some(cleared.clone()), "a focal point is cleared");
    assert_eq!(m.update_asset_meta(&asset("missing", "u1", 1)).await.unwrap(), None);
    assert_eq!(m.asset("missing").await.unwrap(), None, "an update does not create");
}

pub async fn listings_filter_and_page_newest_first(s: &Stores) {
    let m = &s.meta;
    let specs = [
        ("p/1", "u1", 10, "f1", vec!["red"], Visibility::Public),
        ("p/2", "u1", 20, "f1", vec!["blue"], Visibility::Private),
        ("q/3", "u2", 30, "f1", vec!["red", "blue"], Visibility::Public),
        ("q/4", "u2", 40, "f2", vec![], Visibility::Public),
        ("p/5", "u1", 50, "f2", vec!["red"], Visibility::Public),
        ("p/6b", "u1", 60, "", vec![], Visibility::Public),
        ("p/6a", "u1", 60, "", vec![], Visibility::Public),
    ];
    for (id, owner, created, folder, tags, visibility) in &specs {
        let a = AssetRecord {
            folder: folder.to_string(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            visibility: *visibility,
            ..asset(id, owner, *created)
        };
        m.create_asset(&a).await.unwrap();
    }
    let ids = |page: &AssetPage| page.assets.iter().map(|a| a.public_id.clone()).collect::<Vec<_>>();
    let all = |q: AssetQuery| async move {
        let mut out = Vec::new();
        let mut q = AssetQuery { limit: 2, ..q };
        loop {
            let page = m.list_assets(&q).await.unwrap();
            assert!(page.assets.len() <= 2);
            out.extend(page.assets.iter().map(|a| a.public_id.clone()));
            match page.next {
                Some(next) => q.after = Some(next),
                None => return out,
            }
        }
    };
    let everything = m.list_assets(&AssetQuery { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(ids(&everything), ["p/6b", "p/6a", "p/5", "q/4", "q/3", "p/2", "p/1"], "newest first, then id");
    assert_eq!(everything.next, None);
    assert_eq!(all(AssetQuery::default()).await, ids(&everything), "pages join up to the whole listing");

    let q = |f: fn(&mut AssetQuery)| {
        let mut q = AssetQuery::default();
        f(&mut q);
        q
    };
    assert_eq!(all(q(|q| q.owner_id = Some("u2".into()))).await, ["q/4", "q/3"]);
    assert_eq!(all(q(|q| q.folder = Some("f1".into()))).await, ["q/3", "p/2", "p/1"]);
    assert_eq!(
        all(q(|q| {
            q.folder = Some("f1".into());
            q.owner_id = Some("u1".into())
        }))
        .await,
        ["p/2", "p/1"]
    );
    assert_eq!(all(q(|q| q.tag = Some("red".into()))).await, ["p/5", "q/3", "p/1"]);
    assert_eq!(all(q(|q| q.visibility = Some(Visibility::Private))).await, ["p/2"]);
    assert_eq!(all(q(|q| q.prefix = Some("p/".into()))).await, ["p/6b", "p/6a", "p/5", "p/2", "p/1"]);
    assert_eq!(
        all(q(|q| {
            q.owner_id = Some("u1".into());
            q.tag = Some("red".into());
            q.prefix = Some("p/".into())
        }))
        .await,
        ["p/5", "p/1"]
    );
    assert!(all(q(|q| q.tag = Some("green".into()))).await.is_empty());

    let first = m.list_assets(&AssetQuery { limit: 3, ..Default::default() }).await.unwrap();
    assert_eq!(first.next, Some(AssetCursor { created_at: 50, public_id: "p/5".into() }));
    let exact = m.list_assets(&AssetQuery { limit: 7, ..Default::default() }).await.unwrap();
    assert_eq!((exact.assets.len(), exact.next), (7, None), "no next page when the listing ends exactly");
}

const ROOMY: VariantCaps = VariantCaps { max_variants: 1_000, max_bytes: 1 << 40 };

pub async fn derived_bytes_count_only_for_the_current_version(s: &Stores) {
    let m = &s.meta;
    let a = asset("d", "u1", 1);
    m.create_asset(&a).await.unwrap();
    assert_eq!(m.add_variant(&a, 100, ROOMY).await.unwrap(), VariantAdded::Stored);
    assert_eq!(m.add_variant(&a, 50, ROOMY).await.unwrap(), VariantAdded::Stored);
    let other = m.add_variant(&AssetRecord { blob_id: "an-old-blob".into(), ..a.clone() }, 1_000, ROOMY).await.unwrap();
    assert_eq!(other, VariantAdded::Gone, "another version is not counted");
    assert_eq!(m.add_variant(&asset("missing", "u1", 1), 1_000, ROOMY).await.unwrap(), VariantAdded::Gone);
    let stored = m.asset("d").await.unwrap().unwrap();
    assert_eq!((stored.derived_bytes, stored.variants), (150, 2));
    assert_eq!(m.asset("missing").await.unwrap(), None);
}

/// The caps of one version: a variant is counted only while the count stays within
/// `max_variants` and the derived bytes (masters included) within `max_bytes`; a refusal changes
/// nothing and says whether the version is full or gone.
pub async fn variants_are_counted_only_within_the_caps_of_the_current_version(s: &Stores) {
    let m = &s.meta;
    let counted = |id: &'static str| async move {
        let a = m.asset(id).await.unwrap().unwrap();
        (a.variants, a.derived_bytes)
    };
    // Full by count. The upload's masters (300 bytes) are derived bytes, not variants.
    let by_count = VariantCaps { max_variants: 2, max_bytes: 10_000 };
    let c = AssetRecord { derived_bytes: 300, ..asset("c", "u1", 1) };
    m.create_asset(&c).await.unwrap();
    assert_eq!(counted("c").await, (0, 300));
    assert_eq!(m.add_variant(&c, 100, by_count).await.unwrap(), VariantAdded::Stored);
    assert_eq!(m.add_variant(&c, 100, by_count).await.unwrap(), VariantAdded::Stored);
    assert_eq!(m.add_variant(&c, 1, by_count).await.unwrap(), VariantAdded::Full);
    assert_eq!(counted("c").await, (2, 500), "a refusal counts nothing");

    // Full by bytes: masters and variants together, up to the cap exactly.
    let by_bytes = VariantCaps { max_variants: 100, max_bytes: 1_000 };
    let b = AssetRecord { derived_bytes: 300, ..asset("b", "u1", 2) };
    m.create_asset(&b).await.unwrap();
    assert_eq!(m.add_variant(&b, 600, by_bytes).await.unwrap(), VariantAdded::Stored);
    assert_eq!(m.add_variant(&b, 101, by_bytes).await.unwrap(), VariantAdded::Full);
    assert_eq!(m.add_variant(&b, 100, by_bytes).await.unwrap(), VariantAdded::Stored);
    assert_eq!(m.add_variant(&b, 1, by_bytes).await.unwrap(), VariantAdded::Full);
    assert_eq!(counted("b").await, (2, 1_000));
    let e = asset("e", "u1", 3);
    m.create_asset(&e).await.unwrap();
    let alone = m.add_variant(&e, 1_001, by_bytes).await.unwrap();
    assert_eq!(alone, VariantAdded::Full, "a variant larger than the cap by itself");
    let none = VariantCaps { max_variants: 0, max_bytes: 1_000 };
    assert_eq!(m.add_variant(&e, 1, none).await.unwrap(), VariantAdded::Full, "a cap of 0 stores none");
    assert_eq!(counted("e").await, (0, 0));

    // An overwrite starts from zero; the old version is gone, not full.
    let c2 = AssetRecord { version: 2, blob_id: "blob-c-2".into(), updated_at: 5, ..c.clone() };
    assert_eq!(m.replace_asset(&c2, 1, &c.blob_id).await.unwrap(), Swapped::Swapped);
    assert_eq!(counted("c").await, (0, 300));
    assert_eq!(m.add_variant(&c, 1, by_count).await.unwrap(), VariantAdded::Gone);
    assert_eq!(m.add_variant(&c2, 100, by_count).await.unwrap(), VariantAdded::Stored);
    assert_eq!(counted("c").await, (1, 400));

    // A deleted asset is gone.
    assert_eq!(m.delete_asset("c", 2, "blob-c-2", 10).await.unwrap(), Swapped::Swapped);
    assert_eq!(m.add_variant(&c2, 1, by_count).await.unwrap(), VariantAdded::Gone);
    assert_eq!(m.asset("c").await.unwrap(), None);
    let usage = m.storage(Some("u1")).await.unwrap();
    assert_eq!(usage[0].derived_bytes, 1_000, "what was counted is what the usage sums");
}

/// Concurrent renders of one asset never count past its cap together.
pub async fn concurrent_variants_stop_at_the_cap(s: &Stores) {
    let a = asset("busy", "u1", 1);
    s.meta.create_asset(&a).await.unwrap();
    let caps = VariantCaps { max_variants: 3, max_bytes: 1 << 40 };
    let adds = (0..10).map(|_| {
        let (meta, a) = (s.meta.clone(), a.clone());
        tokio::spawn(async move { meta.add_variant(&a, 10, caps).await.unwrap() })
    });
    let outcomes: Vec<VariantAdded> = futures::future::join_all(adds).await.into_iter().map(|o| o.unwrap()).collect();
    let stored = outcomes.iter().filter(|o| **o == VariantAdded::Stored).count();
    let full = outcomes.iter().filter(|o| **o == VariantAdded::Full).count();
    assert_eq!((stored, full), (3, 7), "{outcomes:?}");
    let counted = s.meta.asset("busy").await.unwrap().unwrap();
    assert_eq!((counted.variants, counted.derived_bytes), (3, 30));
}

pub async fn traffic_adds_up_per_owner_and_period(s: &Stores) {
    let m = &s.meta;
    let t = |owner: &str, period: &str, bytes: u64, requests: u64| Traffic {
        owner_id: owner.into(),
        period: period.into(),
        bandwidth_bytes: bytes,
        requests,
    };
    m.add_traffic(&[t("u1", "2026-11", 100, 1), t("u2", "2026-11", 7, 2), t("u1", "2026-10", 5, 5)]).await.unwrap();
    m.add_traffic(&[t("u1", "2026-11", 50, 3)]).await.unwrap();
    // More entries than one DynamoDB transaction takes.
    let many: Vec<Traffic> = (0..150).map(|i| t(&format!("bulk{i:03}"), "2026-12", i, 1)).collect();
    m.add_traffic(&many).await.unwrap();
    assert_eq!(m.traffic("2026-11", None).await.unwrap(), [t("u1", "2026-11", 150, 4), t("u2", "2026-11", 7, 2)]);
    assert_eq!(m.traffic("2026-11", Some("u2")).await.unwrap(), [t("u2", "2026-11", 7, 2)]);
    assert_eq!(m.traffic("2026-10", Some("u2")).await.unwrap(), []);
    assert_eq!(m.traffic("2026-12", None).await.unwrap().len(), 150);
}

pub async fn storage_sums_asset_records_per_owner(s: &Stores) {
    let m = &s.meta;
    for (id, owner, bytes, derived) in [("s1", "u1", 100, 10), ("s2", "u1", 200, 0), ("s3", "u2", 7, 3)] {
        m.create_asset(&AssetRecord { bytes, derived_bytes: derived, ..asset(id, owner, 1) }).await.unwrap();
    }
    let storage = |owner: &str, count: u64, original: u64, derived: u64| Storage {
        owner_id: owner.into(),
        asset_count: count,
        original_bytes: original,
        derived_bytes: derived,
    };
    assert_eq!(m.storage(None).await.unwrap(), [storage("u1", 2, 300, 10), storage("u2", 1, 7, 3)]);
    assert_eq!(m.storage(Some("u2")).await.unwrap(), [storage("u2", 1, 7, 3)]);
    assert_eq!(m.storage(Some("nobody")).await.unwrap(), []);
}

pub async fn concurrent_creates_of_one_id_make_one_asset(s: &Stores) {
    let creates = (0..10).map(|i| {
        let meta = s.meta.clone();
        tokio::spawn(async move {
            let a = AssetRecord { blob_id: format!("blob-{i}"), ..asset("race", &format!("u{i}"), i) };
            meta.create_asset(&a).await.unwrap()
        })
    });
    let outcomes = futures::future::join_all(creates).await;
    let created = outcomes.iter().filter(|o| *o.as_ref().unwrap() == Created::Created).count();
    assert_eq!(created, 1);
}

/// The counters of the limits: shared by every instance on the aws backend, in the process
/// ([`imgcloud_core::limits::WindowCounters`]) for the failed-login limit of the embedded one.
pub async fn presets_are_put_listed_by_name_and_deleted(s: &Stores) {
    let preset = |name: &str, transform: &str, at: i64| PresetRecord {
        name: name.into(),
        transform: transform.into(),
        created_at: at,
        updated_at: at,
    };
    assert_eq!(s.meta.presets().await.unwrap(), vec![]);
    assert_eq!(s.meta.preset("thumb").await.unwrap(), None);
    let (stored, created) = s.meta.put_preset(&preset("thumb", "w_100", 10)).await.unwrap();
    assert_eq!((stored, created), (preset("thumb", "w_100", 10), Created::Created));
    // Every read after a write sees it (a store that keeps presets in memory forgets exactly).
    assert_eq!(s.meta.preset("thumb").await.unwrap(), Some(preset("thumb", "w_100", 10)), "no longer missing");
    s.meta.put_preset(&preset("hero-2x", "w_1600", 11)).await.unwrap();
    let (stored, created) = s.meta.put_preset(&preset("thumb", "w_200,h_200,c_fill", 20)).await.unwrap();
    let replaced = PresetRecord { created_at: 10, ..preset("thumb", "w_200,h_200,c_fill", 20) };
    assert_eq!((stored, created), (replaced.clone(), Created::AlreadyExists), "created_at stays");
    assert_eq!(s.meta.preset("thumb").await.unwrap(), Some(replaced.clone()));
    assert_eq!(s.meta.presets().await.unwrap(), vec![preset("hero-2x", "w_1600", 11), replaced]);
    assert!(s.meta.delete_preset("thumb").await.unwrap());
    assert!(!s.meta.delete_preset("thumb").await.unwrap(), "gone already");
    assert_eq!(s.meta.preset("thumb").await.unwrap(), None, "no longer found");
    assert_eq!(s.meta.presets().await.unwrap(), vec![preset("hero-2x", "w_1600", 11)]);
}

pub async fn limit_windows_start_at_the_first_hit_and_take_refunds(counters: &Arc<dyn SharedCounters>) {
    let minute = std::time::Duration::from_secs(60);
    assert_eq!(counters.hit("api", "u1", 1_000, minute).await.unwrap(), (1, 61_000));
    assert_eq!(counters.hit("api", "u1", 30_000, minute).await.unwrap(), (2, 61_000));
    assert_eq!(counters.hit("api", "u2", 30_000, minute).await.unwrap(), (1, 90_000), "keys are independent");
    counters.refund("api", "u1", 40_000).await.unwrap();
    assert_eq!(counters.hit("api", "u1", 50_000, minute).await.unwrap(), (2, 61_000), "a refund takes one back");
    counters.refund("api", "u2", 90_000).await.unwrap();
    counters.refund("nothing", "u9", 1_000).await.unwrap();
    assert_eq!(counters.hit("api", "u1", 61_000, minute).await.unwrap(), (1, 121_000), "a new window opens");
    counters.refund("api", "u1", 62_000).await.unwrap();
    counters.refund("api", "u1", 62_000).await.unwrap();
    assert_eq!(counters.hit("api", "u1", 63_000, minute).await.unwrap(), (1, 121_000), "never below zero");
    let concurrent = (0..20).map(|_| {
        let counters = counters.clone();
        tokio::spawn(async move { counters.hit("upload", "u1", 200_000, minute).await.unwrap().0 })
    });
    let mut counts: Vec<u64> = futures::future::join_all(concurrent).await.into_iter().map(|c| c.unwrap()).collect();
    counts.sort();
    assert_eq!(counts, (1..=20).collect::<Vec<u64>>(), "every hit counted once, atomically");
}

/// Every listing facet and the storage counters follow an asset through its metadata edits, an
/// overwrite and its deletion (they are written in the same transaction as the asset).
pub async fn listings_and_storage_follow_every_change_of_an_asset(s: &Stores) {
    let m = &s.meta;
    let ids = |q: AssetQuery| async move {
        let page = m.list_assets(&AssetQuery { limit: 10, ..q }).await.unwrap();
        page.assets.into_iter().map(|a| a.public_id).collect::<Vec<_>>()
    };
    let by = |owner: Option<&str>, f: fn(&mut AssetQuery)| {
        let mut q = AssetQuery { owner_id: owner.map(str::to_owned), ..Default::default() };
        f(&mut q);
        q
    };
    let counted = || async move {
        m.storage(Some("u1")).await.unwrap().first().map(|s| (s.asset_count, s.original_bytes, s.derived_bytes))
    };
    let first =
        AssetRecord { tags: vec!["red".into()], folder: "f".into(), derived_bytes: 40, ..asset("moving", "u1", 5) };
    m.create_asset(&first).await.unwrap();
    m.create_asset(&asset("other", "u2", 1)).await.unwrap();
    for owner in [None, Some("u1")] {
        assert_eq!(ids(by(owner, |q| q.tag = Some("red".into()))).await, ["moving"]);
        assert_eq!(ids(by(owner, |q| q.folder = Some("f".into()))).await, ["moving"]);
        assert!(ids(by(owner, |q| q.visibility = Some(Visibility::Public))).await.contains(&"moving".into()));
    }
    assert_eq!(counted().await, Some((1, 1_000, 40)));

    let edit =
        AssetRecord { tags: vec!["blue".into()], folder: "g".into(), visibility: Visibility::Private, ..first.clone() };
    m.update_asset_meta(&edit).await.unwrap().unwrap();
    for owner in [None, Some("u1")] {
        assert!(ids(by(owner, |q| q.tag = Some("red".into()))).await.is_empty(), "off its old tag");
        assert!(ids(by(owner, |q| q.folder = Some("f".into()))).await.is_empty(), "out of its old folder");
        assert_eq!(ids(by(owner, |q| q.tag = Some("blue".into()))).await, ["moving"]);
        assert_eq!(ids(by(owner, |q| q.folder = Some("g".into()))).await, ["moving"]);
        assert_eq!(ids(by(owner, |q| q.visibility = Some(Visibility::Private))).await, ["moving"]);
    }
    assert!(ids(by(Some("u2"), |q| q.tag = Some("blue".into()))).await.is_empty(), "not another owner's");
    assert_eq!(counted().await, Some((1, 1_000, 40)), "an edit stores nothing more");

    assert_eq!(m.add_variant(&edit, 60, ROOMY).await.unwrap(), VariantAdded::Stored);
    assert_eq!(counted().await, Some((1, 1_000, 100)), "a variant counts on its owner at once");
    let second =
        AssetRecord { version: 2, blob_id: "blob-moving-2".into(), bytes: 3_000, derived_bytes: 5, ..edit.clone() };
    assert_eq!(m.replace_asset(&second, 1, &edit.blob_id).await.unwrap(), Swapped::Swapped);
    assert_eq!(
        ids(by(Some("u1"), |q| q.tag = Some("blue".into()))).await,
        ["moving"],
        "listed once after an overwrite"
    );
    assert_eq!(ids(by(None, |_| {})).await, ["moving", "other"]);
    assert_eq!(counted().await, Some((1, 3_000, 5)), "the old version's bytes leave with it");

    assert_eq!(m.delete_asset("moving", 2, &second.blob_id, 9).await.unwrap(), Swapped::Swapped);
    for owner in [None, Some("u1")] {
        assert!(ids(by(owner, |q| q.tag = Some("blue".into()))).await.is_empty());
        assert!(ids(by(owner, |q| q.folder = Some("g".into()))).await.is_empty());
    }
    assert_eq!(ids(by(None, |_| {})).await, ["other"]);
    assert_eq!(counted().await, None, "an owner who stores nothing is left out");
    assert_eq!(m.recount_storage().await.unwrap(), [], "the counters were right all along");
}

/// A prefix that more public_ids share than one range read takes is checked on a facet instead;
/// a narrow one is read as its key range; both page newest first.
pub async fn a_wide_prefix_is_a_filter_and_a_narrow_one_a_range(s: &Stores) {
    use futures::StreamExt;
    let m = &s.meta;
    let wide = imgcloud_core::store::listing::MAX_PREFIX_RANGE as i64 + 1;
    futures::stream::iter(0..wide)
        .for_each_concurrent(16, |i| async move {
            let tags = if i % 100 == 0 { vec!["hundred".into()] } else { vec![] };
            m.create_asset(&AssetRecord { tags, ..asset(&format!("w/{i:04}"), "u1", i) }).await.unwrap();
        })
        .await;
    m.create_asset(&asset("x/1", "u1", wide + 5)).await.unwrap();
    let walk = |q: AssetQuery| async move {
        let mut out = Vec::new();
        let mut q = AssetQuery { limit: 4, ..q };
        loop {
            let page = m.list_assets(&q).await.unwrap();
            assert!(page.assets.len() <= 4);
            out.extend(page.assets.into_iter().map(|a| a.public_id));
            match page.next {
                Some(next) => q.after = Some(next),
                None => return out,
            }
        }
    };
    let first = m.list_assets(&AssetQuery { prefix: Some("w/".into()), limit: 3, ..Default::default() }).await.unwrap();
    let first: Vec<_> = first.assets.into_iter().map(|a| a.public_id).collect();
    assert_eq!(first, ["w/1000", "w/0999", "w/0998"], "wide: the newest first");
    let hundreds =
        walk(AssetQuery { prefix: Some("w/".into()), tag: Some("hundred".into()), ..Default::default() }).await;
    let expected: Vec<String> = (0..=10).rev().map(|i| format!("w/{:04}", i * 100)).collect();
    assert_eq!(hundreds, expected);
    assert_eq!(walk(AssetQuery { prefix: Some("w/09".into()), ..Default::default() }).await.len(), 100, "narrow");
    assert_eq!(walk(AssetQuery { prefix: Some("w/100".into()), ..Default::default() }).await, ["w/1000"]);
    assert_eq!(walk(AssetQuery { prefix: Some("x/".into()), ..Default::default() }).await, ["x/1"]);
    assert!(
        walk(AssetQuery { prefix: Some("w/ 1".into()), ..Default::default() }).await.is_empty(),
        "no id holds a space"
    );
}
