//! Decoding a stored original into 8-bit RGB(A) frames, oriented as displayed. The caps are
//! checked again here (SPEC §9): a render never trusts that an upload checked them.

use std::{
    io::Cursor,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use image::{codecs, AnimationDecoder, DynamicImage, ImageDecoder};

use super::{colour::ToSrgb, Frame, RenderError};
use crate::media::Format;

#[derive(Debug, Clone)]
pub struct Limits {
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

impl Limits {
    /// The server's defaults (`Config`'s), with no deadline: for tools and tests.
    pub const DEFAULT: Limits = Limits {
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
fn check_pixels(width: u32, height: u32, limits: &Limits) -> Result<(), RenderError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(RenderError::TooLarge(format!("{width}x{height} is over the pixel cap")));
    }
    super::check_memory(pixels * super::DECODING_BYTES_PER_PIXEL, limits)
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
        Some(colour) => colour.convert(image),
        None => Ok(image),
    }
}

pub fn still<'a>(image: DynamicImage) -> Frames<'a> {
    Box::new(std::iter::once(Ok(Frame { image: normalise(image), delay_ms: 0 })))
}

fn image_limits(limits: &Limits) -> image::Limits {
    let mut l = image::Limits::default();
    l.max_alloc = Some(limits.max_pixels.saturating_mul(8).max(64 << 20));
    l
}

/// Decodes `bytes`; with `animated`, every frame of an animation (composited), else the first.
/// An animation's frames are decoded as they are taken: the caller holds one at a time.
pub fn decode<'a>(bytes: &'a [u8], format: Format, limits: &Limits, animated: bool) -> Result<Frames<'a>, RenderError> {
    match format {
        Format::Jpeg => {
            let mut decoder = codecs::jpeg::JpegDecoder::new(Cursor::new(bytes)).map_err(decode_error)?;
            let (w, h) = decoder.dimensions();
            check_pixels(w, h, limits)?;
            decoder.set_limits(image_limits(limits)).map_err(decode_error)?;
            let orientation = decoder.orientation().map_err(decode_error)?;
            let colour = colour(&mut decoder);
            let mut image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
            image.apply_orientation(orientation);
            in_srgb(normalise(image), colour.as_ref()).map(still)
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
                let image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
                in_srgb(normalise(image), colour.as_ref()).map(still)
            }
        }
        Format::Avif => Err(RenderError::Decode("AVIF originals cannot be decoded by this build".into())),
    }
}

/// The frames of an animation, at most `max_frames` of them (the first only, unless `animated`).
fn frames<'a>(iter: image::Frames<'a>, limits: &Limits, animated: bool, colour: Option<ToSrgb>) -> Frames<'a> {
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
fn png<'a>(bytes: &[u8], limits: &Limits) -> Result<Frames<'a>, RenderError> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let header = decoder.read_header_info().map_err(decode_error)?;
    check_pixels(header.width, header.height, limits)?;
    let mut reader = decoder.read_info().map_err(decode_error)?;
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
    Ok(still(image))
}
