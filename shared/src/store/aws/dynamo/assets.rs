//! Assets, their variant counts, and the blob garbage list.

use super::*;

/// The names of `asset`'s entries (see [`entry_items`]).
fn entry_names(asset: &AssetRecord) -> Vec<String> {
    entry_items(asset).into_iter().map(|(name, _)| name).collect()
}

impl DynamoMetaStore {
    /// The writes that list `new` (every entry, its fields as `new` has them) and take `old` off
    /// the entries `new` has no more.
    pub(super) fn relist(&self, old: Option<&AssetRecord>, new: Option<&AssetRecord>) -> StoreResult<Vec<Write>> {
        let kept: Vec<String> = new.map(entry_names).unwrap_or_default();
        let mut writes = Vec::new();
        if let Some(old) = old {
            for name in entry_names(old).into_iter().filter(|name| !kept.contains(name)) {
                writes.push(Write::delete(&self.table, keys::entry(&old.public_id, &name), None, Item::new())?);
            }
        }
        for (_, item) in new.map(entry_items).unwrap_or_default() {
            writes.push(Write::put(&self.table, item, None, Item::new())?);
        }
        Ok(writes)
    }

    /// The write that adds to the storage counters `public_id` counts in.
    fn count_storage(
        &self,
        owner_id: &str,
        public_id: &str,
        assets: i64,
        original: i64,
        derived: i64,
    ) -> StoreResult<Write> {
        Write::update(
            &self.table,
            keys::storage(owner_id, public_id),
            "ADD asset_count :a, original_bytes :o, derived_bytes :d SET owner_id = :owner",
            None,
            values([(":a", n(assets)), (":o", n(original)), (":d", n(derived)), (":owner", s(owner_id))]),
        )
    }

    /// The writes that move the storage counters from `old` to `new` (either may be absent).
    fn recount(&self, old: Option<&AssetRecord>, new: Option<&AssetRecord>) -> StoreResult<Vec<Write>> {
        let share = |a: &AssetRecord, sign: i64| (sign, a.bytes as i64 * sign, a.derived_bytes as i64 * sign);
        match (old, new) {
            // One write per item: the same owner's counters move by the difference.
            (Some(old), Some(new)) if old.owner_id == new.owner_id => {
                let (a, o, d) = share(old, -1);
                let (a2, o2, d2) = share(new, 1);
                Ok(vec![self.count_storage(&new.owner_id, &new.public_id, a + a2, o + o2, d + d2)?])
            }
            _ => {
                let mut writes = Vec::new();
                for (asset, sign) in [(old, -1), (new, 1)] {
                    if let Some(a) = asset {
                        let (count, original, derived) = share(a, sign);
                        writes.push(self.count_storage(&a.owner_id, &a.public_id, count, original, derived)?);
                    }
                }
                Ok(writes)
            }
        }
    }

    /// Reads the asset and runs the writes `change` makes of it as one transaction, whose first
    /// write is conditioned on the asset being as read (`change` says how); reads again and
    /// retries when the asset changed meanwhile. `change` returns `Err(outcome)` to write nothing
    /// and answer `outcome`; a transaction that went through answers `done`.
    async fn change_asset<T>(
        &self,
        public_id: &str,
        change: impl Fn(Option<AssetRecord>) -> StoreResult<Result<Vec<Write>, T>>,
        done: T,
    ) -> StoreResult<T> {
        for _ in 0..MAX_ATTEMPTS {
            let current = self.asset(public_id).await?;
            let writes = match change(current)? {
                Ok(writes) => writes,
                Err(outcome) => return Ok(outcome),
            };
            if self.transact(writes, None).await?.is_ok() {
                return Ok(done);
            }
        }
        Err(StoreError { backend: "dynamodb", message: format!("asset {public_id} kept changing") })
    }

