//! Colour management (SPEC §12): a render's pixels are converted from the original's ICC profile
//! to sRGB (moxcms, pure Rust) right after decoding, with the relative colorimetric intent (what
//! browsers apply to the matrix profiles phones write: colours inside sRGB are kept exactly, those
//! outside it are clipped). Encoders write no profile, so every output is read as sRGB.

use image::DynamicImage;
use moxcms::{ColorProfile, DataColorSpace, Layout, RenderingIntent, TransformOptions, Xyzd};

use super::RenderError;

/// An original's colour space, when it is not sRGB: what converts its frames.
pub struct ToSrgb {
    profile: ColorProfile,
}

impl ToSrgb {
    /// `None` for no profile, an sRGB one, one that cannot be read, or one that is not RGB (gray
    /// and CMYK originals are decoded to RGB by their decoders and taken as sRGB for now): those
    /// pixels are taken as sRGB, as a browser takes them.
    pub fn from_icc(icc: Option<&[u8]>) -> Option<Self> {
        let profile = ColorProfile::new_from_slice(icc?).ok()?;
        if profile.color_space != DataColorSpace::Rgb || has_srgb_primaries(&profile) {
            return None;
        }
        Some(Self { profile })
    }

    /// `image` (8-bit RGB or RGBA) in sRGB.
    pub fn convert(&self, image: DynamicImage) -> Result<DynamicImage, RenderError> {
        let options =
            TransformOptions { rendering_intent: RenderingIntent::RelativeColorimetric, ..Default::default() };
        let srgb = ColorProfile::new_srgb();
        let failed =
            |e: moxcms::CmsError| RenderError::Decode(format!("the image's ICC profile cannot be applied: {e}"));
        Ok(match image {
            DynamicImage::ImageRgba8(mut pixels) => {
                let transform =
                    self.profile.create_transform_8bit(Layout::Rgba, &srgb, Layout::Rgba, options).map_err(failed)?;
                let source = pixels.as_raw().clone();
                transform.transform(&source, &mut pixels).map_err(failed)?;
                DynamicImage::ImageRgba8(pixels)
            }
            other => {
                let mut pixels = other.into_rgb8();
                let transform =
                    self.profile.create_transform_8bit(Layout::Rgb, &srgb, Layout::Rgb, options).map_err(failed)?;
                let source = pixels.as_raw().clone();
                transform.transform(&source, &mut pixels).map_err(failed)?;
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
