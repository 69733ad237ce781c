//! Colour management (SPEC §12): a render's pixels are converted from the original's colour space
//! (its ICC profile: RGB, gray or CMYK; or the CICP code points of an AVIF/HEIC) to sRGB with
//! moxcms (pure Rust, already `image`'s CMS) right after decoding, with the relative colorimetric
//! intent (what browsers apply to the matrix profiles phones write: colours inside sRGB are kept
//! exactly, those outside it are clipped). Encoders write no profile, so every output is read as
//! sRGB.

use std::sync::Arc;

use image::{DynamicImage, RgbImage, RgbaImage};
use moxcms::{
    CicpColorPrimaries, CicpProfile, ColorProfile, DataColorSpace, Layout, MatrixCoefficients, RenderingIntent,
    TransferCharacteristics, Transform8BitExecutor, TransformOptions, Xyzd,
};

use super::decoders::Colour;

type Transform = Arc<Transform8BitExecutor>;

/// The conversion of an original's pixels to sRGB, when they are not in sRGB.
pub enum ToSrgb {
    /// From RGB (and RGBA) pixels.
    Rgb { rgb: Transform, rgba: Transform },
    /// From gray (and gray with alpha) pixels, to RGB.
    Gray { gray: Transform, gray_alpha: Transform },
    /// From CMYK ink amounts (0 = none), to RGB: see [`ToSrgb::convert_cmyk`].
    Cmyk(Transform),
}

impl ToSrgb {
    /// `None` for no profile, an sRGB one, or one that cannot be read or connected to sRGB (an
    /// XYB JPEG's): those pixels are taken as sRGB, as a browser that cannot use the profile
    /// takes them.
    pub fn from_icc(icc: Option<&[u8]>) -> Option<Self> {
        let profile = ColorProfile::new_from_slice(icc?).ok()?;
        match profile.color_space {
            DataColorSpace::Rgb if has_srgb_primaries(&profile) => None,
            DataColorSpace::Rgb => Self::from_rgb_profile(&profile),
            DataColorSpace::Gray => Some(ToSrgb::Gray {
                gray: transform(&profile, Layout::Gray, Layout::Rgb)?,
                gray_alpha: transform(&profile, Layout::GrayAlpha, Layout::Rgba)?,
            }),
            DataColorSpace::Cmyk => Some(ToSrgb::Cmyk(transform(&profile, Layout::Rgba, Layout::Rgb)?)),
            _ => None,
        }
    }

    /// The conversion a decoder's [`Colour`] asks for.
    pub fn from_colour(colour: &Colour) -> Option<Self> {
        match colour {
            Colour::Srgb => None,
            Colour::Icc(icc) => Self::from_icc(Some(icc)),
            &Colour::Cicp { primaries, transfer } => Self::from_cicp(primaries, transfer),
        }
    }

    /// H.273 code points: BT.709 primaries with an sRGB-like curve (or unspecified ones) are
    /// taken as sRGB; others (Display P3 = 12, BT.2020 = 9) are converted when moxcms knows them.
    fn from_cicp(primaries: u8, transfer: u8) -> Option<Self> {
        const BT709: u8 = 1;
        const UNSPECIFIED: u8 = 2;
        if matches!(primaries, BT709 | UNSPECIFIED) {
            return None;
        }
        let transfer = match transfer {
            UNSPECIFIED => TransferCharacteristics::Srgb,
            code => TransferCharacteristics::try_from(code).ok()?,
        };
        let cicp = CicpProfile {
            color_primaries: CicpColorPrimaries::try_from(primaries).ok()?,
            transfer_characteristics: transfer,
            matrix_coefficients: MatrixCoefficients::Identity,
            full_range: true,
        };
        let profile = ColorProfile::new_from_cicp(cicp);
        profile.red_trc.is_some().then(|| Self::from_rgb_profile(&profile)).flatten()
    }

    fn from_rgb_profile(profile: &ColorProfile) -> Option<Self> {
        Some(ToSrgb::Rgb {
            rgb: transform(profile, Layout::Rgb, Layout::Rgb)?,
            rgba: transform(profile, Layout::Rgba, Layout::Rgba)?,
        })
    }

    /// `image` in sRGB, as 8-bit RGB or RGBA. Pixels that do not match the profile's colour space
    /// (RGB pixels with a gray profile) are left as they are.
    pub fn convert(&self, image: DynamicImage) -> Result<DynamicImage, String> {
        Ok(match (self, image) {
            (ToSrgb::Rgb { rgba, .. }, DynamicImage::ImageRgba8(mut pixels)) => {
                in_place(rgba, &mut pixels, 4)?;
                DynamicImage::ImageRgba8(pixels)
            }
            (ToSrgb::Rgb { rgb, .. }, other) => {
                let mut pixels = other.into_rgb8();
                in_place(rgb, &mut pixels, 3)?;
                DynamicImage::ImageRgb8(pixels)
            }
            (ToSrgb::Gray { gray, .. }, DynamicImage::ImageLuma8(pixels)) => {
                let mut out = RgbImage::new(pixels.width(), pixels.height());
                gray.transform(&pixels, &mut out).map_err(failed)?;
                DynamicImage::ImageRgb8(out)
            }
            (ToSrgb::Gray { gray_alpha, .. }, DynamicImage::ImageLumaA8(pixels)) => {
                let mut out = RgbaImage::new(pixels.width(), pixels.height());
                gray_alpha.transform(&pixels, &mut out).map_err(failed)?;
                DynamicImage::ImageRgba8(out)
            }
            (_, other) => other,
        })
    }

    /// CMYK ink amounts (4 bytes a pixel, 0 = no ink) in sRGB; `None` unless this is a CMYK
    /// profile's conversion.
    pub fn convert_cmyk(&self, cmyk: &[u8], width: u32, height: u32) -> Option<Result<RgbImage, String>> {
        let ToSrgb::Cmyk(transform) = self else { return None };
        let mut out = RgbImage::new(width, height);
        Some(transform.transform(cmyk, &mut out).map(|()| out).map_err(failed))
    }
}

fn failed(e: moxcms::CmsError) -> String {
    format!("the image's ICC profile cannot be applied: {e}")
}

fn transform(profile: &ColorProfile, from: Layout, to: Layout) -> Option<Transform> {
    let options = TransformOptions { rendering_intent: RenderingIntent::RelativeColorimetric, ..Default::default() };
    profile.create_transform_8bit(from, &ColorProfile::new_srgb(), to, options).ok()
}

/// Converts `pixels` where they are, a strip of rows at a time: no copy of the whole frame.
fn in_place<P: image::Pixel<Subpixel = u8>>(
    transform: &Transform,
    pixels: &mut image::ImageBuffer<P, Vec<u8>>,
    channels: usize,
) -> Result<(), String> {
    const STRIP_BYTES: usize = 1 << 16;
    let row = (pixels.width() as usize * channels).max(1);
    let strip = row * (STRIP_BYTES / row).max(1);
    let mut source = Vec::with_capacity(strip);
    for chunk in pixels.chunks_mut(strip) {
        source.clear();
        source.extend_from_slice(chunk);
        transform.transform(&source, chunk).map_err(failed)?;
    }
    Ok(())
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
