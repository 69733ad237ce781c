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
//!
//! Whatever authenticates (email, key id, session) is read by primary key with a consistent read;
//! the indexes serve listings, which may lag a write by the index's propagation delay. A session is
//! valid while its `epoch` equals its user's `session_epoch`: ending every session of a user (new
//! password, disabled) is one conditional write on the user, atomic with the change itself.

use std::{collections::HashMap, str::FromStr, time::Duration};

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    error::{ProvideErrorMetadata, SdkError},
    operation::{query::builders::QueryFluentBuilder, update_item::UpdateItemError},
    types::{
        AttributeDefinition, AttributeValue, BillingMode, Delete, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, Put, ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TableStatus,
        TimeToLiveSpecification, TimeToLiveStatus, TransactWriteItem, Update,
    },
    Client,
};

use super::aws_error;
use crate::{
    domain::{Role, Visibility},
    media::Format,
    store::*,
};

type Item = HashMap<String, AttributeValue>;

/// Bounds the optimistic retries of a read-then-conditional-write.
const MAX_ATTEMPTS: usize = 8;

pub struct DynamoMetaStore {
    client: Client,
    table: String,
}

fn err(e: impl std::error::Error) -> StoreError {
    aws_error("dynamodb", e)
}

/// Whether a single-item write was refused by its condition (an expected outcome, not a failure).
fn condition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException")
}

fn corrupt(what: &str) -> StoreError {
    StoreError { backend: "dynamodb", message: format!("item without a valid {what}") }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The largest time the fixed-width sort keys hold (unix ms: well past the year 2200).
const MAX_TIME: i64 = 9_999_999_999_999_998;

/// Newest-first and oldest-first orders on the indexes: fixed-width times sort as strings.
fn sort_key(time: i64, id: &str) -> String {
    format!("{:016}#{id}", time.clamp(0, MAX_TIME))
}

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))])
}

fn get_s(item: &Item, name: &str) -> StoreResult<String> {
    opt_s(item, name).ok_or_else(|| corrupt(name))
}

fn opt_s(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn get_n<T: FromStr>(item: &Item, name: &str) -> StoreResult<T> {
    opt_n(item, name).ok_or_else(|| corrupt(name))
}

fn opt_n<T: FromStr>(item: &Item, name: &str) -> Option<T> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

fn get_bool(item: &Item, name: &str) -> StoreResult<bool> {
    item.get(name).and_then(|v| v.as_bool().ok()).copied().ok_or_else(|| corrupt(name))
}

/// A string attribute as one of our values; an item that holds anything else is corrupt and reads
/// as an error, never as a default.
fn get_parsed<T, E>(item: &Item, name: &str, parse: impl FnOnce(&str) -> Result<T, E>) -> StoreResult<T> {
    parse(&get_s(item, name)?).map_err(|_| corrupt(name))
}

fn user_item(u: &UserRecord, epoch: i64) -> Item {
    let mut item = key(format!("USER#{}", u.id), "USER");
    item.extend([
        ("id".to_owned(), s(&u.id)),
        ("email".to_owned(), s(&u.email)),
        ("role".to_owned(), s(u.role.as_str())),
        ("disabled".to_owned(), AttributeValue::Bool(u.disabled)),
        ("password_hash".to_owned(), s(&u.password_hash)),
        ("created_at".to_owned(), n(u.created_at)),
        ("session_epoch".to_owned(), n(epoch)),
        ("GSI3PK".to_owned(), s("USERS")),
        ("GSI3SK".to_owned(), s(sort_key(u.created_at, &u.id))),
    ]);
    if let Some(name) = &u.name {
        item.insert("name".to_owned(), s(name));
    }
    item
}

fn user_from(item: &Item) -> StoreResult<(UserRecord, i64)> {
    let user = UserRecord {
        id: get_s(item, "id")?,
        email: get_s(item, "email")?,
        name: opt_s(item, "name"),
        role: get_parsed(item, "role", Role::parse)?,
        disabled: get_bool(item, "disabled")?,
        password_hash: get_s(item, "password_hash")?,
        created_at: get_n(item, "created_at")?,
    };
    Ok((user, opt_n(item, "session_epoch").unwrap_or(0)))
}

fn enabled_admin(u: &UserRecord) -> bool {
    u.role == Role::Admin && !u.disabled
}

fn api_key_item(k: &ApiKeyRecord) -> Item {
    let mut item = key(format!("KEY#{}", k.key_id), "KEY");
    item.extend([
        ("key_id".to_owned(), s(&k.key_id)),
        ("owner_id".to_owned(), s(&k.owner_id)),
        ("name".to_owned(), s(&k.name)),
        ("secret_hash".to_owned(), s(&k.secret_hash)),
        ("created_at".to_owned(), n(k.created_at)),
        ("GSI1PK".to_owned(), s(format!("KEYS#{}", k.owner_id))),
        ("GSI1SK".to_owned(), s(sort_key(k.created_at, &k.key_id))),
    ]);
    if let Some(t) = k.last_used_at {
        item.insert("last_used_at".to_owned(), n(t));
    }
    if let Some(t) = k.revoked_at {
        item.insert("revoked_at".to_owned(), n(t));
    }
    item
}

fn api_key_from(item: &Item) -> StoreResult<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        key_id: get_s(item, "key_id")?,
        owner_id: get_s(item, "owner_id")?,
        name: get_s(item, "name")?,
        secret_hash: get_s(item, "secret_hash")?,
        created_at: get_n(item, "created_at")?,
        last_used_at: opt_n(item, "last_used_at"),
        revoked_at: opt_n(item, "revoked_at"),
    })
}

