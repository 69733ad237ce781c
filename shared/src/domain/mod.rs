//! Domain values, each built by `parse` so that bad input is refused before any I/O.

pub mod password;
pub mod public_id;
mod subject;
mod values;

pub use public_id::{Folder, PublicId, TRANSFORM_KEYS};
pub use subject::{Analysis, Fraction, Point, Region, Subject};
pub use values::{Email, Role, Tags, TagsInput, Visibility};
