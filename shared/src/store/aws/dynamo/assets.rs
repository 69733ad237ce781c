//! Assets, their variant counts, and the blob garbage list.

use super::*;

#[async_trait]
impl AssetStore for DynamoMetaStore {
    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn asset(&self, public_id: &str) -> StoreResult<Option<AssetRecord>> {
        self.get(keys::asset(public_id)).await?.as_ref().map(asset_from).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn create_asset(&self, a: &AssetRecord) -> StoreResult<Created> {
        let writes = vec![
            Write::put(&self.table, asset_item(a), Some("attribute_not_exists(PK)"), Item::new())?,
            Write::delete(&self.table, keys::garbage(&a.blob_id), None, Item::new())?,
        ];
        Ok(match self.transact(writes, None).await? {
            Ok(()) => Created::Created,
            Err(_) => Created::AlreadyExists,
        })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn replace_asset(&self, a: &AssetRecord, expected_version: i64, old_blob_id: &str) -> StoreResult<Swapped> {
        let writes = vec![
            Write::put(&self.table, asset_item(a), Some("version = :v"), values([(":v", n(expected_version))]))?,
            Write::delete(&self.table, keys::garbage(&a.blob_id), None, Item::new())?,
            Write::put(&self.table, garbage_item(old_blob_id, a.updated_at), None, Item::new())?,
        ];
        Ok(match self.transact(writes, None).await? {
            Ok(()) => Swapped::Swapped,
            Err(_) => Swapped::Stale,
        })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn update_asset_meta(&self, a: &AssetRecord) -> StoreResult<Option<AssetRecord>> {
        let mut values = values([
            (":tags", AttributeValue::L(a.tags.iter().map(s).collect())),
            (":folder", s(&a.folder)),
            (":visibility", s(a.visibility.as_str())),
            (":updated", n(a.updated_at)),
            (":gsi2", s(Partition::Folder(&a.folder).value())),
        ]);
        let set = "SET tags = :tags, folder = :folder, visibility = :visibility, updated_at = :updated, GSI2PK = :gsi2";
        let expression = match json_attribute(a.focal_point.as_ref()) {
            Some(point) => {
                values.insert(":focal".to_owned(), point);
                format!("{set}, focal_point = :focal")
            }
            None => format!("{set} REMOVE focal_point"),
        };
        let result = self
            .update_item(keys::asset(&a.public_id))
            .update_expression(expression)
            .condition_expression("attribute_exists(PK)")
            .set_expression_attribute_values(Some(values))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        unless_refused(result)?.and_then(|output| output.attributes).as_ref().map(asset_from).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
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
                keys::asset(public_id),
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

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn list_assets(&self, q: &AssetQuery) -> StoreResult<AssetPage> {
        // The most selective index the filters allow; the other filters run on the server.
        let partition = match (&q.folder, &q.owner_id) {
            (Some(folder), _) => Partition::Folder(folder),
            (None, Some(owner)) => Partition::AssetsOf(owner),
            (None, None) => Partition::Assets,
        };
        let mut filters = Vec::new();
        let mut values = Item::new();
        if let (Some(owner), Partition::Folder(_)) = (&q.owner_id, partition) {
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
            let mut start = keys::asset(&after.public_id);
            start.extend(partition.entry(sort_key(after.created_at, &after.public_id)));
            start
        });
        let mut assets = Vec::new();
        // One more than asked, to know whether another page follows.
        while assets.len() <= q.limit {
            let wanted = q.limit + 1 - assets.len();
            let mut query = self
                .query_index(partition)
                .set_filter_expression((!filters.is_empty()).then(|| filters.join(" AND ")))
                .scan_index_forward(false);
            for (name, value) in &values {
                query = query.expression_attribute_values(name, value.clone());
            }
            let page = query
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

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn add_variant(
        &self,
        public_id: &str,
        blob_id: &str,
        bytes: u64,
        caps: VariantCaps,
    ) -> StoreResult<VariantAdded> {
        let asset_key = keys::asset(public_id);
        // `derived_bytes + bytes <= max` as `derived_bytes <= max - bytes`: negative when the
        // variant alone is over the cap, which no item passes.
        let room = i128::from(caps.max_bytes) - i128::from(bytes);
        let result = self
            .update_item(asset_key.clone())
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
}

#[async_trait]
impl GarbageStore for DynamoMetaStore {
    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn add_garbage(&self, blob_id: &str, due_at: i64) -> StoreResult<()> {
        let item = garbage_item(blob_id, due_at);
        self.put_item(item).send().await.map(drop).map_err(err)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn due_garbage(&self, now: i64, limit: usize) -> StoreResult<Vec<String>> {
        let garbage = Partition::Garbage;
        let page = self
            .query_index(garbage)
            .key_condition_expression(format!("{} = :pk AND {} < :until", garbage.pk(), garbage.sk()))
            // `<due>#<blob>` sorts below `<now + 1>` exactly when due <= now.
            .expression_attribute_values(":until", s(format!("{:016}", now.clamp(0, MAX_TIME) + 1)))
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(err)?;
        page.items().iter().map(|i| get_s(i, "blob_id")).collect()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn remove_garbage(&self, blob_id: &str) -> StoreResult<()> {
        self.delete_item(keys::garbage(blob_id)).await
    }
}
