//! How both backends answer an asset listing from indexes instead of scans.
//!
//! Every asset is listed under a few *facets*, each a partition of the one newest-first order
//! (`created_at`, then `public_id`, descending): everything, its owner's, its folder's, its
//! visibility's and each of its tags', once across owners and once within its owner. A query
//! reads one facet in order from its cursor (or, for a selective `public_id` prefix, the prefix's
//! key range sorted) and checks the filters that facet does not imply on each entry. A page reads
//! at most [`budget`] entries: when the filters left to check match few of them, the page is
//! shorter than asked and `next` says where the next one starts.

use super::{AssetCursor, AssetPage, AssetQuery, AssetRecord};
use crate::domain::Visibility;

/// The most index entries one page of `limit` assets reads before it stops short.
pub fn budget(limit: usize) -> usize {
    20 * (limit + 1)
}

/// A prefix matching at most this many public_ids is read as a sorted key range; a wider one is a
/// filter on a facet.
pub const MAX_PREFIX_RANGE: usize = 1_000;

/// One facet of an asset, across owners and within its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub across: String,
    pub within: String,
}

/// The facets `asset` is listed under, each once across owners and once within its owner. An
/// owner, folder, tag or visibility never holds `#`, so the keys cannot collide.
pub fn entries(asset: &AssetRecord) -> Vec<Entry> {
    let owner = Some(asset.owner_id.as_str());
    let entry = |facet: Facet| Entry { across: facet.key(None), within: facet.key(owner) };
    let mut entries =
        vec![entry(Facet::All), entry(Facet::Folder(&asset.folder)), entry(Facet::Visibility(asset.visibility))];
    entries.extend(asset.tags.iter().map(|tag| entry(Facet::Tag(tag))));
    entries
}

/// Every facet key of `asset`.
pub fn facets(asset: &AssetRecord) -> Vec<String> {
    entries(asset).into_iter().flat_map(|e| [e.across, e.within]).collect()
}

/// What a facet groups, within one owner or across all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Facet<'a> {
    All,
    Folder(&'a str),
    Visibility(Visibility),
    Tag(&'a str),
}

impl Facet<'_> {
    fn key(self, owner: Option<&str>) -> String {
        let facet = match self {
            Facet::All => "all".to_owned(),
            Facet::Folder(folder) => format!("folder#{folder}"),
            Facet::Visibility(visibility) => format!("visibility#{}", visibility.as_str()),
            Facet::Tag(tag) => format!("tag#{tag}"),
        };
        match owner {
            Some(owner) => format!("owner#{owner}#{facet}"),
            None => facet,
        }
    }
}

/// One way to read a query's matches in order: a facet, and the filters left to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The facet's key (within the query's owner, when it has one).
    pub facet: String,
    /// The facet's key across owners, which names the entry (see [`entries`]).
    pub entry: String,
    /// The query's filters that `facet` does not imply (its limit and cursor are the query's).
    pub residual: AssetQuery,
}

/// The plans that answer `query`, most selective first as far as the query alone tells (a tag
/// before a folder before a visibility); a backend that can count a facet cheaply may pick
/// another. The owner, when given, is part of every facet.
pub fn plans(query: &AssetQuery) -> Vec<Plan> {
    let owner = query.owner_id.as_deref();
    let without = |clear: fn(&mut AssetQuery)| {
        let mut residual = AssetQuery { owner_id: None, ..query.clone() };
        clear(&mut residual);
        residual
    };
    let plan = |facet: Facet, residual| Plan { facet: facet.key(owner), entry: facet.key(None), residual };
    let mut plans = Vec::new();
    if let Some(tag) = &query.tag {
        plans.push(plan(Facet::Tag(tag), without(|q| q.tag = None)));
    }
    if let Some(folder) = &query.folder {
        plans.push(plan(Facet::Folder(folder), without(|q| q.folder = None)));
    }
    if let Some(visibility) = query.visibility {
        plans.push(plan(Facet::Visibility(visibility), without(|q| q.visibility = None)));
    }
    if plans.is_empty() {
        plans.push(plan(Facet::All, without(|_| {})));
    }
    plans
}

/// The key range `[start, end)` holding exactly the public_ids that start with `prefix`, or
/// `None` when no public_id can (the prefix holds a character none may).
pub fn prefix_range(prefix: &str) -> Option<(String, String)> {
    let id_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/');
    // Every character a public_id may hold sorts below `~`.
    prefix.chars().all(id_char).then(|| (prefix.to_owned(), format!("{prefix}~")))
}

