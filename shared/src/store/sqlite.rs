//! The metadata store on SQLite (bundled) in WAL mode: one writer connection, a few readers, every
//! call on the blocking pool. Multi-record changes are one transaction each.

use std::{
    collections::HashMap,
    path::Path,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
};

use async_trait::async_trait;
use rusqlite::{
    params, params_from_iter,
    types::{FromSql, FromSqlError, FromSqlResult, Value, ValueRef},
    Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior,
};

use super::*;
use crate::{
    domain::{Role, Visibility},
    media::Format,
};

const READERS: usize = 4;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT,
    role TEXT NOT NULL,
    disabled INTEGER NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_id);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS api_keys_by_owner ON api_keys (owner_id, created_at);
CREATE TABLE IF NOT EXISTS assets (
    public_id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    folder TEXT NOT NULL,
    tags TEXT NOT NULL,
    visibility TEXT NOT NULL,
    format TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    has_alpha INTEGER NOT NULL,
    has_master INTEGER NOT NULL,
    derived_bytes INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    original_filename TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    blob_id TEXT NOT NULL,
    variants INTEGER NOT NULL DEFAULT 0,
    focal_point TEXT,
    analysis TEXT
);
-- Each asset under each of its facets (see `store::listing`), in the newest-first order.
CREATE TABLE IF NOT EXISTS listing (
    facet TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    public_id TEXT NOT NULL,
    PRIMARY KEY (facet, created_at, public_id)
) WITHOUT ROWID;
-- How many assets each facet lists, kept with it: a query of several filters reads the smallest.
CREATE TABLE IF NOT EXISTS facet_sizes (
    facet TEXT PRIMARY KEY,
    assets INTEGER NOT NULL
) WITHOUT ROWID;
-- What each owner stores, kept in the same transaction as every change of their assets.
CREATE TABLE IF NOT EXISTS storage_usage (
    owner_id TEXT PRIMARY KEY,
    asset_count INTEGER NOT NULL,
    original_bytes INTEGER NOT NULL,
    derived_bytes INTEGER NOT NULL
);
-- Backfills of what an earlier release did not keep, and how far each got.
CREATE TABLE IF NOT EXISTS backfills (
    name TEXT PRIMARY KEY,
    position TEXT NOT NULL,
    done INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS traffic (
    owner_id TEXT NOT NULL,
    period TEXT NOT NULL,
    bandwidth_bytes INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    PRIMARY KEY (owner_id, period)
);
CREATE TABLE IF NOT EXISTS blob_garbage (
    blob_id TEXT PRIMARY KEY,
    due_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS blob_garbage_due ON blob_garbage (due_at);
CREATE TABLE IF NOT EXISTS presets (
    name TEXT PRIMARY KEY,
    transform TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
";

struct Pool {
    asset_rows: RowCache<AssetRecord>,
    /// `t_` deliveries read their preset on every request; an unknown name is kept too.
    presets: RowCache<Option<PresetRecord>>,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

pub struct SqliteMetaStore {
    pool: Arc<Pool>,
}

const MAX_CACHED_ROWS: usize = 10_000;

/// Rows read through memory, by key, for the delivery hot path (asset rows, presets). The
/// embedded store belongs to one server process, so every write invalidates exactly; a generation
/// counter keeps a read that raced a write from caching the row it read before the write.
struct RowCache<T> {
    state: Mutex<(u64, HashMap<String, T>)>,
}

impl<T> Default for RowCache<T> {
    fn default() -> Self {
        Self { state: Mutex::default() }
    }
}

impl<T: Clone> RowCache<T> {
    /// The cached row, or the generation to offer a fresh read under.
    fn get(&self, key: &str) -> Result<T, u64> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.1.get(key).cloned().ok_or(state.0)
    }

    fn offer(&self, generation: u64, key: &str, row: &T) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.0 == generation {
            if state.1.len() >= MAX_CACHED_ROWS {
                state.1.clear();
            }
            state.1.insert(key.to_owned(), row.clone());
        }
    }

    /// Called after every committed write to the row.
    fn forget(&self, key: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.1.remove(key);
        state.0 += 1;
    }
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError { backend: "sqlite", message: e.to_string() }
}

fn open(path: &Path, flags: OpenFlags) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // FULL: a committed upload survives a power cut, not only a crash of the process.
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    Ok(conn)
}

impl SqliteMetaStore {
    pub fn open(path: &Path) -> StoreResult<Self> {
        let mut writer = open(path, OpenFlags::default()).map_err(err)?;
        let unlisted = has_table(&writer, "assets").map_err(err)? && !has_table(&writer, "listing").map_err(err)?;
        writer.execute_batch(SCHEMA).map_err(err)?;
        migrate(&writer, unlisted).map_err(err)?;
        backfill(&mut writer).map_err(err)?;
        let readers = (0..READERS)
            .map(|_| open(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX).map(Mutex::new))
            .collect::<rusqlite::Result<_>>()
            .map_err(err)?;
        let pool = Pool {
            asset_rows: RowCache::default(),
            presets: RowCache::default(),
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        };
        Ok(Self { pool: Arc::new(pool) })
    }

    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let i = pool.next_reader.fetch_add(1, Ordering::Relaxed) % pool.readers.len();
            let conn = pool.readers[i].lock().unwrap_or_else(|p| p.into_inner());
            f(&conn)
        })
        .await
        .map_err(err)?
        .map_err(err)
    }

    /// A write to one asset's row; its cached copy is forgotten once the write is over, inside the
    /// blocking task, so that a cancelled request cannot forget it before the commit.
    async fn write_asset<T, F>(&self, public_id: &str, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.write_forgetting(|pool| &pool.asset_rows, public_id, f).await
    }

    /// A write to the row `key` of the cache `rows` picks, forgotten as in [`Self::write_asset`].
    async fn write_forgetting<R, T, F>(&self, rows: fn(&Pool) -> &RowCache<R>, key: &str, f: F) -> StoreResult<T>
    where
        R: Clone + 'static,
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (pool, key) = (self.pool.clone(), key.to_owned());
        self.write(move |c| {
            let result = f(c);
            rows(&pool).forget(&key);
            result
        })
        .await
    }

    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.writer.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(err)?
        .map_err(err)
    }
}

fn has_table(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n > 0)
}

/// The backfill of the listing facets and storage counters of assets stored before them.
const LISTING_BACKFILL: &str = "listing-2026-12";

