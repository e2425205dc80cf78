//! The production store: one DynamoDB table (`pk`/`sk`, index `gsi1` on `gsi1pk`/`gsi1sk`,
//! TTL on `expires_at`). A Busgate transaction is one `TransactWriteItems` (one write: the
//! single-item call, which costs half); the cancellation reasons tell which condition failed.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, Put, ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use busgate_domain::store::{validate_transaction, Condition, IndexKey, Item, Key, Store, StoreError, Write};

pub const INDEX_NAME: &str = "gsi1";

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// An SDK error as a store error, with its service detail.
fn sdk_error<E: std::error::Error + 'static, R: std::fmt::Debug + 'static>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> StoreError {
    StoreError::Unavailable(crate::error_chain(e))
}

/// The outcome of a single-item write: a failed condition is `ConditionFailed { index: 0 }`
/// carrying the record as it was (`ReturnValuesOnConditionCheckFailure = ALL_OLD`).
fn single_outcome<O, E, R>(
    r: Result<O, aws_sdk_dynamodb::error::SdkError<E, R>>,
    old: impl Fn(&E) -> Option<&HashMap<String, AttributeValue>>,
) -> Result<(), StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
            let current = e.as_service_error().and_then(&old).filter(|m| !m.is_empty()).map(from_attrs).transpose()?.map(Box::new);
            Err(StoreError::ConditionFailed { index: 0, current })
        }
        Err(e) => Err(sdk_error(&e)),
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key_attrs(key: &Key) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_string(), s(&key.pk)), ("sk".to_string(), s(&key.sk))])
}

fn item_attrs(item: &Item) -> HashMap<String, AttributeValue> {
    let mut m = key_attrs(&item.key);
    m.insert("body".into(), s(&item.body));
    m.insert("ver".into(), n(item.version));
    if let Some(c) = item.count {
        m.insert("cnt".into(), n(c));
    }
    if let Some(ix) = &item.index {
        m.insert("gsi1pk".into(), s(&ix.pk));
        m.insert("gsi1sk".into(), s(&ix.sk));
    }
    if let Some(t) = item.expires_at {
        m.insert("expires_at".into(), n(t));
    }
    m
}

fn from_attrs(m: &HashMap<String, AttributeValue>) -> Result<Item, StoreError> {
    let text = |name: &str| m.get(name).and_then(|v| v.as_s().ok()).cloned();
    let num = |name: &str| -> Result<Option<i64>, StoreError> {
        m.get(name).and_then(|v| v.as_n().ok()).map(|v| v.parse::<i64>().map_err(|e| StoreError::Corrupt(format!("{name}: {e}")))).transpose()
    };
    let key =
        Key::new(text("pk").ok_or_else(|| StoreError::Corrupt("no pk".into()))?, text("sk").ok_or_else(|| StoreError::Corrupt("no sk".into()))?);
    let index = match (text("gsi1pk"), text("gsi1sk")) {
        (Some(pk), Some(sk)) => Some(IndexKey { pk, sk }),
        _ => None,
    };
    Ok(Item {
        key,
        body: text("body").unwrap_or_default(),
        // A record created by a counter alone has no `ver`: version 0, as in every adapter.
        version: num("ver")?.unwrap_or(0) as u64,
        count: num("cnt")?,
        index,
        expires_at: num("expires_at")?,
    })
}

/// A condition as (expression, values).
fn condition_expr(c: Condition) -> (Option<String>, HashMap<String, AttributeValue>) {
    match c {
        Condition::Always => (None, HashMap::new()),
        Condition::Absent => (Some("attribute_not_exists(pk)".into()), HashMap::new()),
        Condition::Exists => (Some("attribute_exists(pk)".into()), HashMap::new()),
        Condition::Version(v) => (Some("ver = :expected_ver".into()), HashMap::from([(":expected_ver".to_string(), n(v))])),
    }
}

fn opt_values(v: HashMap<String, AttributeValue>) -> Option<HashMap<String, AttributeValue>> {
    (!v.is_empty()).then_some(v)
}

