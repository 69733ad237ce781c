//! `public_id` and `folder` (SPEC §3): the names assets are delivered under.

use crate::{
    error::{ErrorCode, Invalid},
    secrets::random_hex,
};

/// Keys of the transform grammar (SPEC §6). A path segment that starts with one of them and `_`
/// is *transform-shaped*: a public_id may not start with one, or delivery URLs would be ambiguous.
pub const TRANSFORM_KEYS: [&str; 12] = ["t", "w", "h", "c", "g", "q", "f", "dpr", "gr", "bl", "r", "bg"];

/// Keys added to the grammar after public_ids could start with them (SPEC §14's `t` and `g`). A
/// new public_id may not; one stored before keeps working ([`PublicId::existing`]).
const ADDED_KEYS: [&str; 2] = ["t", "g"];

const MAX_LEN: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PublicId(String);

/// A folder: `""` (the root) or a path shaped like a public_id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Folder(String);

pub fn is_transform_shaped(segment: &str) -> bool {
    segment.split_once('_').is_some_and(|(key, _)| TRANSFORM_KEYS.contains(&key))
}

/// Whether `segment` starts with a key added after public_ids could (`t_…`, `g_…`): it may be the
/// first segment of an asset stored before.
pub fn starts_with_added_key(segment: &str) -> bool {
    segment.split_once('_').is_some_and(|(key, _)| ADDED_KEYS.contains(&key))
}

/// What a segment of a public_id or folder may hold besides the `/` between them.
fn segment_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// Any name made a valid segment, keeping its case: each run of other characters becomes one `-`,
/// leading dots are dropped, and a name left empty becomes `_`.
fn valid_segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if segment_char(c) {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    match out.trim_start_matches('.') {
        "" => "_".to_owned(),
        kept => kept.to_owned(),
    }
}

/// Checks the shared rules of public_ids and folders, naming the first rule broken.
fn check_path(s: &str, what: &str, code: ErrorCode) -> Result<(), Invalid> {
    check_path_rules(s, what, false).map_err(|message| Invalid::new(code, message))
}

/// The rules; `existing` lets a first segment start with an added key ([`starts_with_added_key`]).
fn check_path_rules(s: &str, what: &str, existing: bool) -> Result<(), String> {
    if s.is_empty() || s.len() > MAX_LEN {
        return Err(format!("{what} must be 1 to {MAX_LEN} bytes long"));
    }
    if let Some(c) = s.chars().find(|&c| !(segment_char(c) || c == '/')) {
        return Err(format!("{what} may only contain A-Z, a-z, 0-9, _ . - and /, not {c:?}"));
    }
    if s.starts_with('/') || s.ends_with('/') {
        return Err(format!("{what} must not start or end with /"));
    }
    for segment in s.split('/') {
        if segment.is_empty() {
            return Err(format!("{what} must not contain an empty segment (//)"));
        }
        if segment.starts_with('.') {
            return Err(format!("{what} segments must not start with . (no ., .. or hidden names)"));
        }
    }
    let first = s.split('/').next().unwrap_or_default();
    if is_transform_shaped(first) && !(existing && starts_with_added_key(first)) {
        return Err(format!("{what} must not start with a transform-shaped segment like {first:?}"));
    }
    Ok(())
}

impl PublicId {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        check_path(s, "public_id", ErrorCode::InvalidPublicId)?;
        Ok(Self(s.to_owned()))
    }

    /// The public_id of an asset that may have been stored before a key was added to the
    /// grammar (`t_…/photo`): to find, change or delete it, never to create one.
    pub fn existing(s: &str) -> Result<Self, Invalid> {
        check_path_rules(s, "public_id", true).map_err(|m| Invalid::new(ErrorCode::InvalidPublicId, m))?;
        Ok(Self(s.to_owned()))
    }

    /// `<folder/>` + slug of the file name's stem + `-` + 12 lowercase hex. Refused only when the
    /// folder leaves no room for a name, so the fault is the folder's.
    pub fn generate(folder: &Folder, original_filename: Option<&str>) -> Result<Self, Invalid> {
        let stem = original_filename
            .map(|name| name.rsplit(['/', '\\']).next().unwrap_or(name))
            .map(|name| name.rsplit_once('.').map_or(name, |(stem, _)| stem))
            .unwrap_or_default();
        let mut slug = slugify(stem);
        if slug.is_empty() {
            slug = "image".into();
        }
        let room = MAX_LEN - 13 - if folder.is_root() { 0 } else { folder.as_str().len() + 1 };
        slug.truncate(room.max(1));
        let slug = slug.trim_end_matches('-');
        let slug = if slug.is_empty() { "image" } else { slug };
        let name = format!("{slug}-{}", random_hex(6));
        Self::parse(&folder.join(&name)).map_err(|e| Invalid::new(ErrorCode::InvalidFolder, e.message))
    }

    /// The public_id of an imported file (`imgcloud import`, SPEC §15): `folder` plus `segments`
    /// (the file's directories under the imported one, then its name without the extension), each
    /// made valid by [`valid_segment`]. A first segment that delivery would read as a transform
    /// has its first `_` turned into `-` (`w_400` → `w-400`). Refused only when the result is still
    /// invalid (longer than 255 bytes).
    pub fn for_file<S: AsRef<str>>(folder: &Folder, segments: &[S]) -> Result<Self, Invalid> {
        let mut valid: Vec<String> = segments.iter().map(|s| valid_segment(s.as_ref())).collect();
        if let Some(first) = valid.first_mut().filter(|first| folder.is_root() && is_transform_shaped(first)) {
            *first = first.replacen('_', "-", 1);
        }
        Self::parse(&folder.join(&valid.join("/")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The directory part: `marketing` for `marketing/hero`, the root for `hero`.
    pub fn directory(&self) -> Folder {
        Folder(self.0.rsplit_once('/').map(|(dir, _)| dir.to_owned()).unwrap_or_default())
    }
}

impl Folder {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        if s.is_empty() {
            return Ok(Self::default());
        }
        check_path(s, "folder", ErrorCode::InvalidFolder)?;
        Ok(Self(s.to_owned()))
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn join(&self, name: &str) -> String {
        if self.is_root() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.0)
        }
    }
}

