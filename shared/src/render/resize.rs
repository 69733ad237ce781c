//! Resize and crop in one pass (fast_image_resize, SIMD): a crop is a source rectangle resized to
//! the canvas, so the discarded pixels are never resampled. `contain` pads on the background.

use std::borrow::Cow;

use fast_image_resize::{
    images::{Image, ImageRef},
    FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
};
use image::{DynamicImage, RgbImage, RgbaImage};

use super::{gravity, RenderError};
use crate::{
    domain::Subject,
    transform::{Placement, Plan},
};

fn pixel_type(image: &DynamicImage) -> PixelType {
    if image.color().has_alpha() {
        PixelType::U8x4
    } else {
        PixelType::U8x3
    }
}

fn from_raw(width: u32, height: u32, raw: Vec<u8>, alpha: bool) -> Result<DynamicImage, RenderError> {
    let mismatch = || RenderError::Encode("resized buffer does not match its size".into());
    Ok(if alpha {
        DynamicImage::ImageRgba8(RgbaImage::from_raw(width, height, raw).ok_or_else(mismatch)?)
    } else {
        DynamicImage::ImageRgb8(RgbImage::from_raw(width, height, raw).ok_or_else(mismatch)?)
    })
}

/// Resizes the source rectangle `crop` (left, top, width, height) of `image` to `size`.
fn resample(
    image: DynamicImage,
    size: (u32, u32),
    crop: Option<(f64, f64, f64, f64)>,
) -> Result<DynamicImage, RenderError> {
    if crop.is_none() && size == (image.width(), image.height()) {
        return Ok(image);
    }
    resampled(&image, size, crop)
}

/// [`resample`] into a new image, leaving `image` as it is (the upload encodes a master while the
/// next one is reduced from it).
pub(super) fn resampled(
    image: &DynamicImage,
    size: (u32, u32),
    crop: Option<(f64, f64, f64, f64)>,
) -> Result<DynamicImage, RenderError> {
    let pixel_type = pixel_type(image);
    let alpha = pixel_type == PixelType::U8x4;
    let src = ImageRef::new(image.width(), image.height(), image.as_bytes(), pixel_type)
        .map_err(|e| RenderError::Encode(e.to_string()))?;
    let mut dst = Image::new(size.0, size.1, pixel_type);
    let mut options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    if let Some((left, top, width, height)) = crop {
        options = options.crop(left, top, width, height);
    }
    Resizer::new().resize(&src, &mut dst, &options).map_err(|e| RenderError::Encode(e.to_string()))?;
    from_raw(size.0, size.1, dst.into_vec(), alpha)
}

/// `image` reduced to fit `side` by a box filter (an area average: fast, and it keeps edges and
/// colours for what looks at them), never enlarged: the small copies that the upload's analysis
/// and saliency look at. Pixel types other than 8-bit RGB(A) are taken to RGB(A) first.
pub fn reduced(image: &DynamicImage, side: u32) -> Cow<'_, DynamicImage> {
    let (w, h) = (image.width(), image.height());
    if w.max(h) <= side {
        return Cow::Borrowed(image);
    }
    let scale = f64::from(side) / f64::from(w.max(h));
    let size = (((f64::from(w) * scale).round() as u32).max(1), ((f64::from(h) * scale).round() as u32).max(1));
    let alpha = image.color().has_alpha();
    let converted;
    let source = match image {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => image,
        _ => {
            converted = if alpha { image.to_rgba8().into() } else { DynamicImage::ImageRgb8(image.to_rgb8()) };
            &converted
        }
    };
    let pixel_type = pixel_type(source);
    let reduce = || -> Option<DynamicImage> {
        let src = ImageRef::new(w, h, source.as_bytes(), pixel_type).ok()?;
        let mut dst = Image::new(size.0, size.1, pixel_type);
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Box));
        Resizer::new().resize(&src, &mut dst, &options).ok()?;
        from_raw(size.0, size.1, dst.into_vec(), alpha).ok()
    };
    // Cannot fail for an image that holds its own size; the slow way stays correct if it did.
    Cow::Owned(reduce().unwrap_or_else(|| image.thumbnail(side, side)))
}

/// Resizes `image` as `plan` says; a crop keeps the window its gravity finds in `subject`.
pub fn resize(image: DynamicImage, plan: &Plan, fill: [u8; 4], subject: &Subject) -> Result<DynamicImage, RenderError> {
    let (sw, sh) = (f64::from(image.width()), f64::from(image.height()));
    match plan.placement {
        Placement::Whole => resample(image, plan.scaled, None),
        Placement::Crop(g) => {
            // The canvas, measured in source pixels.
            let crop = (
                f64::from(plan.canvas.0) * sw / f64::from(plan.scaled.0),
                f64::from(plan.canvas.1) * sh / f64::from(plan.scaled.1),
            );
            let (left, top) = gravity::window(&image, crop, g, subject);
            resample(image, plan.canvas, Some((left, top, crop.0, crop.1)))
        }
        Placement::Pad => {
            let inner = resample(image, plan.scaled, None)?;
            Ok(pad(inner, plan.canvas, fill))
        }
    }
}

/// Centres `inner` on a `size` canvas of `fill`.
fn pad(inner: DynamicImage, size: (u32, u32), fill: [u8; 4]) -> DynamicImage {
    if (inner.width(), inner.height()) == size {
        return inner;
    }
    let x = i64::from((size.0 - inner.width().min(size.0)) / 2);
    let y = i64::from((size.1 - inner.height().min(size.1)) / 2);
    if fill[3] < 255 || inner.color().has_alpha() {
        let mut canvas = RgbaImage::from_pixel(size.0, size.1, image::Rgba(fill));
        image::imageops::overlay(&mut canvas, &inner.to_rgba8(), x, y);
        DynamicImage::ImageRgba8(canvas)
    } else {
        let mut canvas = RgbImage::from_pixel(size.0, size.1, image::Rgb([fill[0], fill[1], fill[2]]));
        image::imageops::replace(&mut canvas, &inner.to_rgb8(), x, y);
        DynamicImage::ImageRgb8(canvas)
    }
}
