//! Presets: one partition, `PRESETS`, with an item per name, so that listing them is one query.

use aws_sdk_dynamodb::types::ReturnValue;

use super::*;

fn preset_from(item: &Item) -> StoreResult<PresetRecord> {
    Ok(PresetRecord {
        name: get_s(item, "name")?,
        transform: get_s(item, "transform")?,
        created_at: get_n(item, "created_at")?,
        updated_at: get_n(item, "updated_at")?,
    })
}

#[async_trait]
impl PresetStore for DynamoMetaStore {
    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn presets(&self) -> StoreResult<Vec<PresetRecord>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(keys::PRESETS))
            .consistent_read(true);
        self.query_all(query).await?.iter().map(preset_from).collect()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn preset(&self, name: &str) -> StoreResult<Option<PresetRecord>> {
        self.get(keys::preset(name)).await?.map(|item| preset_from(&item)).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn put_preset(&self, preset: &PresetRecord) -> StoreResult<(PresetRecord, Created)> {
        // One write whatever was there: the old item (if any) says whether this created it.
        let output = self
            .update_item(keys::preset(&preset.name))
            .update_expression("SET #name = :name, #transform = :transform, updated_at = :updated, created_at = if_not_exists(created_at, :created)")
            .expression_attribute_names("#name", "name")
            .expression_attribute_names("#transform", "transform")
            .set_expression_attribute_values(Some(values([
                (":name", s(&preset.name)),
                (":transform", s(&preset.transform)),
                (":updated", n(preset.updated_at)),
                (":created", n(preset.created_at)),
            ])))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(err)?;
        match output.attributes.filter(|old| !old.is_empty()) {
            Some(old) => {
                Ok((PresetRecord { created_at: get_n(&old, "created_at")?, ..preset.clone() }, Created::AlreadyExists))
            }
            None => Ok((preset.clone(), Created::Created)),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn delete_preset(&self, name: &str) -> StoreResult<bool> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(keys::preset(name)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(err)?;
        Ok(output.attributes.is_some_and(|old| !old.is_empty()))
    }
}
