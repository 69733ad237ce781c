//! The primary key of each kind of item, and the index partitions that list them (see the table in
//! `mod.rs`): the only place that spells `PK`, `SK` and the `GSI` attributes.

use super::*;

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))])
}

pub(super) fn user(id: &str) -> Item {
    key(format!("USER#{id}"), "USER")
}

/// The guard that keeps emails unique and maps an email to its user with a consistent read.
pub(super) fn email(email: &str) -> Item {
    key(format!("EMAIL#{email}"), "EMAIL")
}

pub(super) fn admin_count() -> Item {
    key("META".into(), "ADMINS")
}

pub(super) fn session(token_hash: &str) -> Item {
    key(format!("SESSION#{token_hash}"), "SESSION")
}

pub(super) fn api_key(key_id: &str) -> Item {
    key(format!("KEY#{key_id}"), "KEY")
}

pub(super) fn asset(public_id: &str) -> Item {
    key(format!("ASSET#{public_id}"), "ASSET")
}

/// One listing entry of an asset (see `store::listing`), beside the asset in its partition.
pub(super) fn entry(public_id: &str, name: &str) -> Item {
    key(format!("ASSET#{public_id}"), &format!("LIST#{name}"))
}

/// The entry that places an asset in the order of public_ids, for prefix ranges.
pub(super) const IDS_ENTRY: &str = "ids";

/// The partition of every owner's storage counters (`<owner>#<shard>`).
pub(super) const STORAGE: &str = "STORAGE";

/// How far the backfill `name` got.
pub(super) fn backfill(name: &str) -> Item {
    key(format!("BACKFILL#{name}"), "BACKFILL")
}

pub(super) fn garbage(blob_id: &str) -> Item {
    key(format!("GARBAGE#{blob_id}"), "GARBAGE")
}

pub(super) fn traffic(period: &str, owner_id: &str) -> Item {
    key(traffic_period(period), owner_id)
}

/// The partition of every owner's counters of one period.
pub(super) fn traffic_period(period: &str) -> String {
    format!("TRAFFIC#{period}")
}

pub(super) fn limit_window(limit: &str, key_: &str) -> Item {
    key(format!("LIMIT#{limit}#{key_}"), "LIMIT")
}

/// The partition of every preset, one item per name.
pub(super) const PRESETS: &str = "PRESETS";

pub(super) fn preset(name: &str) -> Item {
    key(PRESETS.into(), name)
}

pub(super) fn signing_secret() -> Item {
    key("CONFIG".into(), "SIGNING")
}

/// The largest time the fixed-width sort keys hold (unix ms: well past the year 2200).
pub(super) const MAX_TIME: i64 = 9_999_999_999_999_998;

/// Newest-first and oldest-first orders on the indexes: fixed-width times sort as strings.
pub(super) fn sort_key(time: i64, id: &str) -> String {
    format!("{:016}#{id}", time.clamp(0, MAX_TIME))
}

/// The position a newest-first sort key names (its inverse).
pub(super) fn position(sort: &str) -> Option<AssetCursor> {
    let (time, id) = sort.split_once('#')?;
    Some(AssetCursor { created_at: time.parse().ok()?, public_id: id.to_owned() })
}

/// The storage counters of an owner are spread over this many items, so that renders of
/// different assets do not contend for one item; an asset always counts in the same one.
const STORAGE_SHARDS: u32 = 16;

/// The item of `owner_id`'s storage counters that `public_id` counts in.
pub(super) fn storage(owner_id: &str, public_id: &str) -> Item {
    // FNV-1a: the same shard in every process and release.
    let hash = public_id.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    key(STORAGE.into(), &format!("{owner_id}#{:02}", hash % STORAGE_SHARDS))
}

/// One partition of one of the three indexes.
#[derive(Clone, Copy)]
pub(super) enum Partition<'a> {
    /// GSI1: an owner's API keys.
    KeysOf(&'a str),
    /// GSI1: the entries of one listing facet across owners, newest first (`store::listing`).
    Facet(&'a str),
    /// GSI1: the id entries, by public_id.
    Ids,
    /// GSI2: the entries of one listing facet within an owner, newest first.
    OwnFacet(&'a str),
    /// GSI3: every user, oldest first.
    Users,
    /// GSI3: the blob garbage, by due time.
    Garbage,
}

impl Partition<'_> {
    pub(super) fn index(self) -> &'static str {
        match self {
            Partition::KeysOf(_) | Partition::Facet(_) | Partition::Ids => "GSI1",
            Partition::OwnFacet(_) => "GSI2",
            Partition::Users | Partition::Garbage => "GSI3",
        }
    }

    /// The partition key's value. A facet key is lowercase (`all`, `tag#…`, `owner#…`), so it
    /// never equals an uppercase partition of the same index.
    pub(super) fn value(self) -> String {
        match self {
            Partition::KeysOf(owner) => format!("KEYS#{owner}"),
            Partition::Facet(facet) | Partition::OwnFacet(facet) => facet.to_owned(),
            Partition::Ids => "IDS".into(),
            Partition::Users => "USERS".into(),
            Partition::Garbage => "GARBAGE".into(),
        }
    }

    /// The index's partition-key attribute (`GSI1PK`).
    pub(super) fn pk(self) -> String {
        format!("{}PK", self.index())
    }

    /// The index's sort-key attribute (`GSI1SK`).
    pub(super) fn sk(self) -> String {
        format!("{}SK", self.index())
    }

    /// The attributes that list an item in this partition at `sort`.
    pub(super) fn entry(self, sort: String) -> [(String, AttributeValue); 2] {
        [(self.pk(), s(self.value())), (self.sk(), s(sort))]
    }
}
