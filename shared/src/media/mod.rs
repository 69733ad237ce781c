//! Reading untrusted image bytes: what format they are ([`sniff`], by content only) and whether they
//! are a whole, decodable image within the caps ([`inspect`]). Decoders are the memory-safe Rust
//! ones (SPEC §4).

mod inspect;
mod sniff;

pub use inspect::{inspect, inspect_keeping_pixels, ImageInfo, InspectError, Limits};
pub use sniff::{sniff, Format};
