//! Full inspection of an uploaded original: the header is read first and the pixel and frame caps
//! are checked before anything large is allocated; then every frame is decoded, so that a truncated
//! or corrupt file is refused at upload rather than at its first delivery.

use std::io::Cursor;

use image::{metadata::Orientation, DynamicImage};

use super::{colour::ToSrgb, decoders, exif_orientation, sniff, Format, Formats};

#[derive(Debug, Clone, Copy)]
pub struct InspectLimits {
    /// Pixels decoded: one canvas, and the rectangles of all frames together.
    pub max_pixels: u64,
    pub max_frames: u32,
    /// The formats accepted (`IMGCLOUD_FORMATS`).
    pub formats: Formats,
    /// The working memory a decode may take (`IMGCLOUD_RENDER_MEMORY_BYTES`): the container
    /// formats' decoders take several times their pixels.
    pub max_memory: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub format: Format,
    /// As displayed: after the EXIF orientation.
    pub width: u32,
    pub height: u32,
    pub frames: u32,
    /// Whether any pixel may be transparent (decides `f_auto`'s JPEG-or-PNG fallback).
    pub has_alpha: bool,
}

/// Width, height, frames and alpha, as one format's inspection finds them.
type Inspected = (u32, u32, u32, bool);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InspectError {
    /// Not one of the accepted formats (415).
    Unsupported(String),
    /// Truncated, corrupt or inconsistent (400).
    Corrupt(String),
    /// Over the pixel or frame cap (413).
    TooLarge(String),
}

pub fn inspect(bytes: &[u8], limits: &InspectLimits) -> Result<ImageInfo, InspectError> {
    inspect_keeping_pixels(bytes, limits).map(|(info, _)| info)
}

/// [`inspect`], also handing back the decoded, oriented pixels in sRGB where decoding is costly
/// enough not to do twice (JPEG, AVIF, HEIC, JPEG XL), so that the upload's masters start from them.
pub fn inspect_keeping_pixels(
    bytes: &[u8],
    limits: &InspectLimits,
) -> Result<(ImageInfo, Option<DynamicImage>), InspectError> {
    let format = sniff(bytes).ok_or_else(|| {
        InspectError::Unsupported("file is not a JPEG, PNG, WebP, GIF, AVIF, HEIC or JPEG XL image".into())
    })?;
    if !limits.formats.contains(format) {
        return Err(InspectError::Unsupported(format!(
            "{} originals are not accepted by this server (IMGCLOUD_FORMATS)",
            format.name()
        )));
    }
    let ((width, height, frames, has_alpha), pixels) = match format {
        Format::Jpeg => jpeg(bytes, limits)?,
        Format::Png => (png(bytes, limits)?, None),
        Format::Gif => (gif(bytes, limits)?, None),
        Format::WebP => (webp(bytes, limits)?, None),
        Format::Avif | Format::Heic | Format::Jxl => container(bytes, format, limits)?,
    };
    Ok((ImageInfo { format, width, height, frames, has_alpha }, pixels))
}

/// The bytes carry the format's signature but no valid header: a polyglot or another kind of file
/// (`GIF89a<html>…`), not an image of that format (415).
fn impostor(format: Format) -> impl Fn(String) -> InspectError {
    move |detail| {
        InspectError::Unsupported(format!("file starts like a {} image but is not one ({detail})", format.name()))
    }
}

/// A valid header with broken image data after it (400).
fn corrupt(format: Format) -> impl Fn(String) -> InspectError {
    move |detail| InspectError::Corrupt(format!("{} file is truncated or corrupt ({detail})", format.name()))
}

/// Refuses a canvas over the pixel cap or a frame count over the frame cap, before any pixel
/// buffer is allocated.
fn check_caps(width: u32, height: u32, frames: u32, limits: &InspectLimits) -> Result<(), InspectError> {
    if width == 0 || height == 0 {
        return Err(InspectError::Corrupt("image has a zero width or height".into()));
    }
    if frames > limits.max_frames {
        return Err(InspectError::TooLarge(format!("image has {frames} frames; the limit is {}", limits.max_frames)));
    }
    check_drawn(u64::from(width) * u64::from(height), frames, limits)
}