fn asset_item(a: &AssetRecord) -> Item {
    let order = sort_key(a.created_at, &a.public_id);
    let mut item = key(format!("ASSET#{}", a.public_id), "ASSET");
    item.extend([
        ("public_id".to_owned(), s(&a.public_id)),
        ("owner_id".to_owned(), s(&a.owner_id)),
        ("folder".to_owned(), s(&a.folder)),
        ("tags".to_owned(), AttributeValue::L(a.tags.iter().map(s).collect())),
        ("visibility".to_owned(), s(a.visibility.as_str())),
        ("format".to_owned(), s(a.format.name())),
        ("width".to_owned(), n(a.width)),
        ("height".to_owned(), n(a.height)),
        ("has_alpha".to_owned(), AttributeValue::Bool(a.has_alpha)),
        ("has_master".to_owned(), AttributeValue::Bool(a.has_master)),
        ("derived_bytes".to_owned(), n(a.derived_bytes)),
        ("variants".to_owned(), n(a.variants)),
        ("bytes".to_owned(), n(a.bytes)),
        ("created_at".to_owned(), n(a.created_at)),
        ("updated_at".to_owned(), n(a.updated_at)),
        ("version".to_owned(), n(a.version)),
        ("blob_id".to_owned(), s(&a.blob_id)),
        ("GSI1PK".to_owned(), s(format!("OWNER#{}", a.owner_id))),
        ("GSI1SK".to_owned(), s(order.clone())),
        ("GSI2PK".to_owned(), s(format!("FOLDER#{}", a.folder))),
        ("GSI2SK".to_owned(), s(order.clone())),
        ("GSI3PK".to_owned(), s("ASSETS")),
        ("GSI3SK".to_owned(), s(order)),
    ]);
    if let Some(f) = &a.original_filename {
        item.insert("original_filename".to_owned(), s(f));
    }
    item
}

fn asset_from(item: &Item) -> StoreResult<AssetRecord> {
    let tags = match item.get("tags") {
        Some(AttributeValue::L(list)) => list.iter().map(|v| v.as_s().cloned().map_err(|_| corrupt("tags"))).collect(),
        _ => Err(corrupt("tags")),
    }?;
    Ok(AssetRecord {
        public_id: get_s(item, "public_id")?,
        owner_id: get_s(item, "owner_id")?,
        folder: get_s(item, "folder")?,
        tags,
        visibility: get_parsed(item, "visibility", Visibility::parse)?,
        format: get_parsed(item, "format", |name| Format::from_name(name).ok_or(()))?,
        width: get_n(item, "width")?,
        height: get_n(item, "height")?,
        has_alpha: get_bool(item, "has_alpha")?,
        has_master: get_bool(item, "has_master")?,
        derived_bytes: get_n(item, "derived_bytes")?,
        // Absent on items written before variants were counted.
        variants: opt_n(item, "variants").unwrap_or(0),
        bytes: get_n(item, "bytes")?,
        original_filename: opt_s(item, "original_filename"),
        created_at: get_n(item, "created_at")?,
        updated_at: get_n(item, "updated_at")?,
        version: get_n(item, "version")?,
        blob_id: get_s(item, "blob_id")?,
    })
}

fn garbage_item(blob_id: &str, due_at: i64) -> Item {
    let mut item = key(format!("GARBAGE#{blob_id}"), "GARBAGE");
    item.extend([
        ("blob_id".to_owned(), s(blob_id)),
        ("due_at".to_owned(), n(due_at)),
        ("GSI3PK".to_owned(), s("GARBAGE")),
        ("GSI3SK".to_owned(), s(sort_key(due_at, blob_id))),
    ]);
    item
}

/// One write of a transaction, with its condition and values.
struct Write {
    item: TransactWriteItem,
}

impl Write {
    fn put(table: &str, item: Item, condition: Option<&str>, values: Item) -> StoreResult<Self> {
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build()
            .map_err(err)?;
        Ok(Self { item: TransactWriteItem::builder().put(put).build() })
    }

    fn delete(table: &str, key: Item, condition: Option<&str>, values: Item) -> StoreResult<Self> {
        let delete = Delete::builder()
            .table_name(table)
            .set_key(Some(key))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build()
            .map_err(err)?;
        Ok(Self { item: TransactWriteItem::builder().delete(delete).build() })
    }

