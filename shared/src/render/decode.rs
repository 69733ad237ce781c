//! Decoding a stored original into 8-bit RGB(A) frames, oriented as displayed. The caps are
//! checked again here (SPEC §9): a render never trusts that an upload checked them.

use std::io::Cursor;

use image::{codecs, AnimationDecoder, DynamicImage, ImageDecoder};

use super::{Frame, RenderError};
use crate::media::Format;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_pixels: u64,
    pub max_frames: u32,
    pub max_output_side: u32,
    /// When the render must give up (`IMGCLOUD_RENDER_SECONDS` after it began); checked between
    /// the pipeline's steps.
    pub deadline: Option<std::time::Instant>,
}

impl Limits {
    /// `Err` once the deadline has passed.
    pub fn check_time(&self) -> Result<(), RenderError> {
        match self.deadline {
            Some(deadline) if std::time::Instant::now() >= deadline => {
                Err(RenderError::TooSlow("the render took longer than this server allows".into()))
            }
            _ => Ok(()),
        }
    }
}

fn decode_error(e: impl std::fmt::Display) -> RenderError {
    RenderError::Decode(e.to_string())
}

fn check_pixels(width: u32, height: u32, frames: u64, limits: &Limits) -> Result<(), RenderError> {
    let pixels = u64::from(width) * u64::from(height) * frames.max(1);
    if pixels > limits.max_pixels {
        return Err(RenderError::TooLarge(format!("{width}x{height} x {frames} frame(s) is over the pixel cap")));
    }
    Ok(())
}

/// 8-bit RGB, or RGBA when the image has alpha: the only two layouts the later steps handle.
fn normalise(image: DynamicImage) -> DynamicImage {
    match image {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => image,
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.to_rgba8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    }
}

fn still(image: DynamicImage) -> Vec<Frame> {
    vec![Frame { image: normalise(image), delay_ms: 0 }]
}

fn image_limits(limits: &Limits) -> image::Limits {
    let mut l = image::Limits::default();
    l.max_alloc = Some(limits.max_pixels.saturating_mul(8).max(64 << 20));
    l
}

/// Decodes `bytes`; with `animated`, every frame of an animation (composited), else the first.
pub fn decode(bytes: &[u8], format: Format, limits: &Limits, animated: bool) -> Result<Vec<Frame>, RenderError> {
    match format {
        Format::Jpeg => {
            let mut decoder = codecs::jpeg::JpegDecoder::new(Cursor::new(bytes)).map_err(decode_error)?;
            let (w, h) = decoder.dimensions();
            check_pixels(w, h, 1, limits)?;
            decoder.set_limits(image_limits(limits)).map_err(decode_error)?;
            let orientation = decoder.orientation().map_err(decode_error)?;
            let mut image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
            image.apply_orientation(orientation);
            Ok(still(image))
        }
        Format::Png => png(bytes, limits),
        Format::Gif => {
            let decoder = codecs::gif::GifDecoder::new(Cursor::new(bytes)).map_err(decode_error)?;
            let (w, h) = decoder.dimensions();
            check_pixels(w, h, 1, limits)?;
            frames(decoder.into_frames(), w, h, limits, animated)
        }
        Format::WebP => {
            let decoder = codecs::webp::WebPDecoder::new(Cursor::new(bytes)).map_err(decode_error)?;
            let (w, h) = decoder.dimensions();
            check_pixels(w, h, 1, limits)?;
            if animated && decoder.has_animation() {
                frames(decoder.into_frames(), w, h, limits, true)
            } else {
                Ok(still(DynamicImage::from_decoder(decoder).map_err(decode_error)?))
            }
        }
        Format::Avif => Err(RenderError::Decode("AVIF originals cannot be decoded by this build".into())),
    }
}

fn frames(iter: image::Frames<'_>, w: u32, h: u32, limits: &Limits, animated: bool) -> Result<Vec<Frame>, RenderError> {
    let mut out = Vec::new();
    for frame in iter {
        let frame = frame.map_err(decode_error)?;
        let (num, den) = frame.delay().numer_denom_ms();
        out.push(Frame { image: DynamicImage::ImageRgba8(frame.into_buffer()), delay_ms: num / den.max(1) });
        if out.len() as u32 > limits.max_frames {
            return Err(RenderError::TooLarge(format!("more than {} frames", limits.max_frames)));
        }
        check_pixels(w, h, out.len() as u64, limits)?;
        if !animated {
            break;
        }
    }
    if out.is_empty() {
        return Err(RenderError::Decode("no frames".into()));
    }
    Ok(out)
}

/// PNG through the `png` crate directly, so that text chunks are never inflated (SPEC §4).
fn png(bytes: &[u8], limits: &Limits) -> Result<Vec<Frame>, RenderError> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let header = decoder.read_header_info().map_err(decode_error)?;
    check_pixels(header.width, header.height, 1, limits)?;
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
