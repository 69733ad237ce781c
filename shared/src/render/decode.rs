//! Decoding a stored original into 8-bit RGB(A) frames, oriented as displayed. The caps are
//! checked again here (SPEC §9): a render never trusts that an upload checked them.

use std::{
    io::Cursor,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use image::{codecs, metadata::Orientation, AnimationDecoder, DynamicImage, ImageDecoder};

use super::{Frame, RenderError};
use crate::media::{colour::ToSrgb, decoders, exif_orientation, Format};

#[derive(Debug, Clone)]
pub struct RenderLimits {
    pub max_pixels: u64,
    pub max_frames: u32,
    pub max_output_side: u32,
    /// The pixels of an animation's output frames together.
    pub max_animation_pixels: u64,
    /// The working memory a render may take, as [`super::working_memory`] estimates it
    /// (`IMGCLOUD_RENDER_MEMORY_BYTES`).
    pub max_memory: u64,
    /// When the render must give up (`IMGCLOUD_RENDER_SECONDS` after it began); checked between
    /// the pipeline's steps.
    pub deadline: Option<std::time::Instant>,
    /// Set when nobody waits for the render any more (its client hung up); checked with the
    /// deadline.
    pub cancelled: Option<Arc<AtomicBool>>,
}

impl RenderLimits {
    /// The server's defaults (`Config`'s), with no deadline: for tools and tests.
    pub const DEFAULT: RenderLimits = RenderLimits {
        max_pixels: 50_000_000,
        max_frames: 500,
        max_output_side: 4000,
        max_animation_pixels: 200_000_000,
        max_memory: 512 << 20,
        deadline: None,
        cancelled: None,
    };

    /// `Err` once the deadline has passed or the render was cancelled.
    pub fn check_budget(&self) -> Result<(), RenderError> {
        if self.cancelled.as_ref().is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(RenderError::OverBudget("nobody waits for the render any more".into()));
        }
        match self.deadline {
            Some(deadline) if std::time::Instant::now() >= deadline => {
                Err(RenderError::OverBudget("the render took longer than this server allows".into()))
            }
            _ => Ok(()),
        }
    }
}

fn decode_error(e: impl std::fmt::Display) -> RenderError {
    RenderError::Decode(e.to_string())
}

/// One frame's canvas, before any pixel is decoded: within the pixel cap, and its decoding within
/// the memory budget.
fn check_pixels(width: u32, height: u32, limits: &RenderLimits) -> Result<(), RenderError> {
    check_pixels_decoded_in(width, height, super::DECODING_BYTES_PER_PIXEL, limits)
}

/// [`check_pixels`] for a decoder that takes `bytes_per_pixel` of working memory.
fn check_pixels_decoded_in(
    width: u32,
    height: u32,
    bytes_per_pixel: u64,
    limits: &RenderLimits,
) -> Result<(), RenderError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(RenderError::TooLarge(format!("{width}x{height} is over the pixel cap")));
    }
    super::check_memory(pixels * bytes_per_pixel, limits)
}

/// 8-bit RGB, or RGBA when the image has alpha: the only two layouts the later steps handle.
fn normalise(image: DynamicImage) -> DynamicImage {
    match image {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => image,
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.to_rgba8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    }
}

/// The frames of an image, decoded one at a time as the render asks for them.
pub type Frames<'a> = Box<dyn Iterator<Item = Result<Frame, RenderError>> + 'a>;

/// The conversion to sRGB that the decoder's ICC profile asks for, if any.
fn colour(decoder: &mut impl ImageDecoder) -> Option<ToSrgb> {
    ToSrgb::from_icc(decoder.icc_profile().ok().flatten().as_deref())
}

fn in_srgb(image: DynamicImage, colour: Option<&ToSrgb>) -> Result<DynamicImage, RenderError> {
    match colour {
        Some(colour) => colour.convert(image).map_err(RenderError::Decode),
        None => Ok(image),
    }
}

/// One still image, as 8-bit RGB(A).
pub fn still<'a>(image: DynamicImage) -> Frames<'a> {
    Box::new(std::iter::once(Ok(Frame { image: normalise(image), delay_ms: 0 })))
}