/// Assets a backfill step lists in one transaction.
const BACKFILL_BATCH: usize = 5_000;

/// Brings a database made by an earlier release to `SCHEMA` (whose `CREATE TABLE IF NOT EXISTS`
/// leaves existing tables as they are): each step adds what is missing, so it runs at every start.
/// `unlisted`: the database has assets but had no listing, which [`backfill`] then makes.
fn migrate(conn: &Connection, unlisted: bool) -> rusqlite::Result<()> {
    let has_column = |table: &str, column: &str| {
        conn.query_row("SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = ?2", params![table, column], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n > 0)
    };
    // 2026-12: stored variants are counted per asset (their caps).
    if !has_column("assets", "variants")? {
        conn.execute_batch("ALTER TABLE assets ADD COLUMN variants INTEGER NOT NULL DEFAULT 0")?;
    }
    // 2026-12: focal points and what uploads find (SPEC §14); NULL for assets stored before.
    for column in ["focal_point", "analysis"] {
        if !has_column("assets", column)? {
            conn.execute_batch(&format!("ALTER TABLE assets ADD COLUMN {column} TEXT"))?;
        }
    }
    // 2026-12: listings read facets and the usage reads counters; the indexes they replace go.
    conn.execute_batch("DROP INDEX IF EXISTS assets_newest; DROP INDEX IF EXISTS assets_by_owner_newest;")?;
    if unlisted {
        conn.execute("INSERT OR IGNORE INTO backfills (name, position, done) VALUES (?1, '', 0)", [LISTING_BACKFILL])?;
    }
    Ok(())
}

/// Lists the assets of an unfinished backfill in batches, each one transaction that records how
/// far it got, so that a start interrupted halfway goes on from there; the storage counters are
/// recounted with the last batch.
fn backfill(conn: &mut Connection) -> rusqlite::Result<()> {
    let total: i64 = conn.query_row("SELECT COUNT(*) FROM assets", [], |r| r.get(0))?;
    let mut listed = 0;
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let position: Option<String> = tx
            .query_row("SELECT position FROM backfills WHERE name = ?1 AND done = 0", [LISTING_BACKFILL], |r| r.get(0))
            .optional()?;
        let Some(position) = position else { return Ok(()) };
        let batch = tx
            .prepare("SELECT * FROM assets WHERE public_id > ?1 ORDER BY public_id LIMIT ?2")?
            .query_map(params![position, BACKFILL_BATCH as i64], asset_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for asset in &batch {
            set_listed(&tx, asset, true)?;
        }
        match batch.last() {
            Some(last) => {
                tx.execute("UPDATE backfills SET position = ?2 WHERE name = ?1", [LISTING_BACKFILL, &last.public_id])?;
            }
            None => {
                recount_storage(&tx)?;
                tx.execute("UPDATE backfills SET done = 1 WHERE name = ?1", [LISTING_BACKFILL])?;
            }
        }
        tx.commit()?;
        listed += batch.len();
        if !batch.is_empty() {
            tracing::info!(listed, total, "listing the assets stored before listings were indexed");
        }
    }
}

/// Lists `asset` under each of its facets, or takes it off them, counting each facet's size.
fn set_listed(tx: &Connection, asset: &AssetRecord, listed: bool) -> rusqlite::Result<()> {
    let mut entry = tx.prepare_cached(if listed {
        "INSERT OR IGNORE INTO listing (facet, created_at, public_id) VALUES (?1, ?2, ?3)"
    } else {
        "DELETE FROM listing WHERE facet = ?1 AND created_at = ?2 AND public_id = ?3"
    })?;
    let mut size = tx.prepare_cached(
        "INSERT INTO facet_sizes (facet, assets) VALUES (?1, ?2)
         ON CONFLICT (facet) DO UPDATE SET assets = assets + ?2",
    )?;
    for facet in listing::facets(asset) {
        if entry.execute(params![facet, asset.created_at, asset.public_id])? > 0 {
            size.execute(params![facet, if listed { 1 } else { -1 }])?;
        }
    }
    Ok(())
}

/// Adds `asset` to its owner's storage counters (`sign` 1), or takes it off them (`sign` -1).
fn count_storage(tx: &Connection, asset: &AssetRecord, sign: i64) -> rusqlite::Result<()> {
    add_storage(tx, &asset.owner_id, sign, sign * asset.bytes as i64, sign * asset.derived_bytes as i64)
}

fn add_storage(tx: &Connection, owner_id: &str, assets: i64, original: i64, derived: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO storage_usage (owner_id, asset_count, original_bytes, derived_bytes) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (owner_id) DO UPDATE SET asset_count = asset_count + ?2,
             original_bytes = original_bytes + ?3, derived_bytes = derived_bytes + ?4",
    )?
    .execute(params![owner_id, assets, original, derived])
    .map(drop)
}

fn storage_from_row(r: &Row) -> rusqlite::Result<Storage> {
    Ok(Storage {
        owner_id: r.get(0)?,
        asset_count: r.get::<_, i64>(1)? as u64,
        original_bytes: r.get::<_, i64>(2)? as u64,
        derived_bytes: r.get::<_, i64>(3)? as u64,
    })
}

/// Sets the storage counters to what the asset records sum to; returns the owners whose counters
/// were off.
fn recount_storage(tx: &Connection) -> rusqlite::Result<Vec<StorageDrift>> {
    let read = |sql: &str| -> rusqlite::Result<std::collections::BTreeMap<String, Storage>> {
        let mut stmt = tx.prepare(sql)?;
        let rows = stmt.query_map([], storage_from_row)?;
        rows.map(|s| s.map(|s| (s.owner_id.clone(), s))).collect()
    };
    let kept = read("SELECT owner_id, asset_count, original_bytes, derived_bytes FROM storage_usage")?;
    let counted = read("SELECT owner_id, COUNT(*), SUM(bytes), SUM(derived_bytes) FROM assets GROUP BY owner_id")?;
    tx.execute("DELETE FROM storage_usage", [])?;
    for s in counted.values() {
        add_storage(tx, &s.owner_id, s.asset_count as i64, s.original_bytes as i64, s.derived_bytes as i64)?;
    }
    Ok(StorageDrift::between(kept, counted))
}