    fn update(table: &str, key: Item, expression: &str, condition: Option<&str>, values: Item) -> StoreResult<Self> {
        let update = Update::builder()
            .table_name(table)
            .set_key(Some(key))
            .update_expression(expression)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build()
            .map_err(err)?;
        Ok(Self { item: TransactWriteItem::builder().update(update).build() })
    }

    /// Names for reserved words in the write's expressions (`#role` for `role`).
    fn with_names(mut self, names: &[(&str, &str)]) -> Self {
        let names = Some(names.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        if let Some(put) = self.item.put.as_mut() {
            put.expression_attribute_names = names;
        } else if let Some(delete) = self.item.delete.as_mut() {
            delete.expression_attribute_names = names;
        } else if let Some(update) = self.item.update.as_mut() {
            update.expression_attribute_names = names;
        }
        self
    }
}

/// A cancelled transaction: which writes' conditions failed.
struct Refused(Vec<bool>);

impl Refused {
    fn at(&self, index: usize) -> bool {
        self.0.get(index).copied().unwrap_or(false)
    }
}

fn values<const N: usize>(pairs: [(&str, AttributeValue); N]) -> Item {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

impl DynamoMetaStore {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    /// Runs the writes as one transaction. `Ok(Err(refused))` when a condition failed; a conflict
    /// with another transaction is retried.
    async fn transact(&self, writes: Vec<Write>, token: Option<String>) -> StoreResult<Result<(), Refused>> {
        let items: Vec<TransactWriteItem> = writes.into_iter().map(|w| w.item).collect();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .set_client_request_token(token.clone())
                .send()
                .await;
            let e = match result {
                Ok(_) => return Ok(Ok(())),
                Err(e) => e,
            };
            let Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(
                cancelled,
            )) = e.as_service_error()
            else {
                return Err(err(e));
            };
            let codes: Vec<&str> =
                cancelled.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None")).collect();
            if codes.contains(&"ConditionalCheckFailed") {
                return Ok(Err(Refused(codes.iter().map(|c| *c == "ConditionalCheckFailed").collect())));
            }
            if !codes.contains(&"TransactionConflict") || attempt >= MAX_ATTEMPTS {
                return Err(err(e));
            }
            tokio::time::sleep(Duration::from_millis(10 << attempt.min(6))).await;
        }
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

    fn query_index(&self, index: &str, partition: String) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression(format!("{index}PK = :pk"))
            .expression_attribute_values(":pk", s(partition))
    }

    async fn user_with_epoch(&self, id: &str) -> StoreResult<Option<(UserRecord, i64)>> {
        self.get(key(format!("USER#{id}"), "USER")).await?.as_ref().map(user_from).transpose()
    }

    /// The adjustment of the enabled-admin count by `delta`; a decrease may not reach zero.
    fn admin_count(&self, delta: i64) -> StoreResult<Write> {
        let condition = (delta < 0).then_some("n > :one");
        let mut values = values([(":d", n(delta))]);
        if delta < 0 {
            values.insert(":one".to_owned(), n(1));
        }
        Write::update(&self.table, key("META".into(), "ADMINS"), "ADD n :d", condition, values)
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
        let mut item = key("CONFIG".into(), "SIGNING");
        item.insert("secret".to_owned(), s(crate::secrets::random_token(32)));
        let created = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if condition_failed(&e) => {}
            Err(e) => return Err(err(e)),
        }
        self.signing_secret().await?.ok_or_else(|| corrupt("signing secret"))
    }

    /// The signing secret kept in the table, if one was made.
    pub async fn signing_secret(&self) -> StoreResult<Option<String>> {
        self.get(key("CONFIG".into(), "SIGNING")).await?.map(|item| get_s(&item, "secret")).transpose()
    }

    async fn update_ignoring_absent(&self, key: Item, expression: &str, values: Item) -> StoreResult<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(expression)
            .condition_expression("attribute_exists(PK)")
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(err(e)),
        }
    }

    async fn delete_item(&self, key: Item) -> StoreResult<()> {
        self.client.delete_item().table_name(&self.table).set_key(Some(key)).send().await.map(drop).map_err(err)
    }
}

#[async_trait]
impl MetaStore for DynamoMetaStore {
    async fn create_user(&self, u: &UserRecord) -> StoreResult<Created> {
        let mut guard = key(format!("EMAIL#{}", u.email), "EMAIL");
        guard.insert("user_id".to_owned(), s(&u.id));
        let absent = Some("attribute_not_exists(PK)");
        let mut writes = vec![
            Write::put(&self.table, user_item(u, 0), absent, Item::new())?,
            Write::put(&self.table, guard, absent, Item::new())?,
        ];
        if enabled_admin(u) {
            writes.push(self.admin_count(1)?);
        }
        Ok(match self.transact(writes, None).await? {
            Ok(()) => Created::Created,
            Err(_) => Created::AlreadyExists,
        })
    }