    /// One listing page from the partition `partition` of the entries, newest first from the
    /// cursor, the entries checked against `residual` on the server.
    async fn read_entries(
        &self,
        partition: Partition<'_>,
        plan: &listing::Plan,
        q: &AssetQuery,
    ) -> StoreResult<AssetPage> {
        let (filter, filter_values) = residual_filter(&plan.residual);
        let mut query = self.query_index(partition).scan_index_forward(false).set_filter_expression(filter.clone());
        for (name, value) in filter_values {
            query = query.expression_attribute_values(name, value);
        }
        if let Some(after) = &q.after {
            let mut start = keys::entry(&after.public_id, &plan.entry);
            start.extend(partition.entry(sort_key(after.created_at, &after.public_id)));
            query = query.set_exclusive_start_key(Some(start));
        }
        // Without a filter every entry read is a match: one more than asked says whether a page
        // follows. With one, the page's budget.
        let read = if filter.is_some() { listing::budget(q.limit) } else { q.limit + 1 };
        let output = self.query_counted(query.limit(read.min(1000) as i32)).await?;
        let mut positions = output.items().iter().map(entry_position).collect::<StoreResult<Vec<_>>>()?;
        let mut next = None;
        if positions.len() > q.limit {
            positions.truncate(q.limit);
            next = positions.last().cloned();
        } else if let Some(last) = output.last_evaluated_key() {
            next = last.get(&partition.sk()).and_then(|v| v.as_s().ok()).and_then(|sort| keys::position(sort));
        }
        Ok(AssetPage { assets: self.assets_at(&positions).await?, next })
    }

    /// The page of a narrow prefix (see `listing::MAX_PREFIX_RANGE`) from its id entries, sorted;
    /// `None` when the prefix is wider.
    async fn read_prefix_range(&self, prefix: &str, q: &AssetQuery) -> StoreResult<Option<AssetPage>> {
        let ids = Partition::Ids;
        let residual = AssetQuery { prefix: None, ..q.clone() };
        let (filter, filter_values) = residual_filter(&residual);
        let mut query = self
            .query_index(ids)
            .key_condition_expression(format!("{} = :pk AND begins_with({}, :prefix)", ids.pk(), ids.sk()))
            .expression_attribute_values(":prefix", s(prefix))
            .set_filter_expression(filter)
            .limit(listing::MAX_PREFIX_RANGE as i32 + 1);
        for (name, value) in filter_values {
            query = query.expression_attribute_values(name, value);
        }
        let output = self.query_counted(query).await?;
        if output.last_evaluated_key().is_some() {
            return Ok(None);
        }
        let mut positions = output.items().iter().map(entry_position).collect::<StoreResult<Vec<_>>>()?;
        positions.sort_by(|a, b| (b.created_at, &b.public_id).cmp(&(a.created_at, &a.public_id)));
        if let Some(after) = &q.after {
            positions.retain(|p| (p.created_at, &p.public_id) < (after.created_at, &after.public_id));
        }
        let mut next = None;
        if positions.len() > q.limit {
            positions.truncate(q.limit);
            next = positions.last().cloned();
        }
        Ok(Some(AssetPage { assets: self.assets_at(&positions).await?, next }))
    }

    /// The assets at `positions`, in their order, read together; one deleted meanwhile is left out.
    async fn assets_at(&self, positions: &[AssetCursor]) -> StoreResult<Vec<AssetRecord>> {
        let mut found: HashMap<String, AssetRecord> = HashMap::with_capacity(positions.len());
        for chunk in positions.chunks(100) {
            let mut keys: Vec<Item> = chunk.iter().map(|p| keys::asset(&p.public_id)).collect();
            for _ in 0..MAX_ATTEMPTS {
                if keys.is_empty() {
                    break;
                }
                let request =
                    KeysAndAttributes::builder().set_keys(Some(keys)).consistent_read(true).build().map_err(err)?;
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(err)?;
                self.reads.count_batch(output.consumed_capacity());
                for item in output.responses().and_then(|r| r.get(&self.table)).into_iter().flatten() {
                    let asset = asset_from(item)?;
                    found.insert(asset.public_id.clone(), asset);
                }
                keys = output
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .map(|k| k.keys().to_vec())
                    .unwrap_or_default();
            }
            if !keys.is_empty() {
                return Err(StoreError { backend: "dynamodb", message: "assets of a page left unread".into() });
            }
        }
        Ok(positions.iter().filter_map(|p| found.remove(&p.public_id)).collect())
    }
}

