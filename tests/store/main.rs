//! The storage conformance suite: one set of contract tests for the `BlobStore` and `MetaStore`
//! ports, run against both backends: the embedded pair (files + SQLite) and the aws pair (S3 +
//! DynamoDB on the moto server `scripts/test` starts).

#[path = "../common/aws.rs"]
mod aws_emulator;
mod cases;

use std::sync::Arc;

use imgcloud_core::store::{
    aws::AwsStores, fs::FileBlobStore, sqlite::SqliteMetaStore, AssetRecord, BlobStore, MetaStore, SharedCounters,
    WindowCounters,
};

pub struct Stores {
    pub blobs: Arc<dyn BlobStore>,
    pub meta: Arc<dyn MetaStore>,
    _dir: Option<tempfile::TempDir>,
}

async fn embedded() -> Stores {
    let dir = tempfile::tempdir().unwrap();
    Stores {
        blobs: Arc::new(FileBlobStore::open(dir.path().join("blobs")).unwrap()),
        meta: Arc::new(SqliteMetaStore::open(&dir.path().join("meta.sqlite3")).unwrap()),
        _dir: Some(dir),
    }
}

async fn aws() -> Stores {
    let stores = AwsStores::connect(&aws_emulator::fresh_settings().await).await;
    Stores { blobs: Arc::new(stores.blobs), meta: Arc::new(stores.meta), _dir: None }
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                crate::cases::$case(&crate::embedded().await).await
            })*
        }
        mod aws {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                crate::cases::$case(&crate::aws().await).await
            })*
        }
    };
}