/// Refuses frames that draw more pixels in all than the cap: an animation counts the rectangles
/// its frames draw (SPEC §12), so small updates of a large screen are cheap.
fn check_drawn(pixels: u64, frames: u32, limits: &InspectLimits) -> Result<(), InspectError> {
    if pixels > limits.max_pixels {
        return Err(InspectError::TooLarge(format!(
            "image decodes to {pixels} pixels ({frames} frame(s)); the limit is {}",
            limits.max_pixels
        )));
    }
    Ok(())
}

fn jpeg(bytes: &[u8], limits: &InspectLimits) -> Result<(Inspected, Option<DynamicImage>), InspectError> {
    match jpeg_decoded(bytes, limits, true) {
        // What browsers display despite it (bytes between markers, a junk header, a short APP
        // segment) is decoded leniently, as the render's decoder does; only a file that still ends
        // as a JPEG does, since the lenient decoder fills a truncated file's rest with grey.
        Err(JpegFailure::StrictOnly(_)) if ends_after_its_scan(bytes) => jpeg_decoded(bytes, limits, false),
        result => result,
    }
    .map_err(|failure| match failure {
        JpegFailure::Caps(e) => e,
        // SOI and a marker make a JPEG, whose broken or cut header is a corrupt file (400);
        // `\xFF\xD8\xFF<html>` is something else (415).
        JpegFailure::Header(detail) if matches!(bytes.get(3), Some(0xC0..=0xFE)) => corrupt(Format::Jpeg)(detail),
        JpegFailure::Header(detail) => impostor(Format::Jpeg)(detail),
        JpegFailure::StrictOnly(detail) | JpegFailure::Data(detail) => corrupt(Format::Jpeg)(detail),
    })
}

enum JpegFailure {
    /// Over a cap.
    Caps(InspectError),
    /// No JPEG header at all (415).
    Header(String),
    /// What only strict decoding refuses.
    StrictOnly(String),
    /// Broken or missing image data (400).
    Data(String),
}

/// Whether the file's markers, walked from the start as a lenient decoder walks them (segments
/// skipped by their lengths, junk between them passed over), reach the end-of-image marker after a
/// scan: a truncated file never does, wherever it was cut (an APP segment may hold a whole
/// thumbnail with its own markers, which the lengths skip).
fn ends_after_its_scan(bytes: &[u8]) -> bool {
    let (mut at, mut scanned) = (2, false);
    let length = |at: usize| bytes.get(at + 2..at + 4).map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])));
    loop {
        while at + 1 < bytes.len() && (bytes[at] != 0xFF || matches!(bytes[at + 1], 0x00 | 0xFF)) {
            at += 1;
        }
        let Some(&marker) = bytes.get(at + 1) else { return false };
        match marker {
            0xD9 => return scanned,
            0x01 | 0xD0..=0xD7 => at += 2,
            0xDA => {
                let Some(header) = length(at) else { return false };
                scanned = true;
                at += 2 + header;
                // Entropy-coded data: FF is followed by 00 (a stuffed byte) or a restart marker.
                while at + 1 < bytes.len() && (bytes[at] != 0xFF || matches!(bytes[at + 1], 0x00 | 0xD0..=0xD7 | 0xFF))
                {
                    at += 1;
                }
            }
            _ => match length(at) {
                Some(segment) => at += 2 + segment,
                None => return false,
            },
        }
    }
}

fn jpeg_decoded(
    bytes: &[u8],
    limits: &InspectLimits,
    strict: bool,
) -> Result<(Inspected, Option<DynamicImage>), JpegFailure> {
    use zune_core::{bytestream::ZCursor, options::DecoderOptions};
    // zune-jpeg marks what only its strict mode refuses.
    let failure = |header: bool| {
        move |e: zune_jpeg::errors::DecodeErrors| {
            let detail = format!("{e:?}");
            match () {
                () if strict && detail.contains("[strict-mode]") => JpegFailure::StrictOnly(detail),
                () if header => JpegFailure::Header(detail),
                () => JpegFailure::Data(detail),
            }
        }
    };
    let options = DecoderOptions::default().set_strict_mode(strict).set_max_width(1 << 16).set_max_height(1 << 16);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(failure(true))?;
    let (width, height) = decoder
        .dimensions()
        .map(|(w, h)| (w as u32, h as u32))
        .ok_or_else(|| JpegFailure::Data("no frame header".into()))?;
    check_caps(width, height, 1, limits).map_err(JpegFailure::Caps)?;
    let orientation = decoder.exif().and_then(|exif| exif_orientation(exif));
    let colour = ToSrgb::from_icc(decoder.icc_profile().as_deref());
    let rgb = decoder.decode().map_err(failure(false))?;
    // zune-jpeg answers RGB by default; pixels whose profile is not an RGB one (gray, CMYK: their
    // RGB here is not what the profile describes) are left for the render path to decode.
    let pixels = match colour {
        None => image::RgbImage::from_raw(width, height, rgb).map(DynamicImage::ImageRgb8),
        Some(colour @ ToSrgb::Rgb { .. }) => image::RgbImage::from_raw(width, height, rgb)
            .and_then(|rgb| colour.convert(DynamicImage::ImageRgb8(rgb)).ok()),
        Some(_) => None,
    }
    .map(|mut image| {
        image.apply_orientation(orientation.unwrap_or(Orientation::NoTransforms));
        image
    });
    let (width, height) = oriented((width, height), orientation);
    Ok(((width, height, 1, false), pixels))
}