/// The condition that the asset is still `old`, as read: the same version, and no variant counted
/// since (the storage counters then move by exactly what `old` held).
fn as_read(old: &AssetRecord) -> (&'static str, Item) {
    ("version = :v AND derived_bytes = :d", values([(":v", n(old.version)), (":d", n(old.derived_bytes))]))
}

/// The filters of `residual` as a filter expression on entries, with its values.
fn residual_filter(residual: &AssetQuery) -> (Option<String>, Item) {
    let mut filters = Vec::new();
    let mut values = Item::new();
    if let Some(owner) = &residual.owner_id {
        filters.push("owner_id = :owner");
        values.insert(":owner".into(), s(owner));
    }
    if let Some(folder) = &residual.folder {
        filters.push("folder = :folder");
        values.insert(":folder".into(), s(folder));
    }
    if let Some(tag) = &residual.tag {
        filters.push("contains(tags, :tag)");
        values.insert(":tag".into(), s(tag));
    }
    if let Some(visibility) = residual.visibility {
        filters.push("visibility = :visibility");
        values.insert(":visibility".into(), s(visibility.as_str()));
    }
    if let Some(prefix) = &residual.prefix {
        filters.push("begins_with(public_id, :prefix)");
        values.insert(":prefix".into(), s(prefix));
    }
    ((!filters.is_empty()).then(|| filters.join(" AND ")), values)
}

