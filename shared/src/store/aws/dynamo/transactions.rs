//! Writes of several items as one transaction, and which of their conditions refused it.

use super::*;

/// One write of a transaction, with its condition and values.
pub(super) struct Write {
    item: TransactWriteItem,
}

/// A transaction write from its builder: the condition and values set (values only when there are
/// any, as DynamoDB refuses an empty map), built, and wrapped as the `$kind` of a write.
macro_rules! conditional_write {
    ($builder:expr, $kind:ident, $condition:expr, $values:expr) => {{
        let built = $builder
            .set_condition_expression($condition.map(str::to_owned))
            .set_expression_attribute_values((!$values.is_empty()).then_some($values))
            .build()
            .map_err(err)?;
        Ok(Self { item: TransactWriteItem::builder().$kind(built).build() })
    }};
}

impl Write {
    pub(super) fn put(table: &str, item: Item, condition: Option<&str>, values: Item) -> StoreResult<Self> {
        conditional_write!(Put::builder().table_name(table).set_item(Some(item)), put, condition, values)
    }

    pub(super) fn delete(table: &str, key: Item, condition: Option<&str>, values: Item) -> StoreResult<Self> {
        conditional_write!(Delete::builder().table_name(table).set_key(Some(key)), delete, condition, values)
    }

    pub(super) fn update(
        table: &str,
        key: Item,
        expression: &str,
        condition: Option<&str>,
        values: Item,
    ) -> StoreResult<Self> {
        let builder = Update::builder().table_name(table).set_key(Some(key)).update_expression(expression);
        conditional_write!(builder, update, condition, values)
    }

    /// Names for reserved words in the write's expressions (`#role` for `role`).
    pub(super) fn with_names(mut self, names: &[(&str, &str)]) -> Self {
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
pub(super) struct Refused(Vec<bool>);

impl Refused {
    pub(super) fn at(&self, index: usize) -> bool {
        self.0.get(index).copied().unwrap_or(false)
    }
}

impl DynamoMetaStore {
    /// Runs the writes as one transaction. `Ok(Err(refused))` when a condition failed; a conflict
    /// with another transaction is retried.
    pub(super) async fn transact(&self, writes: Vec<Write>, token: Option<String>) -> StoreResult<Result<(), Refused>> {
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
}