    async fn user(&self, id: &str) -> StoreResult<Option<UserRecord>> {
        Ok(self.user_with_epoch(id).await?.map(|(u, _)| u))
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        match self.get(key(format!("EMAIL#{email}"), "EMAIL")).await? {
            Some(guard) => self.user(&get_s(&guard, "user_id")?).await,
            // Two reads for an unknown email too (of a user id no one has): a failed login's time
            // must not tell which emails have accounts (SPEC §9).
            None => self.user("-").await.map(|_| None),
        }
    }

    async fn users(&self) -> StoreResult<Vec<UserRecord>> {
        let items = self.query_all(self.query_index("GSI3", "USERS".into())).await?;
        items.iter().map(|i| user_from(i).map(|(u, _)| u)).collect()
    }

    async fn has_users(&self) -> StoreResult<bool> {
        let page = self.query_index("GSI3", "USERS".into()).limit(1).send().await.map_err(err)?;
        Ok(page.count() > 0)
    }

    async fn update_user(
        &self,
        id: &str,
        change: &UserUpdate,
        keep_session: Option<&str>,
    ) -> StoreResult<Result<UserRecord, UserRefusal>> {
        let mut keep_session = keep_session;
        for _ in 0..MAX_ATTEMPTS {
            let Some((old, epoch)) = self.user_with_epoch(id).await? else {
                return Ok(Err(UserRefusal::NotFound));
            };
            let u = change.applied_to(&old);
            let end_sessions = change.ends_sessions(&u);
            let new_epoch = if end_sessions { epoch + 1 } else { epoch };
            // Only the changed fields are written. The condition covers what this write relies on:
            // the role and flag the admin count was adjusted from, the epoch it moves on from.
            let (mut sets, mut removes, mut conditions) = (Vec::new(), Vec::new(), vec!["attribute_exists(PK)"]);
            let mut update_values = Item::new();
            let mut names = Vec::new();
            match &change.name {
                Some(Some(name)) => {
                    sets.push("#name = :name");
                    update_values.insert(":name".to_owned(), s(name));
                    names.push(("#name", "name"));
                }
                Some(None) => {
                    removes.push("#name");
                    names.push(("#name", "name"));
                }
                None => {}
            }
            if change.role.is_some() || change.disabled.is_some() {
                sets.extend(["#role = :role", "disabled = :disabled"]);
                conditions.push("#role = :old_role AND disabled = :old_disabled");
                names.push(("#role", "role"));
                update_values.extend(values([
                    (":role", s(u.role.as_str())),
                    (":disabled", AttributeValue::Bool(u.disabled)),
                    (":old_role", s(old.role.as_str())),
                    (":old_disabled", AttributeValue::Bool(old.disabled)),
                ]));
            }
            if let Some(hash) = &change.password_hash {
                sets.push("password_hash = :hash");
                update_values.insert(":hash".to_owned(), s(hash));
            }
            if end_sessions {
                sets.push("session_epoch = :epoch");
                conditions.push("session_epoch = :old_epoch");
                update_values.extend(values([(":epoch", n(new_epoch)), (":old_epoch", n(epoch))]));
            }
            if sets.is_empty() && removes.is_empty() {
                return Ok(Ok(u));
            }
            let mut expression = String::new();
            if !sets.is_empty() {
                expression += &format!("SET {}", sets.join(", "));
            }
            if !removes.is_empty() {
                expression += &format!(" REMOVE {}", removes.join(", "));
            }
            let update = Write::update(
                &self.table,
                key(format!("USER#{id}"), "USER"),
                &expression,
                Some(&conditions.join(" AND ")),
                update_values,
            )?;
            let update = if names.is_empty() { update } else { update.with_names(&names) };
            let mut writes = vec![update];
            let delta = i64::from(enabled_admin(&u)) - i64::from(enabled_admin(&old));
            let admin_write = (delta != 0).then_some(writes.len());
            if delta != 0 {
                writes.push(self.admin_count(delta)?);
            }
            let keep_write = keep_session.filter(|_| end_sessions).map(|token_hash| (writes.len(), token_hash));
            if let Some((_, token_hash)) = keep_write {
                writes.push(Write::update(
                    &self.table,
                    key(format!("SESSION#{token_hash}"), "SESSION"),
                    "SET epoch = :epoch",
                    Some("attribute_exists(PK) AND user_id = :user"),
                    values([(":epoch", n(new_epoch)), (":user", s(id))]),
                )?);
            }
            match self.transact(writes, None).await? {
                Ok(()) => return Ok(Ok(u)),
                Err(refused) if admin_write.is_some_and(|i| refused.at(i)) => return Ok(Err(UserRefusal::LastAdmin)),
                // The session to keep is gone: nothing to keep.
                Err(refused) if keep_write.is_some_and(|(i, _)| refused.at(i)) => keep_session = None,
                // The user changed meanwhile: read again.
                Err(_) => {}
            }
        }
        Err(StoreError { backend: "dynamodb", message: format!("user {id} kept changing") })
    }