#[async_trait]
impl AssetStore for DynamoMetaStore {
    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn asset(&self, public_id: &str) -> StoreResult<Option<AssetRecord>> {
        self.get(keys::asset(public_id)).await?.as_ref().map(asset_from).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn create_asset(&self, a: &AssetRecord) -> StoreResult<Created> {
        let mut writes = vec![
            Write::put(&self.table, asset_item(a), Some("attribute_not_exists(PK)"), Item::new())?,
            Write::delete(&self.table, keys::garbage(&a.blob_id), None, Item::new())?,
        ];
        writes.extend(self.relist(None, Some(a))?);
        writes.extend(self.recount(None, Some(a))?);
        Ok(match self.transact(writes, None).await? {
            Ok(()) => Created::Created,
            Err(_) => Created::AlreadyExists,
        })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn create_assets(&self, assets: &[AssetRecord]) -> StoreResult<Vec<Created>> {
        // One transaction each (an asset's writes take up to 40 of the 100 one may hold), 16 at once.
        let mut outcomes = Vec::with_capacity(assets.len());
        for chunk in assets.chunks(16) {
            let creates: Vec<_> = chunk.iter().map(|a| self.create_asset(a)).collect();
            outcomes.extend(futures_util::future::try_join_all(creates).await?);
        }
        Ok(outcomes)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn replace_asset(&self, a: &AssetRecord, expected_version: i64, old_blob_id: &str) -> StoreResult<Swapped> {
        let change = |current: Option<AssetRecord>| {
            let Some(old) = current.filter(|old| old.version == expected_version) else {
                return Ok(Err(Swapped::Stale));
            };
            let (condition, as_read) = as_read(&old);
            let mut writes = vec![
                Write::put(&self.table, asset_item(a), Some(condition), as_read)?,
                Write::delete(&self.table, keys::garbage(&a.blob_id), None, Item::new())?,
                Write::put(&self.table, garbage_item(old_blob_id, a.updated_at), None, Item::new())?,
            ];
            writes.extend(self.relist(Some(&old), Some(a))?);
            writes.extend(self.recount(Some(&old), Some(a))?);
            Ok(Ok(writes))
        };
        self.change_asset(&a.public_id, change, Swapped::Swapped).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn update_asset_meta(&self, a: &AssetRecord) -> StoreResult<Option<AssetRecord>> {
        let change = |current: Option<AssetRecord>| {
            let Some(old) = current else { return Ok(Err(false)) };
            let new = AssetRecord {
                tags: a.tags.clone(),
                folder: a.folder.clone(),
                visibility: a.visibility,
                updated_at: a.updated_at,
                focal_point: a.focal_point,
                ..old.clone()
            };
            let mut set =
                "SET tags = :tags, folder = :folder, visibility = :visibility, updated_at = :updated".to_owned();
            let mut update_values = values([
                (":tags", AttributeValue::L(new.tags.iter().map(s).collect())),
                (":folder", s(&new.folder)),
                (":visibility", s(new.visibility.as_str())),
                (":updated", n(new.updated_at)),
                // As read: the entries are rewritten from these.
                (":v", n(old.version)),
                (":old_tags", AttributeValue::L(old.tags.iter().map(s).collect())),
                (":old_folder", s(&old.folder)),
                (":old_visibility", s(old.visibility.as_str())),
            ]);
            match json_attribute(new.focal_point.as_ref()) {
                Some(point) => {
                    update_values.insert(":focal".to_owned(), point);
                    set.push_str(", focal_point = :focal");
                }
                None => set.push_str(" REMOVE focal_point"),
            }
            let condition =
                "version = :v AND tags = :old_tags AND folder = :old_folder AND visibility = :old_visibility";
            let mut writes =
                vec![Write::update(&self.table, keys::asset(&old.public_id), &set, Some(condition), update_values)?];
            writes.extend(self.relist(Some(&old), Some(&new))?);
            Ok(Ok(writes))
        };
        if self.change_asset(&a.public_id, change, true).await? {
            self.asset(&a.public_id).await
        } else {
            Ok(None)
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn delete_asset(
        &self,
        public_id: &str,
        expected_version: i64,
        blob_id: &str,
        now: i64,
    ) -> StoreResult<Swapped> {
        let change = |current: Option<AssetRecord>| {
            let Some(old) = current.filter(|old| old.version == expected_version) else {
                return Ok(Err(Swapped::Stale));
            };
            let (condition, as_read) = as_read(&old);
            let mut writes = vec![
                Write::delete(&self.table, keys::asset(public_id), Some(condition), as_read)?,
                Write::put(&self.table, garbage_item(blob_id, now), None, Item::new())?,
            ];
            writes.extend(self.relist(Some(&old), None)?);
            writes.extend(self.recount(Some(&old), None)?);
            Ok(Ok(writes))
        };
        self.change_asset(public_id, change, Swapped::Swapped).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn list_assets(&self, q: &AssetQuery) -> StoreResult<AssetPage> {
        if let Some(prefix) = &q.prefix {
            if listing::prefix_range(prefix).is_none() {
                return Ok(AssetPage { assets: Vec::new(), next: None });
            }
            if let Some(page) = self.read_prefix_range(prefix, q).await? {
                return Ok(page);
            }
        }
        // The first plan: counting a facet here would cost as much as reading it.
        let plan = listing::plans(q).swap_remove(0);
        let partition = match q.owner_id {
            Some(_) => Partition::OwnFacet(&plan.facet),
            None => Partition::Facet(&plan.facet),
        };
        self.read_entries(partition, &plan, q).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn add_variant(&self, asset: &AssetRecord, bytes: u64, caps: VariantCaps) -> StoreResult<VariantAdded> {
        let asset_key = keys::asset(&asset.public_id);
        // `derived_bytes + bytes <= max` as `derived_bytes <= max - bytes`: negative when the
        // variant alone is over the cap, which no item passes.
        let room = i128::from(caps.max_bytes) - i128::from(bytes);
        let writes = vec![
            Write::update(
                &self.table,
                asset_key.clone(),
                "ADD derived_bytes :b, variants :one",
                Some(
                    "blob_id = :blob AND (attribute_not_exists(variants) OR variants < :max_variants) \
                     AND derived_bytes <= :room",
                ),
                values([
                    (":b", n(bytes)),
                    (":one", n(1)),
                    (":blob", s(&asset.blob_id)),
                    (":max_variants", n(caps.max_variants)),
                    (":room", n(room)),
                ]),
            )?,
            self.count_storage(&asset.owner_id, &asset.public_id, 0, 0, bytes as i64)?,
        ];
        if self.transact(writes, None).await?.is_ok() {
            return Ok(VariantAdded::Stored);
        }
        // Refused: the item says whether the version is gone or full; a version's counts only
        // grow and a blob id names one version only, so reading it after is as good as during.
        Ok(match self.get(asset_key).await?.and_then(|i| opt_s(&i, "blob_id")) {
            Some(current) if current == asset.blob_id => VariantAdded::Full,
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
