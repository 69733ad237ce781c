//! The decoders of the container formats that `image` does not read: AVIF (rav1d), HEIC/HEIF
//! (a pure-Rust HEVC decoder) and JPEG XL (jxl-oxide). Each module answers the same two calls,
//! so that the upload's inspection and the render treat them alike:
//!
//! - `header(bytes)` reads what the image is (its displayed size, alpha, frames, colour) without
//!   allocating for its pixels, so that the caps are checked before anything large is made;
//! - `decode(bytes, &header)` decodes the first frame (the primary item of a HEIF file) to 8-bit
//!   RGB or RGBA, as displayed: the container's transforms (`irot`, `imir`, `clap`; JPEG XL's
//!   orientation) are applied, grids and tiles put together, 10/12-bit samples scaled to 8 bits.

use image::DynamicImage;

/// What a decoder knows of an image before decoding its pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// As displayed: after the container's rotation.
    pub width: u32,
    pub height: u32,
    pub has_alpha: bool,
    /// Frames of an image sequence (`avis`, an animated JPEG XL); 1 for a still.
    pub frames: u32,
    pub colour: Colour,
}

/// The colour space the decoded pixels are in.
#[derive(Debug, Clone, PartialEq)]
pub enum Colour {
    /// sRGB, or nothing said (read as sRGB).
    Srgb,
    /// An embedded ICC profile (`colr` of type `prof`/`rICC`, JPEG XL's ICC).
    Icc(Vec<u8>),
    /// Coding-independent code points (`colr` of type `nclx`, AV1's sequence header): ITU-T H.273
    /// colour primaries and transfer characteristics.
    Cicp { primaries: u8, transfer: u8 },
}

/// Why a file cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Not an image of this format at all: no valid container or header (415).
    NotThisFormat(String),
    /// A valid header with broken, missing or unsupported image data after it (400).
    Corrupt(String),
}

/// 8-bit RGB, or RGBA with alpha.
pub type Pixels = DynamicImage;

pub mod avif;
pub mod heic;
pub mod jxl;
#[cfg(test)]
mod test_support;

use super::Format;

impl Failure {
    pub fn message(&self) -> &str {
        match self {
            Failure::NotThisFormat(m) | Failure::Corrupt(m) => m,
        }
    }
}

/// One format's two calls.
pub struct Decoder {
    pub header: fn(&[u8]) -> Result<Header, Failure>,
    pub decode: fn(&[u8], &Header) -> Result<Pixels, Failure>,
    /// The working memory a decode takes per pixel of the header's size, result included
    /// (measured: JPEG XL's `f32` planes ~24 B, HEIC's RGBA and its transformed copy 8 B).
    pub bytes_per_pixel: u64,
}

impl Decoder {
    /// The working memory decoding an image of `header`'s size takes.
    pub fn memory(&self, header: &Header) -> u64 {
        u64::from(header.width) * u64::from(header.height) * self.bytes_per_pixel
    }
}

/// The decoder of `format`, if it is one of this module's.
pub fn of(format: Format) -> Option<Decoder> {
    match format {
        Format::Avif => Some(Decoder { header: avif::header, decode: avif::decode, bytes_per_pixel: 12 }),
        Format::Heic => Some(Decoder { header: heic::header, decode: heic::decode, bytes_per_pixel: 12 }),
        Format::Jxl => Some(Decoder { header: jxl::header, decode: jxl::decode, bytes_per_pixel: 28 }),
        Format::Jpeg | Format::Png | Format::Gif | Format::WebP => None,
    }
}