impl AssetQuery {
    /// Whether `asset` passes every filter of this query (its cursor and limit aside).
    pub fn matches(&self, asset: &AssetRecord) -> bool {
        self.owner_id.as_ref().is_none_or(|o| *o == asset.owner_id)
            && self.folder.as_ref().is_none_or(|f| *f == asset.folder)
            && self.visibility.is_none_or(|v| v == asset.visibility)
            && self.tag.as_ref().is_none_or(|t| asset.tags.contains(t))
            && self.prefix.as_ref().is_none_or(|p| asset.public_id.starts_with(p.as_str()))
    }
}

/// A page gathered from entries read in order: at most `limit` assets, and where the next page
/// starts, which is after the last entry read when the budget ran out first.
pub struct PageBuilder {
    limit: usize,
    assets: Vec<AssetRecord>,
    read: usize,
    last_read: Option<AssetCursor>,
}

impl PageBuilder {
    pub fn new(limit: usize) -> Self {
        Self { limit, assets: Vec::with_capacity(limit + 1), read: 0, last_read: None }
    }

    /// Counts one entry read at `position`, with its asset when it matched; whether to read on.
    pub fn offer(&mut self, position: AssetCursor, asset: Option<AssetRecord>) -> bool {
        self.read += 1;
        self.last_read = Some(position);
        self.assets.extend(asset);
        // One more than asked, to know whether another page follows.
        self.assets.len() <= self.limit
    }

    /// The page, once the entries ran out (`more` false) or the budget did (`more` true).
    pub fn finish(mut self, more: bool) -> AssetPage {
        let next = if self.assets.len() > self.limit {
            self.assets.truncate(self.limit);
            self.assets.last().map(AssetRecord::cursor)
        } else if more {
            self.last_read
        } else {
            None
        };
        AssetPage { assets: self.assets, next }
    }

    pub fn read(&self) -> usize {
        self.read
    }
}

impl AssetRecord {
    /// This asset's position in the newest-first order.
    pub fn cursor(&self) -> AssetCursor {
        AssetCursor { created_at: self.created_at, public_id: self.public_id.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_filter_has_its_facet_within_the_owner_and_the_rest_are_checked() {
        let query = AssetQuery {
            owner_id: Some("u1".into()),
            tag: Some("red".into()),
            visibility: Some(Visibility::Private),
            prefix: Some("p/".into()),
            limit: 10,
            ..Default::default()
        };
        let both = plans(&query);
        let facets: Vec<&str> = both.iter().map(|p| p.facet.as_str()).collect();
        assert_eq!(facets, ["owner#u1#tag#red", "owner#u1#visibility#private"]);
        assert_eq!(both[0].residual, AssetQuery { owner_id: None, tag: None, ..query.clone() });
        assert_eq!(both[1].residual, AssetQuery { owner_id: None, visibility: None, ..query.clone() });
        let everything = plans(&AssetQuery { limit: 5, ..Default::default() });
        let all = AssetQuery { limit: 5, ..Default::default() };
        assert_eq!(everything, [Plan { facet: "all".into(), entry: "all".into(), residual: all }]);
        assert_eq!(both[0].entry, "tag#red", "an entry is named by its facet across owners");
    }

    #[test]
    fn a_prefix_range_holds_exactly_the_ids_that_start_with_it() {
        let (start, end) = prefix_range("p/a").unwrap();
        for (id, inside) in [("p/a", true), ("p/a/zz", true), ("p/a_-.9", true), ("p/b", false), ("p/", false)] {
            assert_eq!(start.as_str() <= id && id < end.as_str(), inside, "{id}");
        }
        assert_eq!(prefix_range("p a"), None, "no public_id holds a space");
        assert_eq!(prefix_range("~"), None);
    }

    #[test]
    fn a_page_short_of_its_budget_says_where_to_go_on() {
        let asset = |id: &str, at: i64| AssetRecord { public_id: id.into(), created_at: at, ..AssetRecord::sample() };
        let mut page = PageBuilder::new(2);
        assert!(page.offer(asset("c", 3).cursor(), Some(asset("c", 3))));
        assert!(page.offer(asset("b", 2).cursor(), None));
        let short = page.finish(true);
        assert_eq!((short.assets.len(), short.next), (1, Some(asset("b", 2).cursor())), "after the last entry read");

        let mut page = PageBuilder::new(1);
        assert!(page.offer(asset("c", 3).cursor(), Some(asset("c", 3))));
        assert!(!page.offer(asset("b", 2).cursor(), Some(asset("b", 2))), "one more than the limit is enough");
        assert_eq!(page.finish(true).next, Some(asset("c", 3).cursor()), "after the last asset returned");
        assert_eq!(PageBuilder::new(3).finish(false).next, None);
    }
}