/// Lowercase ASCII letters and digits; every other run of characters becomes one `-`.
fn slugify(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_imported_file_s_path_is_made_a_valid_public_id() {
        let root = Folder::default();
        let id = |folder: &Folder, segments: &[&str]| PublicId::for_file(folder, segments).map(|id| id.0);
        assert_eq!(id(&root, &["Été 2024", "a b (1)"]).unwrap(), "-t-2024/a-b-1-");
        assert_eq!(id(&root, &[".hidden", "..", "x"]).unwrap(), "hidden/_/x");
        assert_eq!(id(&root, &["w_400", "c_fill"]).unwrap(), "w-400/c_fill", "only the first segment is delivery's");
        let folder = Folder::parse("imports/2024").unwrap();
        assert_eq!(id(&folder, &["w_400"]).unwrap(), "imports/2024/w_400");
        assert_eq!(id(&root, &["Keep.Case_and-dots"]).unwrap(), "Keep.Case_and-dots");
        assert_eq!(id(&root, &[&"a".repeat(256)]).unwrap_err().code, ErrorCode::InvalidPublicId);
    }

    #[test]
    fn a_public_id_stored_before_t_was_a_key_is_still_found_but_never_made() {
        assert_eq!(PublicId::parse("t_old/photo").unwrap_err().code, ErrorCode::InvalidPublicId);
        assert_eq!(PublicId::existing("t_old/photo").unwrap().as_str(), "t_old/photo");
        assert!(PublicId::existing("w_100/photo").is_err(), "w was always a key");
        assert!(PublicId::existing("a//b").is_err(), "the other rules stand");
    }

    #[test]
    fn accepts_the_spec_examples() {
        for ok in
            ["photo-3a7f9c81b2e4", "marketing/hero", "private/contract-001", "my_photo/x", "foo_1/x", "a.b", "wx_1"]
        {
            assert!(PublicId::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_every_broken_rule() {
        let long = "a".repeat(256);
        for bad in [
            "",
            "../x",
            "x/..",
            "./x",
            "a//b",
            "/abs",
            "abs/",
            ".hidden",
            "a/.b",
            "a\\b",
            "a\0b",
            "a b",
            "é",
            "w_400/x",
            "c_fill",
            "dpr_2/x",
            "bg_fff",
            long.as_str(),
            "%2e%2e%2f",
            "a\nb",
        ] {
            assert!(PublicId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(PublicId::parse(&"a".repeat(255)).is_ok());
    }

    #[test]
    fn generates_slug_and_twelve_hex_under_the_folder() {
        let id = PublicId::generate(&Folder::default(), Some("My Photo (1).JPG")).unwrap();
        let (slug, hex) = id.as_str().rsplit_once('-').unwrap();
        assert_eq!(slug, "my-photo-1");
        assert!(hex.len() == 12 && hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));

        let folder = Folder::parse("marketing").unwrap();
        assert!(PublicId::generate(&folder, Some("hero.jpg")).unwrap().as_str().starts_with("marketing/hero-"));
        assert!(PublicId::generate(&folder, Some("../../.jpg")).unwrap().as_str().starts_with("marketing/image-"));
        assert!(PublicId::generate(&folder, None).unwrap().as_str().starts_with("marketing/image-"));
        let long_name = format!("{}.png", "x".repeat(400));
        assert!(PublicId::generate(&folder, Some(&long_name)).unwrap().as_str().len() <= 255);
    }

    #[test]
    fn directory_is_the_folder_part() {
        assert_eq!(PublicId::parse("marketing/2026/hero").unwrap().directory().as_str(), "marketing/2026");
        assert!(PublicId::parse("hero").unwrap().directory().is_root());
    }
}
