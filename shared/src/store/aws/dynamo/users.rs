//! Users (with the enabled-admin count and the email guard), sessions and API keys.

use super::*;

impl DynamoMetaStore {
    pub(super) async fn user_with_epoch(&self, id: &str) -> StoreResult<Option<(UserRecord, i64)>> {
        self.get(keys::user(id)).await?.as_ref().map(user_from).transpose()
    }

    /// The adjustment of the enabled-admin count by `delta`; a decrease may not reach zero.
    pub(super) fn admin_count(&self, delta: i64) -> StoreResult<Write> {
        let condition = (delta < 0).then_some("n > :one");
        let mut values = values([(":d", n(delta))]);
        if delta < 0 {
            values.insert(":one".to_owned(), n(1));
        }
        Write::update(&self.table, keys::admin_count(), "ADD n :d", condition, values)
    }
}

#[async_trait]
impl UserStore for DynamoMetaStore {
    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn create_user(&self, u: &UserRecord) -> StoreResult<Created> {
        let mut guard = keys::email(&u.email);
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

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn user(&self, id: &str) -> StoreResult<Option<UserRecord>> {
        Ok(self.user_with_epoch(id).await?.map(|(u, _)| u))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        match self.get(keys::email(email)).await? {
            Some(guard) => self.user(&get_s(&guard, "user_id")?).await,
            // Two reads for an unknown email too (of a user id no one has): a failed login's time
            // must not tell which emails have accounts (SPEC §9).
            None => self.user("-").await.map(|_| None),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn users(&self) -> StoreResult<Vec<UserRecord>> {
        let items = self.query_all(self.query_index(Partition::Users)).await?;
        items.iter().map(|i| user_from(i).map(|(u, _)| u)).collect()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn has_users(&self) -> StoreResult<bool> {
        let page = self.query_index(Partition::Users).limit(1).send().await.map_err(err)?;
        Ok(page.count() > 0)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
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
                keys::user(id),
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
                    keys::session(token_hash),
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

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn delete_user(&self, id: &str) -> StoreResult<Result<(), UserRefusal>> {
        for _ in 0..MAX_ATTEMPTS {
            let Some((old, epoch)) = self.user_with_epoch(id).await? else {
                return Ok(Err(UserRefusal::NotFound));
            };
            let mut writes = vec![
                Write::delete(
                    &self.table,
                    keys::user(id),
                    Some("session_epoch = :epoch AND #role = :role AND disabled = :disabled"),
                    values([
                        (":epoch", n(epoch)),
                        (":role", s(old.role.as_str())),
                        (":disabled", AttributeValue::Bool(old.disabled)),
                    ]),
                )?
                .with_names(&[("#role", "role")]),
                Write::delete(&self.table, keys::email(&old.email), None, Item::new())?,
            ];
            if enabled_admin(&old) {
                writes.push(self.admin_count(-1)?);
            }
            match self.transact(writes, None).await? {
                Ok(()) => {
                    // Sessions die with the user (their epoch has no user) and expire by TTL; keys
                    // of a missing user authenticate nobody, and are removed here.
                    for k in self.api_keys_of(id).await? {
                        self.delete_item(keys::api_key(&k.key_id)).await?;
                    }
                    return Ok(Ok(()));
                }
                Err(refused) if refused.at(2) => return Ok(Err(UserRefusal::LastAdmin)),
                Err(_) => {}
            }
        }
        Err(StoreError { backend: "dynamodb", message: format!("user {id} kept changing") })
    }
}

#[async_trait]
impl SessionStore for DynamoMetaStore {
    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn create_session(&self, session: &SessionRecord) -> StoreResult<()> {
        let epoch = self.user_with_epoch(&session.user_id).await?.map_or(0, |(_, e)| e);
        let mut item = keys::session(&session.token_hash);
        item.extend([
            ("token_hash".to_owned(), s(&session.token_hash)),
            ("user_id".to_owned(), s(&session.user_id)),
            ("created_at".to_owned(), n(session.created_at)),
            ("last_seen_at".to_owned(), n(session.last_seen_at)),
            ("expires_at".to_owned(), n(session.expires_at)),
            ("epoch".to_owned(), n(epoch)),
            ("ttl".to_owned(), n(session.expires_at.div_euclid(1000) + 1)),
        ]);
        self.put_item(item).send().await.map(drop).map_err(err)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn session(&self, token_hash: &str) -> StoreResult<Option<(SessionRecord, UserRecord)>> {
        let Some(item) = self.get(keys::session(token_hash)).await? else {
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

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn touch_session(&self, token_hash: &str, last_seen_at: i64) -> StoreResult<()> {
        self.update_ignoring_absent(
            keys::session(token_hash),
            "SET last_seen_at = :t",
            values([(":t", n(last_seen_at))]),
        )
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        self.delete_item(keys::session(token_hash)).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn purge_expired(&self, _now: i64) -> StoreResult<()> {
        // Sessions carry a TTL; DynamoDB removes them, and expired ones are refused when read.
        Ok(())
    }
}

#[async_trait]
impl ApiKeyStore for DynamoMetaStore {
    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn create_api_key(&self, k: &ApiKeyRecord) -> StoreResult<Created> {
        let result = self.put_item(api_key_item(k)).condition_expression("attribute_not_exists(PK)").send().await;
        Ok(match unless_refused(result)? {
            Some(_) => Created::Created,
            None => Created::AlreadyExists,
        })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn api_key(&self, key_id: &str) -> StoreResult<Option<ApiKeyRecord>> {
        self.get(keys::api_key(key_id)).await?.as_ref().map(api_key_from).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn api_keys_of(&self, owner_id: &str) -> StoreResult<Vec<ApiKeyRecord>> {
        let query = self.query_index(Partition::KeysOf(owner_id)).scan_index_forward(false);
        self.query_all(query).await?.iter().map(api_key_from).collect()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn revoke_api_key(&self, key_id: &str, at: i64) -> StoreResult<Option<ApiKeyRecord>> {
        let result = self
            .update_item(keys::api_key(key_id))
            .update_expression("SET revoked_at = :at")
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(revoked_at)")
            .expression_attribute_values(":at", n(at))
            .send()
            .await;
        // Refused when already revoked (or absent): the stored key answers either way.
        unless_refused(result)?;
        self.api_key(key_id).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "dynamodb"))]
    async fn touch_api_key(&self, key_id: &str, last_used_at: i64) -> StoreResult<()> {
        self.update_ignoring_absent(keys::api_key(key_id), "SET last_used_at = :t", values([(":t", n(last_used_at))]))
            .await
    }
}
