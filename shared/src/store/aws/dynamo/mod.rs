//! The metadata store on one DynamoDB table (single-table design).
//!
//! | item | `PK` | `SK` | indexed as |
//! |---|---|---|---|
//! | user | `USER#<id>` | `USER` | GSI3 `USERS` / `<created>#<id>` (every user, oldest first) |
//! | email guard | `EMAIL#<email>` | `EMAIL` | — (unique email, consistent email → user lookup) |
//! | enabled-admin count | `META` | `ADMINS` | — |
//! | session | `SESSION#<token hash>` | `SESSION` | — (TTL `ttl`) |
//! | API key | `KEY#<key id>` | `KEY` | GSI1 `KEYS#<owner>` / `<created>#<key id>` |
//! | asset | `ASSET#<public id>` | `ASSET` | GSI1 `OWNER#<owner>`, GSI2 `FOLDER#<folder>`, GSI3 `ASSETS`, all by `<created>#<public id>` |
//! | blob garbage | `GARBAGE#<blob id>` | `GARBAGE` | GSI3 `GARBAGE` / `<due>#<blob id>` |
//! | traffic | `TRAFFIC#<period>` | `<owner>` | — (atomic `ADD` counters) |
//! | rate-limit window | `LIMIT#<limit>#<key>` | `LIMIT` | — (atomic `ADD`, TTL `ttl`) |
//! | signing secret | `CONFIG` | `SIGNING` | — |
//! | preset | `PRESETS` | `<name>` | — (the partition lists them) |
//!
//! Whatever authenticates (email, key id, session) is read by primary key with a consistent read;
//! the indexes serve listings, which may lag a write by the index's propagation delay. A session is
//! valid while its `epoch` equals its user's `session_epoch`: ending every session of a user (new
//! password, disabled) is one conditional write on the user, atomic with the change itself.

use std::{
    collections::HashMap,
    str::FromStr,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    error::{ProvideErrorMetadata, SdkError},
    operation::{
        put_item::builders::PutItemFluentBuilder,
        query::{builders::QueryFluentBuilder, QueryOutput},
        update_item::builders::UpdateItemFluentBuilder,
    },
    types::{
        AttributeDefinition, AttributeValue, BillingMode, ConsumedCapacity, Delete, GlobalSecondaryIndex,
        KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType, Put, ReturnConsumedCapacity,
        ScalarAttributeType, TableStatus, TimeToLiveSpecification, TimeToLiveStatus, TransactWriteItem, Update,
    },
    Client,
};

use super::aws_error;
use crate::{
    domain::{Role, Visibility},
    media::Format,
    store::{listing, *},
};

mod assets;
mod backfill;
mod counters;
mod items;
mod keys;
mod presets;
mod transactions;
mod users;

use items::*;
use keys::{sort_key, Partition, MAX_TIME};
use transactions::*;

type Item = HashMap<String, AttributeValue>;

/// Bounds the optimistic retries of a read-then-conditional-write.
const MAX_ATTEMPTS: usize = 8;

pub struct DynamoMetaStore {
    client: Client,
    table: String,
    reads: ListingReads,
}

/// What the listings of one store read, as DynamoDB reports it (`ReturnConsumedCapacity`).
#[derive(Default)]
struct ListingReads {
    queries: AtomicU64,
    batch_gets: AtomicU64,
    /// Thousandths of a read capacity unit.
    milli_units: AtomicU64,
}

impl ListingReads {
    fn count(&self, counter: &AtomicU64, capacity: Option<&ConsumedCapacity>) {
        counter.fetch_add(1, Ordering::Relaxed);
        let units = capacity.and_then(|c| c.capacity_units()).unwrap_or(0.0);
        self.milli_units.fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
    }

    fn count_batch(&self, capacity: &[ConsumedCapacity]) {
        self.batch_gets.fetch_add(1, Ordering::Relaxed);
        let units: f64 = capacity.iter().filter_map(|c| c.capacity_units()).sum();
        self.milli_units.fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
    }
}

/// The requests and read capacity listings have cost so far (see [`DynamoMetaStore::listing_cost`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ListingCost {
    pub queries: u64,
    pub batch_gets: u64,
    pub read_units: f64,
}

fn err(e: impl std::error::Error) -> StoreError {
    aws_error("dynamodb", e)
}

/// Whether a single-item write was refused by its condition (an expected outcome, not a failure).
fn condition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException")
}

/// The outcome of a single-item conditional write: its output, or `None` when its condition
/// refused it (an expected outcome; any other error is a failure).
fn unless_refused<T, E, R>(result: Result<T, SdkError<E, R>>) -> StoreResult<Option<T>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(e) if condition_failed(&e) => Ok(None),
        Err(e) => Err(err(e)),
    }
}