/// A stored text column as one of our values; a row that holds anything else is corrupt and reads
/// as an error, never as a default.
fn stored<T, E: std::fmt::Display>(value: ValueRef, parse: impl FnOnce(&str) -> Result<T, E>) -> FromSqlResult<T> {
    let text = value.as_str()?;
    parse(text).map_err(|e| FromSqlError::Other(format!("stored value {text:?}: {e}").into()))
}

impl FromSql for Role {
    fn column_result(value: ValueRef) -> FromSqlResult<Self> {
        stored(value, Role::parse)
    }
}

impl FromSql for Visibility {
    fn column_result(value: ValueRef) -> FromSqlResult<Self> {
        stored(value, Visibility::parse)
    }
}

impl FromSql for Format {
    fn column_result(value: ValueRef) -> FromSqlResult<Self> {
        stored(value, |name| Format::from_name(name).ok_or("not a known format"))
    }
}

/// A JSON text column: the `tags` list, a focal point, an analysis.
struct Json<T>(T);

impl<T: serde::de::DeserializeOwned> FromSql for Json<T> {
    fn column_result(value: ValueRef) -> FromSqlResult<Self> {
        stored(value, |json| serde_json::from_str(json)).map(Json)
    }
}

fn user_from_row(row: &Row) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: row.get("id")?,
        email: row.get("email")?,
        name: row.get("name")?,
        role: row.get("role")?,
        disabled: row.get("disabled")?,
        password_hash: row.get("password_hash")?,
        created_at: row.get("created_at")?,
    })
}

fn session_from_row(row: &Row) -> rusqlite::Result<SessionRecord> {
    Ok(SessionRecord {
        token_hash: row.get("token_hash")?,
        user_id: row.get("user_id")?,
        created_at: row.get("created_at")?,
        last_seen_at: row.get("last_seen_at")?,
        expires_at: row.get("expires_at")?,
    })
}

fn api_key_from_row(row: &Row) -> rusqlite::Result<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        key_id: row.get("key_id")?,
        owner_id: row.get("owner_id")?,
        name: row.get("name")?,
        secret_hash: row.get("secret_hash")?,
        created_at: row.get("created_at")?,
        last_used_at: row.get("last_used_at")?,
        revoked_at: row.get("revoked_at")?,
    })
}

fn asset_from_row(row: &Row) -> rusqlite::Result<AssetRecord> {
    Ok(AssetRecord {
        public_id: row.get("public_id")?,
        owner_id: row.get("owner_id")?,
        folder: row.get("folder")?,
        tags: row.get::<_, Json<_>>("tags")?.0,
        visibility: row.get("visibility")?,
        format: row.get("format")?,
        width: row.get("width")?,
        height: row.get("height")?,
        has_alpha: row.get("has_alpha")?,
        has_master: row.get("has_master")?,
        derived_bytes: row.get::<_, i64>("derived_bytes")? as u64,
        variants: row.get::<_, i64>("variants")? as u64,
        bytes: row.get::<_, i64>("bytes")? as u64,
        original_filename: row.get("original_filename")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        version: row.get("version")?,
        blob_id: row.get("blob_id")?,
        focal_point: row.get::<_, Option<Json<_>>>("focal_point")?.map(|j| j.0),
        analysis: row.get::<_, Option<Json<_>>>("analysis")?.map(|j| j.0),
    })
}

fn enabled_admins(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0", [], |r| r.get(0))
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

fn created(result: rusqlite::Result<usize>) -> rusqlite::Result<Created> {
    match result {
        Ok(_) => Ok(Created::Created),
        Err(e) if is_unique_violation(&e) => Ok(Created::AlreadyExists),
        Err(e) => Err(e),
    }
}

/// Inserts the asset unless its public_id exists, with its listing and its storage counted, and
/// takes its blob off the garbage list.
fn insert_asset(tx: &Connection, a: &AssetRecord) -> rusqlite::Result<Created> {
    let outcome = created(tx.prepare_cached(INSERT_ASSET)?.execute(params_from_iter(asset_params(a))))?;
    if outcome == Created::Created {
        tx.execute("DELETE FROM blob_garbage WHERE blob_id = ?1", [&a.blob_id])?;
        set_listed(tx, a, true)?;
        count_storage(tx, a, 1)?;
    }
    Ok(outcome)
}

fn read_asset(tx: &Connection, public_id: &str) -> rusqlite::Result<Option<AssetRecord>> {
    tx.prepare_cached("SELECT * FROM assets WHERE public_id = ?1")?.query_row([public_id], asset_from_row).optional()
}

/// Deletes the asset if it has `version`, with its listing and its share of the storage counters;
/// returns it as it was.
fn take_asset(tx: &Connection, public_id: &str, version: i64) -> rusqlite::Result<Option<AssetRecord>> {
    let old = read_asset(tx, public_id)?.filter(|old| old.version == version);
    if let Some(old) = &old {
        tx.execute("DELETE FROM assets WHERE public_id = ?1", [public_id])?;
        set_listed(tx, old, false)?;
        count_storage(tx, old, -1)?;
    }
    Ok(old)
}

const INSERT_ASSET: &str =
    "INSERT INTO assets (public_id, owner_id, folder, tags, visibility, format, width, height, has_alpha,
    has_master, derived_bytes, bytes, original_filename, created_at, updated_at, version, blob_id, variants,
    focal_point, analysis)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)";

/// An optional value as a JSON text column.
fn json_column<T: serde::Serialize>(value: Option<&T>) -> Value {
    value.and_then(|v| serde_json::to_string(v).ok()).map_or(Value::Null, Value::Text)
}

fn asset_params(a: &AssetRecord) -> [Value; 20] {
    [
        a.public_id.clone().into(),
        a.owner_id.clone().into(),
        a.folder.clone().into(),
        serde_json::to_string(&a.tags).unwrap_or_else(|_| "[]".into()).into(),
        a.visibility.as_str().to_owned().into(),
        a.format.name().to_owned().into(),
        i64::from(a.width).into(),
        i64::from(a.height).into(),
        i64::from(a.has_alpha).into(),
        i64::from(a.has_master).into(),
        (a.derived_bytes as i64).into(),
        (a.bytes as i64).into(),
        a.original_filename.clone().map_or(Value::Null, Value::Text),
        a.created_at.into(),
        a.updated_at.into(),
        a.version.into(),
        a.blob_id.clone().into(),
        (a.variants as i64).into(),
        json_column(a.focal_point.as_ref()),
        json_column(a.analysis.as_ref()),
    ]
}

