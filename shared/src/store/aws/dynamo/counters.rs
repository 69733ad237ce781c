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
        let query = match owner_id {
            Some(owner) => self.query_index(Partition::AssetsOf(owner)),
            None => self.query_index(Partition::Assets),
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

    async fn recount_storage(&self) -> StoreResult<Vec<StorageDrift>> {
        Ok(Vec::new())
    }
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
