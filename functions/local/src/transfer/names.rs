//! The public_id of an imported file (SPEC §15): the folder plus the file's path relative to the
//! imported directory without its extension, each segment made valid by SPEC §3's public_id rules
//! (which the core checks: [`PublicId::parse`]).
//!
//! The rule, per segment: every run of characters outside `[A-Za-z0-9_.-]` becomes one `-`
//! (`My Photo (1)` → `My-Photo-1-`, `été` → `-t-`), leading dots are dropped (`.hidden` → `hidden`),
//! and a segment left empty becomes `_`. A first segment that is transform-shaped (`w_400`,
//! `c_fill`) has its first `_` turned into `-` (`w-400`), so delivery URLs stay unambiguous. Case
//! is kept. An id that still breaks a rule (longer than 255 bytes) is that file's failure.

use std::path::{Component, Path};

use imgcloud_core::domain::{public_id::is_transform_shaped, Folder, PublicId};

/// The public_id for `relative` (a file's path under the imported directory) in `folder`.
pub fn public_id_for(folder: &Folder, relative: &Path) -> Result<PublicId, String> {
    let mut segments: Vec<String> = Vec::new();
    if !folder.is_root() {
        segments.push(folder.as_str().to_owned());
    }
    let parts: Vec<_> = relative
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part),
            _ => None,
        })
        .collect();
    let Some((file, dirs)) = parts.split_last() else {
        return Err("the file has no name".into());
    };
    segments.extend(dirs.iter().map(|dir| segment(&dir.to_string_lossy())));
    let stem = Path::new(file).file_stem().unwrap_or(file);
    segments.push(segment(&stem.to_string_lossy()));
    if folder.is_root() {
        segments[0] = untransform(&segments[0]);
    }
    PublicId::parse(&segments.join("/")).map_err(|e| e.message)
}

/// One path segment made valid: runs of other characters as one `-`, no leading dot, never empty.
fn segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_start_matches('.');
    if out.is_empty() {
        "_".to_owned()
    } else {
        out.to_owned()
    }
}

/// `w_400` → `w-400`: a first segment that delivery would read as a transform.
fn untransform(segment: &str) -> String {
    if is_transform_shaped(segment) {
        segment.replacen('_', "-", 1)
    } else {
        segment.to_owned()
    }
}