/// A still decoded by `decode`, in sRGB and oriented as displayed.
fn displayed<'a>(
    image: DynamicImage,
    colour: Option<&ToSrgb>,
    orientation: Orientation,
) -> Result<Frames<'a>, RenderError> {
    let mut image = in_srgb(image, colour)?;
    image.apply_orientation(orientation);
    Ok(still(image))
}

fn image_limits(limits: &RenderLimits) -> image::Limits {
    let mut l = image::Limits::default();
    l.max_alloc = Some(limits.max_pixels.saturating_mul(8).max(64 << 20));
    l
}

/// Decodes `bytes`; with `animated`, every frame of an animation (composited), else the first.
/// An animation's frames are decoded as they are taken: the caller holds one at a time.
pub fn decode<'a>(
    bytes: &'a [u8],
    format: Format,
    limits: &RenderLimits,
    animated: bool,
) -> Result<Frames<'a>, RenderError> {
    match format {
        Format::Jpeg => {
            let mut decoder = codecs::jpeg::JpegDecoder::new(Cursor::new(bytes)).map_err(decode_error)?;
            let (w, h) = decoder.dimensions();
            check_pixels(w, h, limits)?;
            decoder.set_limits(image_limits(limits)).map_err(decode_error)?;
            let orientation = decoder.orientation().map_err(decode_error)?;
            let colour = colour(&mut decoder);
            let image = match &colour {
                Some(cmyk @ ToSrgb::Cmyk(_)) => DynamicImage::ImageRgb8(jpeg_cmyk(bytes, cmyk)?),
                _ => DynamicImage::from_decoder(decoder).map_err(decode_error)?,
            };
            let colour = colour.filter(|c| !matches!(c, ToSrgb::Cmyk(_)));
            displayed(image, colour.as_ref(), orientation)
        }
        Format::Png => png(bytes, limits),
        Format::Gif => {
            let decoder = codecs::gif::GifDecoder::new(Cursor::new(bytes)).map_err(decode_error)?;
            let (w, h) = decoder.dimensions();
            check_pixels(w, h, limits)?;
            Ok(frames(decoder.into_frames(), limits, animated, None))
        }
        Format::WebP => {
            let mut decoder = codecs::webp::WebPDecoder::new(Cursor::new(bytes)).map_err(decode_error)?;
            let (w, h) = decoder.dimensions();
            check_pixels(w, h, limits)?;
            let colour = colour(&mut decoder);
            if decoder.has_animation() {
                Ok(frames(decoder.into_frames(), limits, animated, colour))
            } else {
                let orientation = decoder.orientation().map_err(decode_error)?;
                let image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
                displayed(image, colour.as_ref(), orientation)
            }
        }
        Format::Avif | Format::Heic | Format::Jxl => container(bytes, format, limits),
    }
}

/// The frames of an animation, at most `max_frames` of them (the first only, unless `animated`).
fn frames<'a>(iter: image::Frames<'a>, limits: &RenderLimits, animated: bool, colour: Option<ToSrgb>) -> Frames<'a> {
    let max_frames = limits.max_frames as usize;
    let wanted = if animated { max_frames + 1 } else { 1 };
    Box::new(iter.take(wanted).enumerate().map(move |(index, frame)| {
        if index == max_frames {
            return Err(RenderError::TooLarge(format!("more than {max_frames} frames")));
        }
        let frame = frame.map_err(decode_error)?;
        let (num, den) = frame.delay().numer_denom_ms();
        let image = in_srgb(DynamicImage::ImageRgba8(frame.into_buffer()), colour.as_ref())?;
        Ok(Frame { image, delay_ms: num / den.max(1) })
    }))
}

