//! Reading untrusted image bytes: what format they are ([`sniff`], by content only) and whether they
//! are a whole, decodable image within the caps ([`inspect`]). Decoders are the memory-safe Rust
//! ones (SPEC §4), the container formats' in [`decoders`]; [`colour`] takes their pixels to sRGB.

pub mod colour;
pub mod decoders;
mod inspect;
mod sniff;

use image::metadata::Orientation;

pub use inspect::{inspect, inspect_keeping_pixels, ImageInfo, InspectError, InspectLimits};
pub use sniff::{sniff, Format, Formats};

/// The EXIF orientation, read from the TIFF structure (with or without JPEG's `Exif\0\0` prefix)
/// and nothing else.
pub fn exif_orientation(exif: &[u8]) -> Option<Orientation> {
    let tiff = exif.strip_prefix(b"Exif\0\0").unwrap_or(exif);
    Orientation::from_exif_chunk(tiff)
}
