//! Encoders, each fed only our own validated pixels: JPEG (jpeg-encoder), PNG (png), WebP
//! (libwebp), AVIF (ravif/rav1e), GIF (gif); WebP and GIF stay animated when there are several
//! frames. None of them writes metadata, so EXIF, ICC and text never reach a delivery.
//!
//! An [`Encoder`] takes frames one at a time: an animation is encoded as its frames arrive, so a
//! render holds one output frame, never all of them (SPEC §12).

use image::{DynamicImage, ImageEncoder};
use rgb::FromSlice;

use super::{webp_animation::WebPAnimation, Frame, RenderError};
use crate::media::Format;

const DEFAULT_QUALITY: u8 = 80;
const DEFAULT_AVIF_QUALITY: u8 = 60;
/// rav1e speed 1 (slowest, smallest) to 10, chosen by output size so that a first render costs
/// about what a WebP does: 8 for small outputs, and 10 from [`AVIF_FASTEST_FROM_PIXELS`] up, where
/// speed 8 costs ~1.2 µs a pixel here (a `w_800` ~600 ms) and 10 ~0.2 µs (~100 ms) for files ~7 %
/// larger at the same SSIMULACRA2 (docs/BENCHMARKS.md, "AVIF like for like").
const AVIF_SPEED: u8 = 8;
const AVIF_FASTEST_FROM_PIXELS: u64 = 100_000;
/// The GIF quantiser's speed (1 best, 30 fastest).
const GIF_SPEED: i32 = 10;

pub fn has_alpha(format: Format) -> bool {
    !matches!(format, Format::Jpeg)
}

pub(super) fn failed(e: impl std::fmt::Debug) -> RenderError {
    RenderError::Encode(format!("{e:?}"))
}

/// The memory an encoder of `format` takes per output pixel, beyond the pixels and a converted
/// copy of them (measured: docs/BENCHMARKS.md, "Render memory"); rav1e codes alpha as a second
/// picture.
pub fn bytes_per_pixel(format: Format, alpha: bool) -> u64 {
    match format {
        Format::Avif if alpha => 36,
        Format::Avif => 28,
        Format::WebP => 6,
        Format::Jpeg | Format::Png | Format::Gif | Format::Heic | Format::Jxl => 0,
    }
}

/// The quality `format` encodes at by default; `None` for the lossless formats, which ignore `q`.
pub fn default_quality(format: Format) -> Option<u8> {
    match format {
        Format::Png | Format::Gif | Format::Heic | Format::Jxl => None,
        Format::Avif => Some(DEFAULT_AVIF_QUALITY),
        Format::Jpeg | Format::WebP => Some(DEFAULT_QUALITY),
    }
}

/// An animation being encoded, frame by frame.
enum Animation {
    WebP(WebPAnimation),
    Gif(gif::Encoder<Vec<u8>>),
}

impl Animation {
    fn start(format: Format, (w, h): (u32, u32), q: u8) -> Result<Self, RenderError> {
        match format {
            Format::WebP => Ok(Self::WebP(WebPAnimation::new(w, h, q)?)),
            _ => {
                let (w, h) = (u16::try_from(w).map_err(failed)?, u16::try_from(h).map_err(failed)?);
                let mut encoder = gif::Encoder::new(Vec::new(), w, h, &[]).map_err(failed)?;
                encoder.set_repeat(gif::Repeat::Infinite).map_err(failed)?;
                Ok(Self::Gif(encoder))
            }
        }
    }

    fn add(&mut self, frame: Frame) -> Result<(), RenderError> {
        let mut rgba = frame.image.into_rgba8();
        match self {
            Self::WebP(encoder) => encoder.add(&rgba, frame.delay_ms),
            Self::Gif(encoder) => encoder.write_frame(&gif_frame(&mut rgba, frame.delay_ms)?).map_err(failed),
        }
    }

    fn finish(self) -> Result<Vec<u8>, RenderError> {
        match self {
            Self::WebP(encoder) => encoder.finish(),
            Self::Gif(encoder) => encoder.into_inner().map_err(failed),
        }
    }
}

fn gif_frame(rgba: &mut image::RgbaImage, delay_ms: u32) -> Result<gif::Frame<'static>, RenderError> {
    let (w, h) = (u16::try_from(rgba.width()).map_err(failed)?, u16::try_from(rgba.height()).map_err(failed)?);
    let mut frame = gif::Frame::from_rgba_speed(w, h, rgba, GIF_SPEED);
    frame.delay = u16::try_from(delay_ms / 10).unwrap_or(u16::MAX);
    Ok(frame)
}

/// Encodes the frames given to [`Encoder::add`] into `format`: one frame is a still, several an
/// animation (for the formats that carry one; the others take only the first).
pub struct Encoder {
    format: Format,
    quality: u8,
    size: Option<(u32, u32)>,
    /// The first frame, kept until a second one says this is an animation.
    first: Option<Frame>,
    animation: Option<Animation>,
}

impl Encoder {
    pub fn new(format: Format, quality: Option<u8>) -> Self {
        let quality = quality.or(default_quality(format)).unwrap_or(DEFAULT_QUALITY).clamp(1, 100);
        Self { format, quality, size: None, first: None, animation: None }
    }