impl DynamoMetaStore {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table, reads: ListingReads::default() }
    }

    /// What this store's listings and usage summaries have read so far: the scale benchmark's
    /// measure of a page's cost.
    pub fn listing_cost(&self) -> ListingCost {
        ListingCost {
            queries: self.reads.queries.load(Ordering::Relaxed),
            batch_gets: self.reads.batch_gets.load(Ordering::Relaxed),
            read_units: self.reads.milli_units.load(Ordering::Relaxed) as f64 / 1000.0,
        }
    }

    /// Runs a listing's query, counting what it read.
    async fn query_counted(&self, query: QueryFluentBuilder) -> StoreResult<QueryOutput> {
        let output = query.return_consumed_capacity(ReturnConsumedCapacity::Total).send().await.map_err(err)?;
        self.reads.count(&self.reads.queries, output.consumed_capacity());
        Ok(output)
    }

    /// An update of the item at `key`, to finish with its expressions.
    fn update_item(&self, key: Item) -> UpdateItemFluentBuilder {
        self.client.update_item().table_name(&self.table).set_key(Some(key))
    }

    /// A put of `item`, to finish with its condition.
    fn put_item(&self, item: Item) -> PutItemFluentBuilder {
        self.client.put_item().table_name(&self.table).set_item(Some(item))
    }

    async fn get(&self, key: Item) -> StoreResult<Option<Item>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(err)?;
        Ok(output.item)
    }

    async fn query_all(&self, query: QueryFluentBuilder) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut pages = query.into_paginator().items().send();
        while let Some(item) = pages.next().await {
            items.push(item.map_err(err)?);
        }
        Ok(items)
    }

    /// A query of one index partition (the key condition's value is `:pk`).
    fn query_index(&self, partition: Partition) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(partition.index())
            .key_condition_expression(format!("{} = :pk", partition.pk()))
            .expression_attribute_values(":pk", s(partition.value()))
    }

    async fn update_ignoring_absent(&self, key: Item, expression: &str, values: Item) -> StoreResult<()> {
        let result = self
            .update_item(key)
            .update_expression(expression)
            .condition_expression("attribute_exists(PK)")
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        unless_refused(result).map(drop)
    }

    async fn delete_item(&self, key: Item) -> StoreResult<()> {
        self.client.delete_item().table_name(&self.table).set_key(Some(key)).send().await.map(drop).map_err(err)
    }

    /// The table with its keys, indexes and TTL, unless it exists.
    pub async fn create_table(&self) -> StoreResult<()> {
        let attribute = |name: &str| {
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()
        };
        let key_schema = |pk: &str, sk: &str| -> StoreResult<Vec<KeySchemaElement>> {
            Ok(vec![
                KeySchemaElement::builder().attribute_name(pk).key_type(KeyType::Hash).build().map_err(err)?,
                KeySchemaElement::builder().attribute_name(sk).key_type(KeyType::Range).build().map_err(err)?,
            ])
        };
        let mut create = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(key_schema("PK", "SK")?));
        for name in ["PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK"] {
            create = create.attribute_definitions(attribute(name).map_err(err)?);
        }
        for index in ["GSI1", "GSI2", "GSI3"] {
            let gsi = GlobalSecondaryIndex::builder()
                .index_name(index)
                .set_key_schema(Some(key_schema(&format!("{index}PK"), &format!("{index}SK"))?))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .map_err(err)?;
            create = create.global_secondary_indexes(gsi);
        }
        match create.send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => {}
            Err(e) => return Err(err(e)),
        }
        for _ in 0..120 {
            let table = self.client.describe_table().table_name(&self.table).send().await.map_err(err)?;
            if table.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let ttl = self.client.describe_time_to_live().table_name(&self.table).send().await.map_err(err)?;
        let status = ttl.time_to_live_description().and_then(|d| d.time_to_live_status());
        if !matches!(status, Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)) {
            let spec = TimeToLiveSpecification::builder().attribute_name("ttl").enabled(true).build().map_err(err)?;
            self.client
                .update_time_to_live()
                .table_name(&self.table)
                .time_to_live_specification(spec)
                .send()
                .await
                .map_err(err)?;
        }
        Ok(())
    }

    /// The signing secret kept in the table, made on first use (when none is configured).
    pub async fn load_or_create_signing_secret(&self) -> StoreResult<String> {
        let mut item = keys::signing_secret();
        item.insert("secret".to_owned(), s(crate::secrets::random_token(32)));
        let created = self.put_item(item).condition_expression("attribute_not_exists(PK)").send().await;
        unless_refused(created)?;
        self.signing_secret().await?.ok_or_else(|| corrupt("signing secret"))
    }

    /// The signing secret kept in the table, if one was made.
    pub async fn signing_secret(&self) -> StoreResult<Option<String>> {
        self.get(keys::signing_secret()).await?.map(|item| get_s(&item, "secret")).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserRecord {
        UserRecord {
            id: "u1".into(),
            email: "a@example.com".into(),
            name: None,
            role: Role::User,
            disabled: false,
            password_hash: "h".into(),
            created_at: 1,
        }
    }

    /// SQLite refuses such rows too (its columns are NOT NULL and read strictly): both backends agree.
    #[test]
    fn an_item_missing_or_mangling_a_field_reads_as_an_error_not_as_a_default() {
        let item = user_item(&user(), 0);
        assert_eq!(user_from(&item).unwrap().0, user());
        let mut without_disabled = item.clone();
        without_disabled.remove("disabled");
        assert!(user_from(&without_disabled).is_err(), "a missing disabled flag is not `false`");
        let mut bad_role = item;
        bad_role.insert("role".into(), s("root"));
        assert!(user_from(&bad_role).is_err(), "an unknown role is not `user`");
    }

    #[test]
    fn an_asset_item_with_an_unknown_value_reads_as_an_error() {
        let asset = AssetRecord {
            tags: vec!["a".into()],
            has_alpha: true,
            analysis: Some(crate::domain::Analysis {
                faces: Vec::new(),
                thumbhash: "AAAA".into(),
                dominant_color: "#000000".into(),
            }),
            ..AssetRecord::sample()
        };
        let item = asset_item(&asset);
        assert_eq!(asset_from(&item).unwrap(), asset);
        for (name, value) in [
            ("visibility", s("secret")),
            ("format", s("bmp")),
            ("tags", AttributeValue::L(vec![n(1)])),
            ("has_alpha", s("yes")),
            ("analysis", s("{}")),
            ("focal_point", s(r#"{"x":2,"y":0}"#)),
        ] {
            let mut corrupt = item.clone();
            corrupt.insert(name.into(), value);
            assert!(asset_from(&corrupt).is_err(), "a mangled {name} is not read as a default");
        }
    }
}