conformance!(
    blobs_put_get_and_delete_trees,
    large_blobs_round_trip,
    users_have_unique_emails_and_list_oldest_first,
    the_last_enabled_admin_stays,
    user_updates_write_only_their_fields,
    sessions_end_with_a_new_password_or_a_disabled_user,
    api_keys_list_newest_first_revoke_once_and_go_with_their_owner,
    assets_are_created_once_and_swapped_by_version,
    garbage_is_due_in_order,
    metadata_updates_leave_content_alone,
    listings_filter_and_page_newest_first,
    derived_bytes_count_only_for_the_current_version,
    variants_are_counted_only_within_the_caps_of_the_current_version,
    concurrent_variants_stop_at_the_cap,
    traffic_adds_up_per_owner_and_period,
    storage_sums_asset_records_per_owner,
    concurrent_creates_of_one_id_make_one_asset,
    presets_are_put_listed_by_name_and_deleted,
    listings_and_storage_follow_every_change_of_an_asset,
    a_wide_prefix_is_a_filter_and_a_narrow_one_a_range,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_rate_limit_counters_are_shared_atomic_windows() {
    let stores = AwsStores::connect(&aws_emulator::fresh_settings().await).await;
    let counters: Arc<dyn SharedCounters> = Arc::new(stores.meta);
    cases::limit_windows_start_at_the_first_hit_and_take_refunds(&counters).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_rate_limit_counters_are_atomic_windows() {
    let counters: Arc<dyn SharedCounters> = Arc::new(WindowCounters::default());
    cases::limit_windows_start_at_the_first_hit_and_take_refunds(&counters).await;
}

/// An asset item as releases before listing entries wrote it: listed by index attributes on the
/// asset itself (owner, folder, everything), with no entries and no storage counters.
fn earlier_asset_item(
    id: &str,
    owner: &str,
    folder: &str,
    tags: &[&str],
    created_at: i64,
    bytes: u64,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    use aws_sdk_dynamodb::types::AttributeValue::{Bool, L, N, S};
    let order = format!("{created_at:016}#{id}");
    [
        ("PK", S(format!("ASSET#{id}"))),
        ("SK", S("ASSET".into())),
        ("public_id", S(id.into())),
        ("owner_id", S(owner.into())),
        ("folder", S(folder.into())),
        ("tags", L(tags.iter().map(|t| S(t.to_string())).collect())),
        ("visibility", S("public".into())),
        ("format", S("jpg".into())),
        ("width", N("10".into())),
        ("height", N("10".into())),
        ("has_alpha", Bool(false)),
        ("has_master", Bool(true)),
        ("derived_bytes", N("9".into())),
        ("variants", N("0".into())),
        ("bytes", N(bytes.to_string())),
        ("created_at", N(created_at.to_string())),
        ("updated_at", N(created_at.to_string())),
        ("version", N("1".into())),
        ("blob_id", S(format!("blob-{id}"))),
        ("GSI1PK", S(format!("OWNER#{owner}"))),
        ("GSI1SK", S(order.clone())),
        ("GSI2PK", S(format!("FOLDER#{folder}"))),
        ("GSI2SK", S(order.clone())),
        ("GSI3PK", S("ASSETS".into())),
        ("GSI3SK", S(order)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// A table an earlier release wrote gets its listing entries and storage counters at `init`
/// (`imgcloud init-aws` / `migrate`), its asset items lose the index attributes they no longer
/// need, an item this release wrote is left alone, and a second run has nothing to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_an_earlier_table_is_backfilled_at_init() {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    use imgcloud_core::store::{AssetQuery, AssetStore, UsageStore};
    let settings = aws_emulator::fresh_settings().await;
    let raw = aws_emulator::raw_dynamodb(&settings).await;
    // As the earlier release left the table: no record of a backfill.
    let progress = [("PK", S("BACKFILL#listing-2026-12".into())), ("SK", S("BACKFILL".into()))];
    let key = |pairs: &[(&str, aws_sdk_dynamodb::types::AttributeValue)]| {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<std::collections::HashMap<_, _>>()
    };
    raw.delete_item().table_name(&settings.table).set_key(Some(key(&progress))).send().await.unwrap();
    for item in [
        earlier_asset_item("e/1", "u1", "f", &["red"], 10, 100),
        earlier_asset_item("e/2", "u2", "", &["red", "blue"], 20, 200),
        earlier_asset_item("e/3", "u1", "f", &[], 30, 300),
    ] {
        raw.put_item().table_name(&settings.table).set_item(Some(item)).send().await.unwrap();
    }
    let stores = AwsStores::connect(&settings).await;
    let current = AssetRecord { public_id: "new".into(), ..stores.meta.asset("e/3").await.unwrap().unwrap() };
    assert_eq!(stores.meta.create_asset(&current).await.unwrap(), imgcloud_core::store::Created::Created);

    stores.init().await.unwrap();
    let ids = |q: AssetQuery| {
        let meta = &stores.meta;
        async move {
            let page = meta.list_assets(&AssetQuery { limit: 10, ..q }).await.unwrap();
            page.assets.into_iter().map(|a| a.public_id).collect::<Vec<_>>()
        }
    };
    assert_eq!(ids(AssetQuery::default()).await, ["new", "e/3", "e/2", "e/1"], "listed once each");
    assert_eq!(ids(AssetQuery { tag: Some("red".into()), ..Default::default() }).await, ["e/2", "e/1"]);
    let u1_f = AssetQuery { owner_id: Some("u1".into()), folder: Some("f".into()), ..Default::default() };
    assert_eq!(ids(u1_f).await, ["new", "e/3", "e/1"]);
    assert_eq!(ids(AssetQuery { prefix: Some("e/".into()), ..Default::default() }).await, ["e/3", "e/2", "e/1"]);
    let storage = stores.meta.storage(None).await.unwrap();
    let totals: Vec<_> =
        storage.iter().map(|s| (s.owner_id.as_str(), s.asset_count, s.original_bytes, s.derived_bytes)).collect();
    assert_eq!(totals, [("u1", 3, 700, 27), ("u2", 1, 200, 9)], "counted from the records");
    let item = |id: &str| {
        let (raw, table) = (&raw, &settings.table);
        let key = key(&[("PK", S(format!("ASSET#{id}"))), ("SK", S("ASSET".into()))]);
        async move { raw.get_item().table_name(table).set_key(Some(key)).send().await.unwrap().item.unwrap() }
    };
    for id in ["e/1", "e/2", "e/3", "new"] {
        let item = item(id).await;
        assert!(!item.keys().any(|k| k.starts_with("GSI")), "{id} keeps no index attribute: {item:?}");
    }
    assert_eq!(stores.meta.backfill().await.unwrap(), 0, "done once");
    assert_eq!(stores.meta.recount_storage().await.unwrap(), [], "and counted right");
}
