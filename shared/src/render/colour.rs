//! Colour management (SPEC §12): a render's pixels are converted from the original's ICC profile
//! to sRGB (moxcms, pure Rust) right after decoding, with the relative colorimetric intent (what
//! browsers apply to the matrix profiles phones write: colours inside sRGB are kept exactly, those
//! outside it are clipped). Encoders write no profile, so every output is read as sRGB.

use image::DynamicImage;
use std::sync::Arc;

use moxcms::{ColorProfile, DataColorSpace, Layout, RenderingIntent, Transform8BitExecutor, TransformOptions, Xyzd};

use super::RenderError;

/// The conversion of an original's pixels to sRGB, when they are not in sRGB.
pub struct ToSrgb {
    rgb: Arc<Transform8BitExecutor>,
    rgba: Arc<Transform8BitExecutor>,
}

impl ToSrgb {
    /// `None` for no profile, an sRGB one, or one that cannot be read or connected to sRGB (an
    /// XYB JPEG's, a gray or CMYK one: their decoders answer RGB): those pixels are taken as sRGB,
    /// as a browser that cannot use the profile takes them.
    pub fn from_icc(icc: Option<&[u8]>) -> Option<Self> {
        let profile = ColorProfile::new_from_slice(icc?).ok()?;
        if profile.color_space != DataColorSpace::Rgb || has_srgb_primaries(&profile) {
            return None;
        }
        let options =
            TransformOptions { rendering_intent: RenderingIntent::RelativeColorimetric, ..Default::default() };
        let srgb = ColorProfile::new_srgb();
        let transform = |layout| profile.create_transform_8bit(layout, &srgb, layout, options).ok();
        Some(Self { rgb: transform(Layout::Rgb)?, rgba: transform(Layout::Rgba)? })
    }

    /// `image` (8-bit RGB or RGBA) in sRGB.
    pub fn convert(&self, image: DynamicImage) -> Result<DynamicImage, RenderError> {
        let failed =
            |e: moxcms::CmsError| RenderError::Decode(format!("the image's ICC profile cannot be applied: {e}"));
        Ok(match image {
            DynamicImage::ImageRgba8(mut pixels) => {
                let source = pixels.as_raw().clone();
                self.rgba.transform(&source, &mut pixels).map_err(failed)?;
                DynamicImage::ImageRgba8(pixels)
            }
            other => {
                let mut pixels = other.into_rgb8();
                let source = pixels.as_raw().clone();
                self.rgb.transform(&source, &mut pixels).map_err(failed)?;
                DynamicImage::ImageRgb8(pixels)
            }
        })
    }
}

/// Whether a profile has sRGB's primaries and white (its curve is taken to be sRGB's: a profile
/// with sRGB primaries and another curve is rare enough not to pay a conversion on every sRGB
/// photo for).
fn has_srgb_primaries(profile: &ColorProfile) -> bool {
    let srgb = ColorProfile::new_srgb();
    let close = |a: Xyzd, b: Xyzd| (a.x - b.x).abs() < 2e-3 && (a.y - b.y).abs() < 2e-3 && (a.z - b.z).abs() < 2e-3;
    close(profile.red_colorant, srgb.red_colorant)
        && close(profile.green_colorant, srgb.green_colorant)
        && close(profile.blue_colorant, srgb.blue_colorant)
}