    async fn delete_user(&self, id: &str) -> StoreResult<Result<(), UserRefusal>> {
        for _ in 0..MAX_ATTEMPTS {
            let Some((old, epoch)) = self.user_with_epoch(id).await? else {
                return Ok(Err(UserRefusal::NotFound));
            };
            let mut writes = vec![
                Write::delete(
                    &self.table,
                    key(format!("USER#{id}"), "USER"),
                    Some("session_epoch = :epoch AND #role = :role AND disabled = :disabled"),
                    values([
                        (":epoch", n(epoch)),
                        (":role", s(old.role.as_str())),
                        (":disabled", AttributeValue::Bool(old.disabled)),
                    ]),
                )?
                .with_names(&[("#role", "role")]),
                Write::delete(&self.table, key(format!("EMAIL#{}", old.email), "EMAIL"), None, Item::new())?,
            ];
            if enabled_admin(&old) {
                writes.push(self.admin_count(-1)?);
            }
            match self.transact(writes, None).await? {
                Ok(()) => {
                    // Sessions die with the user (their epoch has no user) and expire by TTL; keys
                    // of a missing user authenticate nobody, and are removed here.
                    for k in self.api_keys_of(id).await? {
                        self.delete_item(key(format!("KEY#{}", k.key_id), "KEY")).await?;
                    }
                    return Ok(Ok(()));
                }
                Err(refused) if refused.at(2) => return Ok(Err(UserRefusal::LastAdmin)),
                Err(_) => {}
            }
        }
        Err(StoreError { backend: "dynamodb", message: format!("user {id} kept changing") })
    }

