//! Encoders, each fed only our own validated pixels: JPEG (jpeg-encoder), PNG (png), WebP
//! (libwebp), AVIF (ravif/rav1e), GIF (gif); WebP and GIF stay animated when there are several
//! frames. None of them writes metadata, so EXIF, ICC and text never reach a delivery.

use image::{DynamicImage, ImageEncoder};
use rgb::FromSlice;

use super::{Frame, RenderError};
use crate::media::Format;

const DEFAULT_QUALITY: u8 = 80;
const DEFAULT_AVIF_QUALITY: u8 = 60;
/// rav1e speed 1 (slowest, smallest) to 10: 8 keeps a render within a request's budget.
const AVIF_SPEED: u8 = 8;

pub fn has_alpha(format: Format) -> bool {
    !matches!(format, Format::Jpeg)
}

fn failed(e: impl std::fmt::Debug) -> RenderError {
    RenderError::Encode(format!("{e:?}"))
}

/// An animated WebP (libwebp's animation encoder), every frame as RGBA at quality `q`.
fn webp_animation(frames: &[Frame], q: u8) -> Result<Vec<u8>, RenderError> {
    let mut config = webp::WebPConfig::new().map_err(failed)?;
    config.quality = f32::from(q);
    let (w, h) = (frames[0].image.width(), frames[0].image.height());
    let pixels: Vec<_> = frames.iter().map(|f| f.image.to_rgba8()).collect();
    let mut encoder = webp::AnimEncoder::new(w, h, &config);
    let mut timestamp = 0i32;
    for (frame, rgba) in frames.iter().zip(&pixels) {
        encoder.add_frame(webp::AnimFrame::from_rgba(rgba.as_raw(), w, h, timestamp));
        timestamp = timestamp.saturating_add(i32::try_from(frame.delay_ms.max(20)).unwrap_or(i32::MAX));
    }
    Ok(encoder.try_encode().map_err(failed)?.to_vec())
}

/// The quality `format` encodes at by default; `None` for the lossless formats, which ignore `q`.
pub fn default_quality(format: Format) -> Option<u8> {
    match format {
        Format::Png | Format::Gif => None,
        Format::Avif => Some(DEFAULT_AVIF_QUALITY),
        Format::Jpeg | Format::WebP => Some(DEFAULT_QUALITY),
    }
}

pub fn encode(frames: &[Frame], format: Format, quality: Option<u8>) -> Result<Vec<u8>, RenderError> {
    let first = &frames.first().ok_or_else(|| RenderError::Encode("nothing to encode".into()))?.image;
    let (w, h) = (first.width(), first.height());
    let q = quality.or(default_quality(format)).unwrap_or(DEFAULT_QUALITY).clamp(1, 100);
    let mut out = Vec::new();
    match format {
        Format::Jpeg => {
            let rgb = first.to_rgb8();
            let (w16, h16) = (u16::try_from(w).map_err(failed)?, u16::try_from(h).map_err(failed)?);
            let mut encoder = jpeg_encoder::Encoder::new(&mut out, q);
            // As libvips does: full-resolution colour from quality 90 up.
            if q >= 90 {
                encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_4_4);
            }
            encoder.encode(&rgb, w16, h16, jpeg_encoder::ColorType::Rgb).map_err(failed)?;
        }
        Format::Png => {
            let encoder = image::codecs::png::PngEncoder::new_with_quality(
                &mut out,
                image::codecs::png::CompressionType::Fast,
                image::codecs::png::FilterType::Adaptive,
            );
            encoder.write_image(first.as_bytes(), w, h, first.color().into()).map_err(failed)?;
        }
        Format::WebP if frames.len() > 1 => out = webp_animation(frames, q)?,
        Format::WebP => {
            let encoder = match first {
                DynamicImage::ImageRgba8(buf) => webp::Encoder::from_rgba(buf.as_raw(), w, h),
                other => webp::Encoder::from_rgb(other.as_bytes(), w, h),
            };
            let encoded = encoder.encode_simple(false, f32::from(q)).map_err(failed)?;
            out.extend_from_slice(&encoded);
        }
        Format::Avif => {
            let encoder = ravif::Encoder::new()
                .with_quality(f32::from(q))
                .with_alpha_quality(f32::from(q))
                .with_speed(AVIF_SPEED);
            let (w, h) = (w as usize, h as usize);
            let encoded = match first {
                DynamicImage::ImageRgba8(buf) => encoder.encode_rgba(ravif::Img::new(buf.as_raw().as_rgba(), w, h)),
                other => encoder.encode_rgb(ravif::Img::new(other.as_bytes().as_rgb(), w, h)),
            }
            .map_err(failed)?;
            out = encoded.avif_file;
        }
        Format::Gif => {
            let mut encoder = image::codecs::gif::GifEncoder::new_with_speed(&mut out, 10);
            if frames.len() > 1 {
                encoder.set_repeat(image::codecs::gif::Repeat::Infinite).map_err(failed)?;
            }
            let frames = frames.iter().map(|f| {
                image::Frame::from_parts(f.image.to_rgba8(), 0, 0, image::Delay::from_numer_denom_ms(f.delay_ms, 1))
            });
            encoder.encode_frames(frames).map_err(failed)?;
        }
    }
    Ok(out)
}
