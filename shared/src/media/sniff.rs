//! Format detection from the first bytes, never from a name or a declared type.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Gif,
    WebP,
    Avif,
    /// HEIC/HEIF: accepted as an original, never an output (SPEC §12).
    Heic,
    /// JPEG XL: accepted as an original, never an output.
    Jxl,
}

impl Format {
    pub const ALL: [Format; 7] =
        [Format::Jpeg, Format::Png, Format::Gif, Format::WebP, Format::Avif, Format::Heic, Format::Jxl];

    /// The name used in `asset.format` and the `f_` transform.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Gif => "gif",
            Format::WebP => "webp",
            Format::Avif => "avif",
            Format::Heic => "heic",
            Format::Jxl => "jxl",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Gif => "image/gif",
            Format::WebP => "image/webp",
            Format::Avif => "image/avif",
            Format::Heic => "image/heic",
            Format::Jxl => "image/jxl",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// What a render of this original is without `f_`: its own format, or for the formats we do
    /// not encode (HEIC, JPEG XL), JPEG, or PNG when the image has alpha (SPEC §12).
    pub fn rendered_as(self, has_alpha: bool) -> Format {
        match self {
            Format::Heic | Format::Jxl if has_alpha => Format::Png,
            Format::Heic | Format::Jxl => Format::Jpeg,
            other => other,
        }
    }
}

/// The formats a server accepts as originals (`IMGCLOUD_FORMATS`; all by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Formats(u8);

impl Formats {
    pub const ALL: Formats = Formats((1 << Format::ALL.len()) - 1);

    pub fn contains(self, format: Format) -> bool {
        self.0 & Self::bit(format) != 0
    }

    /// A comma-separated list of format names (`jpg,png,webp`).
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',').map(str::trim).filter(|name| !name.is_empty()).try_fold(Formats(0), |set, name| {
            let format = Format::from_name(name)
                .ok_or_else(|| format!("{name:?} is not one of jpg, png, gif, webp, avif, heic, jxl"))?;
            Ok(Formats(set.0 | Self::bit(format)))
        })
    }

    fn bit(format: Format) -> u8 {
        1 << Format::ALL.iter().position(|f| *f == format).unwrap_or_default()
    }
}

pub fn sniff(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(Format::Gif)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(Format::WebP)
    } else if bytes.starts_with(&[0xFF, 0x0A]) || bytes.starts_with(b"\0\0\0\x0cJXL \r\n\x87\n") {
        // A bare JPEG XL codestream, or its ISO-BMFF container.
        Some(Format::Jxl)
    } else {
        heif_brand(bytes)
    }
}

/// An ISO-BMFF `ftyp` box whose major or compatible brands name AVIF (`avif`, `avis`) or HEIC
/// (`heic`, `heix`, `heim`, `heis`, `hevc`, `hevx`, or the generic `mif1`/`msf1` of a HEIF file
/// that is not AVIF).
fn heif_brand(bytes: &[u8]) -> Option<Format> {
    if bytes.len() < 16 || &bytes[4..8] != b"ftyp" {
        return None;
    }
    let size = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    if size < 16 {
        return None;
    }
    let major = &bytes[8..12];
    let brands = || std::iter::once(major).chain(bytes[16..size.min(bytes.len())].chunks_exact(4));
    let named = |names: &[&[u8; 4]]| brands().any(|b| names.iter().any(|n| b == *n));
    if named(&[b"avif", b"avis"]) {
        Some(Format::Avif)
    } else if named(&[b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"]) {
        Some(Format::Heic)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_each_format_by_its_bytes() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Some(Format::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some(Format::Png));
        assert_eq!(sniff(b"GIF89a..."), Some(Format::Gif));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::WebP));
        assert_eq!(sniff(b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf"), Some(Format::Avif));
        assert_eq!(sniff(b"\0\0\0\x1cftypheic\0\0\0\0mif1heic"), Some(Format::Heic));
        assert_eq!(sniff(b"\0\0\0\x18ftypmif1\0\0\0\0mif1avif"), Some(Format::Avif));
        assert_eq!(sniff(b"\0\0\0\x0cJXL \r\n\x87\n\0\0\0\x14ftypjxl "), Some(Format::Jxl));
        assert_eq!(sniff(b"\xFF\x0A\xFA\x7F"), Some(Format::Jxl));
        assert_eq!(sniff(b"\0\0\0\x14ftypisom\0\0\0\0mp41"), None, "a video is not an image");
    }

    #[test]
    fn a_format_list_names_what_is_accepted() {
        let set = Formats::parse("jpg, png,webp").unwrap();
        assert!(set.contains(Format::Png) && !set.contains(Format::Heic));
        assert!(Format::ALL.into_iter().all(|f| Formats::ALL.contains(f)));
        assert!(Formats::parse("jpg,tiff").unwrap_err().contains("tiff"));
    }

    #[test]
    fn refuses_svg_pdf_html_and_json() {
        for bytes in
            [&b"<svg xmlns='http://www.w3.org/2000/svg'/>"[..], b"%PDF-1.7", b"<!doctype html>", b"{\"a\":1}", b""]
        {
            assert_eq!(sniff(bytes), None);
        }
    }
}