    async fn create_session(&self, session: &SessionRecord) -> StoreResult<()> {
        let epoch = self.user_with_epoch(&session.user_id).await?.map_or(0, |(_, e)| e);
        let mut item = key(format!("SESSION#{}", session.token_hash), "SESSION");
        item.extend([
            ("token_hash".to_owned(), s(&session.token_hash)),
            ("user_id".to_owned(), s(&session.user_id)),
            ("created_at".to_owned(), n(session.created_at)),
            ("last_seen_at".to_owned(), n(session.last_seen_at)),
            ("expires_at".to_owned(), n(session.expires_at)),
            ("epoch".to_owned(), n(epoch)),
            ("ttl".to_owned(), n(session.expires_at.div_euclid(1000) + 1)),
        ]);
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map(drop).map_err(err)
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<(SessionRecord, UserRecord)>> {
        let Some(item) = self.get(key(format!("SESSION#{token_hash}"), "SESSION")).await? else {
            return Ok(None);
        };
        let session = SessionRecord {
            token_hash: get_s(&item, "token_hash")?,
            user_id: get_s(&item, "user_id")?,
            created_at: get_n(&item, "created_at")?,
            last_seen_at: get_n(&item, "last_seen_at")?,
            expires_at: get_n(&item, "expires_at")?,
        };
        let epoch: i64 = get_n(&item, "epoch")?;
        let current = self.user_with_epoch(&session.user_id).await?;
        Ok(current.filter(|(_, e)| *e == epoch).map(|(user, _)| (session, user)))
    }

    async fn touch_session(&self, token_hash: &str, last_seen_at: i64) -> StoreResult<()> {
        self.update_ignoring_absent(
            key(format!("SESSION#{token_hash}"), "SESSION"),
            "SET last_seen_at = :t",
            values([(":t", n(last_seen_at))]),
        )
        .await
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        self.delete_item(key(format!("SESSION#{token_hash}"), "SESSION")).await
    }

    async fn create_api_key(&self, k: &ApiKeyRecord) -> StoreResult<Created> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(api_key_item(k)))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(Created::Created),
            Err(e) if condition_failed(&e) => Ok(Created::AlreadyExists),
            Err(e) => Err(err(e)),
        }
    }

    async fn api_key(&self, key_id: &str) -> StoreResult<Option<ApiKeyRecord>> {
        self.get(key(format!("KEY#{key_id}"), "KEY")).await?.as_ref().map(api_key_from).transpose()
    }

    async fn api_keys_of(&self, owner_id: &str) -> StoreResult<Vec<ApiKeyRecord>> {
        let query = self.query_index("GSI1", format!("KEYS#{owner_id}")).scan_index_forward(false);
        self.query_all(query).await?.iter().map(api_key_from).collect()
    }

    async fn revoke_api_key(&self, key_id: &str, at: i64) -> StoreResult<Option<ApiKeyRecord>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("KEY#{key_id}"), "KEY")))
            .update_expression("SET revoked_at = :at")
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(revoked_at)")
            .expression_attribute_values(":at", n(at))
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(e) if condition_failed(&e) => {}
            Err(e) => return Err(err(e)),
        }
        self.api_key(key_id).await
    }

    async fn touch_api_key(&self, key_id: &str, last_used_at: i64) -> StoreResult<()> {
        self.update_ignoring_absent(
            key(format!("KEY#{key_id}"), "KEY"),
            "SET last_used_at = :t",
            values([(":t", n(last_used_at))]),
        )
        .await
    }

    async fn asset(&self, public_id: &str) -> StoreResult<Option<AssetRecord>> {
        self.get(key(format!("ASSET#{public_id}"), "ASSET")).await?.as_ref().map(asset_from).transpose()
    }

    async fn create_asset(&self, a: &AssetRecord) -> StoreResult<Created> {
        let writes = vec![
            Write::put(&self.table, asset_item(a), Some("attribute_not_exists(PK)"), Item::new())?,
            Write::delete(&self.table, key(format!("GARBAGE#{}", a.blob_id), "GARBAGE"), None, Item::new())?,
        ];
        Ok(match self.transact(writes, None).await? {
            Ok(()) => Created::Created,
            Err(_) => Created::AlreadyExists,
        })
    }

    async fn replace_asset(&self, a: &AssetRecord, expected_version: i64, old_blob_id: &str) -> StoreResult<Swapped> {
        let writes = vec![
            Write::put(&self.table, asset_item(a), Some("version = :v"), values([(":v", n(expected_version))]))?,
            Write::delete(&self.table, key(format!("GARBAGE#{}", a.blob_id), "GARBAGE"), None, Item::new())?,
            Write::put(&self.table, garbage_item(old_blob_id, a.updated_at), None, Item::new())?,
        ];
        Ok(match self.transact(writes, None).await? {
            Ok(()) => Swapped::Swapped,
            Err(_) => Swapped::Stale,
        })
    }

    async fn update_asset_meta(&self, a: &AssetRecord) -> StoreResult<Option<AssetRecord>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("ASSET#{}", a.public_id), "ASSET")))
            .update_expression(
                "SET tags = :tags, folder = :folder, visibility = :visibility, updated_at = :updated, GSI2PK = :gsi2",
            )
            .condition_expression("attribute_exists(PK)")
            .set_expression_attribute_values(Some(values([
                (":tags", AttributeValue::L(a.tags.iter().map(s).collect())),
                (":folder", s(&a.folder)),
                (":visibility", s(a.visibility.as_str())),
                (":updated", n(a.updated_at)),
                (":gsi2", s(format!("FOLDER#{}", a.folder))),
            ])))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => output.attributes.as_ref().map(asset_from).transpose(),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    async fn delete_asset(
        &self,
        public_id: &str,
        expected_version: i64,
        blob_id: &str,
        now: i64,
    ) -> StoreResult<Swapped> {
        let writes = vec![
            Write::delete(
                &self.table,
                key(format!("ASSET#{public_id}"), "ASSET"),
                Some("version = :v"),
                values([(":v", n(expected_version))]),
            )?,
            Write::put(&self.table, garbage_item(blob_id, now), None, Item::new())?,
        ];
        Ok(match self.transact(writes, None).await? {
            Ok(()) => Swapped::Swapped,
            Err(_) => Swapped::Stale,
        })
    }

    async fn list_assets(&self, q: &AssetQuery) -> StoreResult<AssetPage> {
        // The most selective index the filters allow; the other filters run on the server.
        let (index, partition) = match (&q.folder, &q.owner_id) {
            (Some(folder), _) => ("GSI2", format!("FOLDER#{folder}")),
            (None, Some(owner)) => ("GSI1", format!("OWNER#{owner}")),
            (None, None) => ("GSI3", "ASSETS".to_owned()),
        };
        let mut filters = Vec::new();
        let mut values = values([(":pk", s(&partition))]);
        if let (Some(owner), "GSI2") = (&q.owner_id, index) {
            filters.push("owner_id = :owner");
            values.insert(":owner".into(), s(owner));
        }
        if let Some(tag) = &q.tag {
            filters.push("contains(tags, :tag)");
            values.insert(":tag".into(), s(tag));
        }
        if let Some(visibility) = q.visibility {
            filters.push("visibility = :visibility");
            values.insert(":visibility".into(), s(visibility.as_str()));
        }
        if let Some(prefix) = &q.prefix {
            filters.push("begins_with(public_id, :prefix)");
            values.insert(":prefix".into(), s(prefix));
        }
        let mut start = q.after.as_ref().map(|after| {
            let mut start = key(format!("ASSET#{}", after.public_id), "ASSET");
            start.insert(format!("{index}PK"), s(&partition));
            start.insert(format!("{index}SK"), s(sort_key(after.created_at, &after.public_id)));
            start
        });
        let mut assets = Vec::new();
        // One more than asked, to know whether another page follows.
        while assets.len() <= q.limit {
            let wanted = q.limit + 1 - assets.len();
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(format!("{index}PK = :pk"))
                .set_filter_expression((!filters.is_empty()).then(|| filters.join(" AND ")))
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(false)
                // Filters drop items after the limit is applied: read ahead when filtering.
                .limit(if filters.is_empty() { wanted } else { wanted.max(100) }.min(1000) as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(err)?;
            for item in page.items() {
                if assets.len() <= q.limit {
                    assets.push(asset_from(item)?);
                }
            }
            match page.last_evaluated_key {
                Some(last) => start = Some(last),
                None => break,
            }
        }
        let next = if assets.len() > q.limit {
            assets.truncate(q.limit);
            assets.last().map(|a| AssetCursor { created_at: a.created_at, public_id: a.public_id.clone() })
        } else {
            None
        };
        Ok(AssetPage { assets, next })
    }

    async fn add_garbage(&self, blob_id: &str, due_at: i64) -> StoreResult<()> {
        let item = garbage_item(blob_id, due_at);
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map(drop).map_err(err)
    }

    async fn due_garbage(&self, now: i64, limit: usize) -> StoreResult<Vec<String>> {
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI3")
            .key_condition_expression("GSI3PK = :pk AND GSI3SK < :until")
            .expression_attribute_values(":pk", s("GARBAGE"))
            // `<due>#<blob>` sorts below `<now + 1>` exactly when due <= now.
            .expression_attribute_values(":until", s(format!("{:016}", now.clamp(0, MAX_TIME) + 1)))
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(err)?;
        page.items().iter().map(|i| get_s(i, "blob_id")).collect()
    }

    async fn remove_garbage(&self, blob_id: &str) -> StoreResult<()> {
        self.delete_item(key(format!("GARBAGE#{blob_id}"), "GARBAGE")).await
    }

    async fn add_variant(
        &self,
        public_id: &str,
        blob_id: &str,
        bytes: u64,
        caps: VariantCaps,
    ) -> StoreResult<VariantAdded> {
        let asset_key = key(format!("ASSET#{public_id}"), "ASSET");
        // `derived_bytes + bytes <= max` as `derived_bytes <= max - bytes`: negative when the
        // variant alone is over the cap, which no item passes.
        let room = i128::from(caps.max_bytes) - i128::from(bytes);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(asset_key.clone()))
            .update_expression("ADD derived_bytes :b, variants :one")
            .condition_expression(
                "blob_id = :blob AND (attribute_not_exists(variants) OR variants < :max_variants) \
                 AND derived_bytes <= :room",
            )
            .set_expression_attribute_values(Some(values([
                (":b", n(bytes)),
                (":one", n(1)),
                (":blob", s(blob_id)),
                (":max_variants", n(caps.max_variants)),
                (":room", n(room)),
            ])))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let refused = match result {
            Ok(_) => return Ok(VariantAdded::Stored),
            Err(e) if condition_failed(&e) => e,
            Err(e) => return Err(err(e)),
        };
        // Refused: the item as it was says whether the version is gone or full. An emulator that
        // does not return it is asked again; the answer is the same, since a version's counts only
        // grow and a blob id names one version only.
        let returned = refused.as_service_error().and_then(|e| match e {
            UpdateItemError::ConditionalCheckFailedException(c) => c.item().cloned(),
            _ => None,
        });
        let item = match returned {
            Some(item) => Some(item),
            None => self.get(asset_key).await?,
        };
        Ok(match item.and_then(|i| opt_s(&i, "blob_id")) {
            Some(current) if current == blob_id => VariantAdded::Full,
            _ => VariantAdded::Gone,
        })
    }

    async fn add_traffic(&self, batch: &[Traffic]) -> StoreResult<()> {
        for chunk in batch.chunks(100) {
            let writes = chunk
                .iter()
                .map(|t| {
                    Write::update(
                        &self.table,
                        key(format!("TRAFFIC#{}", t.period), &t.owner_id),
                        "ADD bandwidth_bytes :b, requests :r SET owner_id = :owner, period = :period",
                        None,
                        values([
                            (":b", n(t.bandwidth_bytes)),
                            (":r", n(t.requests)),
                            (":owner", s(&t.owner_id)),
                            (":period", s(&t.period)),
                        ]),
                    )
                })
                .collect::<StoreResult<Vec<_>>>()?;
            // The token makes the SDK's retries of this batch count once.
            let token = crate::secrets::random_hex(16);
            if self.transact(writes, Some(token)).await?.is_err() {
                return Err(StoreError { backend: "dynamodb", message: "traffic batch refused".into() });
            }
        }
        Ok(())
    }

    async fn traffic(&self, period: &str, owner_id: Option<&str>) -> StoreResult<Vec<Traffic>> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .expression_attribute_values(":pk", s(format!("TRAFFIC#{period}")));
        query = match owner_id {
            Some(owner) => query
                .key_condition_expression("PK = :pk AND SK = :owner")
                .expression_attribute_values(":owner", s(owner)),
            None => query.key_condition_expression("PK = :pk"),
        };
        self.query_all(query)
            .await?
            .iter()
            .map(|i| {
                Ok(Traffic {
                    owner_id: get_s(i, "owner_id")?,
                    period: get_s(i, "period")?,
                    bandwidth_bytes: get_n(i, "bandwidth_bytes")?,
                    requests: get_n(i, "requests")?,
                })
            })
            .collect()
    }

    async fn storage(&self, owner_id: Option<&str>) -> StoreResult<Vec<Storage>> {
        let query = match owner_id {
            Some(owner) => self.query_index("GSI1", format!("OWNER#{owner}")),
            None => self.query_index("GSI3", "ASSETS".into()),
        }
        .projection_expression("owner_id, #bytes, derived_bytes")
        .expression_attribute_names("#bytes", "bytes");
        let mut by_owner = std::collections::BTreeMap::<String, Storage>::new();
        for item in self.query_all(query).await? {
            let owner = get_s(&item, "owner_id")?;
            let entry =
                by_owner.entry(owner.clone()).or_insert_with(|| Storage { owner_id: owner, ..Default::default() });
            entry.asset_count += 1;
            entry.original_bytes += get_n::<u64>(&item, "bytes")?;
            entry.derived_bytes += get_n::<u64>(&item, "derived_bytes")?;
        }
        Ok(by_owner.into_values().collect())
    }

    async fn purge_expired(&self, _now: i64) -> StoreResult<()> {
        // Sessions carry a TTL; DynamoDB removes them, and expired ones are refused when read.
        Ok(())
    }
}