/// Width and height as displayed, after an EXIF orientation.
fn oriented((width, height): (u32, u32), orientation: Option<Orientation>) -> (u32, u32) {
    match orientation.map(Orientation::to_exif) {
        Some(5..=8) => (height, width),
        _ => (width, height),
    }
}

/// AVIF, HEIC or JPEG XL through its decoder: the header's size is capped before any pixel is
/// decoded. Only the first frame (the primary item) is decoded, and rendered: the asset is a still.
fn container(
    bytes: &[u8],
    format: Format,
    limits: &InspectLimits,
) -> Result<(Inspected, Option<DynamicImage>), InspectError> {
    let decoder = decoders::of(format).ok_or_else(|| impostor(format)("no decoder".into()))?;
    let refused = |failure: decoders::Failure| match failure {
        decoders::Failure::NotThisFormat(detail) => impostor(format)(detail),
        decoders::Failure::Corrupt(detail) => corrupt(format)(detail),
    };
    let header = (decoder.header)(bytes).map_err(refused)?;
    check_caps(header.width, header.height, 1, limits)?;
    let memory = decoder.memory(&header);
    if memory > limits.max_memory {
        return Err(InspectError::TooLarge(format!(
            "a {}x{} {} takes {} MiB to decode; this server allows {} MiB",
            header.width,
            header.height,
            format.name(),
            memory >> 20,
            limits.max_memory >> 20
        )));
    }
    let image = (decoder.decode)(bytes, &header).map_err(refused)?;
    if (image.width(), image.height()) != (header.width, header.height) {
        return Err(corrupt(format)(format!(
            "decoded {}x{}, its header says {}x{}",
            image.width(),
            image.height(),
            header.width,
            header.height
        )));
    }
    let pixels = match ToSrgb::from_colour(&header.colour) {
        None => Some(image),
        Some(colour) => colour.convert(image).ok(),
    };
    Ok(((header.width, header.height, 1, header.has_alpha), pixels))
}

fn png(bytes: &[u8], limits: &InspectLimits) -> Result<Inspected, InspectError> {
    let corrupt = corrupt(Format::Png);
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    // Text chunks can be compressed: never inflate what we would throw away (SPEC §4).
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    decoder.set_limits(png::Limits { bytes: usize::MAX });
    let header = decoder.read_header_info().map_err(|e| impostor(Format::Png)(e.to_string()))?;
    let (width, height) = (header.width, header.height);
    check_caps(width, height, 1, limits)?;
    let mut reader = decoder.read_info().map_err(|e| corrupt(e.to_string()))?;
    let frames = reader.info().animation_control.map_or(1, |a| a.num_frames.max(1));
    check_caps(width, height, frames, limits)?;
    let mut buf = vec![0; reader.output_buffer_size().ok_or_else(|| corrupt("frame too large".into()))?];
    let mut drawn = 0u64;
    for _ in 0..frames {
        reader.next_frame(&mut buf).map_err(|e| corrupt(e.to_string()))?;
        let (w, h) = reader.info().frame_control.map_or((width, height), |f| (f.width, f.height));
        drawn += u64::from(w) * u64::from(h);
        check_drawn(drawn, frames, limits)?;
    }
    reader.finish().map_err(|e| corrupt(e.to_string()))?;
    let info = reader.info();
    let has_alpha =
        matches!(info.color_type, png::ColorType::Rgba | png::ColorType::GrayscaleAlpha) || info.trns.is_some();
    // An animation is shown as it is: orientation applies to a still.
    let orientation = info.exif_metadata.as_deref().and_then(exif_orientation).filter(|_| frames == 1);
    let (width, height) = oriented((width, height), orientation);
    Ok((width, height, frames, has_alpha))
}