/// PNG through the `png` crate directly, so that text chunks are never inflated (SPEC §4).
fn png<'a>(bytes: &[u8], limits: &RenderLimits) -> Result<Frames<'a>, RenderError> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_ignore_text_chunk(true);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let header = decoder.read_header_info().map_err(decode_error)?;
    check_pixels(header.width, header.height, limits)?;
    let mut reader = decoder.read_info().map_err(decode_error)?;
    // The profile's inflated size is bounded by the decoder's limits (64 MiB by default).
    let colour = ToSrgb::from_icc(reader.info().icc_profile.as_deref());
    // An animation is shown as it is (as the upload's inspection sizes it): orientation is a still's.
    let orientation = reader.info().exif_metadata.as_deref().and_then(exif_orientation);
    let orientation = orientation.filter(|_| reader.info().animation_control.is_none());
    let mut buf = vec![0; reader.output_buffer_size().ok_or_else(|| decode_error("frame too large"))?];
    let info = reader.next_frame(&mut buf).map_err(decode_error)?;
    buf.truncate(info.buffer_size());
    let (w, h) = (info.width, info.height);
    let invalid = || decode_error("PNG buffer does not match its size");
    let image = match info.color_type {
        png::ColorType::Rgb => DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, buf).ok_or_else(invalid)?),
        png::ColorType::Rgba => DynamicImage::ImageRgba8(image::RgbaImage::from_raw(w, h, buf).ok_or_else(invalid)?),
        png::ColorType::Grayscale => {
            DynamicImage::ImageLuma8(image::GrayImage::from_raw(w, h, buf).ok_or_else(invalid)?)
        }
        png::ColorType::GrayscaleAlpha => {
            DynamicImage::ImageLumaA8(image::GrayAlphaImage::from_raw(w, h, buf).ok_or_else(invalid)?)
        }
        png::ColorType::Indexed => return Err(decode_error("indexed PNG was not expanded")),
    };
    displayed(image, colour.as_ref(), orientation.unwrap_or(Orientation::NoTransforms))
}

/// An AVIF, HEIC or JPEG XL original through its decoder (`media::decoders`), which applies the
/// container's transforms itself.
fn container<'a>(bytes: &[u8], format: Format, limits: &RenderLimits) -> Result<Frames<'a>, RenderError> {
    let decoder = decoders::of(format).ok_or_else(|| decode_error(format!("no decoder for {}", format.name())))?;
    let failed = |e: decoders::Failure| decode_error(e.message());
    let header = (decoder.header)(bytes).map_err(failed)?;
    check_pixels_decoded_in(header.width, header.height, decoder.bytes_per_pixel, limits)?;
    let image = (decoder.decode)(bytes, &header).map_err(failed)?;
    displayed(image, ToSrgb::from_colour(&header.colour).as_ref(), Orientation::NoTransforms)
}

/// A CMYK JPEG's pixels through its CMYK profile. The samples are read raw (zune-jpeg answers
/// them without converting) and taken as Adobe's inverted CMYK, as browsers and libjpeg's users
/// take them: 255 is no ink. YCCK (Adobe's transform 2) is turned back into inverted CMY first.
fn jpeg_cmyk(bytes: &[u8], cmyk: &ToSrgb) -> Result<image::RgbImage, RenderError> {
    use zune_core::{bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions};
    let options = DecoderOptions::default().set_strict_mode(false);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(|e| decode_error(format!("{e:?}")))?;
    let input = decoder.input_colorspace().ok_or_else(|| decode_error("no JPEG frame header"))?;
    if !matches!(input, ColorSpace::CMYK | ColorSpace::YCCK) {
        return Err(decode_error("a CMYK profile on a JPEG that is not CMYK"));
    }
    let (w, h) = decoder.dimensions().ok_or_else(|| decode_error("no JPEG frame header"))?;
    let options = decoder.options().jpeg_set_out_colorspace(input);
    decoder.set_options(options);
    let mut samples = decoder.decode().map_err(|e| decode_error(format!("{e:?}")))?;
    for pixel in samples.chunks_exact_mut(4) {
        if input == ColorSpace::YCCK {
            // As libjpeg turns YCCK into CMYK: the inverse of the YCbCr-coded RGB.
            let [r, g, b] = ycc_to_rgb(pixel[0], pixel[1], pixel[2]);
            pixel[..3].copy_from_slice(&[255 - r, 255 - g, 255 - b]);
        }
        for sample in pixel.iter_mut() {
            *sample = 255 - *sample;
        }
    }
    let (w, h) = (w as u32, h as u32);
    cmyk.convert_cmyk(&samples, w, h)
        .unwrap_or_else(|| Err("not a CMYK conversion".into()))
        .map_err(RenderError::Decode)
}

/// JPEG's full-range BT.601 YCbCr to RGB.
fn ycc_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let (y, cb, cr) = (f32::from(y), f32::from(cb) - 128.0, f32::from(cr) - 128.0);
    let clamp = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    [clamp(y + 1.402 * cr), clamp(y - 0.344_136 * cb - 0.714_136 * cr), clamp(y + 1.772 * cb)]
}
