//! The storage conformance suite: one set of contract tests for the `BlobStore` and `MetaStore`
//! ports, run against both backends: the embedded pair (files + SQLite) and the aws pair (S3 +
//! DynamoDB on the moto server `scripts/test` starts).

#[path = "../common/aws.rs"]
mod aws_emulator;
mod cases;

use std::sync::Arc;

use imgcloud_core::store::{
    aws::AwsStores, fs::FileBlobStore, sqlite::SqliteMetaStore, BlobStore, MetaStore, SharedCounters, WindowCounters,
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