fn gif(bytes: &[u8], limits: &InspectLimits) -> Result<Inspected, InspectError> {
    let (corrupt, impostor) = (corrupt(Format::Gif), impostor(Format::Gif));
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    // Frames must lie inside the logical screen: one larger than it is refused below.
    options.check_frame_consistency(false);
    let mut decoder = options.read_info(Cursor::new(bytes)).map_err(|e| impostor(e.to_string()))?;
    let (width, height) = (u32::from(decoder.width()), u32::from(decoder.height()));
    let (mut frames, mut drawn) = (0u32, 0u64);
    let mut has_alpha = false;
    loop {
        let frame = decoder.next_frame_info().map_err(|e| {
            if frames == 0 {
                impostor(e.to_string())
            } else {
                corrupt(e.to_string())
            }
        })?;
        let Some(frame) = frame else { break };
        frames += 1;
        has_alpha |= frame.transparent.is_some();
        let right = u32::from(frame.left) + u32::from(frame.width);
        let bottom = u32::from(frame.top) + u32::from(frame.height);
        if right > width || bottom > height {
            return Err(InspectError::TooLarge(format!(
                "frame {frames} ({right}x{bottom} with its offset) is larger than the {width}x{height} screen"
            )));
        }
        // The screen is checked once a frame shows that this is a GIF at all.
        check_caps(width, height, frames, limits)?;
        drawn += u64::from(frame.width) * u64::from(frame.height);
        check_drawn(drawn, frames, limits)?;
        let mut pixels = vec![0; decoder.buffer_size()];
        decoder.read_into_buffer(&mut pixels).map_err(|e| corrupt(e.to_string()))?;
    }
    if frames == 0 {
        return Err(impostor("no frames".into()));
    }
    Ok((width, height, frames, has_alpha))
}