/// A limit's window starts at its key's first hit (so that a burst is never split by a clock
/// boundary): one item per key with `hits` and `window_end`, TTL'd after its window.
#[async_trait]
impl crate::limits::SharedCounters for DynamoMetaStore {
    async fn hit(&self, limit: &str, key_: &str, now_ms: i64, window: Duration) -> StoreResult<(u64, i64)> {
        let item_key = key(format!("LIMIT#{limit}#{key_}"), "LIMIT");
        for _ in 0..MAX_ATTEMPTS {
            // The common case, one round trip: a hit in the current window.
            let counted = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(item_key.clone()))
                .update_expression("ADD hits :one")
                .condition_expression("window_end > :now")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(now_ms))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
                .send()
                .await;
            match counted {
                Ok(output) => {
                    let item = output.attributes.unwrap_or_default();
                    return Ok((opt_n(&item, "hits").unwrap_or(1), opt_n(&item, "window_end").unwrap_or(now_ms)));
                }
                Err(e) if condition_failed(&e) => {}
                Err(e) => return Err(err(e)),
            }
            // No window, or an ended one: open a new one, unless another instance just did.
            let end = now_ms + window.as_millis().max(1) as i64;
            let mut item = item_key.clone();
            item.extend([
                ("hits".to_owned(), n(1)),
                ("window_end".to_owned(), n(end)),
                ("ttl".to_owned(), n(end.div_euclid(1000) + 60)),
            ]);
            let opened = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK) OR window_end <= :now")
                .expression_attribute_values(":now", n(now_ms))
                .send()
                .await;
            match opened {
                Ok(_) => return Ok((1, end)),
                Err(e) if condition_failed(&e) => {}
                Err(e) => return Err(err(e)),
            }
        }
        Err(StoreError { backend: "dynamodb", message: format!("limit window of {limit} kept changing") })
    }

    async fn refund(&self, limit: &str, key_: &str, now_ms: i64) -> StoreResult<()> {
        let refunded = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("LIMIT#{limit}#{key_}"), "LIMIT")))
            .update_expression("ADD hits :minus_one")
            .condition_expression("window_end > :now AND hits > :zero")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match refunded {
            // The window ended meanwhile: there is nothing left to give back.
            Err(e) if condition_failed(&e) => Ok(()),
            other => other.map(drop).map_err(err),
        }
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
            public_id: "p".into(),
            owner_id: "u1".into(),
            folder: String::new(),
            tags: vec!["a".into()],
            visibility: Visibility::Public,
            format: Format::Png,
            width: 1,
            height: 1,
            has_alpha: true,
            has_master: false,
            derived_bytes: 0,
            variants: 0,
            bytes: 1,
            original_filename: None,
            created_at: 1,
            updated_at: 1,
            version: 1,
            blob_id: "b".into(),
        };
        let item = asset_item(&asset);
        assert_eq!(asset_from(&item).unwrap(), asset);
        for (name, value) in [
            ("visibility", s("secret")),
            ("format", s("bmp")),
            ("tags", AttributeValue::L(vec![n(1)])),
            ("has_alpha", s("yes")),
        ] {
            let mut corrupt = item.clone();
            corrupt.insert(name.into(), value);
            assert!(asset_from(&corrupt).is_err(), "a mangled {name} is not read as a default");
        }
    }
}