/// One page of a listing (see `store::listing`): a narrow prefix as its sorted key range, else the
/// smallest facet the filters allow, read in order within the page's budget.
fn list_page(c: &Connection, q: &AssetQuery) -> rusqlite::Result<AssetPage> {
    if let Some(prefix) = &q.prefix {
        let Some((start, end)) = listing::prefix_range(prefix) else {
            return Ok(AssetPage { assets: Vec::new(), next: None });
        };
        let width: usize = c
            .prepare_cached(
                "SELECT COUNT(*) FROM (SELECT 1 FROM assets WHERE public_id >= ?1 AND public_id < ?2 LIMIT ?3)",
            )?
            .query_row(params![start, end, listing::MAX_PREFIX_RANGE as i64 + 1], |r| r.get(0))?;
        if width <= listing::MAX_PREFIX_RANGE {
            return read_prefix_range(c, q);
        }
    }
    let mut plans = listing::plans(q);
    if plans.len() > 1 {
        let mut sizes = Vec::with_capacity(plans.len());
        for plan in &plans {
            let size: Option<i64> = c
                .prepare_cached("SELECT assets FROM facet_sizes WHERE facet = ?1")?
                .query_row([&plan.facet], |r| r.get(0))
                .optional()?;
            sizes.push(size.unwrap_or(0));
        }
        let smallest = (0..plans.len()).min_by_key(|&i| sizes[i]).unwrap_or(0);
        plans.swap(0, smallest);
    }
    read_facet(c, &plans.swap_remove(0), q)
}

/// The filters of `residual` as one SQL condition on the assets row `a`, its arguments pushed on
/// `args`.
fn residual_condition(residual: &AssetQuery, args: &mut Vec<Value>) -> String {
    let mut clauses = vec!["1".to_owned()];
    let mut arg = |value: Value| {
        args.push(value);
        format!("?{}", args.len())
    };
    if let Some(owner) = &residual.owner_id {
        clauses.push(format!("a.owner_id = {}", arg(owner.clone().into())));
    }
    if let Some(folder) = &residual.folder {
        clauses.push(format!("a.folder = {}", arg(folder.clone().into())));
    }
    if let Some(visibility) = residual.visibility {
        clauses.push(format!("a.visibility = {}", arg(visibility.as_str().to_owned().into())));
    }
    if let Some(tag) = &residual.tag {
        clauses.push(format!("EXISTS (SELECT 1 FROM json_each(a.tags) WHERE value = {})", arg(tag.clone().into())));
    }
    if let Some((start, end)) = residual.prefix.as_deref().and_then(listing::prefix_range) {
        clauses.push(format!("a.public_id >= {} AND a.public_id < {}", arg(start.into()), arg(end.into())));
    }
    clauses.join(" AND ")
}

/// `AND` the position of `table`'s row is after `after`, if given.
fn after_condition(table: &str, after: &Option<AssetCursor>, args: &mut Vec<Value>) -> String {
    let Some(after) = after else { return String::new() };
    args.extend([after.created_at.into(), after.public_id.clone().into()]);
    format!(" AND ({table}.created_at, {table}.public_id) < (?{}, ?{})", args.len() - 1, args.len())
}