fn webp(bytes: &[u8], limits: &InspectLimits) -> Result<Inspected, InspectError> {
    let corrupt = corrupt(Format::WebP);
    let mut decoder =
        image_webp::WebPDecoder::new(Cursor::new(bytes)).map_err(|e| impostor(Format::WebP)(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    let has_alpha = decoder.has_alpha();
    let frames = if decoder.is_animated() { decoder.num_frames() } else { 1 };
    check_caps(width, height, frames, limits)?;
    // The decoder does not say what each frame draws: every frame counts as a whole canvas.
    check_drawn(u64::from(width) * u64::from(height) * u64::from(frames), frames, limits)?;
    let mut buf = vec![0; decoder.output_buffer_size().ok_or_else(|| corrupt("frame too large".into()))?];
    if decoder.is_animated() {
        for _ in 0..frames {
            decoder.read_frame(&mut buf).map_err(|e| corrupt(e.to_string()))?;
        }
    } else {
        decoder.read_image(&mut buf).map_err(|e| corrupt(e.to_string()))?;
    }
    let orientation = match decoder.is_animated() {
        false => decoder.exif_metadata().ok().flatten().as_deref().and_then(exif_orientation),
        true => None,
    };
    let (width, height) = oriented((width, height), orientation);
    Ok((width, height, frames, has_alpha))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: InspectLimits =
        InspectLimits { max_pixels: 50_000_000, max_frames: 500, formats: Formats::ALL, max_memory: 512 << 20 };
    const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus");

    fn corpus(name: &str) -> Vec<u8> {
        std::fs::read(format!("{CORPUS}/{name}")).expect("the corpus is beside the project")
    }

    #[test]
    fn reads_every_corpus_format_with_its_size() {
        let cases = [
            ("photo_1000x667.jpg", Format::Jpeg, 1000, 667, 1, false),
            ("photo_2000x1333.png", Format::Png, 2000, 1333, 1, false),
            ("alpha_1024x1024.png", Format::Png, 1024, 1024, 1, true),
            // Named for its source; the file itself is 2560x1600.
            ("photo_1920x1200.webp", Format::WebP, 2560, 1600, 1, false),
            ("anim_245x245_42f.gif", Format::Gif, 245, 245, 42, true),
        ];
        for (name, format, width, height, frames, has_alpha) in cases {
            assert_eq!(
                inspect(&corpus(name), &LIMITS),
                Ok(ImageInfo { format, width, height, frames, has_alpha }),
                "{name}"
            );
        }
    }

    #[test]
    fn truncated_files_are_corrupt() {
        for name in ["photo_1000x667.jpg", "photo_2000x1333.png", "photo_1920x1200.webp", "anim_245x245_42f.gif"] {
            let bytes = corpus(name);
            let result = inspect(&bytes[..bytes.len() / 2], &LIMITS);
            assert!(matches!(result, Err(InspectError::Corrupt(_))), "{name}: {result:?}");
        }
    }

    #[test]
    fn a_signature_followed_by_something_else_is_unsupported() {
        for bytes in [
            &b"GIF89a<html><script>alert(1)</script></html>"[..],
            b"\x89PNG\r\n\x1a\n<svg/>",
            b"\xFF\xD8\xFF<html>",
            b"RIFF\0\0\0\0WEBP<html>",
        ] {
            assert!(
                matches!(inspect(bytes, &LIMITS), Err(InspectError::Unsupported(_))),
                "{:?}",
                inspect(bytes, &LIMITS)
            );
        }
    }

    #[test]
    fn caps_are_checked_before_decoding() {
        let tight = InspectLimits { max_pixels: 1000 * 667 - 1, ..LIMITS };
        assert!(matches!(inspect(&corpus("photo_1000x667.jpg"), &tight), Err(InspectError::TooLarge(_))));
        let few_frames = InspectLimits { max_frames: 41, ..LIMITS };
        assert!(matches!(inspect(&corpus("anim_245x245_42f.gif"), &few_frames), Err(InspectError::TooLarge(_))));
    }

    #[test]
    fn a_gif_frame_larger_than_its_screen_is_too_large() {
        let mut bytes = Vec::new();
        {
            let mut encoder = gif::Encoder::new(&mut bytes, 4, 4, &[0, 0, 0, 255, 255, 255]).unwrap();
            let frame = gif::Frame { width: 8, height: 8, buffer: vec![1u8; 64].into(), ..Default::default() };
            encoder.write_frame(&frame).unwrap();
        }
        assert!(matches!(inspect(&bytes, &LIMITS), Err(InspectError::TooLarge(_))), "{:?}", inspect(&bytes, &LIMITS));
    }

    #[test]
    fn an_animation_counts_the_rectangles_its_frames_draw() {
        // A 1000×1000 screen updated by 60 frames of 200×200: 60 MP as canvases, 2.4 MP drawn.
        let gif = |frames: u16, side: u16| {
            let mut bytes = Vec::new();
            let mut encoder = gif::Encoder::new(&mut bytes, 1000, 1000, &[0, 0, 0, 255, 255, 255]).unwrap();
            for n in 0..frames {
                let buffer = vec![(n % 2) as u8; usize::from(side) * usize::from(side)];
                let frame = gif::Frame { width: side, height: side, buffer: buffer.into(), ..Default::default() };
                encoder.write_frame(&frame).unwrap();
            }
            drop(encoder);
            bytes
        };
        let info = inspect(&gif(60, 200), &LIMITS).unwrap();
        assert_eq!((info.width, info.height, info.frames), (1000, 1000, 60));
        let tight = InspectLimits { max_pixels: 2_000_000, ..LIMITS };
        assert!(matches!(inspect(&gif(60, 200), &tight), Err(InspectError::TooLarge(_))));
        assert!(matches!(inspect(&gif(60, 1000), &LIMITS), Err(InspectError::TooLarge(_))), "60 full frames");
    }

    #[test]
    fn a_jpeg_a_browser_displays_is_accepted_and_a_truncated_one_is_not() {
        let peer = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/peer-corpus/pillow");
        for name in ["jpeg_ff00_header.jpg", "photoshop-200dpi-broken.jpg", "junk_jpeg_header.jpg"] {
            let bytes = std::fs::read(format!("{peer}/{name}")).unwrap();
            assert!(inspect(&bytes, &LIMITS).is_ok(), "{name}: {:?}", inspect(&bytes, &LIMITS));
            for tenths in [3, 6, 9] {
                let cut = &bytes[..bytes.len() * tenths / 10];
                let refused = inspect(cut, &LIMITS);
                assert!(matches!(refused, Err(InspectError::Corrupt(_))), "{name} cut at {tenths}/10: {refused:?}");
            }
        }
    }
}