/// `ADD cnt :delta`, with the floor as a condition on the current value.
fn count_update(delta: i64, floor: Option<i64>) -> (String, Option<String>, HashMap<String, AttributeValue>) {
    let mut values = HashMap::from([(":delta".to_string(), n(delta))]);
    let cond = floor.map(|f| {
        values.insert(":need".into(), n(f - delta));
        "attribute_exists(pk) AND cnt >= :need".to_string()
    });
    ("ADD cnt :delta".to_string(), cond, values)
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore { client, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table with its index if it does not exist (tests and first runs against an
    /// emulator; in AWS the SAM template owns the table).
    pub async fn ensure_table(&self) -> Result<(), StoreError> {
        if self.client.describe_table().table_name(&self.table).send().await.is_ok() {
            return Ok(());
        }
        let attr =
            |name: &str| AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build().map_err(unavailable);
        let key = |name: &str, t: KeyType| KeySchemaElement::builder().attribute_name(name).key_type(t).build().map_err(unavailable);
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(INDEX_NAME)
            .key_schema(key("gsi1pk", KeyType::Hash)?)
            .key_schema(key("gsi1sk", KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .map_err(unavailable)?;
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .attribute_definitions(attr("gsi1pk")?)
            .attribute_definitions(attr("gsi1sk")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .global_secondary_indexes(gsi)
            .send()
            .await;
        if let Err(e) = created {
            // Another process may have created it in the meantime.
            if !e.as_service_error().is_some_and(|se| se.is_resource_in_use_exception()) {
                return Err(sdk_error(&e));
            }
        }
        Ok(())
    }

    /// Deletes the table (tests).
    pub async fn drop_table(&self) -> Result<(), StoreError> {
        self.client.delete_table().table_name(&self.table).send().await.map(|_| ()).map_err(|e| sdk_error(&e))
    }

    async fn query_pages(&self, index: bool, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        let (pk_name, sk_name) = if index { ("gsi1pk", "gsi1sk") } else { ("pk", "sk") };
        let mut expr = format!("{pk_name} = :pk");
        let mut values = HashMap::from([(":pk".to_string(), s(pk))]);
        if !sk_prefix.is_empty() {
            expr.push_str(&format!(" AND begins_with({sk_name}, :prefix)"));
            values.insert(":prefix".into(), s(sk_prefix));
        }
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(&expr)
                .set_expression_attribute_values(Some(values.clone()))
                .set_exclusive_start_key(start.take());
            q = if index { q.index_name(INDEX_NAME) } else { q.consistent_read(true) };
            let page = q.send().await.map_err(|e| sdk_error(&e))?;
            for m in page.items() {
                out.push(from_attrs(m)?);
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        Ok(out)
    }

    fn transact_item(&self, w: &Write) -> Result<TransactWriteItem, StoreError> {
        let b = TransactWriteItem::builder();
        Ok(match w {
            Write::Put { item, condition } => {
                let (cond, values) = condition_expr(*condition);
                b.put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item_attrs(item)))
                        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                        .set_condition_expression(cond)
                        .set_expression_attribute_values(opt_values(values))
                        .build()
                        .map_err(unavailable)?,
                )
                .build()
            }
            Write::Delete { key, condition } => {
                let (cond, values) = condition_expr(*condition);
                b.delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attrs(key)))
                        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                        .set_condition_expression(cond)
                        .set_expression_attribute_values(opt_values(values))
                        .build()
                        .map_err(unavailable)?,
                )
                .build()
            }
            Write::Check { key, condition } => {
                let (cond, values) = condition_expr(*condition);
                // A ConditionCheck needs an expression; `Always` checks nothing real.
                let cond = cond.unwrap_or_else(|| "attribute_exists(pk) OR attribute_not_exists(pk)".into());
                b.condition_check(
                    ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attrs(key)))
                        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                        .condition_expression(cond)
                        .set_expression_attribute_values(opt_values(values))
                        .build()
                        .map_err(unavailable)?,
                )
                .build()
            }
            Write::Count { key, delta, floor } => {
                let (update, cond, values) = count_update(*delta, *floor);
                b.update(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attrs(key)))
                        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                        .update_expression(update)
                        .set_condition_expression(cond)
                        .set_expression_attribute_values(Some(values))
                        .build()
                        .map_err(unavailable)?,
                )
                .build()
            }
        })
    }

    /// One write without a transaction (half the cost of a transactional write).
    async fn single(&self, w: &Write) -> Result<(), StoreError> {
        match w {
            Write::Put { item, condition } => {
                let (cond, values) = condition_expr(*condition);
                let r = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(item_attrs(item)))
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .set_condition_expression(cond)
                    .set_expression_attribute_values(opt_values(values))
                    .send()
                    .await;
                single_outcome(r, |e| match e {
                    aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => c.item.as_ref(),
                    _ => None,
                })
            }
            Write::Delete { key, condition } => {
                let (cond, values) = condition_expr(*condition);
                let r = self
                    .client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key_attrs(key)))
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .set_condition_expression(cond)
                    .set_expression_attribute_values(opt_values(values))
                    .send()
                    .await;
                single_outcome(r, |e| match e {
                    aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(c) => c.item.as_ref(),
                    _ => None,
                })
            }
            Write::Count { key, delta, floor } => {
                let (update, cond, values) = count_update(*delta, *floor);
                let r = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key_attrs(key)))
                    .update_expression(update)
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .set_condition_expression(cond)
                    .set_expression_attribute_values(Some(values))
                    .send()
                    .await;
                single_outcome(r, |e| match e {
                    aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => c.item.as_ref(),
                    _ => None,
                })
            }
            Write::Check { .. } => unreachable!("a lone check goes through a transaction"),
        }
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let r = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error(&e))?;
        r.item().map(from_attrs).transpose()
    }

    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        self.query_pages(false, pk, sk_prefix).await
    }

    async fn query_index(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = self.query_pages(true, pk, sk_prefix).await?;
        busgate_domain::store::memory::sort_by_index(&mut items);
        Ok(items)
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        validate_transaction(&writes)?;
        if writes.len() == 1 && !matches!(writes[0], Write::Check { .. }) {
            return self.single(&writes[0]).await;
        }
        let items = writes.iter().map(|w| self.transact_item(w)).collect::<Result<Vec<_>, _>>()?;
        let r = self.client.transact_write_items().set_transact_items(Some(items)).send().await;
        match r {
            Ok(_) => Ok(()),
            Err(e) => {
                if let Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c)) =
                    e.as_service_error()
                {
                    let reasons = c.cancellation_reasons();
                    if let Some(index) = reasons.iter().position(|r| r.code() == Some("ConditionalCheckFailed")) {
                        let current = match reasons[index].item() {
                            Some(m) if !m.is_empty() => Some(Box::new(from_attrs(m)?)),
                            // No old image (absent, or an emulator that does not return it): read it.
                            _ => self.get(writes[index].key()).await?.map(Box::new),
                        };
                        return Err(StoreError::ConditionFailed { index, current });
                    }
                    if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
                        return Err(StoreError::Conflict);
                    }
                }
                if e.as_service_error().is_some_and(|se| se.is_transaction_in_progress_exception()) {
                    return Err(StoreError::Conflict);
                }
                Err(sdk_error(&e))
            }
        }
    }
}