    /// The output size: the first frame's.
    pub fn size(&self) -> Option<(u32, u32)> {
        self.size
    }

    pub fn add(&mut self, frame: Frame) -> Result<(), RenderError> {
        let size = (frame.image.width(), frame.image.height());
        if *self.size.get_or_insert(size) != size {
            return Err(RenderError::Encode("frames of an animation differ in size".into()));
        }
        if let Some(animation) = &mut self.animation {
            return animation.add(frame);
        }
        let Some(first) = self.first.take() else {
            self.first = Some(frame);
            return Ok(());
        };
        if !matches!(self.format, Format::WebP | Format::Gif) {
            self.first = Some(first);
            return Ok(());
        }
        let mut animation = Animation::start(self.format, size, self.quality)?;
        animation.add(first)?;
        animation.add(frame)?;
        self.animation = Some(animation);
        Ok(())
    }

    pub fn finish(self) -> Result<Vec<u8>, RenderError> {
        match (self.animation, self.first) {
            (Some(animation), _) => animation.finish(),
            (None, Some(first)) => still(&first.image, self.format, self.quality),
            (None, None) => Err(RenderError::Encode("nothing to encode".into())),
        }
    }
}

/// `image` as 8-bit RGB or RGBA, for the encoders that take only those (a gray render is one
/// channel).
fn rgb_or_rgba(image: &DynamicImage) -> std::borrow::Cow<'_, DynamicImage> {
    use std::borrow::Cow;
    match image {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => Cow::Borrowed(image),
        other if other.color().has_alpha() => Cow::Owned(DynamicImage::ImageRgba8(other.to_rgba8())),
        other => Cow::Owned(DynamicImage::ImageRgb8(other.to_rgb8())),
    }
}

/// Encodes one image.
pub fn still(image: &DynamicImage, format: Format, q: u8) -> Result<Vec<u8>, RenderError> {
    let (w, h) = (image.width(), image.height());
    let mut out = Vec::new();
    match format {
        Format::Jpeg => {
            let (w16, h16) = (u16::try_from(w).map_err(failed)?, u16::try_from(h).map_err(failed)?);
            let mut encoder = jpeg_encoder::Encoder::new(&mut out, q);
            // As libvips does: full-resolution colour from quality 90 up.
            if q >= 90 {
                encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_4_4);
            }
            // A gray image (`gr_1`) is a one-component JPEG.
            match image {
                DynamicImage::ImageLuma8(gray) => encoder.encode(gray, w16, h16, jpeg_encoder::ColorType::Luma),
                other => encoder.encode(&other.to_rgb8(), w16, h16, jpeg_encoder::ColorType::Rgb),
            }
            .map_err(failed)?;
        }
        Format::Png => {
            let encoder = image::codecs::png::PngEncoder::new_with_quality(
                &mut out,
                image::codecs::png::CompressionType::Fast,
                image::codecs::png::FilterType::Adaptive,
            );
            encoder.write_image(image.as_bytes(), w, h, image.color().into()).map_err(failed)?;
        }
        Format::WebP => {
            let image = rgb_or_rgba(image);
            let encoder = match &*image {
                DynamicImage::ImageRgba8(buf) => webp::Encoder::from_rgba(buf.as_raw(), w, h),
                other => webp::Encoder::from_rgb(other.as_bytes(), w, h),
            };
            let encoded = encoder.encode_simple(false, f32::from(q)).map_err(failed)?;
            out.extend_from_slice(&encoded);
        }
        Format::Avif => {
            let speed = if u64::from(w) * u64::from(h) >= AVIF_FASTEST_FROM_PIXELS { 10 } else { AVIF_SPEED };
            let encoder =
                ravif::Encoder::new().with_quality(f32::from(q)).with_alpha_quality(f32::from(q)).with_speed(speed);
            let (w, h) = (w as usize, h as usize);
            let encoded = match &*rgb_or_rgba(image) {
                DynamicImage::ImageRgba8(buf) => encoder.encode_rgba(ravif::Img::new(buf.as_raw().as_rgba(), w, h)),
                other => encoder.encode_rgb(ravif::Img::new(other.as_bytes().as_rgb(), w, h)),
            }
            .map_err(failed)?;
            out = encoded.avif_file;
        }
        Format::Gif => {
            let mut rgba = image.to_rgba8();
            let (w16, h16) = (u16::try_from(w).map_err(failed)?, u16::try_from(h).map_err(failed)?);
            let mut encoder = gif::Encoder::new(&mut out, w16, h16, &[]).map_err(failed)?;
            encoder.write_frame(&gif_frame(&mut rgba, 0)?).map_err(failed)?;
            encoder.into_inner().map_err(failed)?;
        }
        // Never asked for: `f_` names only the formats above, and these originals render as JPEG
        // or PNG (`Format::rendered_as`).
        Format::Heic | Format::Jxl => {
            return Err(RenderError::Encode(format!("{} is not an output format", format.name())))
        }
    }
    Ok(out)
}
