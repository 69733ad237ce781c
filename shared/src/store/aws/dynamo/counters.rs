//! Counters: traffic per owner and period, storage per owner, and rate-limit windows.

use super::*;

#[async_trait]
impl UsageStore for DynamoMetaStore {
    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn add_traffic(&self, batch: &[Traffic]) -> StoreResult<()> {
        for chunk in batch.chunks(100) {
            let writes = chunk
                .iter()
                .map(|t| {
                    Write::update(
                        &self.table,
                        keys::traffic(&t.period, &t.owner_id),
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

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn traffic(&self, period: &str, owner_id: Option<&str>) -> StoreResult<Vec<Traffic>> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .expression_attribute_values(":pk", s(keys::traffic_period(period)));
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

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn storage(&self, owner_id: Option<&str>) -> StoreResult<Vec<Storage>> {
        let owners = self.storage_shards(owner_id).await?;
        Ok(owners.into_values().filter(|s| s.asset_count > 0).collect())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn recount_storage(&self) -> StoreResult<Vec<StorageDrift>> {
        // Kept first: a change after this read moves a counter, which the conditional write
        // below then refuses to overwrite.
        let kept_shards = self.storage_items().await?;
        let mut counted_shards: HashMap<String, (String, Storage)> = HashMap::new();
        let scan = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("SK = :asset")
            .expression_attribute_values(":asset", s("ASSET"))
            .projection_expression("public_id, owner_id, #bytes, derived_bytes")
            .expression_attribute_names("#bytes", "bytes");
        let mut pages = scan.into_paginator().items().send();
        while let Some(item) = pages.next().await {
            let item = item.map_err(err)?;
            let owner = get_s(&item, "owner_id")?;
            let shard = get_s(&keys::storage(&owner, &get_s(&item, "public_id")?), "SK")?;
            let entry = counted_shards
                .entry(shard)
                .or_insert_with(|| (owner.clone(), Storage { owner_id: owner, ..Default::default() }));
            entry.1.asset_count += 1;
            entry.1.original_bytes += get_n::<u64>(&item, "bytes")?;
            entry.1.derived_bytes += get_n::<u64>(&item, "derived_bytes")?;
        }
        let by_owner = |shards: &HashMap<String, (String, Storage)>| sum_by_owner(shards.values().map(|(_, s)| s));
        let drift = StorageDrift::between(by_owner(&kept_shards), by_owner(&counted_shards));
        let zero = |owner: &str| Storage { owner_id: owner.to_owned(), ..Default::default() };
        let mut shards: Vec<&String> = kept_shards.keys().chain(counted_shards.keys()).collect();
        shards.sort();
        shards.dedup();
        for shard in shards {
            let (owner, counted) = counted_shards.get(shard).cloned().unwrap_or_else(|| {
                let owner = kept_shards[shard].0.clone();
                (owner.clone(), zero(&owner))
            });
            let kept = kept_shards.get(shard).map(|(_, s)| s.clone());
            if kept.as_ref() == Some(&counted) {
                continue;
            }
            let mut item = HashMap::from([("PK".to_owned(), s(keys::STORAGE)), ("SK".to_owned(), s(shard.as_str()))]);
            item.extend([
                ("owner_id".to_owned(), s(&owner)),
                ("asset_count".to_owned(), n(counted.asset_count)),
                ("original_bytes".to_owned(), n(counted.original_bytes)),
                ("derived_bytes".to_owned(), n(counted.derived_bytes)),
            ]);
            let put = self.put_item(item);
            let put = match kept {
                None => put.condition_expression("attribute_not_exists(PK)"),
                Some(kept) => put
                    .condition_expression("asset_count = :a AND original_bytes = :o AND derived_bytes = :d")
                    .expression_attribute_values(":a", n(kept.asset_count))
                    .expression_attribute_values(":o", n(kept.original_bytes))
                    .expression_attribute_values(":d", n(kept.derived_bytes)),
            };
            if unless_refused(put.send().await)?.is_none() {
                return Err(StoreError {
                    backend: "dynamodb",
                    message: format!("the storage of {owner} changed during the recount; run it again"),
                });
            }
        }
        Ok(drift)
    }
}

impl DynamoMetaStore {
    /// The storage counter items by shard key, each with its owner.
    async fn storage_items(&self) -> StoreResult<HashMap<String, (String, Storage)>> {
        self.storage_query(None)
            .await?
            .iter()
            .map(|item| {
                let storage = storage_from(item)?;
                Ok((get_s(item, "SK")?, (storage.owner_id.clone(), storage)))
            })
            .collect()
    }

    /// Every owner's storage (or one owner's), their shards summed: one query.
    async fn storage_shards(&self, owner_id: Option<&str>) -> StoreResult<std::collections::BTreeMap<String, Storage>> {
        let shards = self.storage_query(owner_id).await?.iter().map(storage_from).collect::<StoreResult<Vec<_>>>()?;
        Ok(sum_by_owner(shards.iter()))
    }

    async fn storage_query(&self, owner_id: Option<&str>) -> StoreResult<Vec<Item>> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .expression_attribute_values(":pk", s(keys::STORAGE));
        query = match owner_id {
            Some(owner) => query
                .key_condition_expression("PK = :pk AND begins_with(SK, :owner)")
                .expression_attribute_values(":owner", s(format!("{owner}#"))),
            None => query.key_condition_expression("PK = :pk"),
        };
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let output = self.query_counted(query.clone().set_exclusive_start_key(start)).await?;
            items.extend(output.items().iter().cloned());
            match output.last_evaluated_key {
                Some(last) => start = Some(last),
                None => return Ok(items),
            }
        }
    }
}

/// Shards (or any storage rows) summed per owner.
fn sum_by_owner<'a>(shards: impl Iterator<Item = &'a Storage>) -> std::collections::BTreeMap<String, Storage> {
    let mut owners = std::collections::BTreeMap::<String, Storage>::new();
    for shard in shards {
        let total = owners
            .entry(shard.owner_id.clone())
            .or_insert_with(|| Storage { owner_id: shard.owner_id.clone(), ..Default::default() });
        total.asset_count += shard.asset_count;
        total.original_bytes += shard.original_bytes;
        total.derived_bytes += shard.derived_bytes;
    }
    owners
}

fn storage_from(item: &Item) -> StoreResult<Storage> {
    Ok(Storage {
        owner_id: get_s(item, "owner_id")?,
        asset_count: get_n(item, "asset_count")?,
        original_bytes: get_n(item, "original_bytes")?,
        derived_bytes: get_n(item, "derived_bytes")?,
    })
}

/// A limit's window starts at its key's first hit (so that a burst is never split by a clock
/// boundary): one item per key with `hits` and `window_end`, TTL'd after its window.
#[async_trait]
impl SharedCounters for DynamoMetaStore {
    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn hit(&self, limit: &str, key_: &str, now_ms: i64, window: Duration) -> StoreResult<(u64, i64)> {
        let item_key = keys::limit_window(limit, key_);
        for _ in 0..MAX_ATTEMPTS {
            // The common case, one round trip: a hit in the current window.
            let counted = self
                .update_item(item_key.clone())
                .update_expression("ADD hits :one")
                .condition_expression("window_end > :now")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(now_ms))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
                .send()
                .await;
            if let Some(output) = unless_refused(counted)? {
                let item = output.attributes.unwrap_or_default();
                return Ok((opt_n(&item, "hits").unwrap_or(1), opt_n(&item, "window_end").unwrap_or(now_ms)));
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
                .put_item(item)
                .condition_expression("attribute_not_exists(PK) OR window_end <= :now")
                .expression_attribute_values(":now", n(now_ms))
                .send()
                .await;
            if unless_refused(opened)?.is_some() {
                return Ok((1, end));
            }
        }
        Err(StoreError { backend: "dynamodb", message: format!("limit window of {limit} kept changing") })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn refund(&self, limit: &str, key_: &str, now_ms: i64) -> StoreResult<()> {
        let refunded = self
            .update_item(keys::limit_window(limit, key_))
            .update_expression("ADD hits :minus_one")
            .condition_expression("window_end > :now AND hits > :zero")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        // Refused when the window ended meanwhile: there is nothing left to give back.
        unless_refused(refunded).map(drop)
    }
}
