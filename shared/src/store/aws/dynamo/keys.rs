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

/// One partition of one of the three indexes.
#[derive(Clone, Copy)]
pub(super) enum Partition<'a> {
    /// GSI1: an owner's API keys.
    KeysOf(&'a str),
    /// GSI1: an owner's assets.
    AssetsOf(&'a str),
    /// GSI2: a folder's assets.
    Folder(&'a str),
    /// GSI3: every user, oldest first.
    Users,
    /// GSI3: every asset.
    Assets,
    /// GSI3: the blob garbage, by due time.
    Garbage,
}

impl Partition<'_> {
    pub(super) fn index(self) -> &'static str {
        match self {
            Partition::KeysOf(_) | Partition::AssetsOf(_) => "GSI1",
            Partition::Folder(_) => "GSI2",
            Partition::Users | Partition::Assets | Partition::Garbage => "GSI3",
        }
    }

    pub(super) fn value(self) -> String {
        match self {
            Partition::KeysOf(owner) => format!("KEYS#{owner}"),
            Partition::AssetsOf(owner) => format!("OWNER#{owner}"),
            Partition::Folder(folder) => format!("FOLDER#{folder}"),
            Partition::Users => "USERS".into(),
            Partition::Assets => "ASSETS".into(),
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
