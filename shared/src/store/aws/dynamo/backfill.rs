//! Brings a table an earlier release wrote up to this one, resumably: the listing entries of the
//! assets stored before them, without the index attributes asset items no longer carry, and the
//! storage counters recounted.

use super::*;

/// The backfill of listing entries and storage counters (2026-12).
const LISTING: &str = "listing-2026-12";

/// The index attributes earlier releases listed asset items by (owner, folder, everything).
const OLD_INDEX_ATTRIBUTES: &str = "GSI1PK, GSI1SK, GSI2PK, GSI2SK, GSI3PK, GSI3SK";

impl DynamoMetaStore {
    /// Runs the backfill unless it is done. It reads the table page by page and records after
    /// each page where it got, so that an interrupted run goes on from there; items this release
    /// wrote are left as they are. Returns the assets it listed.
    pub async fn backfill(&self) -> StoreResult<u64> {
        let progress = self.get(keys::backfill(LISTING)).await?;
        if progress.as_ref().and_then(|p| p.get("done")).and_then(|v| v.as_bool().ok()) == Some(&true) {
            return Ok(0);
        }
        let mut start: Option<Item> =
            progress.and_then(|p| p.get("position").and_then(|v| v.as_m().ok()).cloned()).filter(|p| !p.is_empty());
        let mut listed = 0;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("SK = :asset")
                .expression_attribute_values(":asset", s("ASSET"))
                .set_exclusive_start_key(start.take())
                .limit(500)
                .send()
                .await
                .map_err(err)?;
            for item in page.items() {
                listed += u64::from(self.backfill_asset(item.clone()).await?);
            }
            let Some(last) = page.last_evaluated_key else { break };
            self.save_progress(AttributeValue::M(last.clone()), false).await?;
            tracing::info!(listed, "listing the assets stored before listings were indexed");
            start = Some(last);
        }
        self.recount_storage().await?;
        self.save_progress(AttributeValue::M(Item::new()), true).await?;
        Ok(listed)
    }

    async fn save_progress(&self, position: AttributeValue, done: bool) -> StoreResult<()> {
        let mut item = keys::backfill(LISTING);
        item.extend([("position".to_owned(), position), ("done".to_owned(), AttributeValue::Bool(done))]);
        self.put_item(item).send().await.map(drop).map_err(err)
    }

    /// Lists one asset item an earlier release wrote, in one transaction with dropping its old
    /// index attributes, unless it changed meanwhile (then it is read again); whether it did.
    async fn backfill_asset(&self, mut item: Item) -> StoreResult<bool> {
        for _ in 0..MAX_ATTEMPTS {
            if !item.contains_key("GSI3PK") {
                return Ok(false);
            }
            let asset = asset_from(&item)?;
            let mut writes = vec![Write::update(
                &self.table,
                keys::asset(&asset.public_id),
                &format!("REMOVE {OLD_INDEX_ATTRIBUTES}"),
                Some("version = :v AND tags = :tags AND folder = :folder AND visibility = :visibility"),
                values([
                    (":v", n(asset.version)),
                    (":tags", AttributeValue::L(asset.tags.iter().map(s).collect())),
                    (":folder", s(&asset.folder)),
                    (":visibility", s(asset.visibility.as_str())),
                ]),
            )?];
            writes.extend(self.relist(None, Some(&asset))?);
            if self.transact(writes, None).await?.is_ok() {
                return Ok(true);
            }
            match self.get(keys::asset(&asset.public_id)).await? {
                Some(again) => item = again,
                None => return Ok(false),
            }
        }
        Err(StoreError { backend: "dynamodb", message: "an asset kept changing during the backfill".into() })
    }
}