/// Reads `plan.facet` in order from the query's cursor, checking `plan.residual` on each entry,
/// until the page is full or its budget is read.
fn read_facet(c: &Connection, plan: &listing::Plan, q: &AssetQuery) -> rusqlite::Result<AssetPage> {
    let mut args: Vec<Value> = vec![plan.facet.clone().into()];
    let hit = residual_condition(&plan.residual, &mut args);
    let after = after_condition("l", &q.after, &mut args);
    let budget = listing::budget(q.limit);
    let sql = format!(
        "SELECT ({hit}) AS hit, a.* FROM listing l JOIN assets a ON a.public_id = l.public_id
         WHERE l.facet = ?1{after} ORDER BY l.created_at DESC, l.public_id DESC LIMIT {budget}"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(args))?;
    let mut page = listing::PageBuilder::new(q.limit);
    while let Some(row) = rows.next()? {
        let position = AssetCursor { created_at: row.get("created_at")?, public_id: row.get("public_id")? };
        let asset = if row.get("hit")? { Some(asset_from_row(row)?) } else { None };
        if !page.offer(position, asset) {
            break;
        }
    }
    let more = page.read() == budget;
    Ok(page.finish(more))
}

/// Reads the key range of the query's prefix (narrow: see `listing::MAX_PREFIX_RANGE`), sorted.
fn read_prefix_range(c: &Connection, q: &AssetQuery) -> rusqlite::Result<AssetPage> {
    let mut args = Vec::new();
    let hit = residual_condition(q, &mut args);
    let after = after_condition("a", &q.after, &mut args);
    let sql = format!(
        "SELECT a.* FROM assets a WHERE {hit}{after} ORDER BY a.created_at DESC, a.public_id DESC LIMIT {}",
        q.limit + 1
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let mut page = listing::PageBuilder::new(q.limit);
    for asset in stmt.query_map(params_from_iter(args), asset_from_row)? {
        let asset = asset?;
        page.offer(asset.cursor(), Some(asset));
    }
    Ok(page.finish(false))
}

#[async_trait]
impl UserStore for SqliteMetaStore {
    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn create_user(&self, u: &UserRecord) -> StoreResult<Created> {
        let u = u.clone();
        self.write(move |c| {
            created(c.execute(
                "INSERT INTO users (id, email, name, role, disabled, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![u.id, u.email, u.name, u.role.as_str(), u.disabled, u.password_hash, u.created_at],
            ))
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn user(&self, id: &str) -> StoreResult<Option<UserRecord>> {
        let id = id.to_owned();
        self.read(move |c| c.query_row("SELECT * FROM users WHERE id = ?1", [id], user_from_row).optional()).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        let email = email.to_owned();
        self.read(move |c| c.query_row("SELECT * FROM users WHERE email = ?1", [email], user_from_row).optional()).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn users(&self) -> StoreResult<Vec<UserRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT * FROM users ORDER BY created_at, id")?;
            let rows = stmt.query_map([], user_from_row)?;
            rows.collect()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn has_users(&self) -> StoreResult<bool> {
        self.read(|c| c.query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn update_user(
        &self,
        id: &str,
        change: &UserUpdate,
        keep_session: Option<&str>,
    ) -> StoreResult<Result<UserRecord, UserRefusal>> {
        let (id, change, keep) = (id.to_owned(), change.clone(), keep_session.unwrap_or_default().to_owned());
        self.write(move |c| {
            // The write lock is taken before the read: the fields not in `change` are written back
            // as they are at that moment.
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let old = tx.query_row("SELECT * FROM users WHERE id = ?1", [&id], user_from_row).optional()?;
            let Some(old) = old else { return Ok(Err(UserRefusal::NotFound)) };
            let u = change.applied_to(&old);
            tx.execute(
                "UPDATE users SET name = ?2, role = ?3, disabled = ?4, password_hash = ?5 WHERE id = ?1",
                params![u.id, u.name, u.role.as_str(), u.disabled, u.password_hash],
            )?;
            if enabled_admins(&tx)? == 0 {
                return Ok(Err(UserRefusal::LastAdmin)); // dropping `tx` rolls back
            }
            if change.ends_sessions(&u) {
                tx.execute("DELETE FROM sessions WHERE user_id = ?1 AND token_hash != ?2", params![u.id, keep])?;
            }
            tx.commit()?;
            Ok(Ok(u))
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn delete_user(&self, id: &str) -> StoreResult<Result<(), UserRefusal>> {
        let id = id.to_owned();
        self.write(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if tx.execute("DELETE FROM users WHERE id = ?1", [&id])? == 0 {
                return Ok(Err(UserRefusal::NotFound));
            }
            if enabled_admins(&tx)? == 0 {
                return Ok(Err(UserRefusal::LastAdmin));
            }
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [&id])?;
            tx.execute("DELETE FROM api_keys WHERE owner_id = ?1", [&id])?;
            tx.commit()?;
            Ok(Ok(()))
        })
        .await
    }
}

#[async_trait]
impl SessionStore for SqliteMetaStore {
    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn create_session(&self, s: &SessionRecord) -> StoreResult<()> {
        let s = s.clone();
        self.write(move |c| {
            c.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![s.token_hash, s.user_id, s.created_at, s.last_seen_at, s.expires_at],
            )
            .map(drop)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn session(&self, token_hash: &str) -> StoreResult<Option<(SessionRecord, UserRecord)>> {
        let token_hash = token_hash.to_owned();
        self.read(move |c| {
            let Some(session) = c
                .query_row("SELECT * FROM sessions WHERE token_hash = ?1", [token_hash], session_from_row)
                .optional()?
            else {
                return Ok(None);
            };
            let user =
                c.query_row("SELECT * FROM users WHERE id = ?1", [&session.user_id], user_from_row).optional()?;
            Ok(user.map(|user| (session, user)))
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn touch_session(&self, token_hash: &str, last_seen_at: i64) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        self.write(move |c| {
            c.execute("UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1", params![token_hash, last_seen_at])
                .map(drop)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        self.write(move |c| c.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash]).map(drop)).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn purge_expired(&self, now: i64) -> StoreResult<()> {
        self.write(move |c| c.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now]).map(drop)).await
    }
}

#[async_trait]
impl ApiKeyStore for SqliteMetaStore {
    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn create_api_key(&self, k: &ApiKeyRecord) -> StoreResult<Created> {
        let k = k.clone();
        self.write(move |c| {
            created(c.execute(
                "INSERT INTO api_keys (key_id, owner_id, name, secret_hash, created_at, last_used_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![k.key_id, k.owner_id, k.name, k.secret_hash, k.created_at, k.last_used_at, k.revoked_at],
            ))
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn api_key(&self, key_id: &str) -> StoreResult<Option<ApiKeyRecord>> {
        let key_id = key_id.to_owned();
        self.read(move |c| {
            c.query_row("SELECT * FROM api_keys WHERE key_id = ?1", [key_id], api_key_from_row).optional()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn api_keys_of(&self, owner_id: &str) -> StoreResult<Vec<ApiKeyRecord>> {
        let owner_id = owner_id.to_owned();
        self.read(move |c| {
            let mut stmt =
                c.prepare("SELECT * FROM api_keys WHERE owner_id = ?1 ORDER BY created_at DESC, key_id DESC")?;
            let rows = stmt.query_map([owner_id], api_key_from_row)?;
            rows.collect()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn revoke_api_key(&self, key_id: &str, at: i64) -> StoreResult<Option<ApiKeyRecord>> {
        let key_id = key_id.to_owned();
        self.write(move |c| {
            c.execute(
                "UPDATE api_keys SET revoked_at = ?2 WHERE key_id = ?1 AND revoked_at IS NULL",
                params![key_id, at],
            )?;
            c.query_row("SELECT * FROM api_keys WHERE key_id = ?1", [key_id], api_key_from_row).optional()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn touch_api_key(&self, key_id: &str, last_used_at: i64) -> StoreResult<()> {
        let key_id = key_id.to_owned();
        self.write(move |c| {
            c.execute("UPDATE api_keys SET last_used_at = ?2 WHERE key_id = ?1", params![key_id, last_used_at])
                .map(drop)
        })
        .await
    }
}

#[async_trait]
impl AssetStore for SqliteMetaStore {
    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn asset(&self, public_id: &str) -> StoreResult<Option<AssetRecord>> {
        let generation = match self.pool.asset_rows.get(public_id) {
            Ok(row) => return Ok(Some(row)),
            Err(generation) => generation,
        };
        let id = public_id.to_owned();
        let row = self
            .read(move |c| {
                c.prepare_cached("SELECT * FROM assets WHERE public_id = ?1")?
                    .query_row([id], asset_from_row)
                    .optional()
            })
            .await?;
        if let Some(row) = &row {
            self.pool.asset_rows.offer(generation, public_id, row);
        }
        Ok(row)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn create_asset(&self, a: &AssetRecord) -> StoreResult<Created> {
        let (id, a) = (a.public_id.clone(), a.clone());
        self.write_asset(&id, move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let outcome = insert_asset(&tx, &a)?;
            tx.commit()?;
            Ok(outcome)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn create_assets(&self, assets: &[AssetRecord]) -> StoreResult<Vec<Created>> {
        let assets = assets.to_vec();
        // Nothing to forget: an asset not created yet was never read into the cache.
        self.write(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let outcomes = assets.iter().map(|a| insert_asset(&tx, a)).collect::<rusqlite::Result<Vec<_>>>()?;
            tx.commit()?;
            Ok(outcomes)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn replace_asset(&self, a: &AssetRecord, expected_version: i64, old_blob_id: &str) -> StoreResult<Swapped> {
        let (id, a, old_blob_id) = (a.public_id.clone(), a.clone(), old_blob_id.to_owned());
        self.write_asset(&id, move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if take_asset(&tx, &a.public_id, expected_version)?.is_none() {
                return Ok(Swapped::Stale);
            }
            tx.execute(INSERT_ASSET, params_from_iter(asset_params(&a)))?;
            set_listed(&tx, &a, true)?;
            count_storage(&tx, &a, 1)?;
            tx.execute("DELETE FROM blob_garbage WHERE blob_id = ?1", [&a.blob_id])?;
            tx.execute(
                "INSERT OR REPLACE INTO blob_garbage (blob_id, due_at) VALUES (?1, ?2)",
                params![old_blob_id, a.updated_at],
            )?;
            tx.commit()?;
            Ok(Swapped::Swapped)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn update_asset_meta(&self, a: &AssetRecord) -> StoreResult<Option<AssetRecord>> {
        let (id, a) = (a.public_id.clone(), a.clone());
        self.write_asset(&id, move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let Some(old) = read_asset(&tx, &a.public_id)? else { return Ok(None) };
            tx.execute(
                "UPDATE assets SET tags = ?2, folder = ?3, visibility = ?4, updated_at = ?5, focal_point = ?6
                 WHERE public_id = ?1",
                params![
                    a.public_id,
                    serde_json::to_string(&a.tags).unwrap_or_else(|_| "[]".into()),
                    a.folder,
                    a.visibility.as_str(),
                    a.updated_at,
                    json_column(a.focal_point.as_ref()),
                ],
            )?;
            let stored = read_asset(&tx, &a.public_id)?;
            if let Some(new) = &stored {
                set_listed(&tx, &old, false)?;
                set_listed(&tx, new, true)?;
            }
            tx.commit()?;
            Ok(stored)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn delete_asset(
        &self,
        public_id: &str,
        expected_version: i64,
        blob_id: &str,
        now: i64,
    ) -> StoreResult<Swapped> {
        let (id, blob_id) = (public_id.to_owned(), blob_id.to_owned());
        self.write_asset(public_id, move |c| {
            let public_id = id;
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if take_asset(&tx, &public_id, expected_version)?.is_none() {
                return Ok(Swapped::Stale);
            }
            tx.execute("INSERT OR REPLACE INTO blob_garbage (blob_id, due_at) VALUES (?1, ?2)", params![blob_id, now])?;
            tx.commit()?;
            Ok(Swapped::Swapped)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn list_assets(&self, q: &AssetQuery) -> StoreResult<AssetPage> {
        let q = q.clone();
        self.read(move |c| list_page(c, &q)).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn add_variant(&self, asset: &AssetRecord, bytes: u64, caps: VariantCaps) -> StoreResult<VariantAdded> {
        let (id, blob_id) = (asset.public_id.clone(), asset.blob_id.clone());
        // Stored as i64; a cap past that is no cap.
        let int = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.write_asset(&asset.public_id, move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let owner: Option<String> = tx
                .query_row(
                    "UPDATE assets SET variants = variants + 1, derived_bytes = derived_bytes + ?3
                     WHERE public_id = ?1 AND blob_id = ?2 AND variants < ?4 AND derived_bytes <= ?5 - ?3
                     RETURNING owner_id",
                    params![id, blob_id, int(bytes), int(caps.max_variants), int(caps.max_bytes)],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(owner) = owner {
                add_storage(&tx, &owner, 0, 0, int(bytes))?;
                tx.commit()?;
                return Ok(VariantAdded::Stored);
            }
            // Refused: the same transaction says whether the version is still there.
            let current = tx
                .query_row("SELECT 1 FROM assets WHERE public_id = ?1 AND blob_id = ?2", params![id, blob_id], |_| {
                    Ok(())
                })
                .optional()?;
            Ok(if current.is_some() { VariantAdded::Full } else { VariantAdded::Gone })
        })
        .await
    }
}

#[async_trait]
impl GarbageStore for SqliteMetaStore {
    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn add_garbage(&self, blob_id: &str, due_at: i64) -> StoreResult<()> {
        let blob_id = blob_id.to_owned();
        self.write(move |c| {
            c.execute("INSERT OR REPLACE INTO blob_garbage (blob_id, due_at) VALUES (?1, ?2)", params![blob_id, due_at])
                .map(drop)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn due_garbage(&self, now: i64, limit: usize) -> StoreResult<Vec<String>> {
        self.read(move |c| {
            let mut stmt = c.prepare("SELECT blob_id FROM blob_garbage WHERE due_at <= ?1 ORDER BY due_at LIMIT ?2")?;
            let rows = stmt.query_map(params![now, limit as i64], |r| r.get(0))?;
            rows.collect()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn remove_garbage(&self, blob_id: &str) -> StoreResult<()> {
        let blob_id = blob_id.to_owned();
        self.write(move |c| c.execute("DELETE FROM blob_garbage WHERE blob_id = ?1", [blob_id]).map(drop)).await
    }
}

fn preset_row(r: &Row) -> rusqlite::Result<PresetRecord> {
    Ok(PresetRecord { name: r.get(0)?, transform: r.get(1)?, created_at: r.get(2)?, updated_at: r.get(3)? })
}

#[async_trait]
impl PresetStore for SqliteMetaStore {
    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn presets(&self) -> StoreResult<Vec<PresetRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT name, transform, created_at, updated_at FROM presets ORDER BY name")?;
            let rows = stmt.query_map([], preset_row)?;
            rows.collect()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn preset(&self, name: &str) -> StoreResult<Option<PresetRecord>> {
        let generation = match self.pool.presets.get(name) {
            Ok(preset) => return Ok(preset),
            Err(generation) => generation,
        };
        let key = name.to_owned();
        let preset = self
            .read(move |c| {
                c.query_row(
                    "SELECT name, transform, created_at, updated_at FROM presets WHERE name = ?1",
                    [key],
                    preset_row,
                )
                .optional()
            })
            .await?;
        self.pool.presets.offer(generation, name, &preset);
        Ok(preset)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn put_preset(&self, preset: &PresetRecord) -> StoreResult<(PresetRecord, Created)> {
        let p = preset.clone();
        self.write_forgetting(
            |pool| &pool.presets,
            &preset.name,
            move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let existed: bool =
                    tx.query_row("SELECT EXISTS (SELECT 1 FROM presets WHERE name = ?1)", [&p.name], |r| r.get(0))?;
                let stored = tx.query_row(
                    "INSERT INTO presets (name, transform, created_at, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET transform = ?2, updated_at = ?4
                 RETURNING name, transform, created_at, updated_at",
                    params![p.name, p.transform, p.created_at, p.updated_at],
                    preset_row,
                )?;
                tx.commit()?;
                Ok((stored, if existed { Created::AlreadyExists } else { Created::Created }))
            },
        )
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn delete_preset(&self, name: &str) -> StoreResult<bool> {
        let key = name.to_owned();
        self.write_forgetting(
            |pool| &pool.presets,
            name,
            move |c| c.execute("DELETE FROM presets WHERE name = ?1", [key]).map(|n| n > 0),
        )
        .await
    }
}

#[async_trait]
impl UsageStore for SqliteMetaStore {
    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn add_traffic(&self, batch: &[Traffic]) -> StoreResult<()> {
        let batch = batch.to_vec();
        self.write(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for t in &batch {
                tx.execute(
                    "INSERT INTO traffic (owner_id, period, bandwidth_bytes, requests) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (owner_id, period) DO UPDATE SET bandwidth_bytes = bandwidth_bytes + ?3, requests = requests + ?4",
                    params![t.owner_id, t.period, t.bandwidth_bytes as i64, t.requests as i64],
                )?;
            }
            tx.commit()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn traffic(&self, period: &str, owner_id: Option<&str>) -> StoreResult<Vec<Traffic>> {
        let (period, owner) = (period.to_owned(), owner_id.map(str::to_owned));
        self.read(move |c| {
            let mut stmt = c.prepare(
                "SELECT owner_id, period, bandwidth_bytes, requests FROM traffic
                 WHERE period = ?1 AND (?2 IS NULL OR owner_id = ?2) ORDER BY owner_id",
            )?;
            let rows = stmt.query_map(params![period, owner], |r| {
                Ok(Traffic {
                    owner_id: r.get(0)?,
                    period: r.get(1)?,
                    bandwidth_bytes: r.get::<_, i64>(2)? as u64,
                    requests: r.get::<_, i64>(3)? as u64,
                })
            })?;
            rows.collect()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn storage(&self, owner_id: Option<&str>) -> StoreResult<Vec<Storage>> {
        let owner = owner_id.map(str::to_owned);
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT owner_id, asset_count, original_bytes, derived_bytes FROM storage_usage
                 WHERE (?1 IS NULL OR owner_id = ?1) AND asset_count > 0 ORDER BY owner_id",
            )?;
            let rows = stmt.query_map(params![owner], storage_from_row)?;
            rows.collect()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "sqlite"))]
    async fn recount_storage(&self) -> StoreResult<Vec<StorageDrift>> {
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let drift = recount_storage(&tx)?;
            tx.commit()?;
            Ok(drift)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The assets table as releases before the variant count made it.
    const ASSETS_BEFORE_VARIANTS: &str = "
    CREATE TABLE assets (
        public_id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, folder TEXT NOT NULL, tags TEXT NOT NULL,
        visibility TEXT NOT NULL, format TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
        has_alpha INTEGER NOT NULL, has_master INTEGER NOT NULL, derived_bytes INTEGER NOT NULL,
        bytes INTEGER NOT NULL, original_filename TEXT, created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL, version INTEGER NOT NULL, blob_id TEXT NOT NULL
    );
    INSERT INTO assets VALUES ('old', 'u1', '', '[]', 'public', 'jpg', 10, 10, 0, 1, 700, 1000, NULL, 1, 1, 1, 'b1');
    ";

    #[tokio::test]
    async fn a_database_from_before_the_variant_count_gets_the_column_and_keeps_its_assets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.sqlite3");
        Connection::open(&path).unwrap().execute_batch(ASSETS_BEFORE_VARIANTS).unwrap();

        let store = SqliteMetaStore::open(&path).unwrap();
        let old = store.asset("old").await.unwrap().unwrap();
        assert_eq!((old.variants, old.derived_bytes), (0, 700), "counted from zero, masters kept");
        let caps = VariantCaps { max_variants: 1, max_bytes: 1 << 20 };
        assert_eq!(store.add_variant(&old, 50, caps).await.unwrap(), VariantAdded::Stored);
        assert_eq!(store.add_variant(&old, 50, caps).await.unwrap(), VariantAdded::Full);
        drop(store);

        let reopened = SqliteMetaStore::open(&path).unwrap();
        let old = reopened.asset("old").await.unwrap().unwrap();
        assert_eq!((old.variants, old.derived_bytes), (1, 750), "kept across a restart, the column added once");
        assert_eq!((old.focal_point, &old.analysis), (None, &None), "nothing was found in it before SPEC §14");
        let point = crate::domain::Point::parse(&serde_json::json!({"x": 0.2, "y": 0.9})).unwrap();
        let edited = AssetRecord { focal_point: Some(point), ..old };
        assert_eq!(reopened.update_asset_meta(&edited).await.unwrap(), Some(edited));
    }

    /// Assets an earlier release stored: no listing, no counters.
    const UNLISTED_ASSETS: &str = "
    INSERT INTO assets VALUES ('a', 'u1', 'f', '[\"red\"]', 'public', 'jpg', 10, 10, 0, 1, 5, 100, NULL, 2, 2, 1, 'ba');
    INSERT INTO assets VALUES ('b', 'u2', '', '[\"red\",\"blue\"]', 'private', 'jpg', 10, 10, 0, 1, 7, 200, NULL, 3, 3, 1, 'bb');
    INSERT INTO assets VALUES ('c', 'u1', 'f', '[]', 'public', 'jpg', 10, 10, 0, 1, 0, 300, NULL, 4, 4, 1, 'bc');
    ";

    #[tokio::test]
    async fn a_database_from_before_listings_is_backfilled_and_an_interrupted_backfill_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.sqlite3");
        let raw = Connection::open(&path).unwrap();
        raw.execute_batch(ASSETS_BEFORE_VARIANTS).unwrap();
        raw.execute_batch(UNLISTED_ASSETS).unwrap();
        // As a start stopped after its first batch (`a` and `b` by public_id, then `c` and `old`) leaves it.
        raw.execute_batch(SCHEMA).unwrap();
        migrate(&raw, true).unwrap();
        for id in ["a", "b"] {
            let asset = read_asset(&raw, id).unwrap().unwrap();
            set_listed(&raw, &asset, true).unwrap();
        }
        raw.execute("UPDATE backfills SET position = 'b'", []).unwrap();
        drop(raw);

        let store = SqliteMetaStore::open(&path).unwrap();
        let ids = |page: AssetPage| page.assets.into_iter().map(|a| a.public_id).collect::<Vec<_>>();
        let list = |f: fn(&mut AssetQuery)| {
            let mut q = AssetQuery { limit: 10, ..Default::default() };
            f(&mut q);
            let store = &store;
            async move { ids(store.list_assets(&q).await.unwrap()) }
        };
        assert_eq!(list(|_| {}).await, ["c", "b", "a", "old"], "every asset listed once");
        assert_eq!(list(|q| q.tag = Some("red".into())).await, ["b", "a"]);
        assert_eq!(list(|q| q.folder = Some("f".into())).await, ["c", "a"]);
        assert_eq!(list(|q| q.owner_id = Some("u1".into())).await, ["c", "a", "old"]);
        assert_eq!(list(|q| q.visibility = Some(Visibility::Private)).await, ["b"]);
        let storage = store.storage(None).await.unwrap();
        let totals: Vec<_> =
            storage.iter().map(|s| (s.owner_id.as_str(), s.asset_count, s.original_bytes, s.derived_bytes)).collect();
        assert_eq!(totals, [("u1", 3, 1400, 705), ("u2", 1, 200, 7)], "counted from the records");
        assert_eq!(store.recount_storage().await.unwrap(), [], "and counted right");
        drop(store);
        let done: i64 =
            Connection::open(&path).unwrap().query_row("SELECT done FROM backfills", [], |r| r.get(0)).unwrap();
        assert_eq!(done, 1, "done once");
    }

    /// A combination reads its smallest facet, by the sizes kept with the entries: a broad tag
    /// with a narrow folder fills its page at once instead of reading the tag's budget in vain.
    #[tokio::test]
    async fn a_combination_reads_its_smallest_facet() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteMetaStore::open(&dir.path().join("meta.sqlite3")).unwrap();
        let assets: Vec<AssetRecord> = (0..100)
            .map(|i| AssetRecord {
                public_id: format!("a{i:03}"),
                created_at: i,
                tags: vec!["broad".into()],
                folder: if i < 3 { "narrow".into() } else { String::new() },
                ..AssetRecord::sample()
            })
            .collect();
        store.create_assets(&assets).await.unwrap();
        let query =
            AssetQuery { tag: Some("broad".into()), folder: Some("narrow".into()), limit: 2, ..Default::default() };
        let page = store.list_assets(&query).await.unwrap();
        let ids: Vec<_> = page.assets.iter().map(|a| a.public_id.as_str()).collect();
        assert_eq!(ids, ["a002", "a001"], "a full first page: the folder's three entries were read, not the tag's 100");

        store
            .update_asset_meta(&AssetRecord { folder: String::new(), updated_at: 5, ..assets[2].clone() })
            .await
            .unwrap();
        store.delete_asset("a001", 1, "b", 6).await.unwrap();
        let sizes: Vec<(String, i64)> = store
            .read(|c| {
                c.prepare("SELECT facet, assets FROM facet_sizes WHERE facet IN ('folder#narrow', 'tag#broad', 'folder#') ORDER BY facet")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .await
            .unwrap();
        let expected = [("folder#", 98), ("folder#narrow", 1), ("tag#broad", 99)].map(|(f, n)| (f.to_owned(), n));
        assert_eq!(sizes, expected, "sizes follow edits and deletes");
    }

    #[tokio::test]
    async fn drifted_storage_counters_are_reported_and_recounted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.sqlite3");
        let store = SqliteMetaStore::open(&path).unwrap();
        let asset = AssetRecord { bytes: 100, derived_bytes: 10, ..AssetRecord::sample() };
        store.create_asset(&asset).await.unwrap();
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "UPDATE storage_usage SET asset_count = 3; INSERT INTO storage_usage VALUES ('ghost', 1, 5, 0);",
            )
            .unwrap();
        let drift = store.recount_storage().await.unwrap();
        let pairs: Vec<_> =
            drift.iter().map(|d| (d.kept.owner_id.as_str(), d.kept.asset_count, d.counted.asset_count)).collect();
        assert_eq!(pairs, [("ghost", 1, 0), ("u1", 3, 1)]);
        assert_eq!(
            store.storage(None).await.unwrap(),
            [Storage { owner_id: "u1".into(), asset_count: 1, original_bytes: 100, derived_bytes: 10 }]
        );
        assert_eq!(store.recount_storage().await.unwrap(), []);
    }

    #[tokio::test]
    async fn a_corrupt_row_reads_as_an_error_not_as_a_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.sqlite3");
        let store = SqliteMetaStore::open(&path).unwrap();
        let raw = Connection::open(&path).unwrap();
        raw.execute_batch(
            "INSERT INTO users (id, email, name, role, disabled, password_hash, created_at)
                 VALUES ('u1', 'a@example.com', NULL, 'root', 0, 'h', 1);
             INSERT INTO assets (public_id, owner_id, folder, tags, visibility, format, width, height, has_alpha,
                 has_master, derived_bytes, variants, bytes, original_filename, created_at, updated_at, version, blob_id)
                 VALUES ('bad-visibility', 'u1', '', '[]', 'secret', 'jpg', 1, 1, 0, 0, 0, 0, 1, NULL, 1, 1, 1, 'b1'),
                        ('bad-format', 'u1', '', '[]', 'public', 'bmp', 1, 1, 0, 0, 0, 0, 1, NULL, 1, 1, 1, 'b2'),
                        ('bad-tags', 'u1', '', 'a,b', 'public', 'jpg', 1, 1, 0, 0, 0, 0, 1, NULL, 1, 1, 1, 'b3');",
        )
        .unwrap();
        let error = store.user("u1").await.unwrap_err();
        assert!(error.message.contains("\"root\""), "{error}");
        for id in ["bad-visibility", "bad-format", "bad-tags"] {
            assert!(store.asset(id).await.is_err(), "{id} is not read as a default");
        }
    }
}
